"""The operator's buckets per AWS operation group, against the emulator's model of AWS's own buckets, and
the AIMD token bucket's math on a fake clock."""

from __future__ import annotations

import pytest

from hybrid_gateway.aws import clients, quotas
from hybrid_gateway.aws.clients import AwsClients, TokenBucket
from hybrid_gateway_devenv.emulator import quotas as emulated
from hybrid_gateway_devenv.emulator.routing import AwsCall


def _emulated_calls() -> list[AwsCall]:
    """One call per operation the emulator has a quota row for, plus the operator's everyday operations."""
    names: dict[str, set[str]] = {
        "apigateway": set(emulated.APIGATEWAY_OPERATIONS) | {"CreateRestApi", "GetRestApi", "GetStage"},
        "apigatewayv2": set(emulated.APIGATEWAYV2_OPERATIONS),
        "elbv2": {"DescribeTags", "DescribeLoadBalancers", "DescribeTargetHealth", "RegisterTargets",
                  "DeregisterTargets", "CreateLoadBalancer", "SetSubnets", "ModifyListener", "AddTags"},
        "route53": set(emulated.ROUTE53_ACTIONS) | {"GetHostedZone", "ListResourceRecordSets",
                                                    "ChangeResourceRecordSets"},
        "acm": set(emulated.ACM_OPERATIONS),
        "ec2": set(emulated.EC2_ACTIONS) | set(emulated.EC2_UNFILTERED_ACTIONS)
        | {"DescribeSubnets", "DescribeVpcs", "AuthorizeSecurityGroupIngress", "CreateSecurityGroup"},
    }
    regional_api = b'{"endpointConfiguration": {"types": ["REGIONAL"]}}'
    return [AwsCall(method="POST", raw_path="/", path="/", query={}, headers={}, service=service,
                    operation=operation, body=regional_api if operation == "CreateRestApi" else b"")
            for service, operations in names.items() for operation in sorted(operations)]


@pytest.mark.parametrize("call", _emulated_calls(), ids=lambda c: f"{c.service}:{c.operation}")
def test_defaults_are_at_most_half_of_every_aws_bucket_a_call_draws_from(call: AwsCall) -> None:
    """Every AWS bucket (as the emulator models it) that a call takes a token from has an operator bucket of
    the same call at no more than half its rate and burst: the two tables cannot drift apart."""
    ours = [quotas.default_quota(name) for name in quotas.buckets_for(call.service, call.operation)]
    for name, aws in emulated.buckets_for(call):
        assert any(q.rate <= aws.refill / 2 and q.burst <= max(1.0, aws.capacity / 2) for q in ours), (
            f"{call.service}:{call.operation}: no operator bucket within half of AWS's {name} "
            f"({aws.refill}/s, burst {aws.capacity}); ours: {ours}")


def test_bucket_names_and_defaults() -> None:
    assert quotas.buckets_for("elbv2", "DescribeTags") == ("elbv2:describe",)
    assert quotas.buckets_for("elbv2", "ModifyListener") == ("elbv2:mutating",)
    assert quotas.buckets_for("apigateway", "CreateDeployment") == ("apigateway:account", "apigateway:CreateDeployment")
    assert quotas.buckets_for("route53", "GetHostedZone") == ("route53:account", "route53:GetHostedZone")
    assert quotas.default_quota("elbv2:describe") == quotas.Quota(5.0, 20.0)
    assert quotas.default_quota("apigateway:account") == quotas.Quota(5.0, 20.0)
    # Half of 1 per 5 s, and room for arrival jitter (AWS gives this bucket no burst).
    deployment = quotas.default_quota("apigateway:CreateDeployment")
    assert deployment.rate == pytest.approx(1 / (10 + quotas.ARRIVAL_JITTER_SECONDS))
    assert quotas.default_quota("ec2:DescribeSecurityGroups").rate == 5.0  # the unfiltered quota, always
    assert quotas.default_quota("ec2:DescribeSubnets").rate == 10.0
    assert quotas.region_of("route53", "eu-west-1") == quotas.GLOBAL_REGION


def test_overrides_most_specific_wins() -> None:
    aws = AwsClients(rate_limits={"*": 100.0, "elbv2": 20.0, "elbv2:mutating": 2.0})
    assert aws.quota("elbv2:mutating").rate == 2.0
    assert aws.quota("elbv2:describe").rate == 20.0
    assert aws.quota("apigateway:account").rate == 100.0
    only = AwsClients(rate_limits={"route53": 2.5})
    assert only.quota("route53:account").rate == 2.5
    assert only.quota("elbv2:describe") == quotas.default_quota("elbv2:describe")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_paces_at_its_rate_after_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5.0, 20.0, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        bucket.acquire()
    assert clock.now == 1000.0  # the burst is free
    for _ in range(10):
        bucket.acquire()
    assert clock.now == pytest.approx(1002.0)  # then 5 per second


def test_a_throttle_halves_the_rate_once_per_burst_and_it_recovers_linearly() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, 4.0, clock=clock, sleep=clock.sleep)
    assert bucket.throttled()
    assert bucket.rate == 2.0
    assert not bucket.throttled()  # the other answers of the same burst
    assert bucket.rate == 2.0
    assert bucket.try_acquire() == pytest.approx(0.5)  # no token left: one at the new rate
    clock.now += clients.DECREASE_COOLDOWN
    assert bucket.throttled()
    halved = (2.0 + 4.0 * clients.DECREASE_COOLDOWN / clients.RECOVERY_SECONDS) / 2  # it climbed meanwhile
    assert bucket.rate == pytest.approx(halved)
    clock.now += clients.RECOVERY_SECONDS / 4  # recovers by the ceiling every RECOVERY_SECONDS
    bucket.try_acquire()
    assert bucket.rate == pytest.approx(halved + 1.0)
    clock.now += clients.RECOVERY_SECONDS
    bucket.try_acquire()
    assert bucket.rate == 4.0  # never above the configured rate


def test_repeated_throttles_stop_at_the_floor() -> None:
    clock = FakeClock()
    bucket = TokenBucket(8.0, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        bucket.throttled()
        clock.now += clients.DECREASE_COOLDOWN
    assert bucket.rate == pytest.approx(8.0 * clients.MIN_RATE_SHARE, rel=0.2)


def test_a_bucket_without_burst_leaves_room_for_arrival_jitter() -> None:
    """AWS's burst-1 buckets (ListCertificates 1/s, CreateDeployment 1 per 5 s) throttle two calls that reach
    AWS closer than 1/rate apart: at any share, the operator's interval is longer by ARRIVAL_JITTER_SECONDS.
    Buckets with a burst absorb the jitter in it."""
    for bucket in ("acm:ListCertificates", "apigateway:CreateDeployment", "apigateway:CreateRestApi:regional"):
        aws = quotas.aws_quota(bucket)
        assert aws is not None and aws.burst == 1
        for share in (0.5, 1.0):
            mine = quotas.default_quota(bucket, share)
            assert mine.burst == 1
            assert 1 / mine.rate == pytest.approx(1 / (aws.rate * share) + quotas.ARRIVAL_JITTER_SECONDS)
    assert quotas.default_quota("elbv2:create-load-balancer", 1.0) == quotas.AWS_QUOTAS["elbv2:create-load-balancer"]
