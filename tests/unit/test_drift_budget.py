"""The fleet's drift budget: N objects x reads per check against a bucket's rate x the budget's share."""

from __future__ import annotations

from collections import Counter

import pytest

from hybrid_gateway import durations
from hybrid_gateway.drift_budget import DriftBudget

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
