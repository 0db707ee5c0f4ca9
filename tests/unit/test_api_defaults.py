"""The API models and the CRDs agree on defaults: a minimal object parsed by the models equals the same
object defaulted the way the API server does it from crds/, and every default on either side is exercised."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from pydantic import BaseModel

from hybrid_gateway.api.v1alpha1 import KINDS, RECONCILED_KINDS, Kind

ROOT = Path(__file__).resolve().parents[2]
Path_ = tuple[str, ...]

ARN = "arn:aws:acm:ap-northeast-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
# As small as the schemas allow, plus each optional object that has defaults inside (with its required
# fields only), so that every default is exercised.
MINIMAL: dict[str, dict[str, Any]] = {
    "HybridApi": {
        "region": "ap-northeast-1",
        "network": {"vpcId": "vpc-0123456789abcdef0",
                    "subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]},
        "backend": {"targets": [{"ip": "192.168.10.5", "port": 443}]},
        "frontDoor": {"hostname": "orders-backend.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ",
                      "certificate": {"acmCertificateArn": ARN}},
        "api": {"routes": [{"path": "/{proxy+}"}],
                "gatewaySecretHeader": {"secretRef": {"name": "orders-gateway-secret", "key": "token"}}},
        "probe": {},
    },
    "MtlsDomain": {
        "region": "ap-northeast-1",
        "domainName": "api.example.com",
        "hostedZoneId": "Z0123456789ABCDEFGHIJ",
        "certificate": {"request": {}},
        "truststore": {"sources": [{"secretRef": {"name": "partner-a-ca", "key": "ca.crt"}}],
                       "bucket": "team-a-truststores"},
        "mappings": [{"hybridApiRef": {"name": "orders"}, "stage": "prod", "basePath": "orders"}],
    },
    "ClientCertRotation": {
        "region": "ap-northeast-1",
        "stages": [{"hybridApiRef": {"name": "orders"}, "stage": "prod"}],
        "backendTrust": {"secretRef": {"name": "orders-backend-trust", "key": "ca.pem"}},
        "verification": {"hybridApiRef": {"name": "orders"}},
        "certificate": {},
    },
    "TenancyPolicy": {"namespaces": {"names": ["team-a"]}, "allowed": {}},
}
BY_KIND = {kind.kind: kind for kind in KINDS}


def crd_schema(kind: Kind) -> dict[str, Any]:
    crd = yaml.safe_load((ROOT / "crds" / f"{kind.plural}.yaml").read_text(encoding="utf-8"))
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """What the API server stores: absent properties with a default get it, recursively (also inside a
    default just applied)."""
    if isinstance(value, dict):
        result = dict(value)
        for name, sub in schema.get("properties", {}).items():
            if name not in result and "default" in sub:
                result[name] = copy.deepcopy(sub["default"])
            if name in result:
                result[name] = apply_defaults(result[name], sub)
        return result
    if isinstance(value, list) and "items" in schema:
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


def crd_default_paths(schema: dict[str, Any], path: Path_ = ()) -> Iterator[Path_]:
    for name, sub in schema.get("properties", {}).items():
        if "default" in sub:
            yield (*path, name)
        yield from crd_default_paths(sub, (*path, name))
    if "items" in schema:
        yield from crd_default_paths(schema["items"], (*path, "[]"))


def _models_in(annotation: Any, path: Path_) -> Iterator[tuple[type[BaseModel], Path_]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, path
    origin = getattr(annotation, "__origin__", None)
    inner = (*path, "[]") if origin in (tuple, list) else path
    for arg in get_args(annotation):
        yield from _models_in(arg, inner)


def model_default_paths(model: type[BaseModel], path: Path_ = ()) -> Iterator[Path_]:
    for name, field in model.model_fields.items():
        here = (*path, field.alias or name)
        if not field.is_required() and field.get_default(call_default_factory=True) is not None:
            yield here
        for sub, sub_path in _models_in(field.annotation, here):
            yield from model_default_paths(sub, sub_path)


def resolve(document: Any, path: Path_) -> list[Any]:
    """Every value at `path` ("[]" = each item); [] when a parent is absent."""
    values = [document]
    for part in path:
        if part == "[]":
            values = [item for v in values for item in v]
        else:
            values = [v[part] for v in values if isinstance(v, dict) and part in v]
    return values


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_models_parse_a_minimal_object_with_the_crd_defaults(kind: str) -> None:
    info = BY_KIND[kind]
    spec_schema = crd_schema(info)["properties"]["spec"]
    parsed = info.spec.model_validate(MINIMAL[kind]).model_dump(mode="json", by_alias=True, exclude_none=True)
    assert parsed == apply_defaults(MINIMAL[kind], spec_schema)


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_every_default_is_exercised(kind: str) -> None:
    info = BY_KIND[kind]
    parsed = info.spec.model_validate(MINIMAL[kind]).model_dump(mode="json", by_alias=True, exclude_none=True)
    crd_paths = set(crd_default_paths(crd_schema(info)["properties"]["spec"]))
    model_paths = set(model_default_paths(info.spec))
    assert crd_paths == model_paths
    if info in RECONCILED_KINDS:  # a TenancyPolicy has none: an absent list allows nothing
        assert crd_paths, "every reconciled kind has defaults"
    assert [".".join(p) for p in sorted(crd_paths) if not resolve(parsed, p)] == [], "extend MINIMAL"


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_status_has_no_defaults(kind: str) -> None:
    """Status is written by the operator only; a schema default there would invent values."""
    info = BY_KIND[kind]
    if info.status is None:  # TenancyPolicy: no status at all
        assert "status" not in crd_schema(info)["properties"]
        return
    assert list(crd_default_paths(crd_schema(info)["properties"]["status"])) == []
    assert list(model_default_paths(info.status)) == []



def test_drift_check_interval_has_no_schema_default() -> None:
    """Unset means the operator's --drift-interval (handlers.drift_interval), so the CRD must not fill it in."""
    for kind in RECONCILED_KINDS:
        node = crd_schema(kind)["properties"]["spec"]["properties"]["driftCheckInterval"]
        assert "default" not in node, kind.kind
        assert kind.spec.model_validate(MINIMAL[kind.kind]).drift_check_interval is None  # type: ignore[attr-defined]
