"""Document numbers (InvoiceNumber, CreditNoteNumber): the index that finds documents by number and the sequence
that issues the next one.

Xero looks documents up by number (``GET /Invoices/INV-0001``, a POST upsert by InvoiceNumber) and refuses a
duplicate ACCREC / ACCRECCREDIT number, so every write asks "who else has this number?". Scanning every document for
that makes a batch of N writes cost N x (all documents): the index answers it from the few documents sharing the
number. It holds every document of its collection whatever its type or status (a voided invoice still answers
``GET /Invoices/{number}``, and a bill may reuse a sales number); callers filter what they found by type and status,
which they read from the live documents, so a status change needs no index update. Numbers compare
case-insensitively, as Xero's do.
"""

from __future__ import annotations

from typing import Any

DEAD_STATUSES = ("DELETED", "VOIDED")  # documents whose number no longer counts as taken


class NumberIndex:
    """Lower-cased number -> ids of the documents carrying it (in the order they took it), and the sequence
    (``prefix`` + 4 digits, e.g. INV-0001, CN-0001) Xero's "Invoice Settings" issue numbers from."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.next_seq = 1
        self._ids: dict[str, list[str]] = {}

    def move(self, doc_id: str, old: str | None, new: str | None) -> None:
        """Record that ``doc_id`` now carries ``new`` (it carried ``old`` before; None when it had none)."""
        old_key, new_key = (old or "").lower(), (new or "").lower()
        if old_key == new_key and doc_id in self._ids.get(new_key, ()):
            return
        if old_key in self._ids:
            self._ids[old_key] = [i for i in self._ids[old_key] if i != doc_id]
            if not self._ids[old_key]:
                del self._ids[old_key]
        if new_key:
            self._ids.setdefault(new_key, []).append(doc_id)

    def ids(self, number: str | None) -> list[str]:
        return list(self._ids.get((number or "").lower(), ()))

    def docs(self, number: str | None, store: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """The documents of ``store`` carrying ``number``, live ones first (Xero prefers them in a look-up)."""
        found = [store[i] for i in self.ids(number) if i in store]
        return sorted(found, key=lambda d: d.get("Status") in DEAD_STATUSES)

    def live(self, number: str | None, store: dict[str, dict[str, Any]], doc_type: str) -> list[dict[str, Any]]:
        """The not deleted or voided documents of ``doc_type`` carrying ``number``: the ones a new holder of the
        number would clash with."""
        return [d for d in self.docs(number, store) if d.get("Type") == doc_type
                and d.get("Status") not in DEAD_STATUSES]

    def issue(self) -> str:
        """The next number of the sequence no document carries (a user may have typed ``INV-0007`` by hand)."""
        while True:
            number = f"{self.prefix}{self.next_seq:04d}"
            self.next_seq += 1
            if number.lower() not in self._ids:
                return number
