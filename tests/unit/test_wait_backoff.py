"""Waiting on AWS backs off only while passes change nothing (so multi-step work stays quick)."""

from __future__ import annotations

from typing import Any

from tests.fakes import FakeKube

from hybrid_gateway.reconcilers.base import (
    MAX_WAIT_REQUEUE_SECONDS,
    WAIT_REQUEUE_SECONDS,
    FinalizeResult,
    KubeObject,
    PassResult,
    Reconciler,
    Runtime,
    wait_delay,
)
from hybrid_gateway.status.conditions import Condition


class Waiting(Reconciler):
    """Reports one hop waiting; `message` is what the pass says about it."""

    kind = "HybridApi"
    plural = "hybridapis"
    message = "load balancer provisioning"

    def reconcile(self, obj: KubeObject) -> PassResult:
        return PassResult(hops=[Condition("LoadBalancersReady", False, "Waiting", self.message)])

    def finalize(self, obj: KubeObject) -> FinalizeResult:
        return FinalizeResult(True)


def _body(status: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "HybridApi", "metadata": {"name": "x", "namespace": "n", "uid": "u1", "generation": 1},
            "spec": {}, "status": status}


def test_wait_delay_is_quick_first_then_doubles_to_a_cap() -> None:
    delays = [wait_delay(n) for n in range(8)]
    assert delays[:4] == [WAIT_REQUEUE_SECONDS] * 4
    assert delays[4] == 2 * WAIT_REQUEUE_SECONDS and delays[5] == 4 * WAIT_REQUEUE_SECONDS
    assert delays[-1] == MAX_WAIT_REQUEUE_SECONDS


def test_unchanged_waiting_passes_back_off_and_progress_resets() -> None:
    kube = FakeKube()
    kube.add_object("hybridapis", _body({}))
    rec = Waiting(Runtime(aws=None, kube=kube))  # type: ignore[arg-type]

    def status() -> dict[str, Any]:
        return kube.status("hybridapis", "n", "x")

    delays = []
    for _ in range(6):
        delays.append(rec.run_pass(_body(status())).requeue_after)
    assert delays[0] == WAIT_REQUEUE_SECONDS  # the first pass writes new status: progress
    assert delays[-1] is not None and delays[-1] > WAIT_REQUEUE_SECONDS
    rec.message = "listener waits for the certificate"  # something moved on
    assert rec.run_pass(_body(status())).requeue_after == WAIT_REQUEUE_SECONDS
