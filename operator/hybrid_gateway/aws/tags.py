"""Owner tags: every AWS resource the operator makes says which Kubernetes object owns it.

A restarted operator finds its resources by these tags and adopts them instead of making twins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NotRequired, TypedDict

OWNER_TAG = "hybridgateway.io/owner"
UID_TAG = "hybridgateway.io/uid"
PART_TAG = "hybridgateway.io/part"
MANAGED_BY_TAG = "app.kubernetes.io/managed-by"
MANAGED_BY = "hybrid-gateway-operator"


@dataclass(frozen=True)
class Owner:
    """The Kubernetes object that owns a set of AWS resources."""

    kind: str
    namespace: str
    name: str
    uid: str

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    def tags(self, part: str) -> dict[str, str]:
        return {OWNER_TAG: self.ref, UID_TAG: self.uid, PART_TAG: part, MANAGED_BY_TAG: MANAGED_BY}

    def owns(self, tags: dict[str, str], part: str) -> bool:
        # The uid guards against adopting what a deleted object of the same name left behind.
        return tags.get(UID_TAG) == self.uid and tags.get(PART_TAG) == part

    def owns_any_part(self, tags: dict[str, str]) -> bool:
        """Made by this object, whatever part (a MtlsDomain has a regional and an ownership certificate)."""
        return tags.get(UID_TAG) == self.uid


class Tag(TypedDict):
    """One tag as ELB, EC2 and ACM spell it (the shape boto3-stubs gives their TagTypeDef)."""

    Key: str
    Value: NotRequired[str]


def as_dict(tag_list: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """[{'Key': k, 'Value': v}] (ELB, EC2, ACM style) -> {k: v}."""
    return {t["Key"]: t.get("Value", "") for t in tag_list or []}


def as_list(tags: dict[str, str]) -> list[Tag]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
