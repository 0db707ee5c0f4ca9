"""The one in-memory stand-in for Kubernetes that unit tests use (`hybrid_gateway.kube.KubeApi`).

Custom objects, Secrets and ConfigMaps live in dicts; every write is recorded in `writes`, and
`after_write` runs after each (for invariant checks at every step). End-to-end tests use the real
API server instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hybrid_gateway.kube import MissingInput, NotOwned, missing_labels, owned_by


def without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value if v is not None]
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (what the API server does with a status merge patch)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@dataclass
class DataObject:
    """A Secret or ConfigMap: decoded data and the owner references it carries."""

    data: dict[str, str] = field(default_factory=dict)
    owners: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeKube:
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (plural, ns, name)
    cluster_objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (plural, name)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> labels
    data: dict[tuple[str, str, str], DataObject] = field(default_factory=dict)  # (kind, ns, name)
    after_write: Callable[[str], None] = lambda what: None
    writes: list[str] = field(default_factory=list)

    # ---- setup -------------------------------------------------------------------------------
    def add_object(self, plural: str, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        self.objects[(plural, meta["namespace"], meta["name"])] = copy.deepcopy(body)

    def add_cluster_object(self, plural: str, body: dict[str, Any]) -> None:
        self.cluster_objects[(plural, body["metadata"]["name"])] = copy.deepcopy(body)

    def add_data(self, kind: str, namespace: str, name: str, data: dict[str, str]) -> None:
        self.data[(kind, namespace, name)] = DataObject(dict(data))

    def status(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        return dict(self.objects[(plural, namespace, name)].get("status") or {})

    # ---- KubeApi -------------------------------------------------------------------------------
    def _read(self, kind: str, namespace: str, name: str) -> dict[str, str]:
        found = self.data.get((kind, namespace, name))
        if found is None:
            raise MissingInput(f"{kind} {namespace}/{name} does not exist")
        return dict(found.data)

    def _value(self, kind: str, namespace: str, name: str, key: str) -> str:
        data = self._read(kind, namespace, name)
        if key not in data:
            raise MissingInput(f"{kind} {namespace}/{name} has no key {key!r}")
        return data[key]

    def secret_value(self, namespace: str, name: str, key: str) -> str:
        return self._value("Secret", namespace, name, key)

    def secret_data(self, namespace: str, name: str, keys: Iterable[str]) -> dict[str, str]:
        data = self._read("Secret", namespace, name)
        return {k: data[k] for k in keys if k in data}

    def configmap_value(self, namespace: str, name: str, key: str) -> str:
        return self._value("ConfigMap", namespace, name, key)

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((plural, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def list_objects(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for (p, ns, _), o in self.objects.items() if p == plural and ns == namespace]

    def list_cluster_objects(self, plural: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for (p, _), o in self.cluster_objects.items() if p == plural]

    def namespace_labels(self, name: str) -> dict[str, str]:
        return dict(self.namespaces.get(name, {}))

    def _patch(self, plural: str, namespace: str, name: str, patch: dict[str, Any], what: str) -> None:
        obj = self.objects.get((plural, namespace, name))
        if obj is None:
            return  # deleted meanwhile, as the real client treats a 404
        obj["status"] = merge_patch(obj.get("status") or {}, patch)
        self.writes.append(what)
        self.after_write(what)

    def patch_status(self, plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        self._patch(plural, namespace, name, without_none(status), "patch_status")

    def annotate(self, plural: str, namespace: str, name: str, annotations: dict[str, str]) -> bool:
        obj = self.objects.get((plural, namespace, name))
        if obj is None:
            return False
        obj["metadata"].setdefault("annotations", {}).update(annotations)
        self.writes.append(f"annotate {plural}/{name}")
        return True

    def patch_status_fields(self, plural: str, namespace: str, name: str, patch: dict[str, Any]) -> None:
        if patch:
            self._patch(plural, namespace, name, patch, "patch_status_fields")

    def data_key(self, kind: str, namespace: str, name: str, key: str) -> str | None:
        found = self.data.get((kind, namespace, name))
        return None if found is None else found.data.get(key)

    def check_owned(self, kind: str, namespace: str, name: str, owner_uid: str) -> None:
        found = self.data.get((kind, namespace, name))
        if found is not None and not owned_by(found.owners, owner_uid):
            raise NotOwned(kind, namespace, name)

    def upsert_data_key(
        self, kind: str, namespace: str, name: str, key: str, value: str, *,
        owner_reference: dict[str, Any], labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> str | None:
        found = self.data.get((kind, namespace, name))
        if found is None:
            self.data[(kind, namespace, name)] = DataObject({key: value}, [owner_reference], dict(labels or {}))
            action = "Created"
        else:
            self.check_owned(kind, namespace, name, str(owner_reference["uid"]))
            add_labels = missing_labels(found.labels, dict(labels or {}))
            if found.data.get(key) == value and not add_labels:
                return None
            action = "Labelled" if found.data.get(key) == value else "Updated"
            found.data[key] = value
            found.labels.update(add_labels)
        self.writes.append(f"{kind} {action}")
        self.after_write(kind)
        return action

    def remove_data_key(self, kind: str, namespace: str, name: str, key: str, *, owner_uid: str) -> bool:
        found = self.data.get((kind, namespace, name))
        if found is None or key not in found.data or not owned_by(found.owners, owner_uid):
            return False
        del found.data[key]
        self.writes.append(f"{kind} key removed")
        return True

    def remove_owner_reference(self, kind: str, namespace: str, name: str, owner_uid: str) -> bool:
        found = self.data.get((kind, namespace, name))
        if found is None:
            return False
        before = len(found.owners)
        found.owners = [o for o in found.owners if o.get("uid") != owner_uid]
        return len(found.owners) != before
