"""The base path mappings of one custom domain name: base path -> (REST API, stage).

Base path mappings are written only by the MtlsDomain that owns the domain (api.md, "Who writes
what"), so every mapping on the domain is ours: one that the spec does not list is removed. The part
handles the domain's whole set at once (one GetBasePathMappings call to observe), like the REST API
part handles its routes.

API Gateway names the root mapping ``(none)``; the spec (and this part's desired state) writes it as
``""``. A mapping whose target is not known yet (the HybridApi has no REST API yet) is listed in
`keep`: whatever exists at that base path is left alone until the target is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hybrid_gateway.parts._apigateway import PatchOperation, delete_ignoring_not_found, get_or_none, patch_op
from hybrid_gateway.parts.base import Observed, Part, PartContext

ROOT = "(none)"  # what API Gateway calls the empty base path


@dataclass(frozen=True)
class MappingTarget:
    rest_api_id: str
    stage: str


@dataclass(frozen=True)
class MappingsDesired:
    domain_name: str
    mappings: Mapping[str, MappingTarget] = field(default_factory=dict)  # base path ("" = root) -> target
    keep: frozenset[str] = frozenset()  # base paths not to touch this pass


def to_api(base_path: str) -> str:
    return base_path or ROOT


def from_api(base_path: str | None) -> str:
    return "" if base_path in (None, "", ROOT) else str(base_path)


def label(base_path: str) -> str:
    return f"/{base_path}" if base_path else "/ (root)"


def observe(domain_name: str, items: list[dict[str, Any]]) -> Observed:
    mappings = {
        from_api(m.get("basePath")): {"restApiId": str(m.get("restApiId", "")), "stage": str(m.get("stage") or "")}
        for m in items
    }
    return Observed(id=domain_name, state={"mappings": mappings})


@dataclass(frozen=True)
class Change:
    text: str
    kind: str  # add | retarget | remove
    base_path: str


def plan(desired: MappingsDesired, state: dict[str, Any]) -> list[Change]:
    have: dict[str, dict[str, str]] = state.get("mappings", {})
    changes = []
    for base_path, target in sorted(desired.mappings.items()):
        current = have.get(base_path)
        if current is None:
            changes.append(Change(f"mapping {label(base_path)} missing", "add", base_path))
        elif (current["restApiId"], current["stage"]) != (target.rest_api_id, target.stage):
            changes.append(Change(
                f"mapping {label(base_path)} -> {current['restApiId']}/{current['stage'] or '*'}",
                "retarget", base_path,
            ))
    for base_path in sorted(set(have) - set(desired.mappings) - desired.keep):
        changes.append(Change(f"mapping {label(base_path)} not in spec", "remove", base_path))
    return changes


def diff(desired: MappingsDesired, observed: Observed) -> list[str]:
    return [c.text for c in plan(desired, observed.state)]


def retarget_patch(target: MappingTarget) -> list[PatchOperation]:
    return [
        patch_op("replace", "restapiId", value=target.rest_api_id),
        patch_op("replace", "stage", value=target.stage),
    ]


class BasePathMappings(Part[MappingsDesired]):
    """Every base path mapping of one domain name (id: the domain name)."""

    name = "base-path-mappings"

    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        if not known_id:
            return None
        client = ctx.client("apigateway")
        items: list[dict[str, Any]] = []
        position: str | None = None
        while True:
            kwargs: dict[str, Any] = {"domainName": known_id, "limit": 500}
            if position:
                kwargs["position"] = position
            page = get_or_none(client.get_base_path_mappings, **kwargs)
            if page is None:
                return None  # no domain name: no mappings
            items += page.get("items", [])
            position = page.get("position")
            if not position:
                break
        return observe(known_id, items)

    def create(self, ctx: PartContext, desired: MappingsDesired) -> Observed:
        empty = observe(desired.domain_name, [])
        return self.update(ctx, desired, empty, diff(desired, empty))

    def diff(self, desired: MappingsDesired, observed: Observed) -> list[str]:
        return diff(desired, observed)

    def update(self, ctx: PartContext, desired: MappingsDesired, observed: Observed, changes: list[str]) -> Observed:
        client = ctx.client("apigateway")
        wanted = set(changes)
        mappings: dict[str, dict[str, str]] = dict(observed.state.get("mappings", {}))
        # Removals first: a base path freed by one change can be taken by another.
        todo = sorted((c for c in plan(desired, observed.state) if c.text in wanted), key=lambda c: c.kind != "remove")
        for change in todo:
            if change.kind == "remove":
                delete_ignoring_not_found(
                    client.delete_base_path_mapping, self.name, desired.domain_name,
                    domainName=desired.domain_name, basePath=to_api(change.base_path),
                )
                mappings.pop(change.base_path, None)
                continue
            target = desired.mappings[change.base_path]
            if change.kind == "add":
                params: dict[str, Any] = {
                    "domainName": desired.domain_name, "restApiId": target.rest_api_id, "stage": target.stage,
                }
                if change.base_path:
                    params["basePath"] = change.base_path
                client.create_base_path_mapping(**params)
            else:
                client.update_base_path_mapping(
                    domainName=desired.domain_name, basePath=to_api(change.base_path),
                    patchOperations=retarget_patch(target),
                )
            mappings[change.base_path] = {"restApiId": target.rest_api_id, "stage": target.stage}
        return Observed(id=desired.domain_name, state={"mappings": mappings})

    def delete(self, ctx: PartContext, observed: Observed) -> None:
        client = ctx.client("apigateway")
        for base_path in sorted(observed.state.get("mappings", {})):
            delete_ignoring_not_found(
                client.delete_base_path_mapping, self.name, observed.id,
                domainName=observed.id, basePath=to_api(base_path),
            )

    def remove(self, ctx: PartContext, known_id: str | None) -> str | None:
        observed = self.find(ctx, known_id)
        if observed is None or not observed.state.get("mappings"):
            return None
        self.delete(ctx, observed)
        return observed.id


__all__ = [
    "ROOT",
    "BasePathMappings",
    "MappingTarget",
    "MappingsDesired",
    "diff",
    "from_api",
    "plan",
    "retarget_patch",
    "to_api",
]
