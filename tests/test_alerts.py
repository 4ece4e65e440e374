"""Alert emails through a real SMTP server (aiosmtpd on loopback): a run failure, an error backlog (at most one
an hour), a day's summary and a revoked token; plain text and HTML, nothing injected."""

from __future__ import annotations

import email
import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from dagster import DagsterInstance, DagsterRunStatus, build_run_status_sensor_context

from cz_dagster.cli import main
from cz_dagster.resources.mailer import SmtpResource
from cz_dagster.sensors.alerts import (
    run_failure_alerts,
    send_daily,
    send_error_summaries,
    send_revoked,
    send_run_failure,
)
from cz_dagster.store.ledger import Ledger
from cz_dagster.store.recipients import Recipients
from cz_dagster.store.synclog import SyncLog
from cz_sandbox import demo
from tests.dagster_helpers import run_assets
from tests.test_invoices_e2e import ADL, MONEY


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        msg = email.message_from_bytes(envelope.content)
        msg["X-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"

    def bodies(self, msg) -> tuple[str, str]:  # noqa: ANN001
        parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in msg.walk()
                 if p.get_content_type() in ("text/plain", "text/html")}
        return parts["text/plain"], parts["text/html"]


@pytest.fixture
def smtp():  # noqa: ANN201
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, SmtpResource(host="127.0.0.1", port=port, sender="cz@msp.example",
                              dagster_url="http://dagster.example")
    controller.stop()


def test_alert_emails(demo_env, smtp):
    inbox, mailer = smtp
    store, sandbox = demo_env.store, demo_env.sandbox
    r = CliRunner().invoke(main, ["notify", "set", "--tenant", "demo", "--email", "finance@msp.example",
                                  "--email", "ops@msp.example"], env=demo_env.store_env.env)
    assert r.exit_code == 0
    r = CliRunner().invoke(main, ["notify", "set", "--tenant", "demo", "--email", "x\nBcc: evil@x.com"],
                           env=demo_env.store_env.env)
    assert r.exit_code == 2 and "not an email address" in r.output

    # an error backlog: a bad invoice named like markup, one email, not a second within the hour
    sandbox.post("connectwise", "/_sandbox/unpostedinvoices", {
        "locationId": demo.LOCATIONS["adelaide"]["cw_location_id"], "companyId": 987654,
        "invoiceNumber": "<b>BAD</b>-1", "lines": [{"description": "x", "quantity": 1, "unitPrice": 5,
                                                    "accountNumber": "200", "taxCodeXref": "OUTPUT"}]})
    run_assets(demo_env.store_env, MONEY, ADL)
    now = datetime.now(UTC)
    assert send_error_summaries(store, mailer, now) == ["demo"]
    assert send_error_summaries(store, mailer, now + timedelta(minutes=59)) == []
    [backlog] = inbox.messages
    assert backlog["To"] == "finance@msp.example, ops@msp.example"
    text, html = inbox.bodies(backlog)
    assert "2 record(s)" in backlog["Subject"]  # the invoice, and the company it names
    assert "has no usable Xero contact" in text and "unknown company" in text and "<b>BAD</b>-1" in text
    assert "&lt;b&gt;BAD&lt;/b&gt;-1" in html and "<b>BAD</b>" not in html
    assert send_error_summaries(store, mailer, now + timedelta(minutes=61)) == ["demo"]  # still in error: hourly

    # a day's summary, once a day, after 07:00 in the tenant's time zone
    early = now.replace(hour=20, minute=0) - timedelta(days=1)  # 06:30 in Adelaide: not yet
    assert send_daily(store, mailer, early) == []
    late = early + timedelta(hours=1)  # 07:30 in Adelaide
    assert send_daily(store, mailer, late) == ["demo"] and send_daily(store, mailer, late) == []
    text, html = inbox.bodies(inbox.messages[-1])
    day = (late + timedelta(hours=10, minutes=30)).date().isoformat()
    assert f"daily sync summary {day}" in inbox.messages[-1]["Subject"]
    moved = sum(Ledger(store, "demo", "adelaide", surface).counts().get("done", 0) for surface in ("invoices",
                                                                                                  "contacts"))
    assert moved > len(sandbox.org("adelaide")["invoices"])
    assert f"location: adelaide | family: money | moved: {moved} | failed: 2" in text  # invoices and contacts
    xero_calls = [e for e in SyncLog(store, "demo").read(limit=1000) if e.system == "xero"]
    assert f"location: adelaide | calls: {len(xero_calls)}" in text
    assert "Records in error now: 2" in text and "Xero API calls used today" in text and "<table" in html

    # a failed run: one email naming tenant, location, family, the error and the run's link
    instance = DagsterInstance.ephemeral()
    company = next(c for c in sandbox.cw_state()["companies"] if not c.get("isVendorFlag"))
    sandbox.post("connectwise", "/_sandbox/unpostedinvoices", {
        "locationId": demo.LOCATIONS["adelaide"]["cw_location_id"], "companyId": company["id"],
        "lines": [{"description": "x", "quantity": 1, "unitPrice": 5, "accountNumber": "200",
                   "taxCodeXref": "OUTPUT"}]})
    sandbox.post("xero", "/_sandbox/tokens/revoke")
    result = run_assets(demo_env.store_env, MONEY, ADL, instance=instance, raise_on_error=False)
    run = instance.get_run_by_id(result.run_id)
    assert run.status == DagsterRunStatus.FAILURE
    failure_event = next(e.dagster_event for e in instance.all_logs(run.run_id)
                         if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE")
    for _ in range(2):  # the sensor as the daemon runs it; a second look at the same run sends nothing more
        context = build_run_status_sensor_context(
            sensor_name="run_failure_alerts", dagster_instance=instance, dagster_run=run,
            dagster_event=failure_event, resources={"store": demo_env.store_env.resource(), "mailer": mailer},
        ).for_run_failure()
        run_failure_alerts(context)
    assert not send_run_failure(store, mailer, run.run_id, run.tags.get("dagster/partition"), "money", "again")
    failure = inbox.messages[-1]
    text, html = inbox.bodies(failure)
    assert failure["Subject"] == "[cz] demo adelaide: money sync failed"
    assert f"http://dagster.example/runs/{run.run_id}" in text and "paused" in text
    assert "cz xero connect --tenant demo" in text and failure["To"] == "finance@msp.example, ops@msp.example"

    # the revoked connection: one email saying how to reconnect, however often the sensor looks
    assert send_revoked(store, mailer) == ["demo"] and send_revoked(store, mailer) == []
    text, _ = inbox.bodies(inbox.messages[-1])
    assert "cz xero connect --tenant demo" in text and "paused" in inbox.messages[-1]["Subject"]
    assert len(inbox.messages) == 5
    for msg in inbox.messages:
        assert demo.XERO_CLIENT_SECRET not in msg.as_string() and demo.CW_PRIVATE_KEY not in msg.as_string()


def test_stale_family_alert_once(demo_env, smtp):
    from sqlalchemy import update

    from cz_dagster.sensors.alerts import send_stale
    from cz_dagster.store import schema as s

    inbox, mailer = smtp
    store = demo_env.store
    Recipients(store, "demo").replace(["ops@msp.example"])
    instance = DagsterInstance.ephemeral()
    run_assets(demo_env.store_env, MONEY, ADL, instance=instance)
    now = datetime.now(UTC)
    assert send_stale(store, mailer, instance, now) == []  # the locations are too new to have missed two cycles
    with store.control.begin() as conn:
        conn.execute(update(s.locations).values(created_at=now - timedelta(days=3)))
    sent = send_stale(store, mailer, instance, now)
    # adelaide's money ran just now; everything else never succeeded
    assert "demo__adelaide:money" not in sent and "demo__melbourne:money" in sent
    assert {"demo__adelaide:time", "demo__adelaide:staff", "demo__adelaide:reference"} <= set(sent)
    assert send_stale(store, mailer, instance, now) == []  # once per missed tick
    subjects = [m["Subject"] for m in inbox.messages]
    assert "[cz] demo melbourne: money has not synced for two cycles" in subjects


def test_daily_summary_lists_families_not_surfaces(demo_env, smtp):
    """Rows of every surface count under their family; a surface of an earlier version (payment_status, whose
    rows once made the summary show it as a family of its own) is not a family."""
    from sqlalchemy import insert

    from cz_dagster.store import schema as s

    inbox, mailer = smtp
    store = demo_env.store
    CliRunner().invoke(main, ["notify", "set", "--tenant", "demo", "--email", "finance@msp.example"],
                       env=demo_env.store_env.env)
    run_assets(demo_env.store_env, MONEY, ADL)
    now = datetime.now(UTC)
    with store.tenant_tx("demo") as conn:
        conn.execute(insert(s.ledger).values(surface="payment_status", location="adelaide", source_id="1",
                                             source_version="x", state="done", attempts=0, created_at=now,
                                             updated_at=now))
    late = now.replace(hour=21, minute=0) - timedelta(days=1)  # 07:30 in Adelaide
    assert send_daily(store, mailer, late) == ["demo"]
    text, _ = inbox.bodies(inbox.messages[-1])
    assert "family: money" in text and "payment_status" not in text


def test_daily_summary_says_whether_the_books_agree(demo_env, smtp):
    """The last reconciliation of each location is a line of the daily summary: agree, or how many differences
    and where to look."""
    inbox, mailer = smtp
    store = demo_env.store
    Recipients(store, "demo").replace(["finance@msp.example"])
    run_assets(demo_env.store_env, MONEY + ["xero/credit_notes", "reports/reconciliation"], ADL)
    late = datetime.now(UTC).replace(hour=21, minute=0) - timedelta(days=1)  # 07:30 in Adelaide
    assert send_daily(store, mailer, late) == ["demo"]
    text, html = inbox.bodies(inbox.messages[-1])
    assert "Do the books agree (last reconciliation)?" in text and "location: adelaide" in text
    assert "books: agree" in text and "agree" in html
