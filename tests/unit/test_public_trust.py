"""Front-door certificates API Gateway will not trust are recognised before any write (public_trust.py).

API Gateway trusts only certificates from public CAs for HTTPS integration endpoints (API Gateway
Developer Guide, "API Gateway-supported certificate authorities for HTTP and HTTP proxy integrations";
docs/aws-behaviour.md): a self-signed or privately issued front-door certificate answers callers 500.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tests.mtls_certs import Ca, server_certificate

from hybrid_gateway.public_trust import PublicRoots

HOST = "orders-backend.example.com"


def public_like_ca(name: str, issuer: Ca | None = None) -> Ca:
    """A CA shaped the way public CAs are (key usage, key identifiers), which path validation asks for."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer = issuer.key if issuer else key
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
        .sign(signer, hashes.SHA256())
    )
    return Ca(cert, key)


def issued_by(ca: Ca, hostname: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def public_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ca, PublicRoots]:
    """A CA that plays a public one: given to PublicRoots as --public-ca-bundle is."""
    ca = public_like_ca("Emulated Public Root")
    bundle = tmp_path_factory.mktemp("ca") / "public.pem"
    Path(bundle).write_text(ca.pem)
    return ca, PublicRoots.load([str(bundle)])


def test_the_default_roots_are_the_public_ones() -> None:
    roots = PublicRoots.load()
    assert len(roots.roots) > 100  # certifi's copy of Mozilla's list


def test_self_signed_is_refused(public_ca: tuple[Ca, PublicRoots]) -> None:
    cert, _ = server_certificate(HOST)
    assert public_ca[1].why_untrusted(HOST, cert) == "the certificate is self-signed"


def test_a_private_ca_is_refused_and_a_public_one_accepted(public_ca: tuple[Ca, PublicRoots]) -> None:
    ca, roots = public_ca
    private = public_like_ca("Corp Private Root")
    why = roots.why_untrusted(HOST, issued_by(private, HOST))
    assert why is not None and why.startswith("its chain does not end at a public CA")
    assert roots.why_untrusted(HOST, issued_by(ca, HOST)) is None


def test_an_intermediate_in_the_chain_counts(public_ca: tuple[Ca, PublicRoots]) -> None:
    ca, roots = public_ca
    intermediate = public_like_ca("Emulated Public Intermediate", issuer=ca)
    leaf = issued_by(intermediate, HOST)
    assert roots.why_untrusted(HOST, leaf, intermediate.pem) is None
    assert roots.why_untrusted(HOST, leaf) is not None  # without its intermediate it cannot chain
