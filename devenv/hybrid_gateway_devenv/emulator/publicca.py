"""The emulated public certificate authority: what "publicly trusted" means inside the emulator.

API Gateway trusts only certificates from public CAs for ``https://`` integration endpoints (HTTP,
HTTP proxy and private integrations; API Gateway Developer Guide, "API Gateway-supported
certificate authorities for HTTP and HTTP proxy integrations"), and ACM's requested (public)
certificates are issued by Amazon's public CAs. The emulator keeps one public CA of its own, a root
and an intermediate, generated once per process:

- every certificate ACM *issues* (RequestCertificate) is signed by the intermediate, and
  GetCertificate answers the intermediate and the root as its chain;
- tests get a leaf certificate and key for any name signed by the same CA through the control API
  (``POST /_emulator/public-ca/certificates``), so that they can import a "publicly trusted"
  certificate into ACM;
- :func:`chain_problem` tells whether a certificate (with its chain) chains to this CA
  (``POST /_emulator/public-ca/verify``). Nothing in the emulator refuses a certificate for it.

The root's name says what it is (``Emulated Public Root CA``); the intermediate carries
``O=Amazon`` because ACM answers ``Issuer: "Amazon"`` for the certificates it issues (LocalStack
snapshot ``acm/test_acm.snapshot.json``, ``test_certificate_for_subdomain_wildcard``).
"""

from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Emulated Public CA"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Emulated Public Root CA"),
    ]
)
INTERMEDIATE_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Emulated Amazon RSA 2048 M01"),
    ]
)
KEY_ALGORITHMS = ("RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1")
_CURVES: dict[str, ec.EllipticCurve] = {
    "EC_prime256v1": ec.SECP256R1(),
    "EC_secp384r1": ec.SECP384R1(),
    "EC_secp521r1": ec.SECP521R1(),
}
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)


def new_key(key_algorithm: str) -> Any:
    """A private key for an ACM key algorithm name (underscore spelling, e.g. ``RSA_2048``)."""
    if key_algorithm.startswith("RSA_"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_algorithm[4:]))
    if key_algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[key_algorithm])
    raise ValueError(f"unknown key algorithm {key_algorithm!r}; use one of {list(KEY_ALGORITHMS)}")


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return data


@dataclass
class IssuedCertificate:
    certificate: bytes
    private_key: bytes
    chain: bytes  # intermediate + root

    def to_json(self) -> dict[str, str]:
        return {
            "certificate": self.certificate.decode(),
            "privateKey": self.private_key.decode(),
            "certificateChain": self.chain.decode(),
        }


class PublicCA:
    """A root and an intermediate CA (RSA 2048, SHA-256), made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made = False

    def _make(self) -> None:
        with self._lock:
            if self._made:
                return
            now = datetime.now(UTC) - timedelta(days=1)
            root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            root = (
                x509.CertificateBuilder()
                .subject_name(ROOT_NAME)
                .issuer_name(ROOT_NAME)
                .public_key(root_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(_ca_usage(), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
                .sign(root_key, hashes.SHA256())
            )
            inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            inter = (
                x509.CertificateBuilder()
                .subject_name(INTERMEDIATE_NAME)
                .issuer_name(ROOT_NAME)
                .public_key(inter_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + timedelta(days=3000))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_ca_usage(), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(inter_key.public_key()), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
                )
                .sign(root_key, hashes.SHA256())
            )
            self._root, self._root_key = root, root_key
            self._intermediate, self._intermediate_key = inter, inter_key
            self._made = True

    @property
    def root(self) -> x509.Certificate:
        self._make()
        return self._root

    @property
    def intermediate(self) -> x509.Certificate:
        self._make()
        return self._intermediate

    def chain_pem(self) -> bytes:
        return _pem(self.intermediate) + _pem(self.root)

    def to_json(self) -> dict[str, str]:
        return {"certificate": _pem(self.root).decode(), "intermediate": _pem(self.intermediate).decode()}

    def issue(
        self,
        domain_name: str,
        subject_alternative_names: list[str] | None = None,
        key_algorithm: str = "RSA_2048",
        validity: timedelta = timedelta(days=395),
        not_before: datetime | None = None,
    ) -> IssuedCertificate:
        """A TLS server/client leaf for ``domain_name`` (+ SANs) signed by the intermediate."""
        if not domain_name:
            raise ValueError("domainName is required")
        self._make()
        key = new_key(key_algorithm)
        start = not_before or (datetime.now(UTC) - timedelta(minutes=5))
        names: list[x509.GeneralName] = []
        for name in dict.fromkeys([domain_name, *(subject_alternative_names or [])]):
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                names.append(x509.DNSName(name))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain_name)]))
            .issuer_name(INTERMEDIATE_NAME)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._intermediate_key.public_key()),
                critical=False,
            )
            .sign(self._intermediate_key, hashes.SHA256())
        )
        return IssuedCertificate(_pem(cert), _key_pem(key), self.chain_pem())

    def chain_problem(self, certificate: bytes, chain: bytes = b"", now: datetime | None = None) -> str | None:
        """Why ``certificate`` (PEM, with the PEM ``chain`` it is served with) does not chain to this
        CA's root; None when it does (every link signed by the next, all currently valid)."""
        now = now or datetime.now(UTC)
        try:
            leaf = x509.load_pem_x509_certificate(certificate)
        except ValueError as err:
            return f"the certificate is not a PEM X.509 certificate: {err}"
        pool: list[x509.Certificate] = []
        for block in _PEM_CERT.findall(chain or b""):
            try:
                pool.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                return "the certificate chain holds a block that is not an X.509 certificate"
        root = self.root
        current = leaf
        for _ in range(8):
            if current.not_valid_after_utc < now or current.not_valid_before_utc > now:
                return f"{current.subject.rfc4514_string()} is not valid now"
            if _issued_by(current, root):
                return None
            issuer = next((c for c in pool if c is not current and _issued_by(current, c)), None)
            if issuer is None:
                return (
                    f"no certificate in the chain issued {current.subject.rfc4514_string()} "
                    f"(issuer {current.issuer.rfc4514_string()}); it does not chain to the emulated public CA"
                )
            current = issuer
        return "the certificate chain is too long"


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


PUBLIC_CA = PublicCA()
