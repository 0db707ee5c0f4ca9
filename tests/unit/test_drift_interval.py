"""How often an object's drift check runs: spec.driftCheckInterval, else the operator's --drift-interval."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace
from typing import Any

import pytest

from hybrid_gateway import cli, handlers
from hybrid_gateway.reconcilers.base import Runtime


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
    args = cli.build_parser().parse_args(["run", *argv])
    memo = SimpleNamespace(state=handlers.OperatorState(
        Runtime(aws=None, kube=None), default_drift_seconds=args.drift_interval))  # type: ignore[arg-type]
    monkeypatch.setattr(random, "uniform", lambda low, high: 1.0)  # no jitter
    body = SimpleNamespace(spec=spec, metadata={"name": "orders", "namespace": "team-a"})
    stopped = Stopped()
    asyncio.run(handlers._drift_daemon("hybridapis", body, memo, stopped))  # type: ignore[arg-type]
    return stopped.waits[0]


def test_run_flag_applies_to_objects_without_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    assert first_wait({"region": "ap-northeast-1"}, ["--drift-interval", "5"], monkeypatch) == 5.0
    assert first_wait({"region": "ap-northeast-1"}, [], monkeypatch) == handlers.DEFAULT_DRIFT_SECONDS


def test_an_object_interval_wins_over_the_run_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    assert first_wait({"driftCheckInterval": "2s"}, ["--drift-interval", "5"], monkeypatch) == 2.0
