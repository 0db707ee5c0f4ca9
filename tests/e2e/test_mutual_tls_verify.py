"""Issue 10, item 1, `verify`: the ALB listener checks the stage's client certificate against an ELB trust store
built from the ClientCertRotation's S3 bundle, and the rotation keeps the trust store in step with its phases.

A sampler reads, several times a second, what the ALB would check against (the trust store's CA bundle, as
GetTrustStoreCaCertificatesBundle hands it out, whenever the listener is in verify mode) and what API Gateway
presents (the stage's clientCertificateId): at no moment may a stage present a certificate the trust store
lacks. (Requests through the emulated data plane under load are the data plane's test; this one proves
the order of the writes.)
"""

from __future__ import annotations

import urllib.request
import uuid
from typing import Any

import boto3
import pytest

from hybrid_gateway.parts import trust_bundle as tb
from tests.e2e.helpers import apply, condition, get, hybridapi, secret, wait_ready, wait_until
from tests.e2e.test_clientcertrotation import REGION, Sampler, World, request_rotation, rotation
from tests.e2e.test_clientcertrotation import wait_ready as wait_rotation_ready

pytestmark = pytest.mark.e2e


class TrustStoreWorld(World):
    """What the ALB checks: the trust store's bundle while the listener verifies ("" otherwise: no check)."""

    listener_arn: str = ""

    def listener(self) -> dict[str, Any]:
        elbv2 = boto3.client("elbv2", region_name=REGION, endpoint_url=self.endpoint_url)
        return dict(elbv2.describe_listeners(ListenerArns=[self.listener_arn])["Listeners"][0])

    def trust_store_bundle(self, arn: str) -> str:
        elbv2 = boto3.client("elbv2", region_name=REGION, endpoint_url=self.endpoint_url)
        location = elbv2.get_trust_store_ca_certificates_bundle(TrustStoreArn=arn)["Location"]
        with urllib.request.urlopen(location, timeout=10) as answer:
            return str(answer.read().decode())

    def violation(self) -> str | None:
        cert_id = self.stage_cert()  # the stage first: the trust store only ever gains before a switch
        mutual = self.listener().get("MutualAuthentication") or {}
        if not cert_id or mutual.get("Mode") != "verify":
            return None
        pem = self.pem(cert_id)
        bundle = self.trust_store_bundle(str(mutual["TrustStoreArn"]))
        if pem is None or not tb.contains(bundle, pem):
            return f"stage presents {cert_id}; the trust store holds {len(tb.certificates_in(bundle))} certificate(s)"
        return None


def test_verify_mode_keeps_the_trust_store_ahead_of_every_switch(
    cluster, namespace, account, emulator, start_operator
) -> None:
    operator = start_operator(namespace)
    bucket = f"trust-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", region_name=REGION, endpoint_url=emulator.endpoint_url).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    api = hybridapi("orders", account, driftCheckInterval="1s")
    api["spec"]["frontDoor"]["mutualTls"] = {"mode": "verify"}
    cert = rotation("cert", backendTrust={"secretRef": {"name": "cert-trust", "key": "ca.pem"},
                                          "s3": {"bucket": bucket, "key": "orders/trust.pem"}},
                    gracePeriod="2s")
    apply(cluster, namespace, secret("orders-gw", {"token": "s3cr3t-value"}), api, cert)

    wait_ready(cluster, namespace, "orders", timeout=240)
    obj = get(cluster, namespace, "hybridapi", "orders")
    resources = obj["status"]["resources"]
    world = TrustStoreWorld(cluster, emulator.endpoint_url, namespace, "cert", resources["restApiId"])
    world.listener_arn = resources["albListenerArn"]
    rotated = wait_rotation_ready(cluster, world, operator)
    first = rotated["status"]["current"]["clientCertificateId"]
    wait_until(lambda: world.listener().get("MutualAuthentication", {}).get("Mode") == "verify", timeout=60,
               what="the listener in verify mode")
    mutual = world.listener()["MutualAuthentication"]
    assert mutual["TrustStoreArn"] == resources["trustStoreArn"]
    held = tb.certificates_in(world.trust_store_bundle(mutual["TrustStoreArn"]))
    assert held == [tb.normalise(world.pem(first) or "")]
    store = get(cluster, namespace, "hybridapi", "orders")["status"]["trustStore"]
    assert store["bundleSha256"] == rotated["status"]["trustBundleSha256"]
    assert store["bundleUri"] == f"s3://{bucket}/orders/trust.pem" and store["clientCertRotation"] == "cert"
    assert condition(get(cluster, namespace, "hybridapi", "orders"), "LoadBalancersReady")["status"] == "True"

    with Sampler(world) as sampler:
        request_rotation(cluster, namespace)
        wait_until(lambda: len(world.status().get("history") or []) == 1, timeout=120, interval=0.3,
                   what="the rotation in status.history")
        wait_rotation_ready(cluster, world, operator)
    assert sampler.samples > 20 and not sampler.errors[:3], sampler.errors[:3]
    assert sampler.violations == [], sampler.violations[:5]
    second = world.status()["current"]["clientCertificateId"]
    assert second != first and world.stage_cert() == second
    # The old certificate leaves the trust store only after the switch: at the end it holds the new one only.
    wait_until(lambda: tb.certificates_in(world.trust_store_bundle(mutual["TrustStoreArn"]))
               == [tb.normalise(world.pem(second) or "")], timeout=60, what="the trust store without the old one")
