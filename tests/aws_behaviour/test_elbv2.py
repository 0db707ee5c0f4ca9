"""ELBv2: load balancer states and deletion, target health, target groups of type ``alb``
(catalogue: docs/aws-behaviour.md, "ELBv2")."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hybrid_gateway_devenv.emulator import EmulatorControl

from .helpers import Aws, Cleanup, described, error_of, lb_state, load_balancer, network, wait_active

pytestmark = pytest.mark.slow_on_aws


def test_load_balancer_provisioning_then_active__elb_api_reference_load_balancer_state(
    aws: Aws, cleanup: Cleanup
) -> None:
    """CreateLoadBalancer answers ``provisioning``; DescribeLoadBalancers says ``provisioning`` until
    the load balancer is set up, then ``active``.

    Source: ELB API reference, ``LoadBalancerState``: "The initial state of the load balancer is
    provisioning. After the load balancer is fully set up and ready to route traffic, its state is
    active." botocore waiter ``load_balancer_available`` (retries while ``provisioning``).
    """
    net = network(aws, cleanup)
    created = load_balancer(aws, cleanup, net, "network", "nlb")
    assert created["State"]["Code"] == "provisioning"
    elbv2 = aws.client("elbv2")
    seen = {lb_state(elbv2, created["LoadBalancerArn"])}
    wait_active(aws, created["LoadBalancerArn"])
    assert seen <= {"provisioning", "active"}
    if not aws.real:  # the emulator's provisioning delay is on by default: never active at once
        assert seen == {"provisioning"}


def test_deleted_load_balancer_described_for_a_while_then_not_found__elb_api_reference_delete_load_balancer(
    aws: Aws, cleanup: Cleanup
) -> None:
    """DeleteLoadBalancer succeeds (also for a load balancer already deleted); DescribeLoadBalancers
    may still answer it (``active``) for a while, then ``LoadBalancerNotFound`` (400).

    Source: ELB API reference, ``DeleteLoadBalancer`` ("If the load balancer does not exist or has
    already been deleted, the call succeeds"); botocore waiter ``load_balancers_deleted`` (retries
    while the load balancer is still described as ``active``, succeeds on LoadBalancerNotFound).
    """
    net = network(aws, cleanup)
    arn = load_balancer(aws, cleanup, net, "network", "gone")["LoadBalancerArn"]
    wait_active(aws, arn)
    elbv2 = aws.client("elbv2")
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    first = described(elbv2, arn)
    assert first is None or first["State"]["Code"] == "active"
    if not aws.real:  # the emulator's deletion delay is on by default
        assert first is not None
    elbv2.delete_load_balancer(LoadBalancerArn=arn)  # idempotent
    aws.wait(lambda: described(elbv2, arn) is None, emulated=20, real=900, what="LoadBalancerNotFound")
    with pytest.raises(ClientError) as gone:
        elbv2.describe_load_balancers(LoadBalancerArns=[arn])
    assert error_of(gone)[:2] == ("LoadBalancerNotFound", 400)


def _ip_group(aws: Aws, cleanup: Cleanup, vpc_id: str, **extra: Any) -> str:
    elbv2 = aws.client("elbv2")
    arn = str(
        elbv2.create_target_group(
            Name=aws.name("tg"),
            Protocol="TCP",
            Port=443,
            VpcId=vpc_id,
            TargetType="ip",
            HealthCheckIntervalSeconds=10,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
            Tags=aws.tags(),
            **extra,
        )["TargetGroups"][0]["TargetGroupArn"]
    )
    cleanup.add(f"target group {arn}", lambda: elbv2.delete_target_group(TargetGroupArn=arn))
    return arn


def health(aws: Aws, group: str) -> list[dict[str, Any]]:
    answer = aws.client("elbv2").describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return [dict(d["TargetHealth"], Id=d["Target"]["Id"]) for d in answer]


def _listener(aws: Aws, cleanup: Cleanup, balancer: str, group: str, port: int = 443) -> str:
    elbv2 = aws.client("elbv2")
    arn = str(
        elbv2.create_listener(
            LoadBalancerArn=balancer,
            Protocol="TCP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
        )["Listeners"][0]["ListenerArn"]
    )
    cleanup.add(f"listener {arn}", lambda: elbv2.delete_listener(ListenerArn=arn))
    return arn


def test_target_unused_without_load_balancer_then_initial__elb_api_reference_target_health(
    aws: Aws, cleanup: Cleanup, request: pytest.FixtureRequest
) -> None:
    """A target of a group that no load balancer uses is ``unused`` / ``Target.NotInUse``; once a
    listener forwards to the group it is ``initial`` (``Elb.RegistrationInProgress`` or
    ``Elb.InitialHealthChecking``) and never ``healthy`` before a health check ran; a target whose
    checks fail ends ``unhealthy`` / ``Target.FailedHealthChecks``.

    Source: ELB API reference, ``TargetHealth`` (states and reason codes); AWS CLI examples
    ``awscli/examples/elbv2/describe-target-health.rst`` ("Target group is not configured to receive
    traffic from the load balancer", "Target registration is in progress"); public real-account
    outputs for the descriptions "Initial health checks in progress" and "Health checks failed"
    (weaker). On AWS nothing answers at the target's address, so its checks fail; in the emulator
    the control API marks it down.
    """
    net = network(aws, cleanup)
    group = _ip_group(aws, cleanup, net.vpc_id)
    elbv2 = aws.client("elbv2")
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.199.1.10", "Port": 443}])
    [unused] = aws.wait(lambda: health(aws, group), emulated=5, real=120, what="target listed")
    assert (unused["State"], unused["Reason"]) == ("unused", "Target.NotInUse")
    assert unused["Description"] == "Target group is not configured to receive traffic from the load balancer"

    nlb = load_balancer(aws, cleanup, net, "network", "hc")["LoadBalancerArn"]
    _listener(aws, cleanup, nlb, group)
    if aws.control is not None:
        aws.control.set_target_health("10.199.1.10", "unhealthy")
    [initial] = health(aws, group)
    assert initial["State"] == "initial"
    assert initial["Reason"] in ("Elb.RegistrationInProgress", "Elb.InitialHealthChecking")

    def settled() -> dict[str, Any] | None:
        [now] = health(aws, group)
        assert now["State"] in ("initial", "unhealthy"), now  # never healthy: nothing answers
        return now if now["State"] == "unhealthy" else None

    failed = aws.wait(settled, emulated=20, real=1200, what="unhealthy")
    assert failed["Reason"] == "Target.FailedHealthChecks"


@pytest.mark.emulator_only
def test_target_healthy_only_after_its_health_checks__elb_user_guide_health_checks(
    aws: Aws, cleanup: Cleanup, ctl: EmulatorControl
) -> None:
    """A registered target in a group in use is ``initial`` for the health-check period, then
    ``healthy``; marked down (control API) it becomes ``unhealthy``, and ``healthy`` again when its
    checks pass. Emulator only: on AWS ``healthy`` needs a real backend.

    Source: ELB API reference ``TargetHealth`` (``Elb.InitialHealthChecking``: "still sending the
    target the minimum number of health checks required to determine its health status"); ALB/NLB
    user guides, "Health checks for your target groups" (HealthyThresholdCount consecutive successes
    before a target is considered healthy).
    """
    ctl.set_delays(health_check=1.0)
    net = network(aws, cleanup)
    group = _ip_group(aws, cleanup, net.vpc_id)
    nlb = load_balancer(aws, cleanup, net, "network", "hc")["LoadBalancerArn"]
    _listener(aws, cleanup, nlb, group)
    elbv2 = aws.client("elbv2")
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.199.1.11", "Port": 443}])
    started = time.monotonic()
    states = []
    while True:
        [now] = health(aws, group)
        states.append((now["State"], now.get("Reason")))
        if now["State"] == "healthy":
            break
        assert time.monotonic() - started < 5
        time.sleep(0.05)
    assert time.monotonic() - started >= 0.9
    assert states[0] == ("initial", "Elb.RegistrationInProgress")
    assert ("initial", "Elb.InitialHealthChecking") in states
    assert "Reason" not in now
    ctl.set_target_health("10.199.1.11", "unhealthy", port=443, target_group_arn=group)
    [down] = health(aws, group)
    assert (down["State"], down["Reason"], down["Description"]) == (
        "unhealthy",
        "Target.FailedHealthChecks",
        "Health checks failed",
    )
    ctl.set_target_health("10.199.1.11", "healthy", port=443, target_group_arn=group)
    assert health(aws, group)[0]["State"] == "healthy"


@pytest.mark.emulator_only
def test_deregistered_target_drains__elb_api_reference_target_health(
    aws: Aws, cleanup: Cleanup, ctl: EmulatorControl
) -> None:
    """A target deregistered from a group in use is ``draining`` / ``Target.DeregistrationInProgress``
    for the deregistration delay, then no longer listed.

    Source: ELB API reference, ``TargetHealth`` (``draining``: "Target.DeregistrationInProgress - The
    target is in the process of being deregistered and the deregistration delay period has not
    expired"); target group attribute ``deregistration_delay.timeout_seconds`` (default 300).
    Emulator only: on AWS the delay is 300 s unless the group says otherwise.
    """
    ctl.set_delays(deletion=1.0, health_check=0)
    net = network(aws, cleanup)
    group = _ip_group(aws, cleanup, net.vpc_id)
    nlb = load_balancer(aws, cleanup, net, "network", "dr")["LoadBalancerArn"]
    _listener(aws, cleanup, nlb, group)
    elbv2 = aws.client("elbv2")
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.199.1.12", "Port": 443}])
    elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": "10.199.1.12", "Port": 443}])
    [draining] = health(aws, group)
    assert (draining["State"], draining["Reason"]) == ("draining", "Target.DeregistrationInProgress")
    aws.wait(lambda: health(aws, group) == [], emulated=5, real=600, what="drained")


def test_alb_target_group_only_tcp__nlb_user_guide_application_load_balancer_target(aws: Aws, cleanup: Cleanup) -> None:
    """CreateTargetGroup with ``TargetType: alb`` is refused for any protocol but TCP.

    Source: NLB user guide, "Use an Application Load Balancer as a target of a Network Load
    Balancer" (alb targets are reached over TCP listeners of the NLB). The refusal's message is
    assumed; its code, ``ValidationError`` (400), is ELBv2's validation error.
    """
    net = network(aws, cleanup)
    with pytest.raises(ClientError) as refused:
        aws.client("elbv2").create_target_group(
            Name=aws.name("albtg"), Protocol="TLS", Port=443, VpcId=net.vpc_id, TargetType="alb"
        )
    assert error_of(refused)[:2] == ("ValidationError", 400)


def test_alb_registered_only_with_a_listener_on_the_group_port__terraform_provider_aws_38987(
    aws: Aws, cleanup: Cleanup
) -> None:
    """RegisterTargets of an ALB into an ``alb`` target group is refused until the ALB has a listener
    on the group's port: ``ValidationError`` "If the target type is ALB, the target must have at
    least one listener that matches the target group port or any specified port overrides".

    Source (weaker, a real 400 quoted verbatim): hashicorp/terraform-provider-aws #38987; rules from
    the NLB user guide, "Use an Application Load Balancer as a target of a Network Load Balancer".
    """
    net = network(aws, cleanup)
    elbv2 = aws.client("elbv2")
    alb = load_balancer(aws, cleanup, net, "application", "alb")["LoadBalancerArn"]
    group = str(
        elbv2.create_target_group(
            Name=aws.name("albtg"),
            Protocol="TCP",
            Port=443,
            VpcId=net.vpc_id,
            TargetType="alb",
            HealthCheckProtocol="HTTP",
            Tags=aws.tags(),
        )["TargetGroups"][0]["TargetGroupArn"]
    )
    cleanup.add(f"target group {group}", lambda: elbv2.delete_target_group(TargetGroupArn=group))
    with pytest.raises(ClientError) as no_listener:
        elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": alb, "Port": 443}])
    assert error_of(no_listener) == (
        "ValidationError",
        400,
        "If the target type is ALB, the target must have at least one listener that matches the target group "
        "port or any specified port overrides",
    )
    backend = str(
        elbv2.create_target_group(
            Name=aws.name("iptg"), Protocol="HTTP", Port=80, VpcId=net.vpc_id, TargetType="ip", Tags=aws.tags()
        )["TargetGroups"][0]["TargetGroupArn"]
    )
    cleanup.add(f"target group {backend}", lambda: elbv2.delete_target_group(TargetGroupArn=backend))
    listener = elbv2.create_listener(
        LoadBalancerArn=alb,
        Protocol="HTTP",
        Port=443,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": backend}],
    )["Listeners"][0]["ListenerArn"]
    cleanup.add(f"listener {listener}", lambda: elbv2.delete_listener(ListenerArn=listener))
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": alb, "Port": 443}])
    cleanup.add("alb target", lambda: elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": alb}]))
    registered = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert [d["Target"]["Id"] for d in registered] == [alb]
