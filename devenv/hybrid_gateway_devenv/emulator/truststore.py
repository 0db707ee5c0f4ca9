"""Checks API Gateway runs on a mutual-TLS truststore when a domain name is created or updated.

As documented for REST APIs ("Configuring mutual TLS authentication", API Gateway developer
guide): the truststore is one S3 object of concatenated PEM certificates; the object must be
readable (at ``truststoreVersion`` when given); every certificate must parse (X.509 syntax) or the
request fails with ``BadRequestException``; certificates that parse but that API Gateway cannot
use (not currently valid, weaker than SHA-256 / RSA-2048 / ECDSA-256) produce
``truststoreWarnings`` and mutual TLS stays enabled.

The exact wording of AWS's messages is not documented; the messages here name the problem and the
certificate subject, as the guide says the real warnings do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
WEAK_SIGNATURE_HASHES = (hashes.MD5, hashes.SHA1, hashes.SHA224)  # "SHA-256 or stronger"
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
TRUSTSTORE_PEM = "truststorePem"  # extras key: the CA bundle a domain name trusts, as read at its create/update


class TruststoreError(Exception):
    """The truststore cannot be used at all; API Gateway answers BadRequestException."""


@dataclass
class Truststore:
    uri: str
    version: str | None
    certificates: list[x509.Certificate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def pem(self) -> str:
        """The certificates as one PEM bundle (what the domain's TLS listener trusts)."""
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.certificates)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/(.+)", uri.strip())
    if not match:
        raise TruststoreError(f"Invalid truststore URI '{uri}'. It must be of the form s3://bucket-name/key-name.")
    return match.group(1), match.group(2)


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "<empty subject>"


def certificate_warnings(cert: x509.Certificate, now: datetime | None = None) -> list[str]:
    """Why API Gateway could not use ``cert`` for client authentication (empty when it can)."""
    now = now or datetime.now(UTC)
    subject = _subject(cert)
    found: list[str] = []
    if cert.not_valid_after_utc <= now:
        found.append(
            f"Certificate with subject '{subject}' has expired "
            f"(not valid after {cert.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ')})."
        )
    elif cert.not_valid_before_utc > now:
        found.append(
            f"Certificate with subject '{subject}' is not yet valid "
            f"(not valid before {cert.not_valid_before_utc.strftime('%Y-%m-%dT%H:%M:%SZ')})."
        )
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
        found.append(f"Certificate with subject '{subject}' uses an unsupported signature algorithm.")
    if isinstance(algorithm, WEAK_SIGNATURE_HASHES):
        found.append(
            f"Certificate with subject '{subject}' uses an insecure signature algorithm "
            f"({algorithm.name.upper()}); SHA-256 or stronger is required."
        )
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            found.append(
                f"Certificate with subject '{subject}' has an RSA key of {key.key_size} bits; "
                f"RSA-{MIN_RSA_BITS} or stronger is required."
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_EC_BITS:
            found.append(
                f"Certificate with subject '{subject}' has an ECDSA key of {key.curve.key_size} bits; "
                f"ECDSA-{MIN_EC_BITS} or stronger is required."
            )
    else:
        found.append(f"Certificate with subject '{subject}' has an unsupported key type ({type(key).__name__}).")
    return found


def analyse_pem(data: bytes, uri: str, now: datetime | None = None) -> tuple[list[x509.Certificate], list[str]]:
    """Parse a truststore; raise :class:`TruststoreError` when it is unusable, else return warnings."""
    blocks = _PEM_BLOCK.findall(data)
    if not blocks:
        raise TruststoreError(f"The truststore at {uri} does not contain any PEM-encoded certificates.")
    certificates: list[x509.Certificate] = []
    warnings: list[str] = []
    for number, (kind, _) in enumerate(blocks, start=1):
        if kind != b"CERTIFICATE":
            raise TruststoreError(
                f"Entry {number} of the truststore at {uri} is a '{kind.decode()}' PEM block; "
                "the truststore may contain only certificates."
            )
    for number, match in enumerate(_PEM_BLOCK.finditer(data), start=1):
        try:
            cert = x509.load_pem_x509_certificate(match.group(0))
        except ValueError as err:
            raise TruststoreError(
                f"Certificate {number} of the truststore at {uri} is not a valid X.509 certificate: {err}"
            ) from None
        certificates.append(cert)
        warnings.extend(certificate_warnings(cert, now))
    return certificates, warnings


def read_s3_object(account_id: str, bucket: str, key: str, version: str | None) -> bytes:
    """The bytes of an object in the emulated S3, or :class:`TruststoreError`."""
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    where = f"s3://{bucket}/{key}" + (f" (version {version})" if version else "")
    owner = s3_backends.bucket_accounts.get(bucket)
    partition, owner_account = owner if owner else ("aws", account_id)
    backend = s3_backends[owner_account][partition]
    try:
        backend.get_bucket(bucket)
    except MissingBucket:
        raise TruststoreError(f"Unable to read the truststore {where}: the bucket {bucket} does not exist.") from None
    try:
        obj = backend.get_object(bucket, key, version_id=version)
    except Exception:
        obj = None
    if obj is None:
        raise TruststoreError(f"Unable to read the truststore {where}: the object does not exist.")
    return bytes(obj.value)


def load_truststore(account_id: str, uri: str, version: str | None, now: datetime | None = None) -> Truststore:
    bucket, key = parse_s3_uri(uri)
    data = read_s3_object(account_id, bucket, key, version or None)
    certificates, warnings = analyse_pem(data, uri, now)
    return Truststore(uri=uri, version=version or None, certificates=certificates, warnings=warnings)
