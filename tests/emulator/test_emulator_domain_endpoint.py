"""Custom domain names with mutual TLS on loopback: one listener for every domain, routed by SNI,
serving the domain's certificate, TLS 1.2+, and admitting a client certificate that chains to the
truststore version the domain is pinned to (any other, or none, gets 403 Forbidden with API
Gateway's execution-log reason); then the base path mapping to the stage and the same request path
as the default endpoint (catalogue: docs/aws-behaviour.md, "Custom domain names with mutual TLS")."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import threading
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorServer
from hybrid_gateway_devenv.emulator.dataplane import mtls

from ..mtls_certs import chain
from ..onprem_backend import OnPremBackend, onprem_backend  # noqa: F401 (fixture)
from .conftest import REGION
from .helpers import issued_certificate, resign_sha1
from .test_emulator_dataplane import TARGET, Chain
from .test_emulator_invoke_endpoint import deployed

pytestmark = pytest.mark.usefixtures("instant_aws")
DOMAIN = "partner.example.com"
FORBIDDEN = (403, '{"message":"Forbidden"}')
BUCKET = "partner-truststores"
KEY = "partner.example.com/truststore.pem"


class Authority:
    """A private CA that issues client certificates."""

    def __init__(self, name: str) -> None:
        self.key = rsa.generate_private_key(65537, 2048)
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def client(
        self, folder: Path, common_name: str, *, expired: bool = False, sha1: bool = False
    ) -> tuple[str, str]:
        """Files (certificate, key) of a client certificate this CA issues (SHA-256, or SHA-1 if ``sha1``)."""
        key = rsa.generate_private_key(65537, 2048)
        now = datetime.now(UTC)
        not_after = now - timedelta(hours=1) if expired else now + timedelta(days=10)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(not_after)
            .sign(self.key, hashes.SHA256())
        )
        if sha1:
            pem = resign_sha1(self.key, cert.public_bytes(serialization.Encoding.PEM).decode())
            cert = x509.load_pem_x509_certificate(pem.encode())
        return write_identity(folder, common_name, cert, key)


def self_signed_client(folder: Path, common_name: str) -> tuple[str, str]:
    """Files (certificate, key) of a client certificate that signs itself."""
    authority = Authority(common_name)
    return write_identity(folder, common_name, authority.certificate, authority.key)


def write_identity(folder: Path, name: str, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> tuple[str, str]:
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def put_truststore(s3: Any, *pems: str) -> str:
    return str(s3.put_object(Bucket=BUCKET, Key=KEY, Body="".join(pems).encode())["VersionId"])


def mtls_domain(apigw: Any, acm: Any, route53: Any, s3: Any, chain: Chain, trusted: str) -> str:
    """A REGIONAL domain name with mutual TLS (truststore: ``trusted``), its root mapped to ``prod``."""
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = put_truststore(s3, trusted)
    apigw.create_domain_name(
        domainName=DOMAIN,
        regionalCertificateArn=issued_certificate(acm, route53, DOMAIN),
        endpointConfiguration={"types": ["REGIONAL"]},
        securityPolicy="TLS_1_2",
        mutualTlsAuthentication={"truststoreUri": f"s3://{BUCKET}/{KEY}", "truststoreVersion": version},
    )
    apigw.create_base_path_mapping(domainName=DOMAIN, restApiId=chain.api_id, stage="prod")
    return version


def call(
    ctl: EmulatorControl,
    target: str,
    client: tuple[str, str] | None = None,
    maximum_version: ssl.TLSVersion | None = None,
    lenient: bool = False,
) -> tuple[int, str]:
    """``curl --resolve partner.example.com:PORT:127.0.0.1 [--cert --key]``, trusting the public CA."""
    endpoint = ctl.domain_endpoint()
    context = ssl.create_default_context(cadata=ctl.public_ca()["certificate"])
    if lenient or maximum_version is not None:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer an old protocol / SHA-1 certificate at all
    if maximum_version is not None:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: that is the point
            context.maximum_version = maximum_version
    if client is not None:
        context.load_cert_chain(*client)
    raw = socket.create_connection((endpoint["host"], endpoint["port"]), timeout=10)
    connection = http.client.HTTPSConnection(DOMAIN, endpoint["port"], context=context, timeout=10)
    try:
        connection.sock = context.wrap_socket(raw, server_hostname=DOMAIN)
        connection.request("GET", target, headers={"Host": DOMAIN})
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()
        raw.close()


def refused(ctl: EmulatorControl, client: tuple[str, str] | None = None, **kwargs: Any) -> str:
    """The TLS error a request gets."""
    with pytest.raises(ssl.SSLError) as failure:
        call(ctl, "/orders", client, **kwargs)
    return str(failure.value)


@pytest.fixture()
def ready(
    apigw: Any, elbv2: Any, ec2: Any, acm: Any, route53: Any, ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> Chain:
    chain = deployed(apigw, elbv2, ec2, acm, route53)
    onprem_backend.required_header = ("X-Gateway-Secret", "s3cret")
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    return chain


def test_a_client_certificate_from_the_truststore_reaches_the_backend_through_the_mapping(
    apigw: Any, acm: Any, route53: Any, s3: Any, ready: Chain, ctl: EmulatorControl, tmp_path: Path,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    partner_a = Authority("Partner A Root CA")
    mtls_domain(apigw, acm, route53, s3, ready, partner_a.pem)
    # Only the custom domain should serve: the default endpoint is off, which does not affect it.
    apigw.update_rest_api(restApiId=ready.api_id, patchOperations=[
        {"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "True"}])
    status, body = call(ctl, "/orders?page=2", partner_a.client(tmp_path, "client-a"))
    assert status == 200, body
    assert json.loads(body)["path"] == "/orders?page=2"
    assert [r["path"] for r in onprem_backend.traffic()] == ["/orders?page=2"]


def denials(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The execution-log reasons the emulator logged, in order."""
    return [r.getMessage() for r in caplog.records if r.name == mtls.__name__]


def test_an_untrusted_expired_weak_or_missing_client_certificate_gets_403_and_reaches_nothing(
    apigw: Any, acm: Any, route53: Any, s3: Any, ready: Chain, ctl: EmulatorControl, tmp_path: Path,
    onprem_backend: OnPremBackend, caplog: pytest.LogCaptureFixture,  # noqa: F811
) -> None:
    partner_a = Authority("Partner A Root CA")
    mtls_domain(apigw, acm, route53, s3, ready, partner_a.pem)
    caplog.set_level(logging.WARNING, logger=mtls.__name__)
    presented = [
        (Authority("Partner B Root CA").client(tmp_path, "client-b"), mtls.NO_ISSUER),
        (self_signed_client(tmp_path, "client-self"), mtls.SELF_SIGNED),
        (partner_a.client(tmp_path, "client-expired", expired=True), mtls.EXPIRED),
        (partner_a.client(tmp_path, "client-sha1", sha1=True), mtls.INSECURE_SIGNATURE),
        (None, mtls.NO_CERTIFICATE),
    ]
    for client, _reason in presented:
        assert call(ctl, "/orders", client, lenient=True) == FORBIDDEN, client
    assert denials(caplog) == [f"{DOMAIN}: {reason}" for _client, reason in presented]
    assert onprem_backend.traffic() == []


def test_a_new_truststore_version_admits_nobody_until_the_domain_is_updated_to_it(
    apigw: Any, acm: Any, route53: Any, s3: Any, ready: Chain, ctl: EmulatorControl, tmp_path: Path,
    onprem_backend: OnPremBackend, caplog: pytest.LogCaptureFixture,  # noqa: F811
) -> None:
    partner_a, partner_b = Authority("Partner A Root CA"), Authority("Partner B Root CA")
    client_a, client_b = partner_a.client(tmp_path, "client-a"), partner_b.client(tmp_path, "client-b")
    mtls_domain(apigw, acm, route53, s3, ready, partner_a.pem)
    caplog.set_level(logging.WARNING, logger=mtls.__name__)
    assert call(ctl, "/orders", client_a)[0] == 200  # the listener has served (and cached) the pinned trust
    newer = put_truststore(s3, partner_a.pem, partner_b.pem)
    assert call(ctl, "/orders", client_b) == FORBIDDEN  # the bundle's new version is not the domain's yet
    assert denials(caplog) == [f"{DOMAIN}: {mtls.NO_ISSUER}"]
    apigw.update_domain_name(domainName=DOMAIN, patchOperations=[
        {"op": "replace", "path": "/mutualTlsAuthentication/truststoreVersion", "value": newer}])
    assert call(ctl, "/orders", client_b)[0] == 200
    assert call(ctl, "/orders", client_a)[0] == 200
    assert len(onprem_backend.traffic()) == 3 and len(denials(caplog)) == 1


def test_tls_1_1_is_refused_and_base_paths_select_the_mapping(
    apigw: Any, acm: Any, route53: Any, s3: Any, ready: Chain, ctl: EmulatorControl, tmp_path: Path,
) -> None:
    partner_a = Authority("Partner A Root CA")
    client_a = partner_a.client(tmp_path, "client-a")
    mtls_domain(apigw, acm, route53, s3, ready, partner_a.pem)
    assert "PROTOCOL" in refused(ctl, client_a, maximum_version=ssl.TLSVersion.TLSv1_1).upper()
    assert call(ctl, "/orders", client_a, maximum_version=ssl.TLSVersion.TLSv1_2)[0] == 200
    # A named base path without a stage: the next segment is the stage; "(none)" still maps the root.
    apigw.create_base_path_mapping(domainName=DOMAIN, restApiId=ready.api_id, basePath="v1")
    status, body = call(ctl, "/v1/prod/orders", client_a)
    assert status == 200 and json.loads(body)["path"] == "/orders", body
    assert call(ctl, "/v1/beta/orders", client_a) == (403, '{"message":"Forbidden"}')


def test_stopping_the_emulator_ends_its_loopback_listeners() -> None:
    def listening() -> set[str]:
        return {t.name for t in threading.enumerate() if t.name in ("invoke-endpoint", "domain-endpoint")}

    with EmulatorServer(port=0) as server:
        control = EmulatorControl(server.endpoint_url)
        control.invoke_endpoint(), control.domain_endpoint()
        assert listening() == {"invoke-endpoint", "domain-endpoint"}
    assert listening() == set()


def test_intermediates_the_client_sends_complete_its_chain_to_the_truststore() -> None:
    root, intermediate = chain(2, "Partner C ")
    key = rsa.generate_private_key(65537, 2048)
    now = datetime.now(UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client-c")]))
        .issuer_name(intermediate.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=10))
        .sign(intermediate.key, hashes.SHA256())
    )
    trust = mtls.trust_store(root.pem)
    assert mtls.client_certificate_denial([leaf, intermediate.cert], trust) is None
    assert mtls.client_certificate_denial([leaf], trust) == mtls.NO_ISSUER
    assert mtls.client_certificate_denial([leaf], mtls.trust_store(root.pem + intermediate.pem)) is None
