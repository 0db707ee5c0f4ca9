"""spec.certificate source secret / acm: what a TLS Secret and an ACM certificate must be before the operator
imports or attaches them (each refusal is a Stalled whose message says what to fix, before any AWS write)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from tests.mtls_certs import client_certificate, make_ca

from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts.acm_client_certificate import SecretCertificate, unusable
from hybrid_gateway.parts.trust_bundle import certificates_in

WHERE = "team-a/backend-client"
ROOT = make_ca("Client Root CA")
INTERMEDIATE = make_ca("Client Issuing CA", issuer=ROOT)
OTHER = make_ca("Unrelated CA")


@dataclass
class Case:
    reason: str
    tls_crt: str
    tls_key: str
    ca_crt: str
    stalled: str
    says: str


def _cases() -> list[Case]:
    cert, key = client_certificate(INTERMEDIATE, "api-gateway-client")
    no_eku, no_eku_key = client_certificate(INTERMEDIATE, "server-only", client_auth=False)
    _, other_key = client_certificate(INTERMEDIATE, "another")
    chain = INTERMEDIATE.pem + ROOT.pem
    return [
        Case("a certificate without the clientAuth extended key usage", no_eku + chain, no_eku_key, "",
             "NoClientAuthUsage", "no clientAuth extended key usage"),
        Case("only the certificate, no chain and no ca.crt", cert, key, "", "NoCertificateChain", "add the CA chain"),
        Case("a key of another certificate", cert + chain, other_key, "", "KeyDoesNotMatchCertificate",
             "tls.key is not the private key"),
        Case("a chain of another CA", cert + OTHER.pem, key, "", "ChainDoesNotMatch",
             "not signed by the first chain certificate"),
        Case("no PEM at all", "not a certificate", key, "", "InvalidClientCertificate", "holds no PEM certificate"),
        Case("an encrypted or broken key", cert + chain, "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n",
             "", "InvalidPrivateKey", "not an unencrypted PEM private key"),
    ]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.reason)
def test_a_secret_that_cannot_be_presented_is_stalled_with_what_to_fix(case: Case) -> None:
    with pytest.raises(Stalled) as raised:
        SecretCertificate.from_secret(WHERE, case.tls_crt, case.tls_key, case.ca_crt)
    assert raised.value.reason == case.stalled, case.reason
    assert case.says in raised.value.message and WHERE in raised.value.message, case.reason
    assert "PRIVATE KEY" not in raised.value.message and case.tls_key not in raised.value.message


@pytest.mark.parametrize("in_ca_crt", [False, True], ids=["chain in tls.crt", "chain in ca.crt"])
def test_a_ca_signed_secret_is_accepted_and_its_chain_is_what_the_backend_trusts(in_ca_crt: bool) -> None:
    cert, key = client_certificate(INTERMEDIATE, "api-gateway-client")
    chain = INTERMEDIATE.pem + ROOT.pem
    secret = (SecretCertificate.from_secret(WHERE, cert, key, chain) if in_ca_crt
              else SecretCertificate.from_secret(WHERE, cert + chain, key))
    assert certificates_in(secret.trust_pem) == certificates_in(chain)
    assert secret.certificate_pem.strip() == cert.strip()
    assert key not in repr(secret)  # the key is never printed


def test_a_renewal_by_the_same_ca_keeps_the_trust_and_changes_the_fingerprint() -> None:
    chain = INTERMEDIATE.pem + ROOT.pem
    first = SecretCertificate.from_secret(WHERE, *_joined(client_certificate(INTERMEDIATE, "c"), chain))
    renewed = SecretCertificate.from_secret(WHERE, *_joined(client_certificate(INTERMEDIATE, "c"), chain))
    assert first.trust_pem == renewed.trust_pem and first.fingerprint != renewed.fingerprint


def _joined(pair: tuple[str, str], chain: str) -> tuple[str, str]:
    return pair[0] + chain, pair[1]


ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
CLIENT_AUTH = [{"Name": "TLS_WEB_CLIENT_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.2"}]


@pytest.mark.parametrize(("reason", "detail", "says"), [
    ("an ACM public certificate", {"Type": "AMAZON_ISSUED", "Status": "ISSUED", "ExtendedKeyUsages": CLIENT_AUTH},
     "AMAZON_ISSUED"),
    ("not issued yet", {"Type": "PRIVATE", "Status": "PENDING_VALIDATION", "ExtendedKeyUsages": CLIENT_AUTH},
     "PENDING_VALIDATION"),
    ("without clientAuth", {"Type": "IMPORTED", "Status": "ISSUED", "ExtendedKeyUsages": [
        {"Name": "TLS_WEB_SERVER_AUTHENTICATION"}]}, "no clientAuth"),
    ("in another Region", {"Type": "IMPORTED", "Status": "ISSUED", "ExtendedKeyUsages": CLIENT_AUTH,
                           "CertificateArn": ARN.replace("us-east-1", "eu-west-1")}, "Region eu-west-1"),
])
def test_an_acm_certificate_api_gateway_would_not_present_is_named_with_why(
        reason: str, detail: dict[str, object], says: str) -> None:
    assert says in unusable({"CertificateArn": ARN, **detail}, "us-east-1"), reason


@pytest.mark.parametrize("cert_type", ["IMPORTED", "PRIVATE"])
def test_an_imported_or_private_ca_certificate_with_client_auth_is_usable(cert_type: str) -> None:
    assert unusable({"CertificateArn": ARN, "Type": cert_type, "Status": "ISSUED",
                     "ExtendedKeyUsages": CLIENT_AUTH}, "us-east-1") == ""
