"""kstatus-style conditions: `Ready`, `Reconciling`, `Stalled`, plus one condition per hop.

`lastTransitionTime` moves only when a condition's status changes, so `kubectl wait` and Argo CD
see a stable history; reason and message may change freely.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from hybrid_gateway.api.v1alpha1.common import READY, RECONCILING, STALLED

__all__ = ["READY", "RECONCILING", "STALLED", "Condition", "get", "is_true", "merge", "now_rfc3339", "summary"]



def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool | None  # None = Unknown
    reason: str
    message: str = ""

    @property
    def status_text(self) -> str:
        return {True: "True", False: "False", None: "Unknown"}[self.status]


def merge(
    existing: list[dict[str, Any]] | None,
    updates: list[Condition],
    generation: int,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """Apply `updates` to `existing` conditions, keeping lastTransitionTime where status is unchanged.

    Conditions not named in `updates` are kept as they are (for example hop conditions of a hop that
    this pass did not reach).
    """
    now = now or now_rfc3339()
    by_type = {c["type"]: dict(c) for c in existing or [] if "type" in c}
    order = [c["type"] for c in existing or [] if "type" in c]
    for cond in updates:
        old = by_type.get(cond.type)
        changed = old is None or old.get("status") != cond.status_text
        by_type[cond.type] = {
            "type": cond.type,
            "status": cond.status_text,
            "reason": cond.reason,
            "message": cond.message or "",
            "observedGeneration": generation,
            "lastTransitionTime": now if changed else old.get("lastTransitionTime", now),  # type: ignore[union-attr]
        }
        if cond.type not in order:
            order.append(cond.type)
    return [by_type[t] for t in order]


def get(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == type_), None)


def is_true(conditions: list[dict[str, Any]] | None, type_: str) -> bool:
    cond = get(conditions, type_)
    return cond is not None and cond.get("status") == "True"


def summary(hops: list[Condition], *, stalled: Condition | None = None) -> list[Condition]:
    """The three kstatus conditions that follow from the hop conditions of one pass."""
    if stalled is not None:
        return [
            Condition(READY, False, stalled.reason, stalled.message),
            Condition(RECONCILING, False, stalled.reason, "Waiting for a change to the spec or its inputs"),
            Condition(STALLED, True, stalled.reason, stalled.message),
        ]
    pending = [h for h in hops if h.status is not True]
    if not pending:
        return [
            Condition(READY, True, "Converged", "Every owned AWS resource matches the spec"),
            Condition(RECONCILING, False, "Converged", ""),
            Condition(STALLED, False, "Converged", ""),
        ]
    first = pending[0]
    message = f"{first.type}: {first.message}" if first.message else first.type
    return [
        Condition(READY, False, first.reason, message),
        Condition(RECONCILING, True, first.reason, message),
        Condition(STALLED, False, "Progressing", ""),
    ]
