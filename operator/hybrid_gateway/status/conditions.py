"""kstatus-style conditions: `Ready`, `Reconciling`, `Stalled`, plus one condition per hop.

`lastTransitionTime` moves only when a condition's status changes, so `kubectl wait` and Argo CD
see a stable history; reason and message may change freely.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hybrid_gateway.api.v1alpha1.common import READY, RECONCILING, STALLED

__all__ = ["MAX_MESSAGE_CHARS", "READY", "RECONCILING", "STALLED", "Condition", "bounded", "get", "is_true",
           "merge", "now_rfc3339", "summarize", "summary"]

# A condition message longer than metav1.Condition's maxLength (32768, also in our CRDs) makes the whole
# status write fail, and the user never sees why. A status carries a Stalled message three times (the hop,
# Ready, Stalled) and the Stalled Event once more, so each message is kept far below that: enough for the
# first few problems, and how many more there are.
MAX_MESSAGE_CHARS = 4096
PROBLEM_SEPARATOR = "; "


def summarize(problems: Sequence[str], budget: int = MAX_MESSAGE_CHARS // 2) -> str:
    """`problems` joined by "; ": the first ones that fit in `budget` characters (at least one, cut if it
    must be), then "and N more (M in all)"."""
    shown: list[str] = []
    used = 0
    for index, problem in enumerate(problems):
        rest = len(problems) - index - 1
        reserve = len(f"{PROBLEM_SEPARATOR}and {len(problems)} more ({len(problems)} in all)") if rest else 0
        cost = len(problem) + (len(PROBLEM_SEPARATOR) if shown else 0)
        if shown and used + cost + reserve > budget:
            break
        if not shown and cost + reserve > budget:
            problem = _cut(problem, max(budget - reserve, 40))
            cost = len(problem)
        shown.append(problem)
        used += cost
    text = PROBLEM_SEPARATOR.join(shown)
    rest = len(problems) - len(shown)
    return f"{text}{PROBLEM_SEPARATOR}and {rest} more ({len(problems)} in all)" if rest else text


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters: cut at the last "; " that fits (else anywhere), saying how much is left out."""
    if len(text) <= limit:
        return text
    kept = max(limit - len(f"; ... ({len(text)} more characters)"), 0)
    boundary = text.rfind(PROBLEM_SEPARATOR, 0, kept)
    kept = boundary if boundary > 0 else kept
    return f"{text[:kept]}; ... ({len(text) - kept} more characters)"


def bounded(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`message` as a condition may carry it: at most `limit` characters. Messages that list problems are
    built with `summarize` (the first few, and how many more); this is the net under every other one."""
    return _cut(message, limit)



def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool | None  # None = Unknown
    reason: str
    message: str = ""

    def __post_init__(self) -> None:
        # The one place every condition message (and the Stalled Event, which reuses it) is bounded.
        object.__setattr__(self, "message", bounded(self.message))

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


def summary(hops: list[Condition], *, stalled: Condition | None = None,
            gates: Sequence[Condition] = ()) -> list[Condition]:
    """The three kstatus conditions that follow from the hop conditions of one pass. A failing gate (a
    verdict on the converged chain, such as TrafficFlows) keeps Ready False without Reconciling: nothing
    is under way, the drift checks look again."""
    if stalled is not None:
        return [
            Condition(READY, False, stalled.reason, stalled.message),
            Condition(RECONCILING, False, stalled.reason, "Waiting for a change to the spec or its inputs"),
            Condition(STALLED, True, stalled.reason, stalled.message),
        ]
    pending = [h for h in hops if h.status is not True]
    failing = [g for g in gates if g.status is not True]
    if not pending and failing:
        gate = failing[0]
        message = f"{gate.type}: {gate.message}" if gate.message else gate.type
        return [
            Condition(READY, False, gate.reason, message),
            Condition(RECONCILING, False, gate.reason, ""),
            Condition(STALLED, False, gate.reason, ""),
        ]
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
