from __future__ import annotations

import pytest

from hybrid_gateway.status import conditions as cond
from hybrid_gateway.status.conditions import Condition


def test_last_transition_time_only_moves_when_status_changes() -> None:
    first = cond.merge([], [Condition("DnsReady", False, "Waiting", "a")], 1, now="2026-01-01T00:00:00Z")
    same = cond.merge(first, [Condition("DnsReady", False, "StillWaiting", "b")], 2, now="2026-01-02T00:00:00Z")
    flipped = cond.merge(same, [Condition("DnsReady", True, "Ready", "")], 2, now="2026-01-03T00:00:00Z")
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert same[0]["reason"] == "StillWaiting" and same[0]["observedGeneration"] == 2
    assert flipped[0]["lastTransitionTime"] == "2026-01-03T00:00:00Z"
    assert flipped[0]["status"] == "True"


def test_merge_keeps_conditions_not_named_and_their_order() -> None:
    existing = cond.merge([], [Condition("A", True, "R"), Condition("B", False, "R")], 1)
    merged = cond.merge(existing, [Condition("B", True, "R"), Condition("C", None, "R")], 1)
    assert [c["type"] for c in merged] == ["A", "B", "C"]
    assert merged[2]["status"] == "Unknown"


@pytest.mark.parametrize(
    ("reason", "hops", "stalled", "expected"),
    [
        ("all hops true", [Condition("X", True, "Ok")], None,
         {"Ready": "True", "Reconciling": "False", "Stalled": "False"}),
        ("one hop waiting", [Condition("X", True, "Ok"), Condition("Y", False, "Pending", "wait")], None,
         {"Ready": "False", "Reconciling": "True", "Stalled": "False"}),
        ("stalled wins", [Condition("X", True, "Ok")], Condition("Stalled", True, "Bad", "fix it"),
         {"Ready": "False", "Reconciling": "False", "Stalled": "True"}),
        ("no hops at all is ready", [], None, {"Ready": "True", "Reconciling": "False", "Stalled": "False"}),
    ],
)
def test_summary(reason: str, hops: list[Condition], stalled: Condition | None, expected: dict[str, str]) -> None:
    got = {c.type: c.status_text for c in cond.summary(hops, stalled=stalled)}
    assert got == expected, reason


def test_summary_message_names_first_pending_hop() -> None:
    out = cond.summary([Condition("A", True, "Ok"), Condition("B", False, "Provisioning", "NLB provisioning")])
    ready = next(c for c in out if c.type == "Ready")
    assert ready.reason == "Provisioning"
    assert ready.message == "B: NLB provisioning"


@pytest.mark.parametrize(
    ("reason", "hops", "gates", "expected"),
    [
        ("a failing gate on a converged chain: not Ready, not Reconciling",
         [Condition("DnsReady", True, "Ready")], [Condition("TrafficFlows", False, "BackendRefused", "hop ALB")],
         {"Ready": "False", "Reconciling": "False", "Stalled": "False"}),
        ("a pending hop comes first: the gate does not run on an unfinished chain",
         [Condition("DnsReady", False, "Waiting", "w")], [Condition("TrafficFlows", False, "BackendRefused")],
         {"Ready": "False", "Reconciling": "True", "Stalled": "False"}),
        ("a passing gate", [Condition("DnsReady", True, "Ready")], [Condition("TrafficFlows", True, "ProbePassed")],
         {"Ready": "True", "Reconciling": "False", "Stalled": "False"}),
    ],
)
def test_summary_with_gates(reason: str, hops: list[Condition], gates: list[Condition],
                            expected: dict[str, str]) -> None:
    got = {c.type: c.status_text for c in cond.summary(hops, gates=gates)}
    assert got == expected, reason


def test_a_failing_gate_gives_ready_its_reason_and_message() -> None:
    ready = cond.summary([], gates=[Condition("TrafficFlows", False, "BackendUnhealthy", "probe ...")])[0]
    assert (ready.reason, ready.message) == ("BackendUnhealthy", "TrafficFlows: probe ...")
