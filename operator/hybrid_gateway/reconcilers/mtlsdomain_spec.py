"""MtlsDomain spec as typed values, and the checks a schema cannot make (pure: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hybrid_gateway.errors import Stalled
from hybrid_gateway.reconcilers.base import KubeObject
from hybrid_gateway.reconcilers.inputs import CertificateSource

DEFAULT_EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class TruststoreSourceRef:
    kind: str  # "Secret" | "ConfigMap"
    name: str
    key: str

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}/{self.key}"


@dataclass(frozen=True)
class Mapping:
    hybrid_api: str
    stage: str
    base_path: str  # "" = the root


@dataclass(frozen=True)
class MtlsDomainSpec:
    region: str
    domain_name: str
    hosted_zone_id: str
    certificate: CertificateSource
    ownership_arn: str | None
    security_policy: str
    sources: tuple[TruststoreSourceRef, ...]
    bucket: str
    key: str
    create_bucket: bool
    expiry_warning_days: int
    mappings: tuple[Mapping, ...]
    disable_default_endpoints: bool
    retain: bool

    @property
    def truststore_uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @staticmethod
    def parse(obj: KubeObject) -> MtlsDomainSpec:
        spec = obj.spec
        cert: dict[str, Any] = spec.get("certificate") or {}
        domain = str(spec.get("domainName", "")).lower().rstrip(".")
        truststore: dict[str, Any] = spec.get("truststore") or {}
        sources = []
        for i, source in enumerate(truststore.get("sources") or ()):
            refs = [(kind, source.get(key)) for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef"))
                    if source.get(key)]
            if len(refs) != 1:
                raise Stalled("InvalidTruststoreSource",
                              f"spec.truststore.sources[{i}] needs exactly one of secretRef, configMapRef")
            kind, ref = refs[0]
            sources.append(TruststoreSourceRef(kind, str(ref["name"]), str(ref["key"])))
        mappings = tuple(
            Mapping(str(m["hybridApiRef"]["name"]), str(m["stage"]), str(m.get("basePath") or "").strip("/"))
            for m in spec.get("mappings") or ()
        )
        seen: set[str] = set()
        for m in mappings:
            if m.base_path in seen:
                raise Stalled("DuplicateBasePath",
                              f"spec.mappings lists basePath {m.base_path!r} twice: each base path maps one stage")
            seen.add(m.base_path)
        return MtlsDomainSpec(
            region=str(spec["region"]),
            domain_name=domain,
            hosted_zone_id=str(spec["hostedZoneId"]).split("/")[-1],
            certificate=CertificateSource.parse(cert, "spec.certificate"),
            ownership_arn=spec.get("ownershipVerificationCertificateArn") or None,
            security_policy=str(spec.get("securityPolicy") or "TLS_1_2"),
            sources=tuple(sources),
            bucket=str(truststore.get("bucket", "")),
            key=str(truststore.get("key") or f"{domain}/truststore.pem").lstrip("/"),
            create_bucket=bool(truststore.get("createBucket", False)),
            expiry_warning_days=int(truststore.get("expiryWarningDays") or DEFAULT_EXPIRY_WARNING_DAYS),
            mappings=mappings,
            disable_default_endpoints=bool(spec.get("disableDefaultEndpoints", True)),
            retain=spec.get("deletionPolicy") == "Retain",
        )


def maps(spec: dict[str, Any], hybrid_api: str) -> bool:
    """Whether an MtlsDomain spec (raw) maps the HybridApi named `hybrid_api` and disables its default
    endpoint (disableDefaultEndpoints defaults to true)."""
    if not spec.get("disableDefaultEndpoints", True):
        return False
    return any(((m or {}).get("hybridApiRef") or {}).get("name") == hybrid_api for m in spec.get("mappings") or ())
