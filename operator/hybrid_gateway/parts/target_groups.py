"""ELBv2 target groups: the ALB's IP target group for the on-prem targets, and the NLB's `alb` one.

One class serves both (`TargetGroup`); the two subclasses only name the part and its resources.
- `BackendTargetGroup`: HTTPS, TargetType ip, on-prem IPs reached over Direct Connect. They lie
  outside the VPC, so they are registered with `AvailabilityZone: "all"`.
- `AlbTargetGroup`: TCP 443, TargetType alb, the internal ALB's ARN as its single target
  (seed 000: the NLB forwards TLS untouched and the ALB terminates it). ELB only allows HTTP or
  HTTPS health checks for alb-type groups; they go through the ALB's listener to the backend.

Protocol, port, VPC and target type cannot change in place: a change builds a new target group
next to the old one (see `ReplaceFirstPart`), because the old one is still behind a listener.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import is_not_found
from hybrid_gateway.aws.tags import as_list
from hybrid_gateway.parts._elbv2 import ReplaceFirstPart, elb_name, owned_arns
from hybrid_gateway.parts.base import Observed, PartContext

DRAINING = frozenset({"draining"})  # deregistered targets linger here; they are not "registered"


@dataclass(frozen=True)
class HealthCheck:
    """The health check fields we manage. `timeout_seconds=None` leaves AWS's default alone."""

    protocol: str = "HTTPS"
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
    protocol: str
    port: int
    target_type: str
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


def observed_health_check(tg: dict[str, Any]) -> dict[str, Any]:
    hc = {name: tg.get(key) for name, key in _HC_FIELDS.items()}
    hc["matcher"] = (tg.get("Matcher") or {}).get("HttpCode")
    return hc


def diff_target_group(desired: TargetGroupDesired, state: dict[str, Any]) -> list[str]:
    """Pure comparison of desired with an observed state (as `TargetGroup.find` builds it)."""
    changes = [
        name
        for name, key in (
            ("protocol", "protocol"),
            ("port", "port"),
            ("vpc_id", "vpcId"),
            ("target_type", "targetType"),
        )
        if getattr(desired, name) != state.get(key)
    ]
    hc = state.get("healthCheck", {})
    for name in (*_HC_FIELDS, "matcher"):
        want = getattr(desired.health_check, name)
        if want is not None and str(want) != str(hc.get(name)):
            changes.append(f"health_check.{name}")
    registered = {
        (t["id"], int(t["port"])) for t in state.get("targets", []) if t.get("state") not in DRAINING
    }
    if registered != {t.key for t in desired.targets}:
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


def _target_param(t: Target) -> dict[str, Any]:
    param: dict[str, Any] = {"Id": t.id, "Port": t.port}
    if t.availability_zone:
        param["AvailabilityZone"] = t.availability_zone
    return param


class TargetGroup(ReplaceFirstPart[TargetGroupDesired]):
    """A target group owned by one HybridApi; subclasses set `name` and the name `code`."""

    code: ClassVar[str]
    replace_on = frozenset({"protocol", "port", "vpc_id", "target_type"})

    def resource_name(self, ctx: PartContext, desired: TargetGroupDesired) -> str:
        return elb_name(
            ctx.owner, self.code, desired.vpc_id, desired.protocol, desired.port, desired.target_type
        )

    # -- find --------------------------------------------------------------------------------
    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        elbv2 = ctx.client("elbv2")
        if known_id:
            tg = self._describe_one(elbv2, TargetGroupArns=[known_id])
            if tg is not None and owned_arns(ctx, elbv2, [known_id], self.name):
                return self._observe(elbv2, tg)
        # By owner tags: every target group of the region, tags fetched 20 ARNs per call.
        groups = [
            tg
            for page in elbv2.get_paginator("describe_target_groups").paginate()
            for tg in page["TargetGroups"]
        ]
        owned = owned_arns(ctx, elbv2, [tg["TargetGroupArn"] for tg in groups], self.name)
        candidates = [tg for tg in groups if tg["TargetGroupArn"] in owned]
        if not candidates:
            return None
        # Two only during a replacement: prefer the one in use, then the newest name.
        candidates.sort(key=lambda tg: (bool(tg.get("LoadBalancerArns")), tg["TargetGroupName"]))
        return self._observe(elbv2, candidates[-1])

    def locate(self, ctx: PartContext, desired: TargetGroupDesired) -> str | None:
        tg = self._describe_one(ctx.client("elbv2"), Names=[self.resource_name(ctx, desired)])
        return tg["TargetGroupArn"] if tg else None

    @staticmethod
    def _describe_one(elbv2: Any, **query: Any) -> dict[str, Any] | None:
        try:
            groups = elbv2.describe_target_groups(**query)["TargetGroups"]
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        return groups[0] if groups else None

    def _observe(self, elbv2: Any, tg: dict[str, Any]) -> Observed:
        arn = tg["TargetGroupArn"]
        health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        targets = [
            {
                "id": h["Target"]["Id"],
                "port": h["Target"].get("Port"),
                "state": h.get("TargetHealth", {}).get("State", ""),
                "reason": h.get("TargetHealth", {}).get("Reason", ""),
            }
            for h in health
        ]
        live = [t for t in targets if t["state"] not in DRAINING]
        return Observed(
            id=arn,
            state={
                "arn": arn,
                "name": tg["TargetGroupName"],
                "protocol": tg.get("Protocol"),
                "port": tg.get("Port"),
                "vpcId": tg.get("VpcId"),
                "targetType": tg.get("TargetType"),
                "healthCheck": observed_health_check(tg),
                "loadBalancerArns": list(tg.get("LoadBalancerArns", [])),
                "targets": targets,
                "healthy": sum(1 for t in live if t["state"] == "healthy"),
                "total": len(live),
            },
        )

    # -- create / update / delete --------------------------------------------------------------
    def create(self, ctx: PartContext, desired: TargetGroupDesired) -> Observed:
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

    def diff(self, desired: TargetGroupDesired, observed: Observed) -> list[str]:
        return diff_target_group(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: TargetGroupDesired, observed: Observed, changes: list[str]
    ) -> Observed:
        elbv2 = ctx.client("elbv2")
        arn = observed.id
        if any(c.startswith("health_check.") for c in changes):
            elbv2.modify_target_group(TargetGroupArn=arn, **health_check_params(desired.health_check))
        if "targets" in changes:
            registered = {
                (t["id"], int(t["port"]))
                for t in observed.state.get("targets", [])
                if t["state"] not in DRAINING
            }
            wanted = {t.key: t for t in desired.targets}
            add = [_target_param(wanted[k]) for k in sorted(wanted.keys() - registered)]
            remove = [{"Id": i, "Port": p} for i, p in sorted(registered - wanted.keys())]
            if add:
                elbv2.register_targets(TargetGroupArn=arn, Targets=add)
            if remove:
                elbv2.deregister_targets(TargetGroupArn=arn, Targets=remove)
        tg = self._describe_one(elbv2, TargetGroupArns=[arn])
        if tg is None:  # deleted under our feet: the next pass recreates it
            return observed
        return self._observe(elbv2, tg)

    def delete(self, ctx: PartContext, observed: Observed) -> None:
        try:
            ctx.client("elbv2").delete_target_group(TargetGroupArn=observed.id)
        except ClientError as exc:
            if not is_not_found(exc):
                raise


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
    "diff_target_group",
]
