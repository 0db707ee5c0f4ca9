"""The operator's own Kubernetes reads and status writes (kopf handles watches and finalizers)."""

from __future__ import annotations

import base64
import threading
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

from hybrid_gateway import GROUP, VERSION


class MissingInput(Exception):
    """A Secret, ConfigMap or key that the spec refers to does not exist."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def load_config() -> None:
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()


def _without_none(value: Any) -> Any:
    """Drop None values: the status schema types every field, and "unset" means absent."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


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

    def secret_value(self, namespace: str, name: str, key: str) -> str:
        """Decoded value of one key of a Secret; raises MissingInput (never with the value)."""
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise MissingInput(f"Secret {namespace}/{name} does not exist") from None
            raise
        data = secret.data or {}
        if key not in data:
            raise MissingInput(f"Secret {namespace}/{name} has no key {key!r}")
        return base64.b64decode(data[key]).decode()

    def secret_data(self, namespace: str, name: str) -> dict[str, str]:
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise MissingInput(f"Secret {namespace}/{name} does not exist") from None
            raise
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

    def configmap_value(self, namespace: str, name: str, key: str) -> str:
        try:
            cm = self.core.read_namespaced_config_map(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise MissingInput(f"ConfigMap {namespace}/{name} does not exist") from None
            raise
        data = cm.data or {}
        if key not in data:
            raise MissingInput(f"ConfigMap {namespace}/{name} has no key {key!r}")
        return str(data[key])

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

    def patch_status(self, plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        status = _without_none(status)
        try:
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, plural, name, {"status": status}
            )
        except ApiException as exc:
            if exc.status != 404:  # deleted meanwhile: nothing to report on
                raise
