"""Reference mirrors: what changed between the last mirror and Xero's current list. Pure logic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cz_dagster.sync.hashing import stable_hash


@dataclass
class MirrorDiff:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def total_changes(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


def diff(previous: dict[str, str], current: dict[str, dict[str, Any]]) -> tuple[MirrorDiff, dict[str, str]]:
    """``previous`` maps key -> digest of what is stored (live rows only); returns the diff and new digests."""
    digests = {k: stable_hash(v, 32) for k, v in current.items()}
    out = MirrorDiff()
    for key, digest in sorted(digests.items()):
        if key not in previous:
            out.added.append(key)
        elif previous[key] != digest:
            out.changed.append(key)
        else:
            out.unchanged += 1
    out.removed = sorted(k for k in previous if k not in digests)
    return out, digests
