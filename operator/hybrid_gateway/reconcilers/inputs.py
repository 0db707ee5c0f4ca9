"""Inputs that HybridApi and MtlsDomain read the same way: a certificate source and a hosted zone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import AwsErrorKind, classify
from hybrid_gateway.errors import Stalled
from hybrid_gateway.kube import KubeApi
from hybrid_gateway.parts import certificate
from hybrid_gateway.parts.base import Part, PartContext


@dataclass(frozen=True)
class CertificateSource:
    """Exactly one of: an ACM ARN, a kubernetes.io/tls Secret to import, or a DNS-validated request."""

    acm_certificate_arn: str | None = None
    secret_name: str | None = None
    request: bool = False

    @staticmethod
    def parse(cert: dict[str, Any], field: str) -> CertificateSource:
        given = [k for k in ("acmCertificateArn", "secretRef", "request") if cert.get(k) is not None]
        if len(given) != 1:
            raise Stalled("InvalidCertificateSource",
                          f"{field} needs exactly one of acmCertificateArn, secretRef, request")
        return CertificateSource(
            acm_certificate_arn=cert.get("acmCertificateArn"),
            secret_name=(cert.get("secretRef") or {}).get("name"),
            request=cert.get("request") is not None,
        )

    def part_for(self, hostname: str) -> Part[Any, Any]:
        """The certificate part for this source."""
        if self.acm_certificate_arn:
            return certificate.ExistingCertificate(hostname)
        if self.secret_name:
            return certificate.ImportedCertificate(hostname)
        return certificate.RequestedCertificate(hostname)

    def part(self, kube: KubeApi, namespace: str, hostname: str) -> tuple[Part[Any, Any], Any]:
        """The part and its desired state together."""
        return self.part_for(hostname), self.desired(kube, namespace, hostname)

    def desired(self, kube: KubeApi, namespace: str, hostname: str) -> Any:
        """Its desired state (reads and checks the TLS Secret if any)."""
        if self.acm_certificate_arn:
            return certificate.ExistingCertificateDesired(self.acm_certificate_arn)
        if self.secret_name:
            data = kube.secret_data(namespace, self.secret_name)
            if "tls.crt" not in data or "tls.key" not in data:
                raise Stalled("InvalidCertificateSecret",
                              f"Secret {namespace}/{self.secret_name} needs tls.crt and tls.key "
                              "(type kubernetes.io/tls)")
            return certificate.ImportedCertificateDesired.from_pem(
                hostname, data["tls.crt"], data["tls.key"], data.get("ca.crt", "")
            )
        return certificate.RequestedCertificateDesired(hostname)


def check_name_in_zone(
    ctx: PartContext, name: str, hosted_zone_id: str, *, name_field: str, zone_field: str, reason: str
) -> None:
    """The hosted zone exists and holds `name` (Stalled otherwise, before any write)."""
    try:
        zone = ctx.client("route53").get_hosted_zone(Id=hosted_zone_id)["HostedZone"]
    except ClientError as exc:
        if classify(exc) is AwsErrorKind.NOT_FOUND:
            raise Stalled("HostedZoneNotFound", f"{zone_field} {hosted_zone_id} does not exist") from None
        raise
    zone_name = str(zone["Name"]).lower().rstrip(".")
    if name != zone_name and not name.endswith("." + zone_name):
        raise Stalled(
            reason,
            f"{name_field} {name} is not inside hosted zone {zone_name} ({zone_field}): "
            "use a name under the zone, or the zone that holds the name",
        )
