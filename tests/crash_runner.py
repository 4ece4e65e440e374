"""A run worker for the crash tests: materializes assets for one partition in this process, which the test then
kills with SIGKILL at a chosen point of a write. Usage: ``python -m tests.crash_runner <partition> <key>...``
(CZ_TEST_BATCH_SIZE makes Xero batches smaller, so that a small demo still has several pages);
the store comes from the CZ_* environment, exactly as a Dagster run worker gets it."""

from __future__ import annotations

import os
import sys

from dagster import DagsterInstance, materialize

from cz_dagster.definitions import all_assets
from cz_dagster.partitions import tenant_location
from cz_dagster.resources import ConnectWiseResource, StoreResource, XeroResource
from tests.dagster_helpers import FAST_RETRY


def main(partition: str, keys: list[str]) -> None:
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(tenant_location.name, [partition])
    assets = [a for a in all_assets if a.key.to_user_string() in keys]
    materialize(assets, partition_key=partition, instance=instance, raise_on_error=False,
                resources={"store": StoreResource(), "connectwise_api": ConnectWiseResource(**FAST_RETRY),
                           "xero_api": XeroResource(**FAST_RETRY,
                                                         batch_size=int(os.environ.get("CZ_TEST_BATCH_SIZE", "50")))})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
