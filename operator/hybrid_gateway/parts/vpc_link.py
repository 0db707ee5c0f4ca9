"""The API Gateway VPC link (REST kind) that lets the REST API reach the internal NLB.

A REST VPC link targets exactly one NLB and AWS refuses to change it ("Target arns are not allowed to
be changed/added"), so a different NLB means a new link (`replace_on`). Only name and description can
be patched. AWS also refuses to delete a link that integrations or deployed stages still use; that
answer becomes `DependencyInUse` (retry), and the reconciler deletes the REST API first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hybrid_gateway.parts._apigateway import (
    PartFailed,
    delete_ignoring_not_found,
    get_or_none,
    items,
    owned,
    owner_tags,
    patch_op,
)
from hybrid_gateway.parts.base import Observed, Outcome, Part, PartContext

PENDING = "PENDING"
AVAILABLE = "AVAILABLE"
FAILED = "FAILED"
DELETING = "DELETING"


@dataclass(frozen=True)
class VpcLinkDesired:
    name: str
    target_arn: str  # the internal NLB
    description: str = ""


def observe(link: dict[str, Any]) -> Observed:
    """AWS's VpcLink -> Observed; not ready until AVAILABLE."""
    status = str(link.get("status", ""))
    state = {
        "name": link.get("name", ""),
        "description": link.get("description", "") or "",
        "target_arns": list(link.get("targetArns") or []),
        "status": status,
        "status_message": link.get("statusMessage", "") or "",
    }
    ready = status == AVAILABLE
    return Observed(
        id=str(link["id"]),
        state=state,
        ready=ready,
        waiting_for="" if ready else f"VPC link {status or 'status unknown'}",
    )


def diff(desired: VpcLinkDesired, observed: Observed) -> list[str]:
    """Fields that differ: ``name``, ``description``, ``targetArns`` (the last needs a new link)."""
    state = observed.state
    changes = []
    if state.get("target_arns") != [desired.target_arn]:
        changes.append("targetArns")
    if state.get("name") != desired.name:
        changes.append("name")
    if (state.get("description") or "") != desired.description:
        changes.append("description")
    return changes


class VpcLinkPart(Part[VpcLinkDesired]):
    name = "vpc-link"
    replace_on: ClassVar[frozenset[str]] = frozenset({"targetArns"})

    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        client = ctx.client("apigateway")
        if known_id:
            link = get_or_none(client.get_vpc_link, vpcLinkId=known_id)
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

    def create(self, ctx: PartContext, desired: VpcLinkDesired) -> Observed:
        link = ctx.client("apigateway").create_vpc_link(
            name=desired.name,
            description=desired.description,
            targetArns=[desired.target_arn],
            tags=owner_tags(ctx.owner, self.name),
        )
        return observe(link)

    def diff(self, desired: VpcLinkDesired, observed: Observed) -> list[str]:
        return diff(desired, observed)

    def update(
        self, ctx: PartContext, desired: VpcLinkDesired, observed: Observed, changes: list[str]
    ) -> Observed:
        ops = []
        if "name" in changes:
            ops.append(patch_op("replace", "name", value=desired.name))
        if "description" in changes:
            ops.append(patch_op("replace", "description", value=desired.description))
        if not ops:
            return observed
        link = ctx.client("apigateway").update_vpc_link(vpcLinkId=observed.id, patchOperations=ops)
        return observe(link)

    def delete(self, ctx: PartContext, observed: Observed) -> None:
        delete_ignoring_not_found(
            ctx.client("apigateway").delete_vpc_link, self.name, observed.id, vpcLinkId=observed.id
        )

    def ensure(self, ctx: PartContext, desired: VpcLinkDesired, known_id: str | None) -> Outcome:
        """As `Part.ensure`, then a FAILED link (wrong or unhealthy NLB) raises `PartFailed`.

        The check runs after the diff so that pointing the spec at another NLB replaces a failed link.
        """
        outcome = super().ensure(ctx, desired, known_id)
        state = outcome.observed.state
        if state.get("status") == FAILED:
            raise PartFailed(
                self.name,
                outcome.observed.id,
                "VpcLinkFailed",
                f"VPC link {outcome.observed.id} is FAILED: {state.get('status_message') or 'no message'}; "
                "check that the NLB is internal, active and in this account and region",
            )
        return outcome
