"""CA-signed client certificates in ACM for ClientCertRotation (spec.certificate.source secret / acm).

API Gateway presents "your own CA-signed certificate from ACM" to the backend, referenced on the stage
by its ACM ARN (docs/aws-behaviour.md, "CA-signed client certificates from ACM on a stage"): the ARN goes
where a generated certificate's id goes (`client_certificate.set_stage_certificate`), so the rotation's
state machine handles both kinds as certificate ids. What differs is here:

- the backend trusts the **CA** that signed the certificate (the CA certificates of its chain), not the
  certificate: `ClientCert.trust_pem`;
- a TLS Secret is checked before any AWS write (`SecretCertificate.from_secret`: PEM, key matches,
  clientAuth EKU, a CA chain that the certificate chains to); it is imported with owner tags and
  re-imported in place (ImportCertificate with CertificateArn: same ARN, API Gateway propagates the
  re-import without a redeployment; ACM allows no Tags on a re-import);
- a user's ARN is checked with DescribeCertificate (not AMAZON_ISSUED, ISSUED, clientAuth EKU, same
  Region) and never deleted.

Private keys are passed to ImportCertificate only; no repr, status, event or log shows them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from hybrid_gateway.aws.errors import deleted, is_not_found
from hybrid_gateway.aws.tags import as_list
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts.base import PartContext
from hybrid_gateway.parts.certificate import ALL_KEY_TYPES, certificate_fingerprint
from hybrid_gateway.parts.client_certificate import PART, ClientCert
from hybrid_gateway.parts.trust_bundle import certificates_in, compose

# DescribeCertificate's name of the clientAuth extended key usage (ACM API reference, ExtendedKeyUsage).
CLIENT_AUTH_EKU = "TLS_WEB_CLIENT_AUTHENTICATION"
AMAZON_ISSUED = "AMAZON_ISSUED"
ISSUED = "ISSUED"


def is_acm_arn(cert_id: str) -> bool:
    return cert_id.startswith("arn:") and ":acm:" in cert_id


def arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 else ""


# ---- a TLS Secret, checked (pure) ------------------------------------------------------------------


def _load(pem: str, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise Stalled("InvalidClientCertificate", f"{what} is not a valid PEM X.509 certificate") from None


def has_client_auth(cert: x509.Certificate) -> bool:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in usages


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # InvalidSignature and unsupported key types alike
        return False
    return True


def issuing_chain(leaf_pem: str, chain_pems: list[str]) -> list[str]:
    """The certificates of `chain_pems` on the leaf's issuance path, issuer first, by signature. What the
    backend must trust is this path, not whatever else a chain holds (moto appends an Amazon root to every
    chain GetCertificate returns; trusting that would trust certificates this rotation never presents)."""
    try:
        current = x509.load_pem_x509_certificate(leaf_pem.encode())
        pool = [(pem, x509.load_pem_x509_certificate(pem.encode())) for pem in chain_pems]
    except ValueError:
        return []
    path: list[str] = []
    while pool:
        step = next(((pem, cert) for pem, cert in pool if _issued_by(current, cert)), None)
        if step is None:
            break
        pool.remove(step)
        path.append(step[0])
        if step[1].issuer == step[1].subject:
            break  # a root
        current = step[1]
    return path


@dataclass(frozen=True)
class SecretCertificate:
    """A kubernetes.io/tls Secret's client certificate, checked. Build it with `from_secret`."""

    certificate_pem: str
    private_key_pem: str = field(repr=False)
    chain_pem: str
    fingerprint: str
    key_algorithm: str

    @property
    def trust_pem(self) -> str:
        """What the backend must trust: the CA certificates of the chain."""
        return self.chain_pem

    @classmethod
    def from_secret(cls, where: str, tls_crt: str, tls_key: str, ca_crt: str = "") -> SecretCertificate:
        """Check `tls.crt` (the certificate, then its chain), `tls.key` and `ca.crt`; the Stalled messages say
        what to fix in Secret `where`, never what the key is."""
        blocks = certificates_in(tls_crt)
        if not blocks:
            raise Stalled("InvalidClientCertificate", f"Secret {where}: tls.crt holds no PEM certificate")
        leaf_pem, chain = blocks[0], blocks[1:] or certificates_in(ca_crt)
        leaf = _load(leaf_pem, f"Secret {where}: tls.crt")
        try:
            key = serialization.load_pem_private_key(tls_key.encode(), password=None)
        except (ValueError, TypeError):
            raise Stalled("InvalidPrivateKey",
                          f"Secret {where}: tls.key is not an unencrypted PEM private key") from None
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
            raise Stalled("KeyDoesNotMatchCertificate",
                          f"Secret {where}: tls.key is not the private key of the certificate in tls.crt")
        if not has_client_auth(leaf):
            raise Stalled("NoClientAuthUsage", (
                f"Secret {where}: the certificate ({leaf.subject.rfc4514_string()}) has no clientAuth extended "
                "key usage; API Gateway presents only certificates with it to the backend: issue it with "
                "usage `client auth` (cert-manager: spec.usages [client auth])"))
        if not chain:
            raise Stalled("NoCertificateChain", (
                f"Secret {where}: tls.crt holds only the certificate and there is no ca.crt: add the CA chain "
                "(the backend trusts the CA that signed the certificate, so the operator must know it)"))
        cas = [_load(pem, f"Secret {where}: a chain certificate") for pem in chain]
        if not _issued_by(leaf, cas[0]):
            raise Stalled("ChainDoesNotMatch", (
                f"Secret {where}: the certificate is not signed by the first chain certificate "
                f"({cas[0].subject.rfc4514_string()}): put the issuing CA first, then its issuers"))
        return cls(
            certificate_pem=leaf_pem,
            private_key_pem=tls_key,
            chain_pem=compose(issuing_chain(leaf_pem, chain)),
            fingerprint=leaf.fingerprint(hashes.SHA256()).hex(),
            key_algorithm=_algorithm(leaf.public_key()),
        )


# ---- ACM ------------------------------------------------------------------------------------------


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if value:
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    return dt.datetime.now(dt.UTC)


def _describe(ctx: PartContext, arn: str) -> dict[str, Any] | None:
    try:
        return dict(ctx.client("acm").describe_certificate(CertificateArn=arn)["Certificate"])
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def unusable(detail: Mapping[str, Any], region: str) -> str:
    """Why API Gateway would not present this ACM certificate ("" when it would). Pure."""
    arn = str(detail.get("CertificateArn") or "")
    if arn_region(arn) != region:
        return f"it is in Region {arn_region(arn)}, not {region} (ACM certificates are regional)"
    if detail.get("Type") == AMAZON_ISSUED:
        return ("it is an ACM public (AMAZON_ISSUED) certificate; API Gateway does not accept those for backend "
                "client authentication (ACM no longer issues them with clientAuth): import one or issue one "
                "through AWS Private CA")
    if detail.get("Status") != ISSUED:
        return f"its status is {detail.get('Status')}, not ISSUED"
    names = {str(u.get("Name")) for u in detail.get("ExtendedKeyUsages") or ()}
    if CLIENT_AUTH_EKU not in names:
        return "it has no clientAuth extended key usage (TLS_WEB_CLIENT_AUTHENTICATION)"
    return ""


def client_cert(ctx: PartContext, arn: str, detail: Mapping[str, Any] | None = None) -> ClientCert | None:
    """The ACM certificate as the rotation sees it (leaf, CA chain to trust, dates); None when gone."""
    detail = detail if detail is not None else _describe(ctx, arn)
    if detail is None:
        return None
    try:
        body = ctx.client("acm").get_certificate(CertificateArn=arn)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    pem = str(body.get("Certificate") or "")
    created = detail.get("ImportedAt") or detail.get("IssuedAt") or detail.get("CreatedAt")
    return ClientCert(id=arn, pem=pem, created=_aware(created), expires=_aware(detail.get("NotAfter")),
                      trust=compose(issuing_chain(pem, certificates_in(str(body.get("CertificateChain") or "")))))


def usable(ctx: PartContext, arn: str, what: str) -> ClientCert:
    """The user's ACM certificate `arn`, checked as API Gateway checks it (Stalled otherwise, before any
    write); reads DescribeCertificate and GetCertificate only."""
    if arn_region(arn) != ctx.region:
        raise Stalled("UnusableClientCertificate",
                      f"{what}: ACM certificate {arn} is in Region {arn_region(arn)}, not {ctx.region}")
    detail = _describe(ctx, arn)
    if detail is None:
        raise Stalled("ClientCertificateNotFound", f"{what}: ACM certificate {arn} does not exist")
    if why := unusable(detail, ctx.region):
        raise Stalled("UnusableClientCertificate", f"{what}: ACM certificate {arn} cannot be presented: {why}")
    cert = client_cert(ctx, arn, detail)
    if cert is None:
        raise Stalled("ClientCertificateNotFound", f"{what}: ACM certificate {arn} does not exist")
    return cert


def _owns(ctx: PartContext, arn: str) -> bool:
    try:
        listed = ctx.client("acm").list_tags_for_certificate(CertificateArn=arn).get("Tags") or []
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise
    return ctx.owner.owns({t["Key"]: t.get("Value", "") for t in listed}, PART)


def owned_imports(ctx: PartContext, among: list[str] | None = None) -> dict[str, ClientCert]:
    """The IMPORTED certificates tagged as this owner's client certificate, oldest first: of the Region
    (ListCertificates, then the tags of each imported one: the search a crash before a status write needs),
    or only of the ARNs `among` (what the status recorded: one tag read each)."""
    acm = ctx.client("acm")
    if among is None:
        among = [str(summary["CertificateArn"])
                 for page in acm.get_paginator("list_certificates").paginate(Includes={"keyTypes": ALL_KEY_TYPES})
                 for summary in page.get("CertificateSummaryList", [])
                 if summary.get("Type", "IMPORTED") == "IMPORTED"]
    found = [cert for arn in dict.fromkeys(among) if _owns(ctx, arn) and (cert := client_cert(ctx, arn))]
    found.sort(key=lambda c: (c.created, c.id))
    return {c.id: c for c in found}


def fingerprint(cert: ClientCert) -> str:
    return certificate_fingerprint(cert.pem) if cert.pem else ""


def _algorithm(public: Any) -> str:
    """ACM's KeyAlgorithm name of a public key (RSA_2048, EC_prime256v1, ...)."""
    curve = getattr(public, "curve", None)
    if curve is not None:
        return {"secp256r1": "EC_prime256v1"}.get(curve.name, f"EC_{curve.name}")
    return f"RSA_{public.key_size}"


def key_algorithm(cert: ClientCert) -> str:
    """The key algorithm of a certificate's leaf ("" when it does not parse)."""
    try:
        return _algorithm(x509.load_pem_x509_certificate(cert.pem.encode()).public_key())
    except ValueError:
        return ""


def import_secret(ctx: PartContext, secret: SecretCertificate, arn: str | None = None) -> ClientCert:
    """ImportCertificate; with `arn` a re-import in place (same ARN; ACM takes no Tags then)."""
    acm = ctx.client("acm")
    params: dict[str, Any] = {"Certificate": secret.certificate_pem.encode(),
                              "PrivateKey": secret.private_key_pem.encode(),
                              "CertificateChain": secret.chain_pem.encode()}
    if arn:
        params["CertificateArn"] = arn
    else:
        params["Tags"] = as_list(ctx.owner.tags(PART))
    new_arn = str(acm.import_certificate(**params)["CertificateArn"])
    cert = client_cert(ctx, new_arn)
    if cert is None:  # read-after-write gap: what was sent is what ACM holds
        now = dt.datetime.now(dt.UTC)
        leaf = x509.load_pem_x509_certificate(secret.certificate_pem.encode())
        cert = ClientCert(new_arn, secret.certificate_pem, now, leaf.not_valid_after_utc, trust=secret.trust_pem)
    return cert


def delete(ctx: PartContext, arn: str) -> bool:
    """Delete an imported certificate of ours; False when it was already gone."""
    return deleted(ctx.client("acm").delete_certificate, CertificateArn=arn)
