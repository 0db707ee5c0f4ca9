"""Real health checks of ip target groups: requests with the group's path and matcher to the targets
the on-prem network map reaches; DescribeTargetHealth answers what they found (catalogue:
docs/aws-behaviour.md, "Data plane")."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from hybrid_gateway_devenv.emulator import EmulatorControl
from hybrid_gateway_devenv.emulator.dataplane.healthcheck import HealthChecks, matcher_codes

from ..onprem_backend import OnPremBackend, onprem_backend  # noqa: F401 (fixture)
from .helpers import network

TARGET = "192.168.10.5"


def checks_seen(backend: OnPremBackend) -> list[dict[str, Any]]:
    found = backend.health_checks()
    assert all(r["headers"]["user-agent"] == "ELB-HealthChecker/2.0" for r in found)
    return found


def ip_group_in_use(elbv2: Any, ec2: Any, **health_check: Any) -> str:
    """An HTTPS ip target group with TARGET:443 registered, used by an ALB listener."""
    vpc, subnets = network(ec2)
    group = elbv2.create_target_group(
        Name="ip", Protocol="HTTPS", Port=443, VpcId=vpc, TargetType="ip", HealthCheckPath="/healthz",
        Matcher={"HttpCode": "200-399"}, **health_check,
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": TARGET, "Port": 443, "AvailabilityZone": "all"}])
    alb = elbv2.create_load_balancer(Name="alb", Subnets=subnets, Scheme="internal", Type="application")
    elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancers"][0]["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    return str(group)


def health(elbv2: Any, group: str) -> dict[str, Any]:
    return dict(elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"][0]["TargetHealth"])


@pytest.mark.usefixtures("instant_aws")
def test_describe_target_health_answers_what_the_backend_answers(
    elbv2: Any, ec2: Any, ctl: EmulatorControl, onprem_backend: OnPremBackend  # noqa: F811
) -> None:
    group = ip_group_in_use(elbv2, ec2)
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    assert health(elbv2, group) == {"State": "healthy"}
    seen = checks_seen(onprem_backend)
    assert [(r["method"], r["path"]) for r in seen] == [("GET", "/healthz")]

    onprem_backend.health_status = 503  # outside the matcher 200-399
    assert health(elbv2, group) == {
        "State": "unhealthy",
        "Reason": "Target.ResponseCodeMismatch",
        "Description": "Health checks failed with these codes: [503]",
    }
    onprem_backend.health_status = 302  # inside it
    assert health(elbv2, group)["State"] == "healthy"

    onprem_backend.stop()  # connection refused
    assert health(elbv2, group) == {
        "State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"
    }


@pytest.mark.usefixtures("instant_aws")
def test_a_health_check_port_the_network_map_does_not_reach_times_out(
    elbv2: Any, ec2: Any, ctl: EmulatorControl, onprem_backend: OnPremBackend  # noqa: F811
) -> None:
    group = ip_group_in_use(elbv2, ec2, HealthCheckPort="8443")
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    timed_out = {"State": "unhealthy", "Reason": "Target.Timeout", "Description": "Request timed out"}
    assert health(elbv2, group) == timed_out
    assert checks_seen(onprem_backend) == []


@pytest.mark.usefixtures("instant_aws")
def test_targets_without_a_route_keep_the_delay_model_and_rules_override_real_checks(
    elbv2: Any, ec2: Any, ctl: EmulatorControl, onprem_backend: OnPremBackend  # noqa: F811
) -> None:
    group = ip_group_in_use(elbv2, ec2)
    assert health(elbv2, group) == {"State": "healthy"}  # no route: the emulator convention, no request

    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    ctl.set_target_health(TARGET, "unhealthy")
    assert health(elbv2, group)["Reason"] == "Target.FailedHealthChecks"
    onprem_backend.health_status = 500
    ctl.set_target_health(TARGET, "healthy")
    assert health(elbv2, group) == {"State": "healthy"}
    assert checks_seen(onprem_backend) == []  # a rule answers without checking
    ctl.clear_target_health()
    assert health(elbv2, group)["Reason"] == "Target.ResponseCodeMismatch"


def test_a_new_target_turns_healthy_after_the_health_check_delay(
    elbv2: Any, ec2: Any, ctl: EmulatorControl, onprem_backend: OnPremBackend  # noqa: F811
) -> None:
    ctl.set_delays(provisioning=0, health_check=30)  # long enough to read the target while initial
    group = ip_group_in_use(elbv2, ec2)
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    assert health(elbv2, group)["State"] == "initial"
    assert checks_seen(onprem_backend) == []  # the first check is due when registration completes
    ctl.set_delays(health_check=0)
    assert health(elbv2, group) == {"State": "healthy"}


def group_like(**settings: Any) -> Any:
    values: dict[str, Any] = {
        "arn": "arn:group", "protocol": "HTTPS", "health_check_protocol": "HTTPS", "health_check_port": "traffic-port",
        "health_check_path": "/healthz", "matcher": {"HttpCode": "200"}, "health_check_interval_seconds": 30,
        "health_check_timeout_seconds": 5, "healthy_threshold_count": "3", "unhealthy_threshold_count": "2",
    }
    values.update(settings)
    return SimpleNamespace(**values)


@pytest.mark.parametrize("initially_failing", [False, True], ids=["passing", "failing"])
def test_thresholds_count_consecutive_checks_one_interval_apart(
    ctl: EmulatorControl, onprem_backend: OnPremBackend, initially_failing: bool  # noqa: F811
) -> None:
    """Interval 30 s at time scale 10: a check every 3 s of (given) emulator time."""
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    checks, group = HealthChecks(), group_like()

    def at(now: float) -> str | None:
        return checks.observe(group, TARGET, 443, first_check=100.0, now=now, time_scale=10.0)[0]  # type: ignore[index]

    if initially_failing:
        onprem_backend.health_status = 500
        assert [at(100.0), at(101.0), at(103.0)] == ["initial", "initial", "unhealthy"]  # 2 failures
        onprem_backend.health_status = 200
        assert [at(106.0), at(109.0), at(112.0)] == ["unhealthy", "unhealthy", "healthy"]  # 3 passes
        assert len(checks_seen(onprem_backend)) == 5
        return
    assert [at(100.0), at(102.9)] == ["healthy", "healthy"]  # one pass makes a new target healthy
    onprem_backend.health_status = 500
    assert [at(103.0), at(106.0)] == ["healthy", "unhealthy"]  # two consecutive failures
    assert len(checks_seen(onprem_backend)) == 3
    onprem_backend.health_status = 200
    # One read after 10 intervals: one request, whose pass stands for the checks that fell due.
    assert at(136.0) == "healthy"
    assert len(checks_seen(onprem_backend)) == 4


def test_matcher_codes() -> None:
    assert matcher_codes({"HttpCode": "200,202-299"}) == [(200, 200), (202, 299)]
    assert matcher_codes(None) == [(200, 200)]
