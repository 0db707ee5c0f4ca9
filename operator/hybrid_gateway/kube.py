"""The operator's own Kubernetes reads and status writes (kopf handles watches and finalizers).

`KubeApi` is all that reconcilers may do with Kubernetes; `Kube` does it against the API server, and
unit tests use the one in-memory fake in tests/fakes.py.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable
from typing import Any, Protocol

import kubernetes
from kubernetes.client.exceptions import ApiException

from hybrid_gateway import GROUP, VERSION
from hybrid_gateway.writer_lease import LeaseConflict, LeaseRecord, now_micro


class MissingInput(Exception):
    """A Secret, ConfigMap or key that the spec refers to does not exist."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class NotOwned(Exception):
    """A Secret or ConfigMap exists that the custom resource did not create: the operator leaves it alone.

    Owned means an ownerReference with the custom resource's uid, which the operator sets on every object
    it creates (and which objects created by earlier releases carry too).
    """

    def __init__(self, kind: str, namespace: str, name: str) -> None:
        super().__init__(f"{kind} {namespace}/{name} exists and is not owned by this object")
        self.kind, self.namespace, self.name = kind, namespace, name


def owned_by(owner_references: list[Any] | None, owner_uid: str) -> bool:
    """Whether one of `owner_references` (dicts or V1OwnerReference) names `owner_uid`."""
    for ref in owner_references or ():
        uid = ref.get("uid") if isinstance(ref, dict) else getattr(ref, "uid", None)
        if uid and uid == owner_uid:
            return True
    return False


def missing_labels(current: dict[str, str] | None, wanted: dict[str, str]) -> dict[str, str]:
    """The labels of `wanted` that `current` lacks or holds with another value."""
    return {k: v for k, v in wanted.items() if (current or {}).get(k) != v}
class InvalidInput(Exception):
    """A Secret or ConfigMap key that the spec names holds what cannot be used (binary, not text)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def decode_secret_value(namespace: str, name: str, key: str, encoded: str | bytes) -> str:
    """One key of a Secret's data (base64) as text. Only keys the spec names are decoded: a Secret may hold
    binary keys beside them (cert-manager writes keystore.p12 next to tls.crt and tls.key). InvalidInput,
    naming the key but never showing its value, when the named key is not UTF-8 text."""
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            f"Secret {namespace}/{name} key {key!r} is not UTF-8 text (a binary value, such as a PKCS#12 "
            "keystore?): name a key that holds PEM or plain text") from None


def load_config() -> None:
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()


def _owner_reference_args(ref: dict[str, Any]) -> dict[str, Any]:
    """camelCase owner reference fields -> V1OwnerReference keyword arguments."""
    names = {"apiVersion": "api_version", "blockOwnerDeletion": "block_owner_deletion"}
    return {names.get(k, k): v for k, v in ref.items()}


def _without_none(value: Any) -> Any:
    """Drop None values: the status schema types every field, and "unset" means absent."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


class KubeApi(Protocol):
    """What reconcilers read and write in Kubernetes."""

    def secret_value(self, namespace: str, name: str, key: str) -> str: ...
    def secret_data(self, namespace: str, name: str, keys: Iterable[str]) -> dict[str, str]: ...
    def configmap_value(self, namespace: str, name: str, key: str) -> str: ...
    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None: ...
    def list_objects(self, plural: str, namespace: str) -> list[dict[str, Any]]: ...
    def list_cluster_objects(self, plural: str) -> list[dict[str, Any]]: ...
    def namespace_labels(self, name: str) -> dict[str, str]: ...
    def patch_status(self, plural: str, namespace: str, name: str, status: dict[str, Any]) -> None: ...
    def annotate(self, plural: str, namespace: str, name: str, annotations: dict[str, str]) -> bool: ...
    def patch_status_fields(self, plural: str, namespace: str, name: str, patch: dict[str, Any]) -> None: ...
    def data_key(self, kind: str, namespace: str, name: str, key: str) -> str | None: ...
    def upsert_data_key(
        self, kind: str, namespace: str, name: str, key: str, value: str, *,
        owner_reference: dict[str, Any], labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> str | None: ...
    def check_owned(self, kind: str, namespace: str, name: str, owner_uid: str) -> None: ...
    def remove_data_key(self, kind: str, namespace: str, name: str, key: str, *, owner_uid: str) -> bool: ...
    def remove_owner_reference(self, kind: str, namespace: str, name: str, owner_uid: str) -> bool: ...


class Kube:
    """Thin, thread-safe wrapper over the kubernetes client for what reconcilers need."""

    def __init__(self, api_client: kubernetes.client.ApiClient | None = None) -> None:
        self._api = api_client or kubernetes.client.ApiClient()
        self._local = threading.local()

    @property
    def core(self) -> kubernetes.client.CoreV1Api:
        return kubernetes.client.CoreV1Api(self._api)

    @property
    def custom(self) -> kubernetes.client.CustomObjectsApi:
        return kubernetes.client.CustomObjectsApi(self._api)

    def _read(self, kind: str, namespace: str, name: str, keys: Iterable[str]) -> dict[str, str]:
        """The named `keys` of a Secret or ConfigMap (those it has), decoded; MissingInput when it does not
        exist, InvalidInput when a named Secret key is not text. Other keys are never decoded."""
        try:
            if kind == "Secret":
                encoded: dict[str, str | bytes] = self.core.read_namespaced_secret(name, namespace).data or {}
                return {k: decode_secret_value(namespace, name, k, encoded[k]) for k in keys if k in encoded}
            data: dict[str, str] = self.core.read_namespaced_config_map(name, namespace).data or {}
            return {k: str(data[k]) for k in keys if k in data}
        except ApiException as exc:
            if exc.status == 404:
                raise MissingInput(f"{kind} {namespace}/{name} does not exist") from None
            raise

    def _value(self, kind: str, namespace: str, name: str, key: str) -> str:
        data = self._read(kind, namespace, name, (key,))
        if key not in data:
            raise MissingInput(f"{kind} {namespace}/{name} has no key {key!r}")
        return data[key]

    def secret_value(self, namespace: str, name: str, key: str) -> str:
        """Decoded value of one key of a Secret; raises MissingInput or InvalidInput (never with the value)."""
        return self._value("Secret", namespace, name, key)

    def secret_data(self, namespace: str, name: str, keys: Iterable[str]) -> dict[str, str]:
        """The named keys of a Secret that it has, decoded (other keys may be binary and are left alone)."""
        return self._read("Secret", namespace, name, keys)

    def configmap_value(self, namespace: str, name: str, key: str) -> str:
        return self._value("ConfigMap", namespace, name, key)

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            obj = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
            return dict(obj)  # type: ignore[call-overload]
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def list_objects(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        result: Any = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)
        return list(result.get("items", []))

    def list_cluster_objects(self, plural: str) -> list[dict[str, Any]]:
        """Every object of a cluster-scoped kind of ours (TenancyPolicy)."""
        result: Any = self.custom.list_cluster_custom_object(GROUP, VERSION, plural)
        return list(result.get("items", []))

    def namespace_labels(self, name: str) -> dict[str, str]:
        """The labels of a namespace; none when it does not exist (being deleted meanwhile)."""
        try:
            metadata = self.core.read_namespace(name).metadata
            return dict((metadata.labels if metadata else None) or {})
        except ApiException as exc:
            if exc.status == 404:
                return {}
            raise

    def patch_status(self, plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        status = _without_none(status)
        try:
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, plural, name, {"status": status}
            )
        except ApiException as exc:
            if exc.status != 404:  # deleted meanwhile: nothing to report on
                raise

    def annotate(self, plural: str, namespace: str, name: str, annotations: dict[str, str]) -> bool:
        """Merge `annotations` into a custom object's metadata; False when it does not exist."""
        body = {"metadata": {"annotations": annotations}}
        try:
            self.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, plural, name, body)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # ---- one key of a Secret or ConfigMap that the operator publishes (backend trust bundle) ----
    def _read_data_object(self, kind: str, namespace: str, name: str) -> Any | None:
        try:
            if kind == "Secret":
                return self.core.read_namespaced_secret(name, namespace)
            if kind == "ConfigMap":
                return self.core.read_namespaced_config_map(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        raise ValueError(f"unsupported kind {kind!r}: Secret or ConfigMap")

    def data_key(self, kind: str, namespace: str, name: str, key: str) -> str | None:
        """The (decoded) value of one key of a Secret or ConfigMap; None when the object or key is missing."""
        found = self._read_data_object(kind, namespace, name)
        data = (found.data or {}) if found is not None else {}
        if key not in data:
            return None
        return decode_secret_value(namespace, name, key, data[key]) if kind == "Secret" else str(data[key])

    def check_owned(self, kind: str, namespace: str, name: str, owner_uid: str) -> None:
        """Raise NotOwned when the Secret or ConfigMap exists and is not owned by `owner_uid` (a missing one
        is fine: upsert_data_key creates it). A read only, so a reconciler can refuse before any write."""
        found = self._read_data_object(kind, namespace, name)
        if found is not None and not owned_by(found.metadata.owner_references, owner_uid):
            raise NotOwned(kind, namespace, name)

    def upsert_data_key(
        self,
        kind: str,
        namespace: str,
        name: str,
        key: str,
        value: str,
        *,
        owner_reference: dict[str, Any],
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> str | None:
        """Write one key of a Secret or ConfigMap that the owner created, creating the object when missing.

        A missing object is created with `owner_reference`, labels and annotations. An existing one is
        written only when it carries an ownerReference with the owner's uid (raises NotOwned otherwise,
        before any write): a custom resource must not be a way to overwrite keys of objects its author
        may not edit. Other keys are left alone; labels the owned object lacks are added (objects created
        by earlier releases have the ownerReference but not every label). Returns "Created", "Updated"
        (the key changed), "Labelled" (only labels were added), or None when nothing was written.
        """
        owner_uid = str(owner_reference["uid"])
        encoded = base64.b64encode(value.encode()).decode() if kind == "Secret" else value
        found = self._read_data_object(kind, namespace, name)
        if found is None:
            client = kubernetes.client
            metadata = client.V1ObjectMeta(
                name=name,
                namespace=namespace,
                labels=dict(labels or {}),
                annotations=dict(annotations or {}),
                owner_references=[client.V1OwnerReference(**_owner_reference_args(owner_reference))],
            )
            try:
                if kind == "Secret":
                    self.core.create_namespaced_secret(
                        namespace, client.V1Secret(metadata=metadata, type="Opaque", data={key: encoded})
                    )
                else:
                    self.core.create_namespaced_config_map(
                        namespace, client.V1ConfigMap(metadata=metadata, data={key: encoded})
                    )
                return "Created"
            except ApiException as exc:
                if exc.status != 409:  # made meanwhile: written below only if it is ours
                    raise
            found = self._read_data_object(kind, namespace, name)
            if found is None:
                raise RuntimeError(f"{kind} {namespace}/{name} exists and does not")
        if not owned_by(found.metadata.owner_references, owner_uid):
            raise NotOwned(kind, namespace, name)
        patch: dict[str, Any] = {}
        if (found.data or {}).get(key) != encoded:
            patch["data"] = {key: encoded}
        add_labels = missing_labels(found.metadata.labels, dict(labels or {}))
        if add_labels:
            patch["metadata"] = {"labels": add_labels}
        if not patch:
            return None
        # With the resourceVersion read, the patch fails (409 Conflict) if the object changed since:
        # an object replaced meanwhile by one we do not own is never written.
        patch.setdefault("metadata", {})["resourceVersion"] = found.metadata.resource_version
        self._patch_data_object(kind, namespace, name, patch)
        return "Updated" if "data" in patch else "Labelled"

    def _patch_data_object(self, kind: str, namespace: str, name: str, patch: Any) -> None:
        if kind == "Secret":
            self.core.patch_namespaced_secret(name, namespace, patch)
        else:
            self.core.patch_namespaced_config_map(name, namespace, patch)

    def remove_data_key(self, kind: str, namespace: str, name: str, key: str, *, owner_uid: str) -> bool:
        """Remove one key of an object the owner created (the object itself stays: the operator never
        deletes Kubernetes objects). False, with no write, when the object is missing, lacks the key or
        is not owned (someone else's object, or one released by deletionPolicy Retain)."""
        found = self._read_data_object(kind, namespace, name)
        if found is None or key not in (found.data or {}):
            return False
        if not owned_by(found.metadata.owner_references, owner_uid):
            return False
        patch = {"metadata": {"resourceVersion": found.metadata.resource_version}, "data": {key: None}}
        self._patch_data_object(kind, namespace, name, patch)
        return True

    def remove_owner_reference(self, kind: str, namespace: str, name: str, owner_uid: str) -> bool:
        """Drop the owner reference to `owner_uid` (so garbage collection keeps the object)."""
        found = self._read_data_object(kind, namespace, name)
        refs = list((found.metadata.owner_references or []) if found is not None else [])
        keep = [r for r in refs if r.uid != owner_uid]
        if found is None or len(keep) == len(refs):
            return False
        ops = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": found.metadata.resource_version},
            {"op": "replace", "path": "/metadata/ownerReferences", "value": [self._api.sanitize_for_serialization(r)
                                                                             for r in keep]},
        ]
        self._patch_data_object(kind, namespace, name, ops)
        return True

    def patch_status_fields(self, plural: str, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """Merge-patch status as given: unlike `patch_status`, a None value removes the field."""
        if not patch:
            return
        try:
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, plural, name, {"status": patch}
            )
        except ApiException as exc:
            if exc.status != 404:
                raise


class KubeLeases:
    """The writer lease (`writer_lease.LeaseStore`) as a coordination.k8s.io/v1 Lease."""

    def __init__(self, namespace: str, name: str, api_client: kubernetes.client.ApiClient | None = None) -> None:
        self.namespace, self.name = namespace, name
        self._api = kubernetes.client.CoordinationV1Api(api_client or kubernetes.client.ApiClient())

    @staticmethod
    def _record(lease: Any) -> LeaseRecord:
        spec = lease.spec
        return LeaseRecord(holder=spec.holder_identity or "", duration_seconds=int(spec.lease_duration_seconds or 30),
                           transitions=int(spec.lease_transitions or 0),
                           resource_version=str(lease.metadata.resource_version))

    def read(self) -> LeaseRecord | None:
        try:
            return self._record(self._api.read_namespaced_lease(self.name, self.namespace))
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def create(self, holder: str, duration_seconds: int) -> LeaseRecord:
        stamp = now_micro()
        body = kubernetes.client.V1Lease(
            metadata=kubernetes.client.V1ObjectMeta(name=self.name, namespace=self.namespace),
            spec=kubernetes.client.V1LeaseSpec(holder_identity=holder, lease_duration_seconds=duration_seconds,
                                               acquire_time=stamp, renew_time=stamp, lease_transitions=0))
        try:
            return self._record(self._api.create_namespaced_lease(self.namespace, body))
        except ApiException as err:
            if err.status == 409:
                raise LeaseConflict() from err
            raise

    def write(self, current: LeaseRecord, holder: str, transitions: int) -> LeaseRecord:
        stamp = now_micro()
        spec: dict[str, Any] = {"holderIdentity": holder or None, "leaseDurationSeconds": current.duration_seconds,
                                "renewTime": stamp, "leaseTransitions": transitions}
        if holder and holder != current.holder:
            spec["acquireTime"] = stamp
        body = {"metadata": {"name": self.name, "namespace": self.namespace,
                             "resourceVersion": current.resource_version}, "spec": spec}
        try:
            # A merge patch carrying resourceVersion fails with 409 when the Lease changed since it was read.
            return self._record(self._api.patch_namespaced_lease(self.name, self.namespace, body))
        except ApiException as err:
            if err.status == 409:
                raise LeaseConflict() from err
            raise
