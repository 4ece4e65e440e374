"""The Dagster definitions: asset graph, partitions, and the tenants sensor on a persistent instance."""

from __future__ import annotations

from dagster import AssetKey, DagsterInstance, build_sensor_context

from cz_dagster.definitions import defs
from cz_dagster.partitions import split_key, tenant_location
from cz_dagster.sensors.tenants import tenants_sensor

# The lineage of DESIGN section 4: writers depend on the reference data they validate against.
MIRRORS = {"accounts", "currencies", "tax_rates", "invoice_statuses", "tracking_categories", "items",
           "earnings_rates", "leave_types", "leave_applications", "payroll_calendars"}
PREFLIGHT = {"xero/tax_rates", "xero/accounts", "xero/currencies", "xero/tracking_categories"}
EXPECTED_GRAPH = {
    **{f"xero/{m}": ("reference", set()) for m in MIRRORS},
    "connectwise/product_catalogue": ("reference", {"xero/items"}),
    "xero/contacts": ("money", set()),
    "xero/invoices": ("money", {"xero/contacts", *PREFLIGHT}),
    "xero/credit_notes": ("money", {"xero/invoices", *PREFLIGHT}),
    "xero/bills": ("money", PREFLIGHT),
    "connectwise/invoice_payments": ("money", {"xero/invoices", "xero/credit_notes"}),
    "xero/staff": ("staff", set()),
    "xero/timesheets": ("time", {"xero/staff", "xero/earnings_rates", "xero/payroll_calendars"}),
    "reports/reconciliation": ("reports", {"xero/invoices", "xero/credit_notes", "xero/bills",
                                           "connectwise/invoice_payments"}),
}


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    actual = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        actual[key.to_user_string()] = (node.group_name, {p.to_user_string() for p in node.parent_keys})
        assert node.partitions_def == tenant_location, key
    assert actual == EXPECTED_GRAPH
    writers = {k for k, (group, _) in EXPECTED_GRAPH.items()
               if group not in ("reference", "reports") or "connectwise" in k}
    for key in graph.get_all_asset_keys():
        checks = {c.name for c in graph.get(key).assets_def.check_specs if c.asset_key == key}
        expected = {"nothing_in_error"} if key.to_user_string() in writers else set()
        assert checks == ({"books_agree"} if key == AssetKey(["reports", "reconciliation"]) else expected), key
    for job in ("money_job", "time_job", "staff_job", "reference_job", "reports_job"):
        assert defs.resolve_job_def(job).partitions_def == tenant_location


def test_split_key():
    assert split_key("demo__adelaide") == ("demo", "adelaide")
    for bad in ("demo", "__x", "demo__"):
        try:
            split_key(bad)
        except ValueError as exc:
            assert "is not of the form" in str(exc)
        else:
            raise AssertionError(bad)


def test_tenants_sensor_adds_enabled_partitions(store_env, tmp_path):
    store = store_env.store
    store.add_tenant("acme", "Acme")
    store.add_location("acme", "perth", "Perth", 13)
    store.add_location("acme", "darwin", "Darwin", 14)
    store.update_location("acme", "darwin", enabled=False)
    store.add_tenant("off", "Off")
    store.add_location("off", "hobart", "Hobart", 15)
    store.update_tenant("off", enabled=False)
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        result = tenants_sensor(build_sensor_context(instance=instance, resources={"store": store_env.resource()}))
        [request] = result.dynamic_partitions_requests
        instance.add_dynamic_partitions(tenant_location.name, list(request.partition_keys))
        assert instance.get_dynamic_partitions(tenant_location.name) == ["acme__perth"]
        again = tenants_sensor(build_sensor_context(instance=instance, resources={"store": store_env.resource()}))
        assert "have partitions" in again.skip_message


def test_every_asset_group_job_and_surface_comes_from_the_vocabulary():
    """Families, surfaces and mapping kinds are spelled once (sync/vocabulary.py): each asset's group is its
    family there, each family has its job, and a ledger surface or mapping kind not there is refused."""
    import pytest

    from cz_dagster.store.ledger import Ledger
    from cz_dagster.store.mappings import Mappings
    from cz_dagster.sync import vocabulary as v

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).group_name == v.family_of_asset(key.to_user_string()), key
    for family, job in v.FAMILIES.items():
        assert defs.resolve_job_def(job).name == job and v.JOB_FAMILY[job] == family
    with pytest.raises(ValueError, match="unknown ledger surface 'payment_status'"):
        Ledger(None, "t", "l", "payment_status")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown mapping kind"):
        Mappings(None, "t", "l", "member")  # type: ignore[arg-type]
    assert set(v.SURFACE_FAMILY.values()) <= set(v.FAMILIES)


def test_the_product_imports_nothing_of_the_simulators():
    """The simulators (cz_sandbox) are a development and demo tool: every module of the product imports with
    them absent, and `cz sandbox` then says how to get them."""
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, sys\n"
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'cz_sandbox' or name.startswith('cz_sandbox.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Absent())\n"
        "import cz_dagster\n"
        "names = [m.name for m in pkgutil.walk_packages(cz_dagster.__path__, 'cz_dagster.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "from click.testing import CliRunner\n"
        "from cz_dagster.cli import main\n"
        "r = CliRunner().invoke(main, ['sandbox'])\n"
        "print(len(names), r.exit_code, r.output.strip())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    count, exit_code, message = out.stdout.strip().split(" ", 2)
    assert int(count) > 30 and exit_code == "1" and "the sandbox is not installed here" in message
