"""Issue 12, "Build" 1: when many HybridApis are checked in the same interval, describes are batched across
objects. Four converged HybridApis of one interval check in the same rounds (handlers.next_round); per round,
each kind that takes lists of ids (load balancers, target groups, listeners, security groups) or that one
listing answers (REST APIs, V1 links, the zone's records) costs one call for all four, and the reads that take
a single id of one object (its certificate, its API's resources, its stage, its targets' health) one each. No
write. See also bench/steady_state.py --objects 20 (at most 6 reads per HybridApi)."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import apply, format_reads, hybridapi, round_calls, secret, wait_ready

pytestmark = pytest.mark.e2e

OBJECTS = 4
ROUNDS = 5
# Reads that name one object's resource: one call per object per check, as for an object alone
# (test_hybridapi_steady.py).
PER_OBJECT = {
    "V1": {"acm:DescribeCertificate": 1, "apigateway:GetResources": 1, "apigateway:GetStage": 1,
           "elbv2:DescribeTargetHealth": 2},
    "V2": {"acm:DescribeCertificate": 1, "apigateway:GetResources": 1, "apigateway:GetStage": 1,
           "elbv2:DescribeTargetHealth": 1},
}
# Reads shared by the round: each group (a kind, by id or by its listing) at most once per round.
PER_ROUND = {
    "V1": [("elbv2:DescribeLoadBalancers",), ("elbv2:DescribeTargetGroups",), ("elbv2:DescribeListeners",),
           ("ec2:DescribeSecurityGroups",), ("apigateway:GetRestApi", "apigateway:GetRestApis"),
           ("apigateway:GetVpcLink", "apigateway:GetVpcLinks"), ("route53:ListResourceRecordSets",)],
    "V2": [("elbv2:DescribeLoadBalancers",), ("elbv2:DescribeTargetGroups",), ("elbv2:DescribeListeners",),
           ("ec2:DescribeSecurityGroups",), ("apigateway:GetRestApi", "apigateway:GetRestApis"),
           # the four share one link: one read of it answers them all
           ("apigatewayv2:GetVpcLink", "apigatewayv2:GetVpcLinks"), ("route53:ListResourceRecordSets",)],
}


@pytest.mark.parametrize("version", ["V1", "V2"])
def test_a_round_of_checks_reads_each_shared_kind_once_for_all_objects(
    cluster, namespace, account, control, start_operator, version: str
) -> None:
    start_operator(namespace)
    names = [f"fleet{n}" for n in range(OBJECTS)]
    for name in names:
        apply(cluster, namespace, secret(f"{name}-gw", {"token": "fleet-secret"}),
              hybridapi(name, account, link_version=version, driftCheckInterval="5s"))
    for name in names:
        wait_ready(cluster, namespace, name, timeout=300)

    round_calls(control, OBJECTS, 2, timeout=120)  # every object has had a check (its reads are known)
    calls = round_calls(control, OBJECTS, ROUNDS, timeout=ROUNDS * 15 + 60)
    print("\n" + format_reads(calls))
    assert calls["writes"] == [] and calls["faults"] == 0
    checks, rounds = calls["checks"], calls["rounds"]
    assert checks >= OBJECTS * ROUNDS and rounds == int(rounds)  # whole rounds of all four objects

    for operation, per_check in PER_OBJECT[version].items():
        assert calls["calls"].get(operation, 0) == checks * per_check, operation
    for group in PER_ROUND[version]:
        made = sum(calls["calls"].get(operation, 0) for operation in group)
        assert 1 <= made <= rounds, (group, made, rounds)
    expected = set(PER_OBJECT[version]) | {op for group in PER_ROUND[version] for op in group}
    assert set(calls["calls"]) <= expected, set(calls["calls"]) - expected
    alone = {"V1": 12, "V2": 11}[version]  # test_hybridapi_steady.py
    per_check = calls["reads"] / checks
    assert per_check <= sum(PER_OBJECT[version].values()) + len(PER_ROUND[version]) / OBJECTS < alone
