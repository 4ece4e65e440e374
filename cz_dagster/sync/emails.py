"""Alert and summary emails: plain text and HTML bodies built from facts. Pure logic.

Every value that came from ConnectWise or Xero is escaped in the HTML part (a company called
``<script>`` stays text), and tables are single-column-friendly so they read on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from html import escape
from typing import Any


@dataclass
class Email:
    subject: str
    text: str
    html: str

    def message(self, sender: str, recipients: list[str]) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = " ".join(self.subject.split())[:200]  # no header injection through newlines
        msg["From"] = sender
        msg["To"] = ", ".join(recipients)
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        return msg


def _table_html(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th style='text-align:left;padding:4px 8px'>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td style='padding:4px 8px;vertical-align:top'>{escape(str(r.get(c, '')))}</td>"
                                     for c in columns) + "</tr>" for r in rows)
    return (f"<table style='border-collapse:collapse;font-size:14px;max-width:100%'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _table_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    return "\n".join("- " + " | ".join(f"{c}: {r.get(c, '')}" for c in columns) for r in rows)


def _page(title: str, paragraphs: list[str], table: str, footer: str, link: tuple[str, str] | None = None) -> str:
    paras = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    if link is not None:
        paras += f"<p><a href='{escape(link[1], quote=True)}'>{escape(link[0])}</a></p>"
    return (f"<html><body style='font-family:-apple-system,Segoe UI,Arial,sans-serif;max-width:640px'>"
            f"<h2 style='font-size:18px'>{escape(title)}</h2>{paras}{table}"
            f"<p style='color:#666;font-size:12px'>{escape(footer)}</p></body></html>")


FOOTER = "cz_dagster: ConnectWise PSA <-> Xero sync. Change recipients with `cz notify set`."


def run_failure(tenant: str, location: str, family: str, error: str, run_url: str) -> Email:
    title = f"[cz] {tenant} {location}: {family} sync failed"
    paragraphs = [f"The {family} sync of {tenant} / {location} failed.", f"Error: {error}",
                  f"The run in the Dagster UI: {run_url}",
                  "It runs again at its next scheduled time; fix the cause above, or force a sync from the UI."]
    text = "\n\n".join(paragraphs) + f"\n\n{FOOTER}\n"
    return Email(title, text, _page(title, paragraphs[:2] + paragraphs[3:], "", FOOTER, ("Open the run", run_url)))


def errors_summary(tenant: str, rows: list[dict[str, Any]]) -> Email:
    title = f"[cz] {tenant}: {len(rows)} record(s) need attention"
    columns = ["location", "surface", "record", "error"]
    intro = [f"{len(rows)} record(s) of {tenant} are in error and were not synced. Each line says what to fix; "
             "the next sync retries them."]
    text = intro[0] + "\n\n" + _table_text(rows, columns) + f"\n\n{FOOTER}\n"
    return Email(title, text, _page(title, intro, _table_html(rows, columns), FOOTER))


def daily_summary(tenant: str, day: str, moved: list[dict[str, Any]], errors: int, budget: list[dict[str, Any]],
                  books: list[dict[str, Any]] | None = None) -> Email:
    """``books``: each location's last reconciliation ({location, books, checked}), when it has one."""
    title = f"[cz] {tenant}: daily sync summary {day}"
    intro = [f"What moved for {tenant} on {day}, per location and family.",
             f"Records in error now: {errors}." if errors else "Nothing is in error."]
    text = "\n".join(intro) + "\n\n" + _table_text(moved, ["location", "family", "moved", "failed"])
    text += "\n\nXero API calls used today:\n" + _table_text(budget, ["location", "calls"])
    extra = ""
    if books:
        text += "\n\nDo the books agree (last reconciliation)?\n" + _table_text(books, ["location", "books", "checked"])
        extra = ("<h3 style='font-size:15px'>Do the books agree (last reconciliation)?</h3>"
                 + _table_html(books, ["location", "books", "checked"]))
    text += f"\n\n{FOOTER}\n"
    html = _page(title, intro, _table_html(moved, ["location", "family", "moved", "failed"])
                 + "<h3 style='font-size:15px'>Xero API calls used today</h3>"
                 + _table_html(budget, ["location", "calls"]) + extra, FOOTER)
    return Email(title, text, html)


def connection_revoked(tenant: str, reason: str) -> Email:
    title = f"[cz] {tenant}: Xero connection paused, reconnect needed"
    paragraphs = [f"Xero refused {tenant}'s connection ({reason}). Syncs to Xero are paused; nothing is lost.",
                  f"To resume, run: cz xero connect --tenant {tenant}"]
    return Email(title, "\n\n".join(paragraphs) + f"\n\n{FOOTER}\n", _page(title, paragraphs, "", FOOTER))


def stale(tenant: str, location: str, family: str, since: str, cron: str) -> Email:
    title = f"[cz] {tenant} {location}: {family} has not synced for two cycles"
    paragraphs = [f"The {family} sync of {tenant} / {location} has not succeeded since {since} (schedule {cron}).",
                  "Look at its recent runs in the Dagster UI; a failed run or a paused Xero connection is the usual "
                  "cause. Nothing is lost: the next successful run catches up."]
    return Email(title, "\n\n".join(paragraphs) + f"\n\n{FOOTER}\n", _page(title, paragraphs, "", FOOTER))
