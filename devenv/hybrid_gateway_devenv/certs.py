"""Self-signed certificates for the development environment and the tests: one builder for every caller
(the emulator's generated client certificates, the on-prem backend, server certificates to import)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def self_signed(
    common_name: str,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    dns_names: Sequence[str] = (),
    end_entity: bool = False,
    key: PrivateKey | None = None,
) -> tuple[str, str]:
    """(certificate PEM, PKCS#8 private key PEM) of a SHA-256 self-signed certificate for `common_name`,
    valid from `not_before` (default: a day ago, so clock skew never makes it "not yet valid") to
    `not_after` (default: 90 days from now); `dns_names` become its subjectAltName; `end_entity` marks
    it not a CA (basicConstraints CA:FALSE, critical), as API Gateway's generated client certificates
    are. RSA-2048 unless `key`."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=90))
    )
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]),
                                        critical=False)
    if end_entity:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), key_pem.decode("ascii")
