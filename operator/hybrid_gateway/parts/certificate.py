"""The front-door certificate in ACM, from one of three sources (the spec names exactly one).

- `ExistingCertificate`: an ACM ARN the user gives. We never create, change or delete it; we
  only check that it exists, is ISSUED and covers the hostname.
- `ImportedCertificate`: a kubernetes.io/tls Secret imported into ACM. A changed certificate is
  re-imported into the SAME ARN, so the ALB listener keeps pointing at it (seed 001's renewal).
- `RequestedCertificate`: a public ACM certificate validated through a Route 53 CNAME. The record
  ACM asks for is in `observed.state.validation_record`; `dns.DnsRecord(zone, "CNAME")` writes it
  (see `dns.validation_record`). The certificate is not ready until ACM says ISSUED.

The private key is only ever held in `ImportedCertificateDesired.private_key_pem` (excluded from
its repr) and sent to ImportCertificate; no message, exception or state contains it.

ACM has no filter by tag, so owned certificates are found by listing the region's certificates
(all key types, not just ACM's RSA_2048 default), keeping those of our type that cover the
hostname, and reading the tags of only those.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hybrid_gateway.aws.errors import absent_is_fine, error_code, is_not_found
from hybrid_gateway.aws.tags import as_dict, as_list
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts._elbv2 import short_hash
from hybrid_gateway.parts.base import Observed, Ownership, Part, PartContext, Replacement

if TYPE_CHECKING:
    from mypy_boto3_acm.literals import KeyAlgorithmType

ISSUED = "ISSUED"
ALL_KEY_TYPES: list[KeyAlgorithmType] = [
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
    "CertificateState",
    "ExistingCertificate",
    "ExistingCertificateDesired",
    "ImportedCertificate",
    "ImportedCertificateDesired",
    "RequestedCertificate",
    "RequestedCertificateDesired",
    "certificate_fingerprint",
    "check_covers",
    "covers",
    "diff_imported",
    "diff_requested",
    "key_algorithm",
    "validation_record_shared",
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


def uncovered(hostname: str, state: CertificateState) -> Stalled | None:
    """`Stalled("CertificateDoesNotCoverHostname")` unless the observed certificate's DomainName or
    SubjectAlternativeNames cover `hostname`."""
    names = [state.domain_name, *state.subject_alternative_names]
    if covers_any(names, hostname):
        return None
    return Stalled(
        "CertificateDoesNotCoverHostname",
        f"certificate {state.arn} is for {', '.join(sorted(set(filter(None, names))))}, "
        f"not {hostname}: use a certificate whose name or SANs include {hostname}",
    )


def check_covers(hostname: str, state: CertificateState) -> None:
    if (refusal := uncovered(hostname, state)) is not None:
        raise refusal


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
            raise Stalled("InvalidCertificate", "tls.crt holds no PEM certificate")
        leaf_pem = blocks[0]
        if not chain_pem and len(blocks) > 1:
            chain_pem = "".join(blocks[1:])
        try:
            cert = x509.load_pem_x509_certificate(leaf_pem.encode())
        except ValueError:
            raise Stalled("InvalidCertificate", "tls.crt is not a valid PEM X.509 certificate") from None
        try:
            key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        except (ValueError, TypeError):
            raise Stalled("InvalidPrivateKey", "tls.key is not an unencrypted PEM private key") from None
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
            raise Stalled("KeyDoesNotMatchCertificate", "tls.key is not the private key of tls.crt")
        names = _names(cert)
        if not covers_any(names, hostname):
            raise Stalled(
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
    key_algorithm: KeyAlgorithmType = "RSA_2048"


# -- observed state -------------------------------------------------------------------------------
def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


@dataclass(frozen=True)
class ValidationRecord:
    """A DNS record ACM asks for to validate one name of a requested certificate."""

    domain_name: str
    name: str
    type: str
    value: str
    status: str = ""


@dataclass(frozen=True)
class CertificateState:
    """A DescribeCertificate answer (no key material exists here); `fingerprint` only for imported
    certificates, read from the body ACM holds."""

    arn: str
    status: str = ""
    type: str = ""
    domain_name: str = ""
    subject_alternative_names: tuple[str, ...] = ()
    key_algorithm: str = ""
    serial: str = ""
    not_after: str | None = None
    in_use_by: tuple[str, ...] = ()
    failure_reason: str = ""
    validation_records: tuple[ValidationRecord, ...] = ()
    fingerprint: str = ""

    @property
    def validation_record(self) -> ValidationRecord | None:
        """The record for the certificate's own name (else the first one)."""
        mine = [r for r in self.validation_records if r.domain_name == self.domain_name]
        candidates = mine or list(self.validation_records)
        return candidates[0] if candidates else None


def key_algorithm(value: str) -> str:
    """ACM's key algorithm in one normal form, the request enum's (`RSA_2048`): its answers spell the
    same value with a hyphen (`RSA-2048`, `EC-prime256v1`; docs/aws-behaviour.md, ACM answers)."""
    return value.replace("-", "_")


def certificate_state(cert: dict[str, Any], fingerprint: str = "") -> CertificateState:
    records = tuple(
        ValidationRecord(
            domain_name=str(option.get("DomainName", "")),
            name=rr["Name"],
            type=rr["Type"],
            value=rr["Value"],
            status=str(option.get("ValidationStatus", "")),
        )
        for option in cert.get("DomainValidationOptions", [])
        if (rr := option.get("ResourceRecord"))
    )
    return CertificateState(
        arn=cert["CertificateArn"],
        status=cert.get("Status", ""),
        type=cert.get("Type", ""),
        domain_name=cert.get("DomainName", ""),
        subject_alternative_names=tuple(cert.get("SubjectAlternativeNames", [])),
        key_algorithm=key_algorithm(cert.get("KeyAlgorithm", "")),
        serial=cert.get("Serial", ""),
        not_after=_iso(cert.get("NotAfter")),
        in_use_by=tuple(cert.get("InUseBy", [])),
        failure_reason=cert.get("FailureReason", ""),
        validation_records=records,
        fingerprint=fingerprint,
    )


def observed_certificate(cert: dict[str, Any], fingerprint: str = "") -> Observed[CertificateState]:
    state = certificate_state(cert, fingerprint)
    if state.status == ISSUED:
        return Observed(id=state.arn, state=state)
    waiting = f"certificate {state.arn} is {state.status}"
    if state.failure_reason:
        waiting += f" ({state.failure_reason})"
    return Observed(id=state.arn, state=state, ready=False, waiting_for=waiting)


def _describe(acm: Any, arn: str) -> dict[str, Any] | None:
    try:
        return dict(acm.describe_certificate(CertificateArn=arn)["Certificate"])
    except ClientError as exc:
        if is_not_found(exc) or error_code(exc) == "ValidationException":  # malformed ARN: not there
            return None
        raise


# -- the user's own certificate ---------------------------------------------------------------------
class ExistingCertificate(Part[ExistingCertificateDesired, CertificateState]):
    """A certificate the user manages (`frontDoor.certificate.acmCertificateArn`): only read. A
    missing certificate or one for another name is refused (Stalled), one not yet ISSUED is
    `ready=False`; it is never deleted."""

    name = "certificate"
    ownership = Ownership.REFERENCED

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname

    def find(
        self, ctx: PartContext, desired: ExistingCertificateDesired | None, known_id: str | None
    ) -> Observed[CertificateState] | None:
        # The spec's ARN is authoritative; `known_id` may be a certificate of a former source.
        arn = desired.arn if desired is not None else known_id
        cert = _describe(ctx.client("acm"), arn) if arn else None
        return observed_certificate(cert) if cert else None

    def refuse(
        self, ctx: PartContext, desired: ExistingCertificateDesired,
        observed: Observed[CertificateState] | None, changes: list[str],
    ) -> Stalled | None:
        if observed is None:
            return Stalled(
                "CertificateNotFound",
                f"ACM certificate {desired.arn} does not exist in {ctx.region}: "
                "give the ARN of a certificate in the HybridApi's region",
            )
        return uncovered(self.hostname, observed.state)

    def create(self, ctx: PartContext, desired: ExistingCertificateDesired) -> Observed[CertificateState]:
        raise AssertionError("a referenced certificate is never created")  # refuse() said why first

    def diff(self, desired: ExistingCertificateDesired, observed: Observed[CertificateState]) -> list[str]:
        return []

    def update(
        self, ctx: PartContext, desired: ExistingCertificateDesired, observed: Observed[CertificateState],
        changes: list[str],
    ) -> Observed[CertificateState]:
        return observed

    def delete(self, ctx: PartContext, observed: Observed[CertificateState]) -> bool:
        return False  # the user's


# -- certificates we own ----------------------------------------------------------------------------
C = TypeVar("C", bound=ImportedCertificateDesired | RequestedCertificateDesired)


class _OwnedCertificate(Part[C, CertificateState]):
    """Shared find/delete of certificates we created, for one hostname. A replacement (new key type
    or name) is made first; the old one goes once the listener or domain has moved off it."""

    name = "certificate"
    cert_type: ClassVar[str]  # ACM's Type: IMPORTED | AMAZON_ISSUED
    replacement = Replacement.CREATE_FIRST_RETIRE_LATER

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname

    def _owned(self, acm: Any, ctx: PartContext, arn: str) -> bool:
        tags = as_dict(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags"))
        return ctx.owner.owns(tags, self.name)

    def _candidates(self, ctx: PartContext) -> list[Mapping[str, Any]]:
        """Owned certificate summaries for our hostname and type, newest first."""
        acm = ctx.client("acm")
        pages = acm.get_paginator("list_certificates").paginate(Includes={"keyTypes": ALL_KEY_TYPES})
        summaries: list[Mapping[str, Any]] = []
        for page in pages:
            for summary in page.get("CertificateSummaryList", []):
                names = [summary.get("DomainName", ""), *summary.get("SubjectAlternativeNameSummaries", [])]
                if summary.get("Type", self.cert_type) == self.cert_type and covers_any(names, self.hostname):
                    summaries.append(summary)
        # ListTagsForCertificate takes one ARN: only certificates for our hostname get asked.
        owned = [c for c in summaries if self._owned(acm, ctx, c["CertificateArn"])]
        owned.sort(key=lambda c: str(c.get("ImportedAt") or c.get("CreatedAt") or ""), reverse=True)
        return owned

    def find(self, ctx: PartContext, desired: C | None, known_id: str | None) -> Observed[CertificateState] | None:
        """By `known_id`; else the newest owned one built for exactly `desired`; else the newest owned."""
        acm = ctx.client("acm")
        if known_id:
            cert = _describe(acm, known_id)
            # An ARN our status recorded is ours (tags read only for one it did not).
            if cert and cert.get("Type") == self.cert_type and (
                    ctx.is_recorded(known_id) or self._owned(acm, ctx, known_id)):
                return self._observe(acm, cert, desired)
        candidates = self._candidates(ctx)
        exact = [c for c in candidates if desired is not None and self._matches(c, desired)]
        for summary in (exact or candidates)[:1]:
            cert = _describe(acm, summary["CertificateArn"])
            if cert:
                return self._observe(acm, cert, desired)
        return None

    def _matches(self, summary: Mapping[str, Any], desired: C) -> bool:
        return key_algorithm(str(summary.get("KeyAlgorithm", desired.key_algorithm))) == desired.key_algorithm

    def _observe(self, acm: Any, cert: dict[str, Any], desired: C | None) -> Observed[CertificateState]:
        return observed_certificate(cert)

    def delete(self, ctx: PartContext, observed: Observed[CertificateState]) -> None:
        with absent_is_fine():
            ctx.client("acm").delete_certificate(CertificateArn=observed.id)


def validation_record_shared(
    ctx: PartContext, hostname: str, record_name: str, leaving: Collection[str] | None = None
) -> list[str]:
    """ARNs of the region's certificates that stay (not in `leaving`; None: not `ctx.owner`'s) and
    whose DNS validation asks for `record_name`: ACM gives every certificate for one name in an
    account the same CNAME, and renewal validates with it again (docs/dns-ownership.md), so it must
    stay while any of them does. Read-only: lists the certificates for `hostname`, then their details."""
    acm: Any = ctx.client("acm")
    wanted = record_name.rstrip(".").lower()
    shared = []
    pages = acm.get_paginator("list_certificates").paginate(Includes={"keyTypes": ALL_KEY_TYPES})
    for summary in (s for page in pages for s in page.get("CertificateSummaryList", [])):
        names = [summary.get("DomainName", ""), *summary.get("SubjectAlternativeNameSummaries", [])]
        if summary.get("Type", "AMAZON_ISSUED") != "AMAZON_ISSUED" or not covers_any(names, hostname):
            continue
        arn = summary["CertificateArn"]
        if arn in (leaving or ()) or (leaving is None and ctx.owner.owns_any_part(
                as_dict(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags")))):
            continue  # going (every certificate of this owner, its ownership-verification one included)
        cert = _describe(acm, arn)
        records = certificate_state(cert).validation_records if cert else ()
        if any(r.name.rstrip(".").lower() == wanted for r in records):
            shared.append(arn)
    return shared


def _serial_number(text: str) -> set[int]:
    """What ACM's Serial may mean: AWS writes colon-separated hex ("0b:5e:..."; docs/aws-behaviour.md),
    other implementations the decimal number; both readings are kept, and a match on either counts."""
    readings = set()
    with contextlib.suppress(ValueError):
        readings.add(int(text.replace(":", ""), 16))
    if text.isdigit():
        readings.add(int(text))
    return readings


def described_as(cert: Mapping[str, Any], certificate_pem: str) -> bool:
    """Whether a DescribeCertificate answer is of the certificate `certificate_pem`: same serial number,
    NotBefore and NotAfter (a different certificate matches all three only if made to). Pure."""
    try:
        leaf = x509.load_pem_x509_certificate(certificate_pem.encode())
    except ValueError:
        return False
    not_before, not_after = cert.get("NotBefore"), cert.get("NotAfter")
    return (isinstance(not_before, datetime) and isinstance(not_after, datetime)
            and leaf.serial_number in _serial_number(str(cert.get("Serial", "")))
            and not_before == leaf.not_valid_before_utc and not_after == leaf.not_valid_after_utc)


def diff_imported(desired: ImportedCertificateDesired, state: CertificateState) -> list[str]:
    """Pure: a new key type needs a new certificate (ACM refuses it on re-import); a new
    certificate body is re-imported in place."""
    changes = []
    if state.key_algorithm != desired.key_algorithm:
        changes.append("key_algorithm")
    if state.fingerprint != desired.fingerprint:
        changes.append("fingerprint")
    return changes


class ImportedCertificate(_OwnedCertificate[ImportedCertificateDesired]):
    """A certificate imported from a TLS Secret (`frontDoor.certificate.secretRef`).

    `find` reads the body ACM holds (GetCertificate) to compare fingerprints, so a Secret
    rotated by cert-manager is re-imported and a manual re-import elsewhere is corrected.
    """

    cert_type = "IMPORTED"
    replace_on = frozenset({"key_algorithm"})

    def _observe(
        self, acm: Any, cert: dict[str, Any], desired: ImportedCertificateDesired | None
    ) -> Observed[CertificateState]:
        if desired is not None and described_as(cert, desired.certificate_pem):
            # DescribeCertificate already shows the Secret's certificate (serial number and validity):
            # the body would say the same. Any other certificate there is read and compared in full.
            return observed_certificate(cert, desired.fingerprint)
        body = acm.get_certificate(CertificateArn=cert["CertificateArn"]).get("Certificate", "")
        return observed_certificate(cert, certificate_fingerprint(body) if body else "")

    def _import(
        self, ctx: PartContext, desired: ImportedCertificateDesired, arn: str | None
    ) -> Observed[CertificateState]:
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
        return observed_certificate(cert, desired.fingerprint)

    def create(self, ctx: PartContext, desired: ImportedCertificateDesired) -> Observed[CertificateState]:
        return self._import(ctx, desired, None)

    def diff(self, desired: ImportedCertificateDesired, observed: Observed[CertificateState]) -> list[str]:
        return diff_imported(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: ImportedCertificateDesired, observed: Observed[CertificateState],
        changes: list[str],
    ) -> Observed[CertificateState]:
        return self._import(ctx, desired, observed.id)


def diff_requested(desired: RequestedCertificateDesired, state: CertificateState) -> list[str]:
    """Pure: an ACM-issued certificate cannot change name or key type; both need a new one."""
    changes = []
    if state.domain_name.lower() != desired.domain_name.lower():
        changes.append("domain_name")
    if state.key_algorithm != desired.key_algorithm:
        changes.append("key_algorithm")
    return changes


class RequestedCertificate(_OwnedCertificate[RequestedCertificateDesired]):
    """A public certificate ACM issues after DNS validation (`frontDoor.certificate.request`)."""

    cert_type = "AMAZON_ISSUED"
    replace_on = frozenset({"domain_name", "key_algorithm"})

    def _matches(self, summary: Mapping[str, Any], desired: RequestedCertificateDesired) -> bool:
        return super()._matches(summary, desired) and (
            str(summary.get("DomainName", "")).lower() == desired.domain_name.lower()
        )

    def create(self, ctx: PartContext, desired: RequestedCertificateDesired) -> Observed[CertificateState]:
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

    def diff(self, desired: RequestedCertificateDesired, observed: Observed[CertificateState]) -> list[str]:
        return diff_requested(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: RequestedCertificateDesired, observed: Observed[CertificateState],
        changes: list[str],
    ) -> Observed[CertificateState]:
        return observed  # every difference is in `replace_on`
