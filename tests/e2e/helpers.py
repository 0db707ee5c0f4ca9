"""Manifests and small waits shared by the end-to-end tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import yaml

from hybrid_gateway.devenv.cluster import LocalCluster
from hybrid_gateway.devenv.seed import SeededAccount


def hybridapi(name: str, account: SeededAccount, **overrides: Any) -> dict[str, Any]:
    """A valid HybridApi for the seeded account; `overrides` replace top-level spec keys."""
    spec: dict[str, Any] = {
        "region": account.region,
        "network": {"vpcId": account.vpc_id, "subnetIds": list(account.subnet_ids)},
        "backend": {
            "targets": [{"ip": "192.168.10.5", "port": 443}, {"ip": "192.168.10.6", "port": 443}],
            "healthCheck": {"path": "/healthz", "matcher": "200-399"},
        },
        "frontDoor": {
            "hostname": f"{name}-backend.{account.zone_name}",
            "hostedZoneId": account.hosted_zone_id,
            "certificate": {"request": {}},
        },
        "api": {
            "routes": [
                {"path": "/orders", "methods": ["GET", "POST"], "backendPath": "/api/orders"},
                {"path": "/{proxy+}", "methods": ["ANY"]},
            ],
            "stage": {"name": "prod", "throttling": {"rateLimit": 100, "burstLimit": 200}},
            "gatewaySecretHeader": {"name": "X-Gateway-Secret", "secretRef": {"name": f"{name}-gw", "key": "token"}},
        },
        "driftCheckInterval": "2s",
    }
    spec.update(overrides)
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "HybridApi", "metadata": {"name": name}, "spec": spec}


def secret(name: str, data: dict[str, str], type_: str = "Opaque") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": type_, "stringData": data}


def apply(cluster: LocalCluster, namespace: str, *objects: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(objects))


def get(cluster: LocalCluster, namespace: str, kind: str, name: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "-n", namespace, kind, name, "-o", "json")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == type_), {})


def wait_until(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.5, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}; last={last!r}")


def events(cluster: LocalCluster, namespace: str, name: str) -> list[dict[str, Any]]:
    out = cluster.kubectl(
        "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}", "-o", "json"
    )
    return list(json.loads(out.stdout)["items"])
