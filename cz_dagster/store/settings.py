"""Configuration read from the environment, in one place, so every process (CLI, Dagster webserver, daemon,
run workers) resolves the same store the same way."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "cz_dagster"


@dataclass(frozen=True)
class Settings:
    """``database_url`` set means PostgreSQL; otherwise SQLite files under ``data_dir`` (the embedded default)."""

    data_dir: Path
    database_url: str | None
    secret_keys: str | None
    sync_log_retention_days: int = 90
    lease_ttl_seconds: float = 60.0  # a killed writer on another machine frees its flow after this long
    lease_wait_seconds: float = 10.0  # how long a second run of a flow waits for the first before it skips

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("CZ_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()
        retention = env.get("CZ_SYNC_LOG_RETENTION_DAYS", "90")
        try:
            retention_days = int(retention)
        except ValueError as exc:
            raise ValueError(f"CZ_SYNC_LOG_RETENTION_DAYS must be a whole number of days, not {retention!r}") from exc
        leases = {}
        for name, var in (("lease_ttl_seconds", "CZ_LEASE_TTL_SECONDS"),
                          ("lease_wait_seconds", "CZ_LEASE_WAIT_SECONDS")):
            if env.get(var):
                try:
                    leases[name] = float(env[var])
                except ValueError as exc:
                    raise ValueError(f"{var} must be a number of seconds, not {env[var]!r}") from exc
        return cls(
            **leases,
            data_dir=data_dir,
            database_url=env.get("CZ_DATABASE_URL") or None,
            secret_keys=env.get("CZ_SECRET_KEYS") or None,
            sync_log_retention_days=retention_days,
        )
