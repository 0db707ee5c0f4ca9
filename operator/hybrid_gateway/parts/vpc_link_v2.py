"""The shared API Gateway VPC link V2 (apigatewayv2) to the internal ALBs, and its security group.

A VPC link V2 is per VPC, subnets and security groups, not per load balancer (the integration names
its load balancer in `integrationTarget`), so every HybridApi of the same VPC and subnets uses one
link: its key is a short hash of (VPC, sorted subnets). The operator makes the link's security group
itself, one per key (`LinkSecurityGroup`), so that "the same security groups" holds by construction.

Users are counted by tags on the link: each HybridApi using it adds one tag whose key carries its uid
(value: namespace/name). API Gateway allows 50 tags per resource (docs/aws-behaviour.md), so a link
takes at most `MAX_USERS`; the next user of the same key opens `<name>-2`, and so on. A HybridApi
that leaves (deleted, switched to V1, moved to other subnets) removes its tag; the one that removes
the last user tag deletes the link, and the security group goes once no link of its key is left (the
link's network interfaces hold it until then). One lock per key in this process makes "tag or untag,
then decide" atomic between the HybridApis this operator reconciles at once; a link AWS is deleting
is never joined (the next index is opened instead).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import error_code
from hybrid_gateway.aws.tags import MANAGED_BY, MANAGED_BY_TAG, OWNER_TAG, PART_TAG, UID_TAG, as_dict
from hybrid_gateway.errors import RetryLater
from hybrid_gateway.parts._apigateway import delete_ignoring_not_found, get_or_none, got_or_listed
from hybrid_gateway.parts.base import Observed, Outcome, Ownership, Part, PartContext, Replacement, shared_read
from hybrid_gateway.parts.security_group import describe_groups
from hybrid_gateway.parts.vpc_link import AVAILABLE, DELETING, FAILED

KEY_TAG = "hybridgateway.io/vpc-link-key"
USER_TAG_PREFIX = "hybridgateway.io/user/"  # + the HybridApi's uid; value namespace/name
TAG_VALUE_MAX = 256  # API Gateway's (and EC2's) longest tag value
MAX_USERS = 40  # of 50 tags per API Gateway resource: the 5 shared tags, and headroom
STATUS_FAILED = "status FAILED"


def link_key(vpc_id: str, subnet_ids: tuple[str, ...]) -> str:
    """The short hash naming one (VPC, subnets) pair; order of the subnets does not matter."""
    return hashlib.sha256(f"{vpc_id}|{','.join(sorted(subnet_ids))}".encode()).hexdigest()[:12]


def link_name(key: str, index: int) -> str:
    return f"hybrid-gateway-{key}" + ("" if index == 1 else f"-{index}")


def user_tag(uid: str) -> str:
    return USER_TAG_PREFIX + uid


def users_of(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith(USER_TAG_PREFIX)}


_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


@contextmanager
def key_lock(key: str) -> Iterator[None]:
    """One lock per link key in this process: join/leave decisions for one key never interleave."""
    with _locks_guard:
        lock = _locks.setdefault(key, threading.RLock())
    with lock:
        yield


SHARED_OWNER = "shared"  # the owner tag of a shared resource: its users are its user tags


def shared_tags(part: str, key: str) -> dict[str, str]:
    """The tags of a shared resource: an owner and uid that name the share, not one object (no HybridApi's uid
    matches, so no part adopts it as its own; the IAM policy's owner-tag conditions still hold), and the key."""
    return {OWNER_TAG: SHARED_OWNER, UID_TAG: f"{SHARED_OWNER}-{key}", MANAGED_BY_TAG: MANAGED_BY, PART_TAG: part,
            KEY_TAG: key}


def _arn(region: str, link_id: str) -> str:
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return f"arn:{partition}:apigateway:{region}::/vpclinks/{link_id}"


def all_links(apigatewayv2: Any) -> Iterator[dict[str, Any]]:
    """Every V2 link of the Region (one GetVpcLinks paging)."""
    token = ""
    while True:
        page = apigatewayv2.get_vpc_links(**({"NextToken": token} if token else {}))
        yield from page.get("Items", [])
        token = page.get("NextToken") or ""
        if not token:
            return


def links_of_key(apigatewayv2: Any, key: str) -> list[dict[str, Any]]:
    """Every V2 link carrying `key`, whatever its status (one GetVpcLinks paging)."""
    return [link for link in all_links(apigatewayv2) if (link.get("Tags") or {}).get(KEY_TAG) == key]


# By id across objects: HybridApis of one VPC and subnets share a link, so one read answers them all.
VPC_LINKS_V2 = got_or_listed(
    "apigatewayv2:GetVpcLink",
    lambda clients, link_id: get_or_none(clients.client("apigatewayv2").get_vpc_link, VpcLinkId=link_id),
    lambda clients: all_links(clients.client("apigatewayv2")), id_key="VpcLinkId")


# ---- the link's security group -------------------------------------------------------------------


@dataclass(frozen=True)
class LinkSecurityGroupDesired:
    vpc_id: str
    subnet_ids: tuple[str, ...]

    @property
    def key(self) -> str:
        return link_key(self.vpc_id, self.subnet_ids)


@dataclass(frozen=True)
class LinkSecurityGroupState:
    vpc_id: str
    key: str


class LinkSecurityGroup(Part[LinkSecurityGroupDesired, LinkSecurityGroupState]):
    """The security group of the links of one key (status: `vpcLinkSecurityGroupId`). It has no ingress
    (the link's network interfaces only open connections) and AWS's default egress; the ALB's security
    group admits it on 443."""

    name = "vpc-link-security-group"
    ownership: ClassVar[Ownership] = Ownership.SHARED
    replace_on: ClassVar[frozenset[str]] = frozenset({"key"})
    replacement: ClassVar[Replacement] = Replacement.CREATE_FIRST_RETIRE_LATER

    @staticmethod
    def _observe(group: Mapping[str, Any]) -> Observed[LinkSecurityGroupState]:
        tags = as_dict(group.get("Tags"))
        return Observed(id=str(group["GroupId"]),
                        state=LinkSecurityGroupState(str(group.get("VpcId", "")), tags.get(KEY_TAG, "")))

    def find(self, ctx: PartContext, desired: LinkSecurityGroupDesired | None,
             known_id: str | None) -> Observed[LinkSecurityGroupState] | None:
        """By id (if it is one of ours), else by the key tag in the VPC: one filtered call each. A group status
        recorded for this generation is not read at all: it has no rules to drift, and EC2 refuses to delete a
        group that the link's network interfaces or another group's rule (the ALB's) still use
        (docs/aws-behaviour.md)."""
        ec2 = ctx.client("ec2")
        if known_id and desired is not None and ctx.is_recorded(known_id):
            return Observed(id=known_id, state=LinkSecurityGroupState(desired.vpc_id, desired.key))
        if known_id:
            groups = describe_groups(ec2, GroupIds=[known_id])
            if groups and as_dict(groups[0].get("Tags")).get(PART_TAG) == self.name:
                return self._observe(groups[0])
        if desired is None:
            return None
        groups = describe_groups(ec2, Filters=[{"Name": f"tag:{KEY_TAG}", "Values": [desired.key]},
                                             {"Name": f"tag:{PART_TAG}", "Values": [self.name]},
                                             {"Name": "vpc-id", "Values": [desired.vpc_id]}])
        return self._observe(sorted(groups, key=lambda g: str(g["GroupId"]))[0]) if groups else None

    def create(self, ctx: PartContext, desired: LinkSecurityGroupDesired) -> Observed[LinkSecurityGroupState]:
        with key_lock(desired.key):
            found = self.find(ctx, desired, None)  # another HybridApi of this key may have just made it
            if found is not None:
                return found
            tags = shared_tags(self.name, desired.key)
            group_id = ctx.client("ec2").create_security_group(
                GroupName=f"hybrid-gateway-vpc-link-{desired.key}",
                Description="VPC link V2 of hybrid-gateway-operator, shared by the HybridApis of its subnets",
                VpcId=desired.vpc_id,
                TagSpecifications=[{"ResourceType": "security-group",
                                    "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}],
            )["GroupId"]
        return Observed(id=group_id, state=LinkSecurityGroupState(desired.vpc_id, desired.key))

    def diff(self, desired: LinkSecurityGroupDesired, observed: Observed[LinkSecurityGroupState]) -> list[str]:
        return ["key"] if (observed.state.key, observed.state.vpc_id) != (desired.key, desired.vpc_id) else []

    def update(self, ctx: PartContext, desired: LinkSecurityGroupDesired,
               observed: Observed[LinkSecurityGroupState], changes: list[str]) -> Observed[LinkSecurityGroupState]:
        return observed  # only a different key differs, and that is a replacement

    def delete(self, ctx: PartContext, observed: Observed[LinkSecurityGroupState]) -> bool:
        """Kept (False) while a link of its key has users; RetryLater while one is still being deleted
        (its network interfaces hold the group); deleted once no link of the key is left."""
        key = observed.state.key
        with key_lock(key):
            links = links_of_key(ctx.client("apigatewayv2"), key)
            if any(users_of(link.get("Tags") or {}) and link.get("VpcLinkStatus") != DELETING for link in links):
                return False
            if links:
                raise RetryLater("DependencyInUse", f"{self.name} {observed.id}: VPC link "
                                 f"{links[0].get('VpcLinkId')} of its key is still being deleted")
            try:
                ctx.client("ec2").delete_security_group(GroupId=observed.id)
            except ClientError as exc:
                if error_code(exc) == "InvalidGroup.NotFound":
                    return True
                if error_code(exc) == "DependencyViolation":  # network interfaces not released yet
                    raise RetryLater("DependencyInUse", f"{self.name} {observed.id}: {error_code(exc)}") from exc
                raise
        return True


# ---- the link ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VpcLinkV2Desired:
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_id: str  # the key's LinkSecurityGroup
    uid: str  # this HybridApi's uid (the key of its user tag)
    user: str  # its namespace/name (the value)
    max_users: int = MAX_USERS

    @property
    def key(self) -> str:
        return link_key(self.vpc_id, self.subnet_ids)


@dataclass(frozen=True)
class VpcLinkV2State:
    name: str
    key: str
    status: str
    status_message: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    users: dict[str, str] = field(default_factory=dict)  # user tag key -> namespace/name


def observe(link: Mapping[str, Any], uid: str) -> Observed[VpcLinkV2State]:
    """AWS's VpcLink (V2) -> Observed; ready once AVAILABLE; `owned`: this HybridApi is one of its users."""
    tags = dict(link.get("Tags") or {})
    status = str(link.get("VpcLinkStatus", ""))
    state = VpcLinkV2State(
        name=str(link.get("Name", "")), key=tags.get(KEY_TAG, ""), status=status,
        status_message=str(link.get("VpcLinkStatusMessage", "") or ""),
        subnet_ids=tuple(sorted(link.get("SubnetIds") or ())),
        security_group_ids=tuple(sorted(link.get("SecurityGroupIds") or ())), users=users_of(tags))
    ready = status == AVAILABLE
    waiting = "" if ready else f"VPC link V2 {status or 'status unknown'}" + (
        f": {state.status_message}" if state.status_message else "")
    return Observed(id=str(link["VpcLinkId"]), state=state, ready=ready, waiting_for=waiting,
                    owned=user_tag(uid) in state.users)


def diff(desired: VpcLinkV2Desired, observed: Observed[VpcLinkV2State]) -> list[str]:
    """``key`` (another VPC or subnets: a different link), a FAILED status (never recovers: another link),
    ``user`` (this HybridApi is not counted yet: its tag is added)."""
    state = observed.state
    changes = []
    if state.key != desired.key or desired.security_group_id not in state.security_group_ids:
        changes.append("key")
    if state.status == FAILED:
        changes.append(STATUS_FAILED)
    if user_tag(desired.uid) not in state.users:
        changes.append("user")
    return changes


def joinable(link: Mapping[str, Any], max_users: int) -> bool:
    return (link.get("VpcLinkStatus") not in (DELETING, FAILED)
            and len(users_of(link.get("Tags") or {})) < max_users)


def index_of(name: str, key: str) -> int:
    base = link_name(key, 1)
    if name == base:
        return 1
    tail = name.removeprefix(base + "-")
    return int(tail) if tail != name and tail.isdigit() else 0


class VpcLinkV2Part(Part[VpcLinkV2Desired, VpcLinkV2State]):
    """The shared V2 link (status: `vpcLinkV2Id`); `remove` leaves it (untags) and deletes it as its last user."""

    name = "vpc-link-v2"
    ownership: ClassVar[Ownership] = Ownership.SHARED
    replace_on: ClassVar[frozenset[str]] = frozenset({"key", STATUS_FAILED})
    # The integrations still name the old link: this HybridApi leaves it once they have moved.
    replacement: ClassVar[Replacement] = Replacement.CREATE_FIRST_RETIRE_LATER

    def ensure(self, ctx: PartContext, desired: VpcLinkV2Desired, known_id: str | None) -> Outcome[VpcLinkV2State]:
        with key_lock(desired.key):  # find (which link to join) and the join itself under one lock
            return super().ensure(ctx, desired, known_id)

    def find(self, ctx: PartContext, desired: VpcLinkV2Desired | None,
             known_id: str | None) -> Observed[VpcLinkV2State] | None:
        """By id (unless AWS is deleting it), else the link of the key this HybridApi uses, else the first of
        the key with room for one more user (joined by `update`); one GetVpcLinks paging."""
        apigatewayv2, uid = ctx.client("apigatewayv2"), ctx.owner.uid
        if known_id:
            link = shared_read(ctx, VPC_LINKS_V2, [known_id]).get(known_id)
            if link is not None and link.get("VpcLinkStatus") != DELETING:
                return observe(link, uid)
        if desired is None:
            return None
        key = desired.key
        links = sorted(links_of_key(apigatewayv2, key), key=lambda link: index_of(str(link.get("Name")), key))
        live = [link for link in links if link.get("VpcLinkStatus") not in (DELETING, FAILED)]
        for link in live:
            if user_tag(uid) in (link.get("Tags") or {}):
                return observe(link, uid)
        for link in live:
            if joinable(link, desired.max_users):
                return observe(link, uid)
        return None

    def _tags(self, ctx: PartContext, desired: VpcLinkV2Desired) -> dict[str, str]:
        return {**shared_tags(self.name, desired.key), user_tag(desired.uid): desired.user[:TAG_VALUE_MAX]}

    def create(self, ctx: PartContext, desired: VpcLinkV2Desired) -> Observed[VpcLinkV2State]:
        """A new link of the key, at the first index no link of the key has (a DELETING one included)."""
        apigatewayv2 = ctx.client("apigatewayv2")
        taken = {index_of(str(link.get("Name")), desired.key) for link in links_of_key(apigatewayv2, desired.key)}
        index = next(i for i in range(1, len(taken) + 2) if i not in taken)
        link = apigatewayv2.create_vpc_link(Name=link_name(desired.key, index), SubnetIds=list(desired.subnet_ids),
                                      SecurityGroupIds=[desired.security_group_id], Tags=self._tags(ctx, desired))
        return observe(link, ctx.owner.uid)

    def diff(self, desired: VpcLinkV2Desired, observed: Observed[VpcLinkV2State]) -> list[str]:
        return diff(desired, observed)

    def update(self, ctx: PartContext, desired: VpcLinkV2Desired, observed: Observed[VpcLinkV2State],
               changes: list[str]) -> Observed[VpcLinkV2State]:
        """Join: this HybridApi's user tag."""
        apigatewayv2 = ctx.client("apigatewayv2")
        apigatewayv2.tag_resource(ResourceArn=_arn(ctx.region, observed.id),
                            Tags={user_tag(desired.uid): desired.user[:TAG_VALUE_MAX]})
        link = get_or_none(apigatewayv2.get_vpc_link, VpcLinkId=observed.id)
        return observe(link, ctx.owner.uid) if link else observed

    def delete(self, ctx: PartContext, observed: Observed[VpcLinkV2State]) -> bool:
        """Leave: remove this HybridApi's user tag; the last user deletes the link (True), others keep it
        (False)."""
        apigatewayv2 = ctx.client("apigatewayv2")
        with key_lock(observed.state.key):
            apigatewayv2.untag_resource(ResourceArn=_arn(ctx.region, observed.id), TagKeys=[user_tag(ctx.owner.uid)])
            link = get_or_none(apigatewayv2.get_vpc_link, VpcLinkId=observed.id)
            if link is None:
                return True
            if users_of(link.get("Tags") or {}):
                return False
            delete_ignoring_not_found(apigatewayv2.delete_vpc_link, self.name, observed.id, VpcLinkId=observed.id)
        return True


__all__ = [
    "KEY_TAG", "MAX_USERS", "LinkSecurityGroup", "LinkSecurityGroupDesired", "VpcLinkV2Desired", "VpcLinkV2Part",
    "VpcLinkV2State", "link_key", "link_name", "user_tag",
]
