"""The emulated public CA (catalogue: docs/aws-behaviour.md, "Public CA").

Emulator only: the control API hands out certificates signed by the CA that the emulator treats as
publicly trusted, and tells whether a certificate chains to it.
"""

from __future__ import annotations

import pytest
from cryptography import x509

from hybrid_gateway_devenv.emulator import EmulatorControl

from .helpers import Aws, Cleanup, import_certificate

pytestmark = pytest.mark.emulator_only


def test_requested_certificates_chain_to_the_public_ca__api_gateway_supported_certificate_authorities(
    aws: Aws, ctl: EmulatorControl, cleanup: Cleanup
) -> None:
    """ACM's requested (public) certificates are issued by a public CA, so API Gateway trusts them for
    ``https://`` integration endpoints; the emulator signs them with its public CA, answers
    ``Issuer: "Amazon"`` and the intermediate + root as chain.

    Source: API Gateway Developer Guide, "API Gateway-supported certificate authorities for HTTP and
    HTTP proxy integrations" ("for HTTP, HTTP proxy, and private integrations"); LocalStack snapshot
    ``acm/test_acm.snapshot.json``, ``test_certificate_for_subdomain_wildcard`` (``"Issuer":
    "Amazon"``, ``"Type": "AMAZON_ISSUED"``).
    """
    acm = aws.client("acm")
    arn = acm.request_certificate(DomainName="public.behaviour.example", ValidationMethod="DNS")["CertificateArn"]
    cleanup.add("certificate", lambda: acm.delete_certificate(CertificateArn=arn))
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Issuer"] == "Amazon"
    assert ctl.publicly_trusted(certificate_arn=arn) == {"trusted": True, "reason": None}
    root = x509.load_pem_x509_certificate(ctl.public_ca()["certificate"].encode())
    assert root.subject == root.issuer


def test_certificate_issued_for_a_test_is_trusted_once_imported(
    aws: Aws, ctl: EmulatorControl, cleanup: Cleanup
) -> None:
    """A leaf + key issued by the public CA through the control API imports into ACM and is reported
    as publicly trusted; a self-signed certificate is not (API Gateway would fail the TLS handshake
    with "PKIX path building failed").

    Source: API Gateway Developer Guide, "API Gateway-supported certificate authorities for HTTP and
    HTTP proxy integrations"; re:Post Knowledge Center "api-gateway-ssl-certificate-backend" (PKIX
    errors for self-signed backends).
    """
    issued = ctl.issue_public_certificate("backend.behaviour.example", ["alt.behaviour.example"])
    acm = aws.client("acm")
    arn = acm.import_certificate(
        Certificate=issued["certificate"].encode(),
        PrivateKey=issued["privateKey"].encode(),
        CertificateChain=issued["certificateChain"].encode(),
    )["CertificateArn"]
    cleanup.add("certificate", lambda: acm.delete_certificate(CertificateArn=arn))
    described = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert described["Type"] == "IMPORTED"
    assert sorted(described["SubjectAlternativeNames"]) == ["alt.behaviour.example", "backend.behaviour.example"]
    assert ctl.publicly_trusted(certificate_arn=arn)["trusted"] is True
    assert ctl.publicly_trusted(issued["certificate"], issued["certificateChain"])["trusted"] is True
    assert ctl.publicly_trusted(issued["certificate"])["trusted"] is False  # no intermediate: no path

    private = import_certificate(aws, cleanup, "private.behaviour.example")
    verdict = ctl.publicly_trusted(certificate_arn=private)
    assert verdict["trusted"] is False and "does not chain" in verdict["reason"]


def test_issued_certificates_follow_the_key_algorithm(ctl: EmulatorControl) -> None:
    """The control API issues RSA and EC leaves (ACM's key algorithm names)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    rsa_leaf = x509.load_pem_x509_certificate(ctl.issue_public_certificate("a.example")["certificate"].encode())
    assert isinstance(rsa_leaf.public_key(), rsa.RSAPublicKey)
    ec_pem = ctl.issue_public_certificate("b.example", key_algorithm="EC_prime256v1")["certificate"]
    assert isinstance(x509.load_pem_x509_certificate(ec_pem.encode()).public_key(), ec.EllipticCurvePublicKey)
