"""The soak at its small size (benchmarks/soak.py --small) on PostgreSQL: faults of every kind on both APIs,
a ConnectWise outage, an expired token, every partition run twice at once in alternate rounds; then 0 duplicates,
0 lost and convergence within 2 rounds."""

from __future__ import annotations

import io

from sqlalchemy.engine import make_url

from benchmarks.soak import FLOWS, SoakConfig, soak
from tests.pg import drop_databases, new_database_url


def test_small_soak_nothing_lost_nothing_doubled(pg_server_url):
    database_url = new_database_url(pg_server_url)
    out = io.StringIO()
    try:
        report = soak(SoakConfig.small(database_url=database_url), out=out)
    finally:
        drop_databases(pg_server_url, make_url(database_url).database)
    table = out.getvalue()
    print(table)
    for flow in FLOWS:
        figures = report["figures"][flow]
        assert figures.expected > 0, f"{flow}: the soak asked for nothing\n{table}"
        assert figures.duplicates == 0 and figures.lost == 0, f"{flow}\n{table}"
        assert figures.in_target == figures.expected, f"{flow}\n{table}"
    assert report["converged_at"] is not None and report["converged_at"] <= 2, table
    retries = sum(r for r, _ in report["counts"].values())
    limited = sum(n for _, n in report["counts"].values())
    assert retries > 20 and limited > 3, f"the faults did not bite\n{table}"  # the soak really was under fire
    assert "ConnectWise down" in table
    assert "every partition run twice at once" in table  # overlapping runs of every partition, under faults
