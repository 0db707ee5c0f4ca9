"""What run_pass() counts as drift: changes made while the spec has not changed since the object was Ready,
including the passes a repair needs while it waits for AWS (a new VPC link PENDING, a domain UPDATING)."""

from __future__ import annotations

from typing import Any

from tests.fakes import FakeKube

from hybrid_gateway.parts.base import Observed, Outcome
from hybrid_gateway.reconcilers.base import FinalizeResult, KubeObject, PassResult, Reconciler, Runtime
from hybrid_gateway.status.conditions import Condition


class Scripted(Reconciler):
    """A reconciler whose passes say what they changed and whether they still wait."""

    kind, plural = "HybridApi", "hybridapis"
    script: list[tuple[list[str], bool]] = []  # per pass: parts changed, still waiting

    def reconcile(self, obj: KubeObject) -> PassResult:
        changed, waiting = self.script.pop(0)
        return PassResult(
            hops=[Condition("VpcLinkReady", not waiting, "Waiting" if waiting else "Ready", "")],
            outcomes=[Outcome(part, Observed(id=f"{part}-1", state=None), action="Updated") for part in changed])

    def finalize(self, obj: KubeObject) -> FinalizeResult:
        return FinalizeResult(done=True)


def run(reconciler: Scripted, kube: FakeKube, generation: int) -> list[tuple[str, str]]:
    body: dict[str, Any] = kube.objects[("hybridapis", "ns", "api")]
    body["metadata"]["generation"] = generation
    report = reconciler.run_pass(body)
    return [(event.reason, event.message) for event in report.events]


def test_a_repair_that_waits_for_aws_is_drift_in_every_pass_until_ready() -> None:
    kube = FakeKube()
    kube.add_object("hybridapis", {"metadata": {"name": "api", "namespace": "ns", "uid": "u1", "generation": 1},
                                   "spec": {}})
    reconciler = Scripted(Runtime(aws=None, kube=kube))  # type: ignore[arg-type]
    reconciler.script = [([], False),  # Ready
                         (["vpc-link"], True),  # drift found: a new link, PENDING
                         ([], True),  # still PENDING
                         (["rest-api", "stage"], False),  # integrations moved, redeployed: Ready again
                         (["stage"], False)]  # the spec changed (generation 2): not drift
    assert run(reconciler, kube, 1) == []
    assert run(reconciler, kube, 1) == [("DriftCorrected", "Corrected drift on Updated vpc-link vpc-link-1")]
    assert kube.status("hybridapis", "ns", "api")["drift"]["repairing"] is True
    assert run(reconciler, kube, 1) == []
    assert [reason for reason, _ in run(reconciler, kube, 1)] == ["DriftCorrected", "DriftCorrected"]
    drift = kube.status("hybridapis", "ns", "api")["drift"]
    assert drift["corrections"] == 3 and drift["repairing"] is False
    assert run(reconciler, kube, 2) == [("Updated", "Updated stage stage-1")]
    assert kube.status("hybridapis", "ns", "api")["drift"]["corrections"] == 3
