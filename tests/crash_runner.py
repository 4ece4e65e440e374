"""A run worker for the crash tests: materializes assets for one partition in its own process, which the test then
kills with SIGKILL at a chosen point of a write.

Starting Python and importing Dagster costs seconds per worker, so a *zygote* imports everything once and forks a
fresh worker per request (``python -m tests.crash_runner --zygote``: one JSON request per stdin line, the worker's
pid answered on stdout). A forked worker is an ordinary process in its own session: SIGKILL ends it exactly as it
ends a Dagster run worker. The zygote never opens a database or a socket, so nothing shared crosses the fork.
``python -m tests.crash_runner <partition> <key>...`` runs one worker directly. CZ_TEST_BATCH_SIZE makes Xero
batches smaller, so that a small demo still has several pages; CZ_TEST_MINUTE_WINDOW scales Xero's minute (with
the sandbox's own, ``/_sandbox/config``)."""

from __future__ import annotations

import json
import os
import signal
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
    batch_size = int(os.environ.get("CZ_TEST_BATCH_SIZE", "50"))
    window = float(os.environ.get("CZ_TEST_MINUTE_WINDOW", "60"))  # Xero's minute, scaled with the sandbox's
    materialize(assets, partition_key=partition, instance=instance, raise_on_error=False,
                resources={"store": StoreResource(), "connectwise_api": ConnectWiseResource(**FAST_RETRY),
                           "xero_api": XeroResource(**FAST_RETRY, batch_size=batch_size,
                                                    minute_window_seconds=window)})


def zygote() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel: no zombies to wait for
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()
            os.environ.update(request["env"])
            fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            code = 0
            try:
                main(request["partition"], request["keys"])
            except BaseException:  # noqa: BLE001 - the log has the traceback; the exit code says it failed
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["--zygote"]:
        zygote()
    else:
        main(sys.argv[1], sys.argv[2:])
