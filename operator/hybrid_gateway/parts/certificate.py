"""The front-door certificate in ACM, from one of three sources (the spec names exactly one).

- `ExistingCertificate`: an ACM ARN the user gives. We never create, change or delete it; we
  only check that it exists, is ISSUED and covers the hostname.
- `ImportedCertificate`: a kubernetes.io/tls Secret imported into ACM. A changed certificate is
  re-imported into the SAME ARN, so the ALB listener keeps pointing at it (seed 001's renewal).
- `RequestedCertificate`: a public ACM certificate validated through a Route 53 CNAME. The record
  ACM asks for is in `observed.state["validationRecord"]`; `dns.DnsRecord(zone, "CNAME")` writes it
  (see `dns.validation_record`). The certificate is not ready until ACM says ISSUED.

The private key is only ever held in `ImportedCertificateDesired.private_key_pem` (excluded from
its repr) and sent to ImportCertificate; no message, exception or state contains it.

ACM has no filter by tag, so owned certificates are found by listing the region's certificates
(all key types, not just ACM's RSA_2048 default), keeping those of our type that cover the
hostname, and reading the tags of only those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hybrid_gateway.aws.errors import error_code, is_not_found
from hybrid_gateway.aws.tags import as_dict, as_list
from hybrid_gateway.parts._elbv2 import ReplaceFirstPart, short_hash
from hybrid_gateway.parts.base import InputError, Observed, Outcome, Part, PartContext

ISSUED = "ISSUED"
ALL_KEY_TYPES = [
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
]
_CURVES = {"secp256r1": "EC_prime256v1", "secp384r1": "EC_secp384r1", "secp521r1": "EC_secp521r1"}

__all__ = [
    "ExistingCertificate",
    "ExistingCertificateDesired",
    "ImportedCertificate",
    "ImportedCertificateDesired",
    "InputError",
    "RequestedCertificate",
    "RequestedCertificateDesired",
    "certificate_fingerprint",
    "check_covers",
    "covers",
    "diff_imported",
    "diff_requested",
]


# -- hostname coverage --------------------------------------------------------------------------
def covers(name: str, hostname: str) -> bool:
    """True when certificate name `name` is valid for `hostname`; `*.example.com` covers exactly
    one more label (`a.example.com`, not `example.com` nor `a.b.example.com`)."""
    name, hostname = name.rstrip(".").lower(), hostname.rstrip(".").lower()
    if name == hostname:
        return True
    if name.startswith("*."):
        first, _, rest = hostname.partition(".")
        return bool(first) and first != "*" and rest == name[2:]
    return False


def covers_any(names: Iterable[str], hostname: str) -> bool:
    return any(covers(n, hostname) for n in names)


def check_covers(hostname: str, state: dict[str, Any]) -> None:
    """Raise `InputError("CertificateDoesNotCoverHostname")` unless the observed certificate's
    DomainName or SubjectAlternativeNames cover `hostname`."""
    names = [state.get("domainName") or "", *state.get("subjectAlternativeNames", [])]
    if not covers_any(names, hostname):
        raise InputError(
            "CertificateDoesNotCoverHostname",
            f"certificate {state.get('arn', '')} is for {', '.join(sorted(set(filter(None, names))))}, "
            f"not {hostname}: use a certificate whose name or SANs include {hostname}",
        )


# -- PEM handling ---------------------------------------------------------------------------------
def certificate_fingerprint(certificate_pem: str) -> str:
    """SHA-256 of the certificate's DER body, lower-case hex (what `openssl x509 -fingerprint
    -sha256` shows, without colons)."""
    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    return cert.fingerprint(hashes.SHA256()).hex()


def _key_algorithm(public_key: Any) -> str:
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"RSA_{public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _CURVES.get(public_key.curve.name, f"EC_{public_key.curve.name}")
    return type(public_key).__name__


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    names: list[str] = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        pass
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class ExistingCertificateDesired:
    arn: str


@dataclass(frozen=True)
class ImportedCertificateDesired:
    """A TLS Secret's contents. Build it with `from_pem`, which validates before any AWS call."""

    certificate_pem: str
    private_key_pem: str = field(repr=False)
    chain_pem: str = field(repr=False)
    fingerprint: str
    key_algorithm: str
    domain_names: tuple[str, ...]

    @classmethod
    def from_pem(
        cls, hostname: str, certificate_pem: str, private_key_pem: str, chain_pem: str = ""
    ) -> ImportedCertificateDesired:
        """Split `tls.crt` into leaf + chain if needed, and check that the certificate parses,
        matches the key and covers `hostname`. Errors say what is wrong, never what the key is."""
        blocks = _pem_blocks(certificate_pem)
        if not blocks:
            raise InputError("InvalidCertificate", "tls.crt holds no PEM certificate")
        leaf_pem = blocks[0]
        if not chain_pem and len(blocks) > 1:
            chain_pem = "".join(blocks[1:])
        try:
            cert = x509.load_pem_x509_certificate(leaf_pem.encode())
        except ValueError:
            raise InputError("InvalidCertificate", "tls.crt is not a valid PEM X.509 certificate") from None
        try:
            key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        except (ValueError, TypeError):
            raise InputError("InvalidPrivateKey", "tls.key is not an unencrypted PEM private key") from None
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
            raise InputError("KeyDoesNotMatchCertificate", "tls.key is not the private key of tls.crt")
        names = _names(cert)
        if not covers_any(names, hostname):
            raise InputError(
                "CertificateDoesNotCoverHostname",
                f"the certificate in the Secret is for {', '.join(names) or 'no names'}, not {hostname}",
            )
        return cls(
            certificate_pem=leaf_pem,
            private_key_pem=private_key_pem,
            chain_pem=chain_pem,
            fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
            key_algorithm=_key_algorithm(cert.public_key()),
            domain_names=names,
        )


def _pem_blocks(text: str) -> list[str]:
    end = "-----END CERTIFICATE-----"
    blocks = []
    for chunk in text.split(end)[:-1]:
        start = chunk.find("-----BEGIN CERTIFICATE-----")
        if start >= 0:
            blocks.append(chunk[start:] + end + "\n")
    return blocks


@dataclass(frozen=True)
class RequestedCertificateDesired:
    domain_name: str
    key_algorithm: str = "RSA_2048"


# -- observed state -------------------------------------------------------------------------------
def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


def certificate_state(cert: dict[str, Any]) -> dict[str, Any]:
    """State keys of a DescribeCertificate answer (JSON-friendly; no key material exists here)."""
    domain = cert.get("DomainName", "")
    records = []
    for option in cert.get("DomainValidationOptions", []):
        rr = option.get("ResourceRecord")
        if rr:
            records.append(
                {
                    "domainName": option.get("DomainName"),
                    "name": rr["Name"],
                    "type": rr["Type"],
                    "value": rr["Value"],
                    "status": option.get("ValidationStatus"),
                }
            )
    mine = [r for r in records if r["domainName"] == domain] or records[:1]
    return {
        "arn": cert["CertificateArn"],
        "status": cert.get("Status", ""),
        "type": cert.get("Type", ""),
        "domainName": domain,
        "subjectAlternativeNames": list(cert.get("SubjectAlternativeNames", [])),
        "keyAlgorithm": cert.get("KeyAlgorithm", ""),
        "serial": cert.get("Serial", ""),
        "notAfter": _iso(cert.get("NotAfter")),
        "inUseBy": list(cert.get("InUseBy", [])),
        "failureReason": cert.get("FailureReason", ""),
        "validationRecords": records,
        "validationRecord": mine[0] if mine else None,
    }


def observed_certificate(cert: dict[str, Any]) -> Observed:
    state = certificate_state(cert)
    if state["status"] == ISSUED:
        return Observed(id=state["arn"], state=state)
    waiting = f"certificate {state['arn']} is {state['status']}"
    if state["failureReason"]:
        waiting += f" ({state['failureReason']})"
    return Observed(id=state["arn"], state=state, ready=False, waiting_for=waiting)


def _describe(acm: Any, arn: str) -> dict[str, Any] | None:
    try:
        return dict(acm.describe_certificate(CertificateArn=arn)["Certificate"])
    except ClientError as exc:
        if is_not_found(exc) or error_code(exc) == "ValidationException":  # malformed ARN: not there
            return None
        raise


# -- the user's own certificate ---------------------------------------------------------------------
class ExistingCertificate(Part[ExistingCertificateDesired]):
    """A certificate the user manages (`frontDoor.certificate.acmCertificateArn`).

    `ensure()` only observes: a missing certificate or one for another name is an `InputError`
    (Stalled), one not yet ISSUED is `ready=False`. `remove()` never deletes it.
    """

    name = "certificate"

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname

    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        cert = _describe(ctx.client("acm"), known_id) if known_id else None
        return observed_certificate(cert) if cert else None

    def ensure(self, ctx: PartContext, desired: ExistingCertificateDesired, known_id: str | None) -> Outcome:
        # The spec's ARN is authoritative; `known_id` may be a certificate of a former source.
        observed = self.find(ctx, desired.arn)
        if observed is None:
            raise self._missing(ctx, desired)
        check_covers(self.hostname, observed.state)
        return Outcome(self.name, observed)

    @staticmethod
    def _missing(ctx: PartContext, desired: ExistingCertificateDesired) -> InputError:
        return InputError(
            "CertificateNotFound",
            f"ACM certificate {desired.arn} does not exist in {ctx.region}: "
            "give the ARN of a certificate in the HybridApi's region",
        )

    def create(self, ctx: PartContext, desired: ExistingCertificateDesired) -> Observed:
        raise self._missing(ctx, desired)

    def diff(self, desired: ExistingCertificateDesired, observed: Observed) -> list[str]:
        return []

    def update(
        self, ctx: PartContext, desired: ExistingCertificateDesired, observed: Observed, changes: list[str]
    ) -> Observed:
        return observed

    def delete(self, ctx: PartContext, observed: Observed) -> None:
        """Never: the certificate is the user's."""

    def remove(self, ctx: PartContext, known_id: str | None) -> str | None:
        return None


# -- certificates we own ----------------------------------------------------------------------------
C = TypeVar("C", bound=ImportedCertificateDesired | RequestedCertificateDesired)


class _OwnedCertificate(ReplaceFirstPart[C]):
    """Shared find/delete of certificates we created, for one hostname."""

    name = "certificate"
    cert_type: ClassVar[str]  # ACM's Type: IMPORTED | AMAZON_ISSUED

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname

    def _owned(self, acm: Any, ctx: PartContext, arn: str) -> bool:
        tags = as_dict(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags"))
        return ctx.owner.owns(tags, self.name)

    def _candidates(self, ctx: PartContext) -> list[dict[str, Any]]:
        """Owned certificate summaries for our hostname and type, newest first."""
        acm = ctx.client("acm")
        pages = acm.get_paginator("list_certificates").paginate(Includes={"keyTypes": ALL_KEY_TYPES})
        summaries: list[dict[str, Any]] = []
        for page in pages:
            for summary in page.get("CertificateSummaryList", []):
                names = [summary.get("DomainName", ""), *summary.get("SubjectAlternativeNameSummaries", [])]
                if summary.get("Type", self.cert_type) == self.cert_type and covers_any(names, self.hostname):
                    summaries.append(summary)
        # ListTagsForCertificate takes one ARN: only certificates for our hostname get asked.
        owned = [c for c in summaries if self._owned(acm, ctx, c["CertificateArn"])]
        owned.sort(key=lambda c: str(c.get("ImportedAt") or c.get("CreatedAt") or ""), reverse=True)
        return owned

    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        acm = ctx.client("acm")
        if known_id:
            cert = _describe(acm, known_id)
            if cert and cert.get("Type") == self.cert_type and self._owned(acm, ctx, known_id):
                return self._observe(acm, cert)
        for summary in self._candidates(ctx)[:1]:
            cert = _describe(acm, summary["CertificateArn"])
            if cert:
                return self._observe(acm, cert)
        return None

    def locate(self, ctx: PartContext, desired: C) -> str | None:
        for summary in self._candidates(ctx):
            if summary.get("KeyAlgorithm", desired.key_algorithm) == desired.key_algorithm and self._matches(
                summary, desired
            ):
                return str(summary["CertificateArn"])
        return None

    def _matches(self, summary: dict[str, Any], desired: C) -> bool:
        return True

    def _observe(self, acm: Any, cert: dict[str, Any]) -> Observed:
        return observed_certificate(cert)

    def delete(self, ctx: PartContext, observed: Observed) -> None:
        try:
            ctx.client("acm").delete_certificate(CertificateArn=observed.id)
        except ClientError as exc:
            if not is_not_found(exc):
                raise


def diff_imported(desired: ImportedCertificateDesired, state: dict[str, Any]) -> list[str]:
    """Pure: a new key type needs a new certificate (ACM refuses it on re-import); a new
    certificate body is re-imported in place."""
    changes = []
    if state.get("keyAlgorithm") != desired.key_algorithm:
        changes.append("key_algorithm")
    if state.get("fingerprint") != desired.fingerprint:
        changes.append("fingerprint")
    return changes


class ImportedCertificate(_OwnedCertificate[ImportedCertificateDesired]):
    """A certificate imported from a TLS Secret (`frontDoor.certificate.secretRef`).

    `find` reads the body ACM holds (GetCertificate) to compare fingerprints, so a Secret
    rotated by cert-manager is re-imported and a manual re-import elsewhere is corrected.
    """

    cert_type = "IMPORTED"
    replace_on = frozenset({"key_algorithm"})

    def _observe(self, acm: Any, cert: dict[str, Any]) -> Observed:
        observed = observed_certificate(cert)
        body = acm.get_certificate(CertificateArn=cert["CertificateArn"]).get("Certificate", "")
        observed.state["fingerprint"] = certificate_fingerprint(body) if body else ""
        return observed

    def _import(self, ctx: PartContext, desired: ImportedCertificateDesired, arn: str | None) -> Observed:
        acm = ctx.client("acm")
        params: dict[str, Any] = {
            "Certificate": desired.certificate_pem.encode(),
            "PrivateKey": desired.private_key_pem.encode(),
        }
        if desired.chain_pem:
            params["CertificateChain"] = desired.chain_pem.encode()
        if arn:
            params["CertificateArn"] = arn  # re-import: ACM forbids Tags here
        else:
            params["Tags"] = as_list(ctx.owner.tags(self.name))
        arn = acm.import_certificate(**params)["CertificateArn"]
        if "CertificateArn" in params:
            # AWS keeps tags across a re-import (this is then a no-op); moto drops them.
            acm.add_tags_to_certificate(CertificateArn=arn, Tags=as_list(ctx.owner.tags(self.name)))
        cert = _describe(acm, arn) or {"CertificateArn": arn, "Status": ISSUED, "Type": self.cert_type}
        observed = observed_certificate(cert)
        observed.state["fingerprint"] = desired.fingerprint
        return observed

    def create(self, ctx: PartContext, desired: ImportedCertificateDesired) -> Observed:
        return self._import(ctx, desired, None)

    def diff(self, desired: ImportedCertificateDesired, observed: Observed) -> list[str]:
        return diff_imported(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: ImportedCertificateDesired, observed: Observed, changes: list[str]
    ) -> Observed:
        return self._import(ctx, desired, observed.id)


def diff_requested(desired: RequestedCertificateDesired, state: dict[str, Any]) -> list[str]:
    """Pure: an ACM-issued certificate cannot change name or key type; both need a new one."""
    changes = []
    if (state.get("domainName") or "").lower() != desired.domain_name.lower():
        changes.append("domain_name")
    if state.get("keyAlgorithm") != desired.key_algorithm:
        changes.append("key_algorithm")
    return changes


class RequestedCertificate(_OwnedCertificate[RequestedCertificateDesired]):
    """A public certificate ACM issues after DNS validation (`frontDoor.certificate.request`)."""

    cert_type = "AMAZON_ISSUED"
    replace_on = frozenset({"domain_name", "key_algorithm"})

    def _matches(self, summary: dict[str, Any], desired: RequestedCertificateDesired) -> bool:
        return str(summary.get("DomainName", "")).lower() == desired.domain_name.lower()

    def create(self, ctx: PartContext, desired: RequestedCertificateDesired) -> Observed:
        acm = ctx.client("acm")
        arn = acm.request_certificate(
            DomainName=desired.domain_name,
            ValidationMethod="DNS",
            KeyAlgorithm=desired.key_algorithm,
            # Same owner + name + key type within an hour -> the same certificate, not a twin.
            IdempotencyToken=short_hash(
                ctx.owner.uid, desired.domain_name.lower(), desired.key_algorithm, length=32
            ),
            Tags=as_list(ctx.owner.tags(self.name)),
        )["CertificateArn"]
        cert = _describe(acm, arn) or {
            "CertificateArn": arn,
            "Status": "PENDING_VALIDATION",
            "Type": self.cert_type,
        }
        return observed_certificate(cert)

    def diff(self, desired: RequestedCertificateDesired, observed: Observed) -> list[str]:
        return diff_requested(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: RequestedCertificateDesired, observed: Observed, changes: list[str]
    ) -> Observed:
        return observed  # every difference is in `replace_on`
