"""The mutual-TLS truststore of an MtlsDomain: assembled from PEM sources and checked (pure, no I/O).

API Gateway reads the truststore (one S3 object of concatenated PEM CA certificates) when a custom
domain name is created or updated. Certificates it cannot use only produce `truststoreWarnings`, and
clients whose CA was dropped then fail with 403 — long after the change. So the operator checks the
bundle *before* uploading it, with the rules of the API Gateway developer guide ("Configuring mutual
TLS authentication for a REST API"), and refuses to upload a bundle that breaks any of them:

- every entry is a PEM ``CERTIFICATE`` block that parses as X.509;
- the signature uses SHA-256 or stronger (no MD5, SHA-1, SHA-224);
- the key is RSA of 2048 bits or more, or ECDSA of 256 bits or more;
- the certificate has not expired;
- a chain inside the truststore (a certificate, its issuer, ...) is at most four certificates long;
- the bundle holds at least one certificate, and at most API Gateway's truststore quota: 1,000
  certificates and 1 MB ("Quotas for configuring and running a REST API in API Gateway",
  docs/aws-behaviour.md).

Each problem names the certificate (subject and the source it came from) and the rule it breaks.

The bundle is stable: certificates are de-duplicated by SHA-256 fingerprint, re-encoded from DER (so
comments, whitespace and line endings in the sources do not matter) and ordered by subject and
fingerprint (so reordering the sources or the certificates inside one does not change the bytes).
The same sources therefore always give the same sha256, which is what decides whether to upload.

Every check is linear in the number of certificates: a certificate's possible issuers are looked up by
subject (and key identifier), never by comparing every pair (bench/truststore_check.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
MAX_CHAIN_LENGTH = 4
# API Gateway's truststore quota (REST API quotas, "Truststore size"): 1,000 certificates, 1 MB in all.
# 1 MB is taken as 1,000,000 bytes of the uploaded bundle, the stricter reading.
MAX_CERTIFICATES = 1000
MAX_BUNDLE_BYTES = 1_000_000
_WEAK_HASHES = (hashes.MD5, hashes.SHA1, hashes.SHA224)
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)

RULE_PEM = "entries must be PEM CERTIFICATE blocks that parse as X.509"
RULE_SIGNATURE = "signatures must use SHA-256 or stronger"
RULE_KEY = f"keys must be RSA >= {MIN_RSA_BITS} bits or ECDSA >= {MIN_EC_BITS} bits"
RULE_EXPIRED = "certificates must not be expired"
RULE_CHAIN = f"chains must be at most {MAX_CHAIN_LENGTH} certificates long"
RULE_EMPTY = "the truststore needs at least one CA certificate"
RULE_COUNT = f"API Gateway takes at most {MAX_CERTIFICATES} certificates in a truststore"
RULE_SIZE = f"API Gateway takes a truststore of at most 1 MB ({MAX_BUNDLE_BYTES} bytes of PEM)"


@dataclass(frozen=True)
class Source:
    """One PEM bundle as read from Kubernetes; `label` says where it came from (no namespace)."""

    label: str  # "Secret/partner-a-ca/ca.crt", "ConfigMap/partner-b-ca/ca.pem"
    pem: str


@dataclass(frozen=True)
class CaCertificate:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint: str  # SHA-256 of the DER, lower-case hex
    source: str
    pem: str = field(repr=False)

    def status(self) -> dict[str, str]:
        """The entry of status.truststore.certificates."""
        return {"subject": self.subject, "issuer": self.issuer, "notAfter": rfc3339(self.not_after),
                "source": self.source}

    def describe(self) -> str:
        return f"certificate '{self.subject}' ({self.source})"


@dataclass(frozen=True)
class Truststore:
    certificates: tuple[CaCertificate, ...]
    pem: str  # the bundle that is uploaded
    sha256: str  # of `pem` encoded as UTF-8

    def expiring(self, within_days: int, now: datetime | None = None) -> list[CaCertificate]:
        limit = (now or datetime.now(UTC)) + timedelta(days=within_days)
        return [c for c in self.certificates if c.not_after <= limit]

    def warnings(self, within_days: int, now: datetime | None = None) -> list[str]:
        """Non-fatal findings: certificates expiring within `within_days`, not yet valid ones.

        The text of a warning depends only on the certificate and the setting (not on today's date),
        so a warning seen in the previous status is recognisable and its Event is not repeated.
        """
        now = now or datetime.now(UTC)
        found = [
            f"{c.describe()} expires {rfc3339(c.not_after)}, within expiryWarningDays ({within_days})"
            for c in self.expiring(within_days, now)
        ]
        found += [
            f"{c.describe()} is not valid before {rfc3339(c.not_before)}"
            for c in self.certificates if c.not_before > now
        ]
        return found


class TruststoreInvalid(Exception):
    """The sources break at least one rule; nothing may be uploaded. `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def subject_of(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "<empty subject>"


def certificate_problems(cert: x509.Certificate, where: str, now: datetime) -> list[str]:
    """The rules `cert` breaks (each message names it and the rule); empty when it is usable."""
    problems: list[str] = []
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        problems.append(f"{where}: unsupported signature algorithm; rule: {RULE_SIGNATURE}")
    else:
        if algorithm is None or isinstance(algorithm, _WEAK_HASHES):
            name = algorithm.name.upper() if algorithm is not None else "without a hash (e.g. Ed25519)"
            problems.append(f"{where}: signed with {name}; rule: {RULE_SIGNATURE}")
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            problems.append(f"{where}: RSA key of {key.key_size} bits; rule: {RULE_KEY}")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_EC_BITS:
            problems.append(f"{where}: ECDSA key of {key.curve.key_size} bits ({key.curve.name}); rule: {RULE_KEY}")
    else:
        problems.append(f"{where}: {type(key).__name__.removesuffix('PublicKey').lstrip('_')} key; rule: {RULE_KEY}")
    if cert.not_valid_after_utc <= now:
        problems.append(f"{where}: expired {rfc3339(cert.not_valid_after_utc)}; rule: {RULE_EXPIRED}")
    return problems


def _parse_source(source: Source) -> tuple[list[x509.Certificate], list[str]]:
    blocks = list(_PEM_BLOCK.finditer(source.pem))
    if not blocks:
        if "-----BEGIN" in source.pem:
            return [], [f"{source.label}: a PEM block is not terminated; rule: {RULE_PEM}"]
        what = "is empty" if not source.pem.strip() else "holds no PEM certificate"
        return [], [f"{source.label} {what}; rule: {RULE_PEM}"]
    certificates: list[x509.Certificate] = []
    problems: list[str] = []
    for number, block in enumerate(blocks, start=1):
        kind = block.group(1)
        if kind != "CERTIFICATE":
            # Never echo the block: it may be a private key pasted by mistake.
            problems.append(f"{source.label}: PEM block {number} is a {kind} block; rule: {RULE_PEM}")
            continue
        try:
            certificates.append(x509.load_pem_x509_certificate(block.group(0).encode()))
        except ValueError:
            problems.append(f"{source.label}: PEM block {number} is not a valid X.509 certificate; rule: {RULE_PEM}")
    return certificates, problems


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _key_identifier(cert: x509.Certificate, extension: type[x509.ExtensionType]) -> bytes | None:
    """The certificate's subject key identifier or authority key identifier, if it has one."""
    try:
        value = cert.extensions.get_extension_for_class(extension).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    key_id = getattr(value, "digest", None) or getattr(value, "key_identifier", None)
    return bytes(key_id) if key_id else None


def _issuer_candidates(certs: Sequence[tuple[x509.Certificate, str]]) -> list[list[int]]:
    """For each certificate, the others whose subject is its issuer name (and, when both carry key
    identifiers, whose subject key id is its authority key id): an index, so that the chain check is
    linear rather than a comparison of every pair (3,000 certificates took 10 s)."""
    by_subject: dict[x509.Name, list[int]] = {}
    by_key: dict[tuple[x509.Name, bytes], list[int]] = {}
    for j, (cert, _) in enumerate(certs):
        by_subject.setdefault(cert.subject, []).append(j)
        ski = _key_identifier(cert, x509.SubjectKeyIdentifier)
        if ski is not None:
            by_key.setdefault((cert.subject, ski), []).append(j)
    candidates = []
    for cert, _ in certs:
        aki = _key_identifier(cert, x509.AuthorityKeyIdentifier)
        keyed = by_key.get((cert.issuer, aki)) if aki is not None else None
        candidates.append(keyed if keyed is not None else by_subject.get(cert.issuer, []))
    return candidates


def chain_problems(certs: Sequence[tuple[x509.Certificate, str]]) -> list[str]:
    """Chains longer than MAX_CHAIN_LENGTH, each reported once at its lowest certificate."""
    parents: dict[int, list[int]] = {i: [] for i in range(len(certs))}
    for i, candidates in enumerate(_issuer_candidates(certs)):
        cert = certs[i][0]
        if cert.issuer == cert.subject:
            continue  # self-issued: a root
        parents[i] = [j for j in candidates if j != i and _issued_by(cert, certs[j][0])]
    memo: dict[int, tuple[int, int]] = {}  # index -> (length, top index)

    def length(i: int, visiting: frozenset[int]) -> tuple[int, int]:
        if i in memo:
            return memo[i]
        best = (1, i)
        for j in parents[i]:
            if j in visiting:
                continue  # cross-signed loop: stop there
            up, top = length(j, visiting | {i})
            best = max(best, (up + 1, top))
        memo[i] = best
        return best

    lengths = {i: length(i, frozenset()) for i in parents}
    too_long = {i for i, (n, _) in lengths.items() if n > MAX_CHAIN_LENGTH}
    issuers_of_long = {j for i in too_long for j in parents[i]}
    problems = []
    for i in sorted(too_long - issuers_of_long):
        cert, label = certs[i]
        n, top = lengths[i]
        problems.append(
            f"certificate '{subject_of(cert)}' ({label}): chain of {n} certificates up to "
            f"'{subject_of(certs[top][0])}'; rule: {RULE_CHAIN}"
        )
    return problems


def assemble(sources: Sequence[Source], now: datetime | None = None) -> Truststore:
    """The truststore the sources make, or `TruststoreInvalid` listing every problem found."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    unique: dict[str, tuple[x509.Certificate, str]] = {}
    for source in sources:
        certificates, found = _parse_source(source)
        problems += found
        for cert in certificates:
            unique.setdefault(cert.fingerprint(hashes.SHA256()).hex(), (cert, source.label))
    for cert, label in unique.values():
        problems += certificate_problems(cert, f"certificate '{subject_of(cert)}' ({label})", now)
    problems += chain_problems(list(unique.values()))
    labels = ", ".join(s.label for s in sources) or "the sources"
    if not unique:
        problems.append(f"no certificate in {labels}; rule: {RULE_EMPTY}")
    entries = sorted(
        (
            CaCertificate(
                subject=subject_of(cert),
                issuer=cert.issuer.rfc4514_string(),
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                fingerprint=fingerprint,
                source=label,
                pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            )
            for fingerprint, (cert, label) in unique.items()
        ),
        key=lambda c: (c.subject, c.fingerprint),
    )
    bundle = "".join(c.pem for c in entries)
    # API Gateway's quota, first: a truststore over it cannot be used however its certificates look.
    if len(entries) > MAX_CERTIFICATES:
        problems.insert(0, f"{labels} hold {len(entries)} distinct certificates; rule: {RULE_COUNT}")
    if len(bundle.encode()) > MAX_BUNDLE_BYTES:
        problems.insert(0, f"{labels} make a bundle of {len(bundle.encode())} bytes; rule: {RULE_SIZE}")
    if problems:
        raise TruststoreInvalid(problems)
    return Truststore(tuple(entries), bundle, hashlib.sha256(bundle.encode()).hexdigest())


__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_CERTIFICATES",
    "MAX_CHAIN_LENGTH",
    "CaCertificate",
    "Source",
    "Truststore",
    "TruststoreInvalid",
    "assemble",
    "certificate_problems",
    "chain_problems",
    "rfc3339",
]
