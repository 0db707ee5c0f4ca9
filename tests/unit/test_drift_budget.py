"""The fleet's drift budget: N objects x reads per check against a bucket's rate x the budget's share."""

from __future__ import annotations

from collections import Counter

import pytest
from tests.fakes import FakeKube

from hybrid_gateway import durations
from hybrid_gateway.aws import clients
from hybrid_gateway.aws.clients import AwsClients
from hybrid_gateway.drift_budget import DriftBudget
from hybrid_gateway.parts.base import Observed, Outcome
from hybrid_gateway.reconcilers.base import FinalizeResult, KubeObject, PassResult, Reconciler, Runtime
from hybrid_gateway.status.conditions import Condition

DESCRIBE = ("eu-west-1", "elbv2:describe")
ACCOUNT = ("eu-west-1", "apigateway:account")
RATES = {"elbv2:describe": 5.0, "apigateway:account": 5.0}


def budget(share: float = 0.5) -> DriftBudget:
    return DriftBudget(RATES.__getitem__, share=share)


def test_a_fleet_within_the_budget_keeps_its_intervals() -> None:
    fleet = budget()
    for i in range(10):  # 10 x 12 reads / 60 s = 2 reads/s, within 0.5 x 5/s
        fleet.observe(f"uid-{i}", 60.0, {DESCRIBE: 12})
    assert fleet.interval("uid-0", 60.0) == 60.0
    assert fleet.use()[DESCRIBE] == pytest.approx(2.0 / 2.5)


@pytest.mark.parametrize(("objects", "reads", "share", "expected"), [
    (100, 12, 0.5, 480.0),  # 100 x 12 / 60 = 20/s against 2.5/s: 8x
    (100, 12, 1.0, 240.0),
    (20, 5, 0.5, 60.0),  # 20 x 5 / 60 = 1.67/s: within 2.5/s
    (50, 6, 0.25, 240.0),  # 5/s against 1.25/s: 4x
])
def test_intervals_stretch_to_keep_the_fleet_within_share_of_the_rate(
        objects: int, reads: int, share: float, expected: float) -> None:
    fleet = budget(share)
    for i in range(objects):
        fleet.observe(f"uid-{i}", 60.0, {DESCRIBE: reads})
    assert fleet.interval("uid-0", 60.0) == pytest.approx(expected)
    assert fleet.use()[DESCRIBE] == pytest.approx(min(1.0, objects * reads / 60.0 / (share * 5.0)))


def test_the_busiest_bucket_an_object_reads_sets_its_stretch() -> None:
    fleet = budget()
    for i in range(100):
        fleet.observe(f"elb-{i}", 60.0, {DESCRIBE: 12, ACCOUNT: 1})  # describe: 8x; account: ~0.67
    fleet.observe("api-only", 60.0, {ACCOUNT: 5})
    assert fleet.interval("elb-0", 60.0) == pytest.approx(480.0)
    assert fleet.interval("api-only", 60.0) == 60.0  # the account bucket has room
    assert all(ratio <= 1.0 + 1e-9 for ratio in fleet.use().values())


def test_forgetting_objects_gives_the_room_back() -> None:
    fleet = budget()
    for i in range(40):
        fleet.observe(f"uid-{i}", 60.0, Counter({DESCRIBE: 12}))
    assert fleet.interval("uid-0", 60.0) == pytest.approx(192.0)
    for i in range(1, 40):
        fleet.forget(f"uid-{i}")
    assert fleet.interval("uid-0", 60.0) == 60.0


def test_an_unknown_object_and_mixed_intervals() -> None:
    fleet = budget()
    fleet.observe("slow", 600.0, {DESCRIBE: 12})
    fleet.observe("fast", 1.0, {DESCRIBE: 5})  # 5/s alone: 2x
    assert fleet.interval("fast", 1.0) == pytest.approx((5 + 12 / 600) / 2.5)
    assert fleet.interval("never-checked", 60.0) == 60.0


def test_effective_interval_is_reported_as_a_duration() -> None:
    assert durations.format_seconds(480.0) == "8m0s"
    assert durations.format_seconds(60.0) == "1m0s"
    assert durations.format_seconds(3725.0) == "1h2m5s"
    assert durations.parse(durations.format_seconds(97.0), 0) == 97.0


class Checking(Reconciler):
    """A converged HybridApi whose every pass makes `reads` elbv2 Describe calls (recorded as the client
    layer's before-send hook records them); `changed` passes created something."""

    kind, plural = "HybridApi", "hybridapis"
    reads = 12
    changed = False

    def reconcile(self, obj: KubeObject) -> PassResult:
        recording = clients._RECORDING.get()
        assert recording is not None
        recording[DESCRIBE] += self.reads
        outcomes = [Outcome("alb", Observed(id="alb-1", state=None), action="Created")] if self.changed else []
        return PassResult(hops=[Condition("AlbReady", True, "Ready", "")], outcomes=outcomes)

    def finalize(self, obj: KubeObject) -> FinalizeResult:
        return FinalizeResult(done=True)


def test_run_pass_feeds_the_budget_and_reports_the_effective_interval() -> None:
    kube = FakeKube()
    fleet = budget()
    reconciler = Checking(Runtime(aws=AwsClients(), kube=kube, drift_budget=fleet))
    for i in range(100):
        kube.add_object("hybridapis", {"metadata": {"name": f"api-{i}", "namespace": "ns", "uid": f"u{i}",
                                                    "generation": 1}, "spec": {}})
    reconciler.changed = True  # a pass that created something is not what a check costs
    reconciler.run_pass(kube.objects[("hybridapis", "ns", "api-0")], drift_seconds=60.0)
    assert kube.status("hybridapis", "ns", "api-0")["drift"]["effectiveInterval"] == "1m0s"
    assert fleet.use() == {}
    reconciler.changed = False
    for i in range(100):
        reconciler.run_pass(kube.objects[("hybridapis", "ns", f"api-{i}")], drift_seconds=60.0)
    assert kube.status("hybridapis", "ns", "api-99")["drift"]["effectiveInterval"] == "8m0s"  # 100 x 12 / 60 s
    assert fleet.use()[DESCRIBE] == pytest.approx(1.0)
    reconciler.run_finalize(kube.objects[("hybridapis", "ns", "api-99")])
    assert fleet.interval("u0", 60.0) == pytest.approx(60.0 * 99 * 12 / 60 / 2.5)
