"""Throwaway certificates for the MtlsDomain tests: client CAs (good and bad) and server certificates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hybrid_gateway_devenv import certs

_SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
_SHA1_RSA = bytes.fromhex("300d06092a864886f70d0101050500")


@dataclass
class Ca:
    cert: x509.Certificate
    key: Any

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make_ca(
    name: str,
    *,
    key: Any = None,
    sha1: bool = False,
    issuer: Ca | None = None,
    not_before: datetime | None = None,
    days: int = 3650,
) -> Ca:
    """A CA certificate (self-signed unless `issuer`); EC P-256 by default, SHA-256 unless `sha1`."""
    key = key or (rsa_key() if sha1 else ec.generate_private_key(ec.SECP256R1()))
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    signer = issuer.key if issuer else key
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(signer, algorithm)
    if sha1:
        cert = _resign_sha1(signer, cert)
    return Ca(cert, key)


def _resign_sha1(signer: rsa.RSAPrivateKey, cert: x509.Certificate) -> x509.Certificate:
    """SHA-256/RSA -> SHA-1/RSA (cryptography refuses to sign with SHA-1): both algorithm identifiers
    and the signatures have the same length, so the DER is patched in place and the TBS re-signed."""
    der = cert.public_bytes(serialization.Encoding.DER)
    tbs = cert.tbs_certificate_bytes
    new_tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = signer.sign(new_tbs, padding.PKCS1v15(), hashes.SHA1())
    der = der.replace(tbs, new_tbs).replace(_SHA256_RSA, _SHA1_RSA).replace(cert.signature, signature)
    return x509.load_der_x509_certificate(der)


def chain(length: int, prefix: str = "", not_before: datetime | None = None) -> list[Ca]:
    """root -> intermediates: `length` certificates, each signed by the one before."""
    cas = [make_ca(f"{prefix}Root CA", not_before=not_before)]
    for n in range(1, length):
        cas.append(make_ca(f"{prefix}Intermediate {n}", issuer=cas[-1], not_before=not_before))
    return cas


def server_certificate(hostname: str, days: int = 90) -> tuple[str, str]:
    """(certificate PEM, private key PEM) for `hostname`, self-signed, RSA-2048."""
    return certs.self_signed(hostname, dns_names=(hostname,), not_after=datetime.now(UTC) + timedelta(days=days))


def client_certificate(issuer: Ca, name: str, *, client_auth: bool = True, days: int = 90) -> tuple[str, str]:
    """(certificate PEM, PKCS#8 key PEM) of an RSA-2048 end-entity certificate signed by `issuer`, with the
    clientAuth extended key usage unless `client_auth` is False (then serverAuth only), as a CA such as
    cert-manager's issues one for backend client authentication."""
    key = rsa_key()
    start = datetime.now(UTC) - timedelta(days=1)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client_auth else ExtendedKeyUsageOID.SERVER_AUTH
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()
