"""Issue 13, item 3: CA-signed client certificates from ACM on the stages (spec.certificate source secret / acm).

The chain is the passthrough one of test_mutual_tls_passthrough.py: the ALB forwards the chain the stage
presents, and the on-prem backend trusts the CA certificates the rotation publishes (reloaded every half
second, as a backend mounting the Secret would). Under at least 20 requests a second through the stage's
default endpoint, none may fail while: cert-manager-like renewals by the same CA are re-imported under the
same ARN (no trust change), a certificate from another CA goes through the five-step order, and a user's ACM
certificate is replaced by another. The negative control puts a certificate of a CA the backend does not
trust on the stage under the same load and sees requests refused; an ACM public certificate is Stalled with
no AWS write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from hybrid_gateway.parts import trust_bundle as tb
from hybrid_gateway_devenv.onprem_backend import OnPremBackend, trusts
from tests.e2e.helpers import apply, condition, secret, wait_until
from tests.e2e.test_clientcertrotation import REGION, Sampler, World
from tests.e2e.test_clientcertrotation import wait_ready as wait_rotation_ready
from tests.e2e.test_mutual_tls_passthrough import BundleReloader, passthrough_chain
from tests.e2e.test_mutual_tls_verify import Load, load_while_the_stage_presents_a_stray_certificate
from tests.mtls_certs import Ca, client_certificate, make_ca

pytestmark = pytest.mark.e2e

CLIENT_SECRET = "gateway-client-tls"


@dataclass
class AcmWorld(World):
    """The observer of test_clientcertrotation.py, for a stage that presents an ACM certificate by ARN: the
    invariant is that the backend's bundle trusts the chain the stage presents."""

    chains: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.acm = boto3.client("acm", region_name=REGION, endpoint_url=self.endpoint_url)

    def chain(self, cert_id: str) -> str | None:
        if not cert_id.startswith("arn:"):
            return self.pem(cert_id)
        try:
            got = self.acm.get_certificate(CertificateArn=cert_id)
        except self.acm.exceptions.ResourceNotFoundException:
            return None
        return str(got["Certificate"]) + str(got.get("CertificateChain") or "")

    def violation(self) -> str | None:
        cert_id = self.stage_cert()  # the stage first, then the bundle: the bundle only ever lags behind
        if not cert_id:
            return None
        chain, bundle = self.chain(cert_id), self.bundle()
        if chain is None or not trusts(bundle, chain):
            return f"stage presents {cert_id}; bundle holds {len(tb.certificates_in(bundle))} certificate(s)"
        return None

    def exists(self, arn: str) -> bool:
        return self.chain(arn) is not None


def tls_secret(issuer: Ca, name: str = "api-gateway-client") -> dict[str, Any]:
    """A kubernetes.io/tls Secret as cert-manager writes one: tls.crt = certificate + chain, tls.key, ca.crt."""
    cert, key = client_certificate(issuer, name)
    return secret(CLIENT_SECRET, {"tls.crt": cert + issuer.pem, "tls.key": key, "ca.crt": issuer.pem},
                  type_="kubernetes.io/tls")


def imported(world: AcmWorld, issuer: Ca, name: str = "api-gateway-client") -> str:
    """An ACM certificate the user imported (not tagged by the operator)."""
    cert, key = client_certificate(issuer, name)
    return str(world.acm.import_certificate(Certificate=cert.encode(), PrivateKey=key.encode(),
                                            CertificateChain=issuer.pem.encode())["CertificateArn"])


def use_acm_certificate(cluster: Any, namespace: str, arn: str) -> None:
    cluster.kubectl("patch", "-n", namespace, "clientcertrotation", "cert", "--type=merge",
                    "-p", f'{{"spec":{{"certificate":{{"source":"acm","acmCertificateArn":"{arn}"}}}}}}')


def trusted_cas(world: World) -> list[str]:
    return tb.certificates_in(world.bundle())


def assert_no_failure(load: Load, sampler: Sampler, what: str) -> None:
    print(f"\n{what}: {load.sent} requests sent at {load.rate:.1f}/s, {len(load.failed)} failed")
    assert load.sent >= 100, (load.sent, load.rate)  # a count, not a rate: the rate depends on the machine
    assert load.failed == [], load.failed[:5]
    assert sampler.violations == [], sampler.violations[:5]


def test_secret_sourced_certificate_renewed_by_its_ca_and_replaced_by_another_ca_under_load(
    cluster, namespace, account, emulator, control, onprem: OnPremBackend, start_operator
) -> None:
    first_ca, second_ca = make_ca("Gateway Client CA 1"), make_ca("Gateway Client CA 2")
    operator, world, first = passthrough_chain(
        cluster, namespace, account, emulator, onprem, start_operator, tls_secret(first_ca), world_type=AcmWorld,
        certificate={"source": "secret", "secretRef": {"name": CLIENT_SECRET}})
    assert isinstance(world, AcmWorld)
    assert first.startswith("arn:aws:acm:") and world.stage_cert() == first
    assert trusted_cas(world) == [tb.normalise(first_ca.pem)]  # the CA, not the certificate
    status = world.status()
    assert "PRIVATE KEY" not in str(status)

    with BundleReloader(world, onprem), Load(control, world.rest_api_id) as load, Sampler(world) as sampler:
        time.sleep(1.0)  # traffic flows, checked by the backend, before anything changes
        # 1. cert-manager renews: same CA, new certificate -> re-imported under the same ARN.
        before = world.status()["current"]["pemSha256"]
        apply(cluster, namespace, tls_secret(first_ca))
        wait_until(lambda: world.status()["current"]["pemSha256"] != before, timeout=60, interval=0.3,
                   what="the renewed certificate re-imported")
        assert world.stage_cert() == first and world.status()["current"]["clientCertificateId"] == first
        assert trusted_cas(world) == [tb.normalise(first_ca.pem)]
        time.sleep(1.0)
        # 2. A certificate from another CA: published next to the first CA before any stage presents it.
        apply(cluster, namespace, tls_secret(second_ca))
        wait_until(lambda: len(world.status().get("history") or []) == 1, timeout=120, interval=0.3,
                   what="the rotation in status.history")
        wait_rotation_ready(cluster, world, operator)
    assert_no_failure(load, sampler, "Secret-sourced renewal and new CA under load")
    second = world.status()["current"]["clientCertificateId"]
    assert second != first and world.stage_cert() == second
    assert trusted_cas(world) == [tb.normalise(second_ca.pem)]
    assert not world.exists(first), "the operator's own import of the first certificate is deleted on retire"
    assert "Draining" in sampler.phases and "PublishingTrust" in sampler.phases, sampler.phases
    forwarded = {r["headers"].get("x-amzn-mtls-clientcert", "")[:80] for r in onprem.traffic()}
    assert "" not in forwarded and len(forwarded) >= 2, len(forwarded)


def test_acm_sourced_certificate_replaced_under_load_then_a_public_one_is_stalled_with_no_write(
    cluster, namespace, account, emulator, control, onprem: OnPremBackend, start_operator
) -> None:
    first_ca, second_ca = make_ca("User Client CA 1"), make_ca("User Client CA 2")
    acm = boto3.client("acm", region_name=REGION, endpoint_url=emulator.endpoint_url)
    cert, key = client_certificate(first_ca, "api-gateway-client")
    first_arn = str(acm.import_certificate(Certificate=cert.encode(), PrivateKey=key.encode(),
                                           CertificateChain=first_ca.pem.encode())["CertificateArn"])
    operator, world, first = passthrough_chain(
        cluster, namespace, account, emulator, onprem, start_operator, world_type=AcmWorld,
        certificate={"source": "acm", "acmCertificateArn": first_arn})
    assert isinstance(world, AcmWorld)
    assert first == first_arn and trusted_cas(world) == [tb.normalise(first_ca.pem)]

    second_arn = imported(world, second_ca)
    with BundleReloader(world, onprem), Load(control, world.rest_api_id) as load, Sampler(world) as sampler:
        time.sleep(1.0)
        use_acm_certificate(cluster, namespace, second_arn)
        wait_until(lambda: len(world.status().get("history") or []) == 1, timeout=120, interval=0.3,
                   what="the rotation in status.history")
        wait_rotation_ready(cluster, world, operator)
    assert_no_failure(load, sampler, "ACM-sourced replacement under load")
    assert world.stage_cert() == second_arn and trusted_cas(world) == [tb.normalise(second_ca.pem)]
    assert world.exists(first_arn), "a user's ACM certificate is never deleted"

    # An ACM public certificate: refused before any write, the stage keeps presenting the second one.
    public = str(acm.request_certificate(DomainName="client.example.com", ValidationMethod="DNS")["CertificateArn"])
    since = control.last_seq()
    use_acm_certificate(cluster, namespace, public)

    def stalled() -> dict[str, Any] | None:
        found = condition(world.obj(), "Stalled")
        return found if found.get("status") == "True" else None

    found = wait_until(stalled, timeout=60, interval=0.3, what="Stalled on the public certificate")
    assert found["reason"] == "UnusableClientCertificate", found
    assert "AMAZON_ISSUED" in found["message"] and public in found["message"], found
    time.sleep(4.0)  # two drift checks (2s)
    assert control.write_calls(since) == [], control.write_calls(since)[:3]
    assert world.stage_cert() == second_arn


def test_negative_control_a_certificate_of_a_ca_the_backend_does_not_trust_is_refused(
    cluster, namespace, account, emulator, control, onprem: OnPremBackend, start_operator
) -> None:
    trusted_ca, untrusted_ca = make_ca("Trusted Client CA"), make_ca("Untrusted Client CA")
    _, world, first = passthrough_chain(
        cluster, namespace, account, emulator, onprem, start_operator, tls_secret(trusted_ca), world_type=AcmWorld,
        certificate={"source": "secret", "secretRef": {"name": CLIENT_SECRET}})
    assert isinstance(world, AcmWorld)
    stray = imported(world, untrusted_ca, "not-from-our-ca")
    with BundleReloader(world, onprem):
        load = load_while_the_stage_presents_a_stray_certificate(world, control, first, stray=stray)
    print(f"\nnegative control (untrusted CA): {load.sent} requests sent, {len(load.failed)} failed")
    assert load.failed, "a stage presenting a certificate of an untrusted CA must fail requests"
    assert all(f.startswith("403 ") for f in load.failed), load.failed[:5]
