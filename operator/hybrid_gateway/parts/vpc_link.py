"""The API Gateway VPC link (REST kind) that lets the REST API reach the internal NLB.

A REST VPC link targets exactly one NLB and AWS refuses to change it ("Target arns are not allowed to
be changed/added"), so a different NLB means a new link (`replace_on`, deleted first). Only name and
description can be patched. AWS also refuses to delete a link that integrations or deployed stages
still use; that answer is `RetryLater("DependencyInUse")`, and the reconciler deletes the REST API
first. A link AWS put in FAILED (its NLB was not active when it was made: the CloudFormation and
terraform reports in docs/aws-behaviour.md) never recovers, so it is replaced like a changed target;
the reconciler makes the link only once the NLB is active.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from hybrid_gateway.parts._apigateway import (
    delete_ignoring_not_found,
    get_or_none,
    got_or_listed,
    items,
    owned,
    owner_tags,
    patch_op,
)
from hybrid_gateway.parts.base import Observed, Part, PartContext, Replacement, differing, shared_read

PENDING = "PENDING"
AVAILABLE = "AVAILABLE"
FAILED = "FAILED"
DELETING = "DELETING"
STATUS_FAILED = "status FAILED"  # the difference a FAILED link shows: it is replaced


@dataclass(frozen=True)
class VpcLinkDesired:
    name: str
    target_arn: str  # the internal NLB
    description: str = ""


@dataclass(frozen=True)
class VpcLinkState:
    name: str
    description: str
    target_arns: tuple[str, ...]
    status: str
    status_message: str


def observe(link: Mapping[str, Any]) -> Observed[VpcLinkState]:
    """AWS's VpcLink -> Observed; not ready until AVAILABLE."""
    status = str(link.get("status", ""))
    state = VpcLinkState(
        name=str(link.get("name", "")),
        description=str(link.get("description", "") or ""),
        target_arns=tuple(link.get("targetArns") or ()),
        status=status,
        status_message=str(link.get("statusMessage", "") or ""),
    )
    ready = status == AVAILABLE
    return Observed(
        id=str(link["id"]),
        state=state,
        ready=ready,
        waiting_for="" if ready else f"VPC link {status or 'status unknown'}",
    )


def diff(desired: VpcLinkDesired, observed: Observed[VpcLinkState]) -> list[str]:
    """Fields that differ: ``name``, ``description``, ``targetArns`` and a FAILED status (these two
    need a new link)."""
    state = observed.state
    return differing(
        ("targetArns", state.target_arns, (desired.target_arn,)),
        (STATUS_FAILED, state.status == FAILED, False),
        ("name", state.name, desired.name),
        ("description", state.description, desired.description),
    )


VPC_LINKS = got_or_listed(
    "apigateway:GetVpcLink",
    lambda clients, link_id: get_or_none(clients.client("apigateway").get_vpc_link, vpcLinkId=link_id),
    lambda clients: items(clients.client("apigateway"), "get_vpc_links", limit=500))


class VpcLinkPart(Part[VpcLinkDesired, VpcLinkState]):
    name = "vpc-link"
    replace_on: ClassVar[frozenset[str]] = frozenset({"targetArns", STATUS_FAILED})
    replacement: ClassVar[Replacement] = Replacement.DELETE_FIRST  # the REST API moves to the new one

    def find(
        self, ctx: PartContext, desired: VpcLinkDesired | None, known_id: str | None
    ) -> Observed[VpcLinkState] | None:
        """By id, else by owner tags (link names are not unique)."""
        client = ctx.client("apigateway")
        if known_id:
            link = shared_read(ctx, VPC_LINKS, [known_id]).get(known_id)
            if link is not None and link.get("status") != DELETING:
                return observe(link)
        # A link AWS is already deleting is gone for our purposes: do not adopt it.
        candidates = [
            link
            for link in items(client, "get_vpc_links", limit=500)
            if owned(ctx.owner, link.get("tags"), self.name) and link.get("status") != DELETING
        ]
        if not candidates:
            return None
        return observe(sorted(candidates, key=lambda link: str(link["id"]))[0])

    def create(self, ctx: PartContext, desired: VpcLinkDesired) -> Observed[VpcLinkState]:
        link = ctx.client("apigateway").create_vpc_link(
            name=desired.name,
            description=desired.description,
            targetArns=[desired.target_arn],
            tags=owner_tags(ctx.owner, self.name),
        )
        return observe(link)

    def diff(self, desired: VpcLinkDesired, observed: Observed[VpcLinkState]) -> list[str]:
        return diff(desired, observed)

    def update(
        self, ctx: PartContext, desired: VpcLinkDesired, observed: Observed[VpcLinkState], changes: list[str]
    ) -> Observed[VpcLinkState]:
        ops = []
        if "name" in changes:
            ops.append(patch_op("replace", "name", value=desired.name))
        if "description" in changes:
            ops.append(patch_op("replace", "description", value=desired.description))
        if not ops:
            return observed
        link = ctx.client("apigateway").update_vpc_link(vpcLinkId=observed.id, patchOperations=ops)
        return observe(link)

    def delete(self, ctx: PartContext, observed: Observed[VpcLinkState]) -> None:
        delete_ignoring_not_found(
            ctx.client("apigateway").delete_vpc_link, self.name, observed.id, vpcLinkId=observed.id
        )
