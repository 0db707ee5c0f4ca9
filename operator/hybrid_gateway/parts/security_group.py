"""The ALB's security group: HTTPS in from the VPC (VPC link V1: the NLB's nodes and health checks come
from its subnets) or from the VPC link V2's security group, and out to the on-prem targets only.

Rules are compared as sets of (protocol, from port, to port, peer) and fixed in place with
Authorize/Revoke. A VPC change builds a new group in the new VPC first: the old one stays attached
to the old ALB until that is gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import absent_is_fine, is_not_found
from hybrid_gateway.aws.shared_reads import SharedKind, describe_ids
from hybrid_gateway.aws.tags import PART_TAG, UID_TAG, as_dict
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts._elbv2 import short_hash
from hybrid_gateway.parts.base import Observed, Part, PartContext, Replacement, shared_read


@dataclass(frozen=True, order=True)
class Rule:
    """One permission: `peer` is a CIDR (IPv4 or IPv6), a security group id or a prefix list id."""

    protocol: str  # "tcp", "udp", "icmp" or "-1" (all)
    from_port: int
    to_port: int
    peer: str

    @classmethod
    def tcp(cls, port: int, peer: str) -> Rule:
        return cls("tcp", port, port, peer)


ALL_TRAFFIC = frozenset({Rule("-1", -1, -1, "0.0.0.0/0")})  # the default egress of a new group


# Groups by id, across objects (aws/shared_reads.py). Without MaxResults, DescribeSecurityGroups returns
# every group asked for in one answer (EC2 API reference); 100 ids per call keeps a request small.
SECURITY_GROUPS = SharedKind("ec2:DescribeSecurityGroups", lambda clients, ids: describe_ids(
    lambda batch: clients.client("ec2").describe_security_groups(GroupIds=batch)["SecurityGroups"],
    "GroupId", ids, 100))


@dataclass(frozen=True)
class SecurityGroupDesired:
    vpc_id: str
    ingress_port: int = 443
    # None: the VPC's own CIDR blocks (looked up by `find`, so `diff` stays pure); () admits no CIDR
    ingress_cidrs: tuple[str, ...] | None = None
    # Security groups admitted on ingress_port besides the CIDRs (a VPC link V2's group)
    ingress_groups: tuple[str, ...] = ()
    # None: leave egress open (AWS's default); else exactly these rules
    egress: frozenset[Rule] | None = None

    @staticmethod
    def egress_to_targets(targets: Iterable[tuple[str, int]]) -> frozenset[Rule]:
        """Egress to each on-prem `(ip, port)` only (health checks use the traffic port)."""
        return frozenset(Rule.tcp(port, f"{ip}/32") for ip, port in targets)


def rules_from_permissions(permissions: Iterable[dict[str, Any]]) -> set[Rule]:
    """EC2 IpPermissions -> set of Rule (one per peer)."""
    rules: set[Rule] = set()
    for perm in permissions:
        proto = str(perm.get("IpProtocol", "-1"))
        lo = int(perm.get("FromPort", -1)) if proto != "-1" else -1
        hi = int(perm.get("ToPort", -1)) if proto != "-1" else -1
        peers = [r["CidrIp"] for r in perm.get("IpRanges", [])]
        peers += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
        peers += [r["GroupId"] for r in perm.get("UserIdGroupPairs", []) if r.get("GroupId")]
        peers += [r["PrefixListId"] for r in perm.get("PrefixListIds", [])]
        rules.update(Rule(proto, lo, hi, peer) for peer in peers)
    return rules


def permissions_from_rules(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    perms: list[dict[str, Any]] = []
    for rule in sorted(rules):
        perm: dict[str, Any] = {"IpProtocol": rule.protocol}
        if rule.protocol != "-1":
            perm.update(FromPort=rule.from_port, ToPort=rule.to_port)
        if rule.peer.startswith("sg-"):
            perm["UserIdGroupPairs"] = [{"GroupId": rule.peer}]
        elif rule.peer.startswith("pl-"):
            perm["PrefixListIds"] = [{"PrefixListId": rule.peer}]
        elif ":" in rule.peer:
            perm["Ipv6Ranges"] = [{"CidrIpv6": rule.peer}]
        else:
            perm["IpRanges"] = [{"CidrIp": rule.peer}]
        perms.append(perm)
    return perms


def desired_ingress(desired: SecurityGroupDesired, vpc_cidrs: Iterable[str]) -> set[Rule]:
    cidrs = desired.ingress_cidrs if desired.ingress_cidrs is not None else tuple(vpc_cidrs)
    return {Rule.tcp(desired.ingress_port, peer) for peer in (*cidrs, *desired.ingress_groups)}


def desired_egress(desired: SecurityGroupDesired) -> set[Rule]:
    return set(desired.egress if desired.egress is not None else ALL_TRAFFIC)


def describe_groups(ec2: Any, **query: Any) -> list[dict[str, Any]]:
    """DescribeSecurityGroups; a group id that does not exist is an empty answer."""
    try:
        return list(ec2.describe_security_groups(**query)["SecurityGroups"])
    except ClientError as exc:
        if is_not_found(exc):
            return []
        raise


@dataclass(frozen=True)
class SecurityGroupState:
    group_id: str
    group_name: str = ""
    vpc_id: str = ""
    vpc_cidrs: tuple[str, ...] = ()
    ingress: frozenset[Rule] = frozenset()
    egress: frozenset[Rule] = frozenset()


def diff_security_group(desired: SecurityGroupDesired, state: SecurityGroupState) -> list[str]:
    """Pure comparison with an observed state."""
    changes = []
    if state.vpc_id != desired.vpc_id:
        changes.append("vpc_id")
    if state.ingress != desired_ingress(desired, state.vpc_cidrs):
        changes.append("ingress")
    if state.egress != desired_egress(desired):
        changes.append("egress")
    return changes


class SecurityGroup(Part[SecurityGroupDesired, SecurityGroupState]):
    """The ALB's security group (status: `albSecurityGroupId`). EC2 filters by tag server-side,
    so finding it by owner tags is one DescribeSecurityGroups call."""

    name = "alb-security-group"
    replace_on = frozenset({"vpc_id"})
    replacement = Replacement.CREATE_FIRST_RETIRE_LATER

    def __init__(self, known_vpc_cidrs: tuple[str, tuple[str, ...]] | None = None) -> None:
        # (VPC id, its CIDR blocks) as read for this generation: a VPC's new CIDR block only matters
        # once the spec names a subnet in it, which is a new generation (then they are read again).
        self.known_vpc_cidrs = known_vpc_cidrs

    def group_name(self, ctx: PartContext) -> str:
        owner = ctx.owner
        return f"hybrid-gateway-{owner.namespace}-{owner.name}-alb-{short_hash(owner.uid)}"[:255]

    def _owner_filters(self, ctx: PartContext) -> list[dict[str, Any]]:
        return [
            {"Name": f"tag:{UID_TAG}", "Values": [ctx.owner.uid]},
            {"Name": f"tag:{PART_TAG}", "Values": [self.name]},
        ]

    def find(
        self, ctx: PartContext, desired: SecurityGroupDesired | None, known_id: str | None
    ) -> Observed[SecurityGroupState] | None:
        """By id (if ours), else ours in the desired VPC, else any of ours (one filtered call each)."""
        ec2 = ctx.client("ec2")
        if known_id:
            group = shared_read(ctx, SECURITY_GROUPS, [known_id]).get(known_id)
            if group and ctx.owner.owns(as_dict(group.get("Tags")), self.name):
                return self._observe(ec2, group)
        if desired is not None:
            filters = [*self._owner_filters(ctx), {"Name": "vpc-id", "Values": [desired.vpc_id]}]
            groups = describe_groups(ec2, Filters=filters)
            if groups:
                return self._observe(ec2, groups[0])
        groups = describe_groups(ec2, Filters=self._owner_filters(ctx))
        if not groups:
            return None
        return self._observe(ec2, sorted(groups, key=lambda g: g["GroupId"])[0])

    def _vpc_cidrs(self, ec2: Any, vpc_id: str) -> list[str]:
        if self.known_vpc_cidrs is not None and self.known_vpc_cidrs[0] == vpc_id:
            return list(self.known_vpc_cidrs[1])
        try:
            vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
        except ClientError as exc:
            if is_not_found(exc):
                raise Stalled("VpcNotFound", f"VPC {vpc_id} does not exist in this region") from None
            raise
        cidrs = {
            a["CidrBlock"]
            for a in vpc.get("CidrBlockAssociationSet", [])
            if (a.get("CidrBlockState") or {}).get("State", "associated") == "associated"
        }
        cidrs.add(vpc["CidrBlock"])
        return sorted(cidrs)

    def _observe(self, ec2: Any, group: dict[str, Any]) -> Observed[SecurityGroupState]:
        vpc_id = group.get("VpcId", "")
        state = SecurityGroupState(
            group_id=group["GroupId"],
            group_name=group.get("GroupName", ""),
            vpc_id=vpc_id,
            vpc_cidrs=tuple(self._vpc_cidrs(ec2, vpc_id)) if vpc_id else (),
            ingress=frozenset(rules_from_permissions(group.get("IpPermissions", []))),
            egress=frozenset(rules_from_permissions(group.get("IpPermissionsEgress", []))),
        )
        return Observed(id=group["GroupId"], state=state)

    def create(self, ctx: PartContext, desired: SecurityGroupDesired) -> Observed[SecurityGroupState]:
        ec2 = ctx.client("ec2")
        cidrs = self._vpc_cidrs(ec2, desired.vpc_id)  # also stops a wrong VPC id before any write
        owner = ctx.owner
        group_id = ec2.create_security_group(
            GroupName=self.group_name(ctx),
            Description=f"ALB of {owner.kind} {owner.namespace}/{owner.name} (hybrid-gateway-operator)",
            VpcId=desired.vpc_id,
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": [{"Key": k, "Value": v} for k, v in sorted(owner.tags(self.name).items())],
                }
            ],
        )["GroupId"]
        state = SecurityGroupState(group_id, vpc_id=desired.vpc_id, vpc_cidrs=tuple(cidrs), egress=ALL_TRAFFIC)
        self._apply(ec2, group_id, desired, state)
        group = describe_groups(ec2, GroupIds=[group_id])
        return self._observe(ec2, group[0]) if group else Observed(id=group_id, state=state)

    def diff(self, desired: SecurityGroupDesired, observed: Observed[SecurityGroupState]) -> list[str]:
        return diff_security_group(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: SecurityGroupDesired, observed: Observed[SecurityGroupState],
        changes: list[str],
    ) -> Observed[SecurityGroupState]:
        ec2 = ctx.client("ec2")
        self._apply(ec2, observed.id, desired, observed.state)
        group = describe_groups(ec2, GroupIds=[observed.id])
        return self._observe(ec2, group[0]) if group else observed

    @staticmethod
    def _apply(ec2: Any, group_id: str, desired: SecurityGroupDesired, state: SecurityGroupState) -> None:
        """Authorize what is missing before revoking what is extra, so traffic never drops."""
        have_in, want_in = set(state.ingress), desired_ingress(desired, state.vpc_cidrs)
        have_out, want_out = set(state.egress), desired_egress(desired)
        calls = (
            (ec2.authorize_security_group_ingress, want_in - have_in),
            (ec2.authorize_security_group_egress, want_out - have_out),
            (ec2.revoke_security_group_ingress, have_in - want_in),
            (ec2.revoke_security_group_egress, have_out - want_out),
        )
        for call, rules in calls:
            if rules:
                call(GroupId=group_id, IpPermissions=permissions_from_rules(rules))

    def delete(self, ctx: PartContext, observed: Observed[SecurityGroupState]) -> None:
        with absent_is_fine():
            ctx.client("ec2").delete_security_group(GroupId=observed.id)


__all__ = [
    "ALL_TRAFFIC",
    "Rule",
    "SecurityGroup",
    "SecurityGroupDesired",
    "SecurityGroupState",
    "describe_groups",
    "diff_security_group",
    "permissions_from_rules",
    "rules_from_permissions",
]
