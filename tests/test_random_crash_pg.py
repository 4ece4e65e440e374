"""The randomized crash test (tests/test_random_crash.py) on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.test_random_crash import one_seed, seeds


@pytest.mark.parametrize("seed", seeds())
def test_random_kills_and_overlaps_converge_exactly_once_on_postgresql(seed, tmp_path, pg_server_url,
                                                                        zygote):
    print(one_seed(seed, "postgresql", tmp_path, pg_server_url, zygote))
