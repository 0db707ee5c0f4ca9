"""HybridApi spec as typed values, and the checks a schema cannot make (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hybrid_gateway.errors import Stalled
from hybrid_gateway.reconcilers.base import KubeObject
from hybrid_gateway.reconcilers.inputs import CertificateSource


@dataclass(frozen=True)
class Target:
    ip: str
    port: int


@dataclass(frozen=True)
class HealthCheck:
    path: str = "/"
    matcher: str = "200-399"
    interval_seconds: int = 30
    timeout_seconds: int | None = None
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    backend_path: str | None = None


@dataclass(frozen=True)
class Throttling:
    rate_limit: float | None = None
    burst_limit: int | None = None


@dataclass(frozen=True)
class HybridApiSpec:
    region: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    extra_security_group_ids: tuple[str, ...]
    targets: tuple[Target, ...]
    health_check: HealthCheck
    hostname: str
    hosted_zone_id: str
    certificate: CertificateSource
    ssl_policy: str
    api_name: str
    routes: tuple[Route, ...]
    stage_name: str
    stage_variables: dict[str, str] = field(default_factory=dict)
    throttling: Throttling = Throttling()
    access_log_destination_arn: str | None = None
    disable_execute_api_endpoint: bool = False
    secret_header_name: str | None = None
    secret_ref: tuple[str, str] | None = None  # (Secret name, key)
    retain: bool = False

    @staticmethod
    def parse(obj: KubeObject) -> HybridApiSpec:
        spec = obj.spec
        network = spec.get("network") or {}
        backend = spec.get("backend") or {}
        front = spec.get("frontDoor") or {}
        api = spec.get("api") or {}
        stage = api.get("stage") or {}
        hc = backend.get("healthCheck") or {}
        cert = front.get("certificate") or {}
        header = api.get("gatewaySecretHeader") or None
        throttling = stage.get("throttling") or {}
        hostname = str(front.get("hostname", "")).lower().rstrip(".")
        return HybridApiSpec(
            region=spec["region"],
            vpc_id=network["vpcId"],
            subnet_ids=tuple(network.get("subnetIds") or ()),
            extra_security_group_ids=tuple(network.get("securityGroupIds") or ()),
            targets=tuple(Target(t["ip"], int(t["port"])) for t in backend.get("targets") or ()),
            health_check=HealthCheck(
                path=hc.get("path", "/"),
                matcher=str(hc.get("matcher", "200-399")),
                interval_seconds=int(hc.get("intervalSeconds", 30)),
                timeout_seconds=int(hc["timeoutSeconds"]) if hc.get("timeoutSeconds") else None,
                healthy_threshold=int(hc.get("healthyThreshold", 3)),
                unhealthy_threshold=int(hc.get("unhealthyThreshold", 3)),
            ),
            hostname=hostname,
            hosted_zone_id=str(front["hostedZoneId"]).split("/")[-1],
            certificate=CertificateSource.parse(cert, "spec.frontDoor.certificate"),
            ssl_policy=front.get("sslPolicy") or "ELBSecurityPolicy-TLS13-1-2-2021-06",
            api_name=api.get("name") or f"{obj.namespace}-{obj.name}",
            routes=tuple(
                Route(r["path"], tuple(r.get("methods") or ("ANY",)), r.get("backendPath"))
                for r in api.get("routes") or ()
            ),
            stage_name=stage.get("name") or "prod",
            stage_variables={str(k): str(v) for k, v in (stage.get("variables") or {}).items()},
            throttling=Throttling(
                rate_limit=float(throttling["rateLimit"]) if throttling.get("rateLimit") is not None else None,
                burst_limit=int(throttling["burstLimit"]) if throttling.get("burstLimit") is not None else None,
            ),
            access_log_destination_arn=stage.get("accessLogDestinationArn") or None,
            disable_execute_api_endpoint=bool(api.get("disableExecuteApiEndpoint", False)),
            secret_header_name=header.get("name") if header else None,
            secret_ref=(header["secretRef"]["name"], header["secretRef"].get("key", "token")) if header else None,
            retain=spec.get("deletionPolicy") == "Retain",
        )


def check_subnets(subnets: Sequence[Mapping[str, Any]], wanted: tuple[str, ...], vpc_id: str) -> None:
    """Subnets must exist, be in the VPC, and span two or more Availability Zones (ALB and NLB need it)."""
    found = {s["SubnetId"]: s for s in subnets}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise Stalled("SubnetNotFound", f"subnets {', '.join(missing)} do not exist in {vpc_id}'s region")
    outside = [s for s in wanted if found[s].get("VpcId") != vpc_id]
    if outside:
        raise Stalled("SubnetOutsideVpc", f"subnets {', '.join(outside)} are not in {vpc_id}")
    zones = {found[s]["AvailabilityZone"] for s in wanted}
    if len(zones) < 2:
        raise Stalled(
            "SubnetsInOneAvailabilityZone",
            f"spec.network.subnetIds are all in {', '.join(sorted(zones))}: "
            "an internal ALB needs subnets in two or more Availability Zones",
        )
