"""How often an object's drift check runs: spec.driftCheckInterval, else the operator's --drift-interval."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from hybrid_gateway import cli, handlers
from hybrid_gateway.api.v1alpha1.common import MIN_DRIFT_SECONDS
from hybrid_gateway.errors import Stalled
from hybrid_gateway.reconcilers.base import KubeObject, Runtime, check_drift_interval


@pytest.mark.parametrize(
    ("reason", "spec", "expected"),
    [
        ("unset: the operator's default", {"region": "ap-northeast-1"}, 42.0),
        ("empty spec", {}, 42.0),
        ("set", {"driftCheckInterval": "90s"}, 90.0),
        ("compound duration", {"driftCheckInterval": "1m30s"}, 90.0),
        ("fraction", {"driftCheckInterval": "1.5h"}, 5400.0),
        ("malformed (the API server rejects it): the default", {"driftCheckInterval": "1 minute"}, 42.0),
    ],
)
def test_drift_interval(reason: str, spec: dict[str, Any], expected: float) -> None:
    assert handlers.drift_interval(spec, 42.0) == expected, reason


class Stopped:
    """kopf.DaemonStopped stand-in: records the first wait and stops the daemon."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __bool__(self) -> bool:
        return bool(self.waits)

    async def wait(self, timeout: float) -> None:
        self.waits.append(timeout)


def first_wait(spec: dict[str, Any], argv: list[str], monkeypatch: pytest.MonkeyPatch) -> float:
    """The drift daemon's first wait for an object with `spec`, in an operator started with `argv`."""
    args = cli.parse_args(["run", *argv])
    memo = SimpleNamespace(state=handlers.OperatorState(
        Runtime(aws=None, kube=None, min_drift_seconds=args.min_drift_interval),  # type: ignore[arg-type]
        default_drift_seconds=args.drift_interval))
    # At the start of a round of every interval used here (checks fall on multiples of the interval), the
    # first wait is one whole interval.
    monkeypatch.setattr(time, "time", lambda: 3600.0)
    body = SimpleNamespace(spec=spec, metadata={"name": "orders", "namespace": "team-a"})
    stopped = Stopped()
    asyncio.run(handlers._drift_daemon("hybridapis", body, memo, stopped))  # type: ignore[arg-type]
    return stopped.waits[0]


LOW_FLOOR = ["--min-drift-interval", "1"]  # as in the dev environment (emulator)


def test_run_flag_applies_to_objects_without_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    assert first_wait({"region": "ap-northeast-1"}, ["--drift-interval", "45"], monkeypatch) == 45.0
    assert first_wait({"region": "ap-northeast-1"}, ["--drift-interval", "5", *LOW_FLOOR], monkeypatch) == 5.0
    assert first_wait({"region": "ap-northeast-1"}, [], monkeypatch) == handlers.DEFAULT_DRIFT_SECONDS


def test_an_object_interval_wins_over_the_run_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    assert first_wait({"driftCheckInterval": "2s"}, ["--drift-interval", "5", *LOW_FLOOR], monkeypatch) == 2.0
    assert first_wait({"driftCheckInterval": "40s"}, [], monkeypatch) == 40.0


def test_an_interval_below_the_floor_is_checked_at_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored 1s (or one written before the floor existed) never drains the shared rate limits: its
    object is Stalled and its drift checks run every --min-drift-interval."""
    assert first_wait({"driftCheckInterval": "1s"}, [], monkeypatch) == MIN_DRIFT_SECONDS
    assert first_wait({"driftCheckInterval": "0.001s"}, LOW_FLOOR, monkeypatch) == 1.0
    # Stored before the schema refused sub-second units.
    assert handlers.drift_interval({"driftCheckInterval": "1ms"}, 60.0) == MIN_DRIFT_SECONDS


@pytest.mark.parametrize(
    ("reason", "argv"),
    [
        ("--drift-interval below the default floor", ["--drift-interval", "1"]),
        ("--drift-interval below a given floor", ["--drift-interval", "5", "--min-drift-interval", "10"]),
        ("zero", ["--drift-interval", "0"]),
        ("negative floor", ["--min-drift-interval", "-1"]),
        ("not a number", ["--drift-interval", "1m"]),
    ],
)
def test_run_refuses_a_drift_interval_below_the_floor(reason: str, argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        cli.parse_args(["run", *argv])


@pytest.mark.parametrize(
    ("reason", "interval", "floor", "stalled"),
    [
        ("1s under the default floor", "1s", MIN_DRIFT_SECONDS, True),
        ("29s", "29s", MIN_DRIFT_SECONDS, True),
        ("a fraction of a second", "0.5s", 1.0, True),
        ("compound, under", "0m20s", MIN_DRIFT_SECONDS, True),
        ("exactly the floor", "30s", MIN_DRIFT_SECONDS, False),
        ("compound, over", "1m30s", MIN_DRIFT_SECONDS, False),
        ("a low floor (emulator)", "1s", 1.0, False),
    ],
)
def test_check_drift_interval(reason: str, interval: str, floor: float, stalled: bool) -> None:
    obj = KubeObject({"metadata": {"name": "orders", "namespace": "team-a"}, "spec": {"driftCheckInterval": interval}})
    if not stalled:
        check_drift_interval(obj, floor)
        return
    with pytest.raises(Stalled) as caught:
        check_drift_interval(obj, floor)
    assert caught.value.reason == "DriftCheckIntervalTooShort", reason
    assert f"spec.driftCheckInterval {interval}" in caught.value.message and f"{floor:g}s" in caught.value.message


@pytest.mark.parametrize(("now", "checked_at", "expected"), [
    # The first check: the first round at least one interval away (the create pass has just written status).
    (3600.0, None, 60.0),  # at a round's start: the next round
    (3630.0, None, 90.0),  # mid-round: the round after the next, so that objects of one interval check together
    (3600.5, 3600.2, 59.5),  # after this round's check: the next round
    (3599.99, 3599.98, 60.01),  # the timer fired a little early: still the next round, not this one again
    (3725.0, 3600.0, 0.0),  # the check took longer than the interval: the next check at once
])
def test_checks_fall_on_the_rounds_of_the_interval(now: float, checked_at: float | None, expected: float) -> None:
    assert handlers.next_round(60.0, now, checked_at) == pytest.approx(expected)
