"""The internal ALB (terminates the front-door TLS) and the internal NLB (what the VPC link needs).

One class (`LoadBalancer`) serves both; `Alb` and `Nlb` only set the part name and ELB type.
A fresh load balancer is `provisioning` for minutes: `find`/`create` report `ready=False` and the
reconciler comes back later; nothing here sleeps or polls.
Subnets and security groups change in place (SetSubnets, SetSecurityGroups). Scheme, type and
VPC cannot: a new load balancer is built next to the old one, which goes once nothing points at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import absent_is_fine, error_code
from hybrid_gateway.aws.tags import as_list
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts._elbv2 import LOAD_BALANCERS, describe_one, elb_name, find_elb_resource, norm_set
from hybrid_gateway.parts.base import Observed, Part, PartContext, Replacement

READY_STATES = frozenset({"active", "active_impaired"})

# CreateLoadBalancer errors that only a spec change can fix
_INPUT_ERRORS: dict[str, str] = {
    "SubnetNotFound": "SubnetNotFound",
    "InvalidSubnetID.NotFound": "SubnetNotFound",  # moto answers with EC2's code
    "InvalidSubnet": "InvalidSubnet",
    "InvalidSecurityGroup": "SecurityGroupNotFound",
}


@dataclass(frozen=True)
class LoadBalancerDesired:
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...] = ()  # ALB: ours + spec extras; NLB: none
    scheme: str = "internal"


@dataclass(frozen=True)
class LoadBalancerState:
    """A DescribeLoadBalancers / CreateLoadBalancer entry."""

    arn: str
    name: str = ""
    type: str = ""
    scheme: str = ""
    vpc_id: str = ""
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    dns_name: str = ""
    canonical_hosted_zone_id: str = ""
    state: str = ""


def lb_state(lb: Mapping[str, Any]) -> LoadBalancerState:
    return LoadBalancerState(
        arn=lb["LoadBalancerArn"],
        name=lb.get("LoadBalancerName", ""),
        type=lb.get("Type", ""),
        scheme=lb.get("Scheme", ""),
        vpc_id=lb.get("VpcId", ""),
        subnet_ids=tuple(sorted(az["SubnetId"] for az in lb.get("AvailabilityZones", []) if az.get("SubnetId"))),
        security_group_ids=tuple(sorted(lb.get("SecurityGroups", []))),
        dns_name=lb.get("DNSName", ""),
        canonical_hosted_zone_id=lb.get("CanonicalHostedZoneId", ""),
        state=(lb.get("State") or {}).get("Code", ""),
    )


def diff_load_balancer(desired: LoadBalancerDesired, lb_type: str, state: LoadBalancerState) -> list[str]:
    """Pure comparison of desired (and the part's ELB type) with an observed state."""
    changes = []
    if state.type != lb_type:
        changes.append("type")
    if state.scheme != desired.scheme:
        changes.append("scheme")
    if state.vpc_id != desired.vpc_id:
        changes.append("vpc_id")
    if norm_set(state.subnet_ids) != norm_set(desired.subnet_ids):
        changes.append("subnets")
    if norm_set(state.security_group_ids) != norm_set(desired.security_group_ids):
        changes.append("security_groups")
    return changes


def _newest(balancers: list[dict[str, Any]]) -> dict[str, Any]:
    # Two only during a replacement: the newest is the one being converged.
    return max(balancers, key=lambda lb: str(lb.get("CreatedTime", "")))


class LoadBalancer(Part[LoadBalancerDesired, LoadBalancerState]):
    """An internal load balancer owned by one HybridApi; subclasses set `name`, `lb_type`, `code`."""

    lb_type: ClassVar[str]
    code: ClassVar[str]
    replace_on = frozenset({"type", "scheme", "vpc_id"})
    replacement = Replacement.CREATE_FIRST_RETIRE_LATER

    def resource_name(self, ctx: PartContext, desired: LoadBalancerDesired) -> str:
        return elb_name(ctx.owner, self.code, desired.vpc_id, desired.scheme, self.lb_type)

    def find(
        self, ctx: PartContext, desired: LoadBalancerDesired | None, known_id: str | None
    ) -> Observed[LoadBalancerState] | None:
        name = self.resource_name(ctx, desired) if desired is not None else None
        found = find_elb_resource(ctx, LOAD_BALANCERS, self.name, known_id, name, _newest,
                                  where=lambda lb: lb.get("Type") == self.lb_type)
        return self._observe(found.item, found.owned) if found is not None else None

    @staticmethod
    def _observe(lb: Mapping[str, Any], owned: bool = True) -> Observed[LoadBalancerState]:
        state = lb_state(lb)
        if state.state in READY_STATES:
            return Observed(id=state.arn, state=state, owned=owned)
        reason = (lb.get("State") or {}).get("Reason", "")
        waiting = f"load balancer {state.state}" + (f": {reason}" if reason else "")
        return Observed(id=state.arn, state=state, ready=False, waiting_for=waiting, owned=owned)

    def _input_error(self, exc: ClientError, code: str) -> Stalled:
        return Stalled(_INPUT_ERRORS[code], f"{self.name}: {exc.response['Error'].get('Message', code)}")

    def create(self, ctx: PartContext, desired: LoadBalancerDesired) -> Observed[LoadBalancerState]:
        params: dict[str, Any] = {
            "Name": self.resource_name(ctx, desired),
            "Subnets": list(desired.subnet_ids),
            "Scheme": desired.scheme,
            "Type": self.lb_type,
            "IpAddressType": "ipv4",
            "Tags": as_list(ctx.owner.tags(self.name)),
        }
        if desired.security_group_ids:
            params["SecurityGroups"] = list(desired.security_group_ids)
        try:
            lb = ctx.client("elbv2").create_load_balancer(**params)["LoadBalancers"][0]
        except ClientError as exc:
            code = error_code(exc)
            if code in _INPUT_ERRORS:
                raise self._input_error(exc, code) from exc
            raise
        return self._observe(lb)

    def diff(self, desired: LoadBalancerDesired, observed: Observed[LoadBalancerState]) -> list[str]:
        return diff_load_balancer(desired, self.lb_type, observed.state)

    def update(
        self, ctx: PartContext, desired: LoadBalancerDesired, observed: Observed[LoadBalancerState], changes: list[str]
    ) -> Observed[LoadBalancerState]:
        elbv2 = ctx.client("elbv2")
        try:
            if "subnets" in changes:
                elbv2.set_subnets(LoadBalancerArn=observed.id, Subnets=list(desired.subnet_ids))
            if "security_groups" in changes:
                elbv2.set_security_groups(
                    LoadBalancerArn=observed.id, SecurityGroups=list(desired.security_group_ids)
                )
        except ClientError as exc:
            code = error_code(exc)
            if code in _INPUT_ERRORS:
                raise self._input_error(exc, code) from exc
            raise
        lb = describe_one(elbv2, LOAD_BALANCERS, LoadBalancerArns=[observed.id])
        return self._observe(lb) if lb is not None else observed

    def delete(self, ctx: PartContext, observed: Observed[LoadBalancerState]) -> None:
        with absent_is_fine():
            ctx.client("elbv2").delete_load_balancer(LoadBalancerArn=observed.id)


class Alb(LoadBalancer):
    """The internal Application Load Balancer (status: `albArn`)."""

    name = "alb"
    lb_type = "application"
    code = "alb"


class Nlb(LoadBalancer):
    """The internal Network Load Balancer the VPC link points at (status: `nlbArn`)."""

    name = "nlb"
    lb_type = "network"
    code = "nlb"


__all__ = ["Alb", "LoadBalancer", "LoadBalancerDesired", "LoadBalancerState", "Nlb", "diff_load_balancer", "lb_state"]
