"""ELBv2 target groups: the ALB's IP target group for the on-prem targets, and the NLB's `alb` one.

One class serves both (`TargetGroup`); the two subclasses only name the part and its resources.
- `BackendTargetGroup`: HTTPS, TargetType ip, on-prem IPs reached over Direct Connect. They lie
  outside the VPC, so they are registered with `AvailabilityZone: "all"`.
- `AlbTargetGroup`: TCP 443, TargetType alb, the internal ALB's ARN as its single target
  (seed 000: the NLB forwards TLS untouched and the ALB terminates it). ELB only allows HTTP or
  HTTPS health checks for alb-type groups; they go through the ALB's listener to the backend.

Protocol, port, VPC and target type cannot change in place: a change builds a new target group
next to the old one, which goes once the listener has moved off it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from hybrid_gateway.aws.errors import absent_is_fine
from hybrid_gateway.aws.tags import as_list
from hybrid_gateway.parts._elbv2 import TARGET_GROUPS, describe_one, elb_name, find_elb_resource
from hybrid_gateway.parts.base import Observed, Part, PartContext, Replacement

if TYPE_CHECKING:
    from mypy_boto3_elbv2.literals import ProtocolEnumType, TargetTypeEnumType
    from mypy_boto3_elbv2.type_defs import TargetDescriptionTypeDef

DRAINING = frozenset({"draining"})  # deregistered targets linger here; they are not "registered"


@dataclass(frozen=True)
class HealthCheck:
    """The health check fields we manage. `timeout_seconds=None` leaves AWS's default alone."""

    protocol: ProtocolEnumType = "HTTPS"
    path: str = "/"
    port: str = "traffic-port"
    matcher: str = "200-399"
    interval_seconds: int = 30
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3
    timeout_seconds: int | None = None


@dataclass(frozen=True)
class Target:
    """A registered target. `availability_zone` is only sent on registration ("all" for IPs
    outside the VPC); DescribeTargetHealth does not return it, so it is not compared."""

    id: str
    port: int
    availability_zone: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.port)


@dataclass(frozen=True)
class TargetGroupDesired:
    vpc_id: str
    protocol: ProtocolEnumType
    port: int
    target_type: TargetTypeEnumType
    health_check: HealthCheck
    targets: frozenset[Target] = field(default_factory=frozenset)

    @classmethod
    def backend(
        cls, vpc_id: str, targets: Iterable[tuple[str, int]], health_check: HealthCheck, port: int = 443
    ) -> TargetGroupDesired:
        """The IP target group for on-prem `(ip, port)` targets."""
        return cls(
            vpc_id=vpc_id,
            protocol="HTTPS",
            port=port,
            target_type="ip",
            health_check=health_check,
            targets=frozenset(Target(ip, p, "all") for ip, p in targets),
        )

    @classmethod
    def alb(cls, vpc_id: str, alb_arn: str, health_check: HealthCheck) -> TargetGroupDesired:
        """The NLB's target group of type alb, with the ALB (port 443) as its single target."""
        return cls(
            vpc_id=vpc_id,
            protocol="TCP",
            port=443,
            target_type="alb",
            health_check=health_check,
            targets=frozenset({Target(alb_arn, 443)}),
        )


# desired field -> DescribeTargetGroups key, for the health check fields
_HC_FIELDS: dict[str, str] = {
    "protocol": "HealthCheckProtocol",
    "path": "HealthCheckPath",
    "port": "HealthCheckPort",
    "interval_seconds": "HealthCheckIntervalSeconds",
    "healthy_threshold": "HealthyThresholdCount",
    "unhealthy_threshold": "UnhealthyThresholdCount",
    "timeout_seconds": "HealthCheckTimeoutSeconds",
}


@dataclass(frozen=True)
class ObservedHealthCheck:
    """The health check fields as DescribeTargetGroups answers them (named as in `HealthCheck`)."""

    protocol: str | None = None
    path: str | None = None
    port: str | None = None
    matcher: str | None = None
    interval_seconds: int | None = None
    healthy_threshold: int | None = None
    unhealthy_threshold: int | None = None
    timeout_seconds: int | None = None


@dataclass(frozen=True)
class TargetHealth:
    id: str
    port: int
    state: str = ""
    reason: str = ""


@dataclass(frozen=True)
class TargetGroupState:
    arn: str
    name: str = ""
    protocol: str | None = None
    port: int | None = None
    vpc_id: str | None = None
    target_type: str | None = None
    health_check: ObservedHealthCheck = ObservedHealthCheck()
    load_balancer_arns: tuple[str, ...] = ()
    targets: tuple[TargetHealth, ...] = ()

    @property
    def registered(self) -> set[tuple[str, int]]:
        """Targets that count as registered (draining ones are on their way out)."""
        return {(t.id, int(t.port)) for t in self.targets if t.state not in DRAINING}

    @property
    def healthy(self) -> int:
        return sum(1 for t in self.targets if t.state == "healthy")

    @property
    def total(self) -> int:
        return len(self.registered)


def observed_health_check(tg: Mapping[str, Any]) -> ObservedHealthCheck:
    hc = {name: tg.get(key) for name, key in _HC_FIELDS.items()}
    return ObservedHealthCheck(matcher=(tg.get("Matcher") or {}).get("HttpCode"), **hc)


def diff_target_group(desired: TargetGroupDesired, state: TargetGroupState) -> list[str]:
    """Pure comparison of desired with an observed state (as `TargetGroup.find` builds it)."""
    changes = [
        name for name in ("protocol", "port", "vpc_id", "target_type") if getattr(desired, name) != getattr(state, name)
    ]
    for name in (*_HC_FIELDS, "matcher"):
        want = getattr(desired.health_check, name)
        if want is not None and str(want) != str(getattr(state.health_check, name)):
            changes.append(f"health_check.{name}")
    if state.registered != {t.key for t in desired.targets}:
        changes.append("targets")
    return changes


def health_check_params(hc: HealthCheck) -> dict[str, Any]:
    params: dict[str, Any] = {
        "HealthCheckProtocol": hc.protocol,
        "HealthCheckPath": hc.path,
        "HealthCheckPort": hc.port,
        "HealthCheckIntervalSeconds": hc.interval_seconds,
        "HealthyThresholdCount": hc.healthy_threshold,
        "UnhealthyThresholdCount": hc.unhealthy_threshold,
        "Matcher": {"HttpCode": hc.matcher},
        "HealthCheckEnabled": True,
    }
    if hc.timeout_seconds is not None:
        params["HealthCheckTimeoutSeconds"] = hc.timeout_seconds
    return params


def _target_param(t: Target) -> TargetDescriptionTypeDef:
    param: TargetDescriptionTypeDef = {"Id": t.id, "Port": t.port}
    if t.availability_zone:
        param["AvailabilityZone"] = t.availability_zone
    return param


def _in_use_then_newest(groups: list[dict[str, Any]]) -> dict[str, Any]:
    # Two only during a replacement: prefer the one in use, then the newest name.
    return max(groups, key=lambda tg: (bool(tg.get("LoadBalancerArns")), tg["TargetGroupName"]))


class TargetGroup(Part[TargetGroupDesired, TargetGroupState]):
    """A target group owned by one HybridApi; subclasses set `name` and the name `code`."""

    code: ClassVar[str]
    replace_on = frozenset({"protocol", "port", "vpc_id", "target_type"})
    replacement = Replacement.CREATE_FIRST_RETIRE_LATER

    def resource_name(self, ctx: PartContext, desired: TargetGroupDesired) -> str:
        return elb_name(
            ctx.owner, self.code, desired.vpc_id, desired.protocol, desired.port, desired.target_type
        )

    # -- find --------------------------------------------------------------------------------
    def find(
        self, ctx: PartContext, desired: TargetGroupDesired | None, known_id: str | None
    ) -> Observed[TargetGroupState] | None:
        name = self.resource_name(ctx, desired) if desired is not None else None
        found = find_elb_resource(ctx, TARGET_GROUPS, self.name, known_id, name, _in_use_then_newest)
        return self._observe(ctx.client("elbv2"), found.item, found.owned) if found is not None else None

    def _observe(self, elbv2: Any, tg: Mapping[str, Any], owned: bool = True) -> Observed[TargetGroupState]:
        arn = tg["TargetGroupArn"]
        health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        targets = tuple(
            TargetHealth(
                id=h["Target"]["Id"],
                port=h["Target"].get("Port"),
                state=h.get("TargetHealth", {}).get("State", ""),
                reason=h.get("TargetHealth", {}).get("Reason", ""),
            )
            for h in health
        )
        state = TargetGroupState(
            arn=arn,
            name=tg["TargetGroupName"],
            protocol=tg.get("Protocol"),
            port=tg.get("Port"),
            vpc_id=tg.get("VpcId"),
            target_type=tg.get("TargetType"),
            health_check=observed_health_check(tg),
            load_balancer_arns=tuple(tg.get("LoadBalancerArns", [])),
            targets=targets,
        )
        return Observed(id=arn, state=state, owned=owned)

    # -- create / update / delete --------------------------------------------------------------
    def create(self, ctx: PartContext, desired: TargetGroupDesired) -> Observed[TargetGroupState]:
        elbv2 = ctx.client("elbv2")
        tg = elbv2.create_target_group(
            Name=self.resource_name(ctx, desired),
            Protocol=desired.protocol,
            Port=desired.port,
            VpcId=desired.vpc_id,
            TargetType=desired.target_type,
            Tags=as_list(ctx.owner.tags(self.name)),
            **health_check_params(desired.health_check),
        )["TargetGroups"][0]
        if desired.targets:
            elbv2.register_targets(
                TargetGroupArn=tg["TargetGroupArn"],
                Targets=[_target_param(t) for t in sorted(desired.targets, key=_order)],
            )
        return self._observe(elbv2, tg)

    def diff(self, desired: TargetGroupDesired, observed: Observed[TargetGroupState]) -> list[str]:
        return diff_target_group(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: TargetGroupDesired, observed: Observed[TargetGroupState], changes: list[str]
    ) -> Observed[TargetGroupState]:
        elbv2 = ctx.client("elbv2")
        arn = observed.id
        if any(c.startswith("health_check.") for c in changes):
            elbv2.modify_target_group(TargetGroupArn=arn, **health_check_params(desired.health_check))
        if "targets" in changes:
            registered = observed.state.registered
            wanted = {t.key: t for t in desired.targets}
            add = [_target_param(wanted[k]) for k in sorted(wanted.keys() - registered)]
            remove: list[TargetDescriptionTypeDef] = [
                {"Id": i, "Port": p} for i, p in sorted(registered - wanted.keys())
            ]
            if add:
                elbv2.register_targets(TargetGroupArn=arn, Targets=add)
            if remove:
                elbv2.deregister_targets(TargetGroupArn=arn, Targets=remove)
        tg = describe_one(elbv2, TARGET_GROUPS, TargetGroupArns=[arn])
        if tg is None:  # deleted under our feet: the next pass recreates it
            return observed
        return self._observe(elbv2, tg)

    def delete(self, ctx: PartContext, observed: Observed[TargetGroupState]) -> None:
        with absent_is_fine():
            ctx.client("elbv2").delete_target_group(TargetGroupArn=observed.id)


def _order(t: Target) -> tuple[str, int]:
    return t.key


class BackendTargetGroup(TargetGroup):
    """The ALB's target group of on-prem IP targets (status: `backendTargetGroupArn`)."""

    name = "backend-target-group"
    code = "tg-ip"


class AlbTargetGroup(TargetGroup):
    """The NLB's target group of type alb (status: `albTargetGroupArn`)."""

    name = "alb-target-group"
    code = "tg-alb"


__all__ = [
    "AlbTargetGroup",
    "BackendTargetGroup",
    "HealthCheck",
    "Target",
    "TargetGroup",
    "TargetGroupDesired",
    "TargetGroupState",
    "diff_target_group",
]
