"""The base path mappings of one custom domain name: base path -> (REST API, stage).

Base path mappings are written only by the MtlsDomain that owns the domain (api.md, "Who writes
what"), so every mapping on the domain is ours: one that the spec does not list is removed. The part
handles the domain's whole set at once (one GetBasePathMappings call to observe), like the REST API
part handles its routes.

API Gateway names the root mapping ``(none)``; the spec (and this part's desired state) writes it as
``""``. A mapping whose target is not known yet (the HybridApi has no REST API yet) is listed in
`keep`: whatever exists at that base path is left alone until the target is known.

The part's id is the domain name. A domain without mappings holds nothing to find, so `find` returns
None (and `ensure` creates the set) unless `known_id` says the set was ours already: then an empty
set is one whose mappings are all missing (drift, put back by an update).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from hybrid_gateway.parts._apigateway import delete_ignoring_not_found, get_or_none, patch_op
from hybrid_gateway.parts.base import Observed, Ownership, Part, PartContext

if TYPE_CHECKING:
    from hybrid_gateway.parts._apigateway import PatchOperation

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


@dataclass(frozen=True)
class MappingsState:
    mappings: dict[str, MappingTarget]  # base path ("" = root) -> where it points now


def observe(domain_name: str, items: list[dict[str, Any]]) -> Observed[MappingsState]:
    mappings = {
        from_api(m.get("basePath")): MappingTarget(str(m.get("restApiId", "")), str(m.get("stage") or ""))
        for m in items
    }
    return Observed(id=domain_name, state=MappingsState(mappings))


@dataclass(frozen=True)
class Change:
    text: str
    kind: str  # add | retarget | remove
    base_path: str


def plan(desired: MappingsDesired, state: MappingsState) -> list[Change]:
    have = state.mappings
    changes = []
    for base_path, target in sorted(desired.mappings.items()):
        current = have.get(base_path)
        if current is None:
            changes.append(Change(f"mapping {label(base_path)} missing", "add", base_path))
        elif current != target:
            changes.append(Change(
                f"mapping {label(base_path)} -> {current.rest_api_id}/{current.stage or '*'}",
                "retarget", base_path,
            ))
    for base_path in sorted(set(have) - set(desired.mappings) - desired.keep):
        changes.append(Change(f"mapping {label(base_path)} not in spec", "remove", base_path))
    return changes


def diff(desired: MappingsDesired, observed: Observed[MappingsState]) -> list[str]:
    return [c.text for c in plan(desired, observed.state)]


def retarget_patch(target: MappingTarget) -> list[PatchOperation]:
    return [
        patch_op("replace", "restapiId", value=target.rest_api_id),
        patch_op("replace", "stage", value=target.stage),
    ]


def _reads_key(domain_name: str) -> str:
    return f"apigateway:base-path-mappings:{domain_name}"


def forget_mappings(ctx: PartContext, domain_name: str) -> None:
    """Drop this pass's listing of the domain's mappings: a write to them or to the domain makes it stale."""
    if ctx.reads is not None:
        ctx.reads.pop(_reads_key(domain_name), None)


class BasePathMappings(Part[MappingsDesired, MappingsState]):
    """Every base path mapping of one domain name (id: the domain name). All of them are ours: only
    the MtlsDomain that owns the domain writes its mappings."""

    name = "base-path-mappings"
    ownership: ClassVar[Ownership] = Ownership.OWNED

    def find(
        self, ctx: PartContext, desired: MappingsDesired | None, known_id: str | None
    ) -> Observed[MappingsState] | None:
        domain = desired.domain_name if desired is not None else known_id
        if not domain:
            return None
        # The reconciler reads the mappings before its chain too (which HybridApis were mapped): one
        # listing per pass answers both.
        if ctx.reads is None:
            items = self._list(ctx, domain)
        else:
            key = _reads_key(domain)
            if key not in ctx.reads:
                ctx.reads[key] = self._list(ctx, domain)
            items = ctx.reads[key]
        if items is None:
            return None  # no domain name: no mappings
        if not items and not known_id:
            return None  # nothing made yet
        return observe(domain, items)

    @staticmethod
    def _list(ctx: PartContext, domain: str) -> list[dict[str, Any]] | None:
        """Every mapping of `domain` (all pages); None when the domain name does not exist."""
        client = ctx.client("apigateway")
        items: list[dict[str, Any]] = []
        position: str | None = None
        while True:
            kwargs: dict[str, Any] = {"domainName": domain, "limit": 500}
            if position:
                kwargs["position"] = position
            page = get_or_none(client.get_base_path_mappings, **kwargs)
            if page is None:
                return None
            items += page.get("items", [])
            position = page.get("position")
            if not position:
                return items

    def create(self, ctx: PartContext, desired: MappingsDesired) -> Observed[MappingsState]:
        empty = observe(desired.domain_name, [])
        return self.update(ctx, desired, empty, diff(desired, empty))

    def diff(self, desired: MappingsDesired, observed: Observed[MappingsState]) -> list[str]:
        return diff(desired, observed)

    def update(
        self, ctx: PartContext, desired: MappingsDesired, observed: Observed[MappingsState], changes: list[str]
    ) -> Observed[MappingsState]:
        client = ctx.client("apigateway")
        forget_mappings(ctx, desired.domain_name)
        wanted = set(changes)
        mappings = dict(observed.state.mappings)
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
            mappings[change.base_path] = target
        return Observed(id=desired.domain_name, state=MappingsState(mappings))

    def delete(self, ctx: PartContext, observed: Observed[MappingsState]) -> bool:
        """Every mapping of the domain; False when it has none."""
        forget_mappings(ctx, observed.id)
        client = ctx.client("apigateway")
        for base_path in sorted(observed.state.mappings):
            delete_ignoring_not_found(
                client.delete_base_path_mapping, self.name, observed.id,
                domainName=observed.id, basePath=to_api(base_path),
            )
        return bool(observed.state.mappings)


__all__ = [
    "ROOT",
    "BasePathMappings",
    "MappingTarget",
    "MappingsDesired",
    "MappingsState",
    "diff",
    "from_api",
    "plan",
    "retarget_patch",
    "to_api",
]
