"""Inputs that HybridApi and MtlsDomain read the same way: a certificate source and a hosted zone."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from botocore.exceptions import ClientError

from hybrid_gateway.api.v1alpha1.common import CertificateSource
from hybrid_gateway.aws.errors import AwsErrorKind, classify
from hybrid_gateway.errors import Stalled
from hybrid_gateway.kube import KubeApi
from hybrid_gateway.parts import certificate, dns
from hybrid_gateway.parts.base import Part, PartContext

ISSUED_BY_ACM = "AMAZON_ISSUED"  # CertificateDetail.Type of a requested (not imported) certificate

# The keys of a kubernetes.io/tls Secret that are read (ca.crt is optional); any other key is left alone.
TLS_SECRET_KEYS = ("tls.crt", "tls.key", "ca.crt")


def certificate_part(source: CertificateSource, hostname: str) -> Part[Any, Any]:
    """The certificate part for `source`."""
    if source.acm_certificate_arn:
        return certificate.ExistingCertificate(hostname)
    if source.secret_name:
        return certificate.ImportedCertificate(hostname)
    return certificate.RequestedCertificate(hostname)


def certificate_desired(source: CertificateSource, kube: KubeApi, namespace: str, hostname: str) -> Any:
    """Its desired state (reads and checks the TLS Secret if any)."""
    if source.acm_certificate_arn:
        return certificate.ExistingCertificateDesired(source.acm_certificate_arn)
    if source.secret_name:
        data = kube.secret_data(namespace, source.secret_name, TLS_SECRET_KEYS)
        if "tls.crt" not in data or "tls.key" not in data:
            raise Stalled("InvalidCertificateSecret",
                          f"Secret {namespace}/{source.secret_name} needs tls.crt and tls.key "
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


def unshared_validation_record(ctx: PartContext, hostname: str, record_name: str,
                               leaving: Collection[str] | None = None) -> str | None:
    """`record_name` when no certificate that stays (not in `leaving`; None: not this owner's)
    validates with it, else None: a validation CNAME is shared by every certificate for its name in
    the account (docs/dns-ownership.md), and is kept while another one may renew with it."""
    return None if certificate.validation_record_shared(ctx, hostname, record_name, leaving) else record_name


def validation_record_to_delete(ctx: PartContext, part: Part[Any, Any], hostname: str, record_name: str | None,
                                certificate_arn: str | None) -> str | None:
    """The finalize_id of a requested certificate's DNS validation record: its name from status, else from
    the certificate `part` finds (a crash before the first status write leaves no name in status); None
    while another certificate still validates with it."""
    name = record_name
    if not name:
        cert = part.find(ctx, None, certificate_arn)
        record = dns.validation_record(cert.state) if cert is not None and cert.state.type == ISSUED_BY_ACM else None
        name = record.name if record is not None else None
    return unshared_validation_record(ctx, hostname, name) if name else None
