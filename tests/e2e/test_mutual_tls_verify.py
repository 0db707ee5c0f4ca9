"""Issue 10, item 1, `verify`: the ALB listener checks the stage's client certificate against an ELB trust store
built from the ClientCertRotation's S3 bundle, and the rotation keeps the trust store in step with its phases.

Two observers run through a whole rotation: a sampler reads, several times a second, what the ALB checks
against (the trust store's CA bundle, as GetTrustStoreCaCertificatesBundle hands it out, whenever the
listener is in verify mode) and what API Gateway presents (the stage's clientCertificateId); and a client
sends at least 20 requests a second to the stage's invoke URL, through the emulated data plane (VPC link,
NLB, the ALB's TLS handshake that checks the client certificate, the on-prem backend). Neither may see a
failure. The negative control switches the stage to a certificate the trust store lacks, by hand, under
the same load: requests fail, so the load test can fail.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
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


class Load:
    """GET /prod/orders on the stage's invoke URL at `rate` requests a second from `workers` clients (one
    connection per request, as fresh clients make them: each a new TLS handshake API Gateway -> ALB),
    counting what does not answer 200."""

    def __init__(self, control: Any, api_id: str, rate: float = 40.0, workers: int = 12) -> None:
        self.endpoint = control.invoke_endpoint()
        self.host = f"{api_id}.execute-api.{REGION}.amazonaws.com"
        self.context = ssl.create_default_context(cadata=control.public_ca()["certificate"])
        self.interval = workers / rate  # each worker's share of the schedule
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.failed: list[str] = []
        self.started = self.ended = 0.0
        self.threads = [threading.Thread(target=self.run, args=(i / rate,), daemon=True) for i in range(workers)]

    def one(self) -> None:
        raw = socket.create_connection((self.endpoint["host"], self.endpoint["port"]), timeout=10)
        connection = http.client.HTTPSConnection(self.host, self.endpoint["port"], context=self.context, timeout=10)
        connection.sock = self.context.wrap_socket(raw, server_hostname=self.host)
        try:
            connection.request("GET", "/prod/orders", headers={"Host": self.host})
            answer = connection.getresponse()
            body = answer.read().decode(errors="replace")
            if answer.status != 200:
                with self.lock:
                    self.failed.append(f"{answer.status} {body[:120]}")
        finally:
            connection.close()

    def run(self, offset: float) -> None:
        sent = 0
        while not self.stop_event.is_set():
            due = self.started + offset + sent * self.interval
            if self.stop_event.wait(max(0.0, due - time.monotonic())):
                break
            sent += 1
            with self.lock:
                self.sent += 1
            try:
                self.one()
            except OSError as exc:
                with self.lock:
                    self.failed.append(repr(exc))

    @property
    def rate(self) -> float:
        return self.sent / max(self.ended - self.started, 1e-9)

    def __enter__(self) -> Load:
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.ended = time.monotonic()
        for thread in self.threads:
            thread.join(timeout=30)


def load_while_the_stage_presents_a_stray_certificate(world: World, control: Any, first: str,
                                                      stray: str = "") -> Load:
    """Under load, put on the stage by hand a certificate that no bundle holds (the wrong order: not the
    operator's), until the rotation's drift check puts `first` back. Returns the load, which saw it all.
    The stray is a generated client certificate (deleted afterwards) unless the caller gives one (an ACM ARN)."""
    generated = not stray
    if generated:
        stray = world.apigw.generate_client_certificate(description="negative control")["clientCertificateId"]
    try:
        with Load(control, world.rest_api_id) as load:
            time.sleep(1.0)
            world.apigw.update_stage(restApiId=world.rest_api_id, stageName="prod", patchOperations=[
                {"op": "replace", "path": "/clientCertificateId", "value": stray}])
            wait_until(lambda: world.stage_cert() == first, timeout=60, interval=0.2, what="the stage repaired")
            time.sleep(1.0)
        return load
    finally:
        if generated:
            world.apigw.delete_client_certificate(clientCertificateId=stray)


def _verify_chain(cluster: Any, namespace: str, account: Any, emulator: Any, onprem: Any,
                  start_operator: Any) -> tuple[Any, TrustStoreWorld, dict[str, Any], str]:
    """A HybridApi in verify mode and the ClientCertRotation of its stage (S3 bundle), both Ready; the backend
    checks the gateway secret. Returns the operator, the observer, the rotation and the first certificate."""
    operator = start_operator(namespace)
    onprem.required_header = ("X-Gateway-Secret", "s3cr3t-value")
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
    return operator, world, rotated, first


def test_verify_mode_keeps_the_trust_store_ahead_of_every_switch_under_load(
    cluster, namespace, account, emulator, control, onprem, start_operator
) -> None:
    operator, world, _, first = _verify_chain(cluster, namespace, account, emulator, onprem, start_operator)
    mutual = world.listener()["MutualAuthentication"]

    with Load(control, world.rest_api_id) as load, Sampler(world) as sampler:
        time.sleep(1.0)  # traffic flows before the rotation starts
        request_rotation(cluster, namespace)
        wait_until(lambda: len(world.status().get("history") or []) == 1, timeout=120, interval=0.3,
                   what="the rotation in status.history")
        wait_rotation_ready(cluster, world, operator)
    print(f"\nrotation under load (verify): {load.sent} requests sent at {load.rate:.1f}/s, "
          f"{len(load.failed)} failed; {sampler.samples} samples of the trust store")
    assert load.sent >= 100, (load.sent, load.rate)  # a count, not a rate: the rate depends on the machine
    assert load.failed == [], load.failed[:5]
    assert sampler.samples > 20 and not sampler.errors[:3], sampler.errors[:3]
    assert sampler.violations == [], sampler.violations[:5]
    second = world.status()["current"]["clientCertificateId"]
    assert second != first and world.stage_cert() == second
    # The old certificate leaves the trust store only after the switch: at the end it holds the new one only.
    wait_until(lambda: tb.certificates_in(world.trust_store_bundle(mutual["TrustStoreArn"]))
               == [tb.normalise(world.pem(second) or "")], timeout=60, what="the trust store without the old one")


def test_negative_control_a_stage_switched_to_a_certificate_the_trust_store_lacks_fails_requests(
    cluster, namespace, account, emulator, control, onprem, start_operator
) -> None:
    operator, world, _, first = _verify_chain(cluster, namespace, account, emulator, onprem, start_operator)
    load = load_while_the_stage_presents_a_stray_certificate(world, control, first)
    print(f"\nnegative control (verify): {load.sent} requests sent, {len(load.failed)} failed")
    assert load.failed, "a stage presenting a certificate the trust store lacks must fail requests"
    assert all(f.startswith("500 ") for f in load.failed), load.failed[:5]

    # Deleting the HybridApi deletes its trust store too (after the ALB whose listener used it).
    store_arn = get(cluster, namespace, "hybridapi", "orders")["status"]["resources"]["trustStoreArn"]
    cluster.kubectl("delete", "-n", namespace, "hybridapi", "orders", "--wait=false")
    elbv2 = boto3.client("elbv2", region_name=REGION, endpoint_url=emulator.endpoint_url)

    def store_gone() -> bool:
        try:
            elbv2.describe_trust_stores(TrustStoreArns=[store_arn])
        except elbv2.exceptions.TrustStoreNotFoundException:
            return True
        return False
    try:
        wait_until(store_gone, timeout=120, interval=1.0, what="the trust store deleted with the HybridApi")
    except AssertionError as exc:
        left = cluster.kubectl("get", "-n", namespace, "hybridapi", "orders", "-o", "json", check=False).stdout
        raise AssertionError(f"{exc}\n{left[-3000:]}\n{operator.logs()[-3000:]}") from None
