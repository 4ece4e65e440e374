"""Pure sync logic with no Dagster and no I/O: mapping, batching, the ledger protocol, redaction."""
