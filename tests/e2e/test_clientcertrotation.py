"""ClientCertRotation end to end: the operator process, the real API server and the AWS emulator.

While a rotation runs, a sampler thread reads what the backend would see (the trust bundle Secret)
and what API Gateway presents (each target stage's clientCertificateId, via the emulator's client
certificate operations) several times a second and records any moment where a stage presents a
certificate that the bundle does not hold. Every test requires that there was none.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import kubernetes
import pytest

from hybrid_gateway.parts import trust_bundle as tb
from hybrid_gateway_devenv.cluster import LocalCluster
from hybrid_gateway_devenv.onprem_backend import OnPremBackend
from tests.e2e.helpers import apply, condition, events, get, hybridapi, secret, wait_until

pytestmark = pytest.mark.e2e

REGION = "ap-northeast-1"
UID_TAG = "hybridgateway.io/uid"
PHASE_ORDER = ["Idle", "Generating", "PublishingTrust", "Verifying", "Switching", "Draining", "Retiring", "Idle"]


def rotation(name: str, api: str = "orders", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "region": REGION,
        "stages": [{"hybridApiRef": {"name": api}, "stage": "prod"}],
        "backendTrust": {"secretRef": {"name": f"{name}-trust", "key": "ca.pem"}},
        "gracePeriod": "4s",
        "driftCheckInterval": "2s",
    }
    body.update(spec)
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "ClientCertRotation", "metadata": {"name": name},
            "spec": body}


def verification(api: str = "orders") -> dict[str, Any]:
    return {"hybridApiRef": {"name": api}, "path": "/healthz", "method": "GET", "expectStatus": [200]}


@dataclass
class World:
    """Reads AWS (straight from the emulator) and Kubernetes (as admin) the way a test observer would."""

    cluster: LocalCluster
    endpoint_url: str
    namespace: str
    name: str
    rest_api_id: str = ""
    pems: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        api_client = kubernetes.config.new_client_from_config(str(self.cluster.admin_kubeconfig))
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.custom = kubernetes.client.CustomObjectsApi(api_client)
        self.apigw = boto3.client("apigateway", region_name=REGION, endpoint_url=self.endpoint_url)

    # ---- Kubernetes ----
    def obj(self) -> dict[str, Any]:
        return dict(self.custom.get_namespaced_custom_object(  # type: ignore[call-overload]
            "hybridgateway.io", "v1alpha1", self.namespace, "clientcertrotations", self.name))

    def status(self) -> dict[str, Any]:
        return dict(self.obj().get("status") or {})

    def bundle(self) -> str:
        try:
            found = self.core.read_namespaced_secret(f"{self.name}-trust", self.namespace)
        except kubernetes.client.exceptions.ApiException as exc:
            if exc.status == 404:
                return ""
            raise
        value = (found.data or {}).get("ca.pem")
        return base64.b64decode(value).decode() if value else ""

    # ---- AWS ----
    def stage_cert(self) -> str:
        stage = self.apigw.get_stage(restApiId=self.rest_api_id, stageName="prod")
        return str(stage.get("clientCertificateId") or "")

    def owned(self) -> list[str]:
        uid = self.obj()["metadata"]["uid"]
        found = []
        for page in self.apigw.get_paginator("get_client_certificates").paginate(limit=500):
            for cert in page["items"]:
                if (cert.get("tags") or {}).get(UID_TAG) == uid:
                    found.append(cert["clientCertificateId"])
                    self.pems[cert["clientCertificateId"]] = cert["pemEncodedCertificate"]
        return found

    def pem(self, cert_id: str) -> str | None:
        if cert_id not in self.pems:
            try:
                got = self.apigw.get_client_certificate(clientCertificateId=cert_id)
            except self.apigw.exceptions.NotFoundException:
                return None
            self.pems[cert_id] = got["pemEncodedCertificate"]
        return self.pems[cert_id]

    def violation(self) -> str | None:
        """None when the stage presents nothing or a certificate the published bundle holds."""
        cert_id = self.stage_cert()  # the stage first, then the bundle: the bundle only ever lags behind
        if not cert_id:
            return None
        pem = self.pem(cert_id)
        bundle = self.bundle()
        if pem is None or not tb.contains(bundle, pem):
            return f"stage presents {cert_id}; bundle holds {len(tb.certificates_in(bundle))} certificate(s)"
        return None


class Sampler(threading.Thread):
    """Checks the invariant and notes status.phase every ~0.1 s until stopped."""

    def __init__(self, world: World) -> None:
        super().__init__(daemon=True)
        self.world = world
        self.stop_event = threading.Event()
        self.samples = 0
        self.violations: list[str] = []
        self.phases: list[str] = []
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                problem = self.world.violation()
                phase = str(self.world.status().get("phase") or "")
            except Exception as exc:  # a read failing is not a violation; too many would be a test bug
                self.errors.append(repr(exc))
            else:
                self.samples += 1
                if problem:
                    self.violations.append(problem)
                if not self.phases or self.phases[-1] != phase:
                    self.phases.append(phase)
            self.stop_event.wait(0.1)

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.join(timeout=10)


def in_order(seen: list[str]) -> bool:
    """`seen` (consecutive duplicates removed) follows one rotation's phase order."""
    position = 0
    for phase in seen:
        try:
            position = PHASE_ORDER.index(phase, position)
        except ValueError:
            return False
    return True


GATEWAY_SECRET = "s3cr3t-value"


@pytest.fixture()
def api_ready(cluster: LocalCluster, namespace: str, account: Any, emulator: Any,
              start_operator: Any, onprem: OnPremBackend) -> Iterator[tuple[Any, World]]:
    """The operator for `namespace` and a Ready HybridApi "orders" whose targets answer from a real on-prem
    backend that requires the gateway secret header (so each verification test-invoke really goes through
    the chain); yields (operator, world for "cert")."""
    onprem.required_header = ("X-Gateway-Secret", GATEWAY_SECRET)
    operator = start_operator(namespace)
    apply(cluster, namespace, secret("orders-gw", {"token": GATEWAY_SECRET}), hybridapi("orders", account))
    waited = cluster.kubectl("wait", "-n", namespace, "hybridapi/orders", "--for=condition=Ready",
                             "--timeout=120s", check=False, timeout=150)
    assert waited.returncode == 0, waited.stderr + operator.logs()[-3000:]
    rest_api_id = get(cluster, namespace, "hybridapi", "orders")["status"]["resources"]["restApiId"]
    yield operator, World(cluster, emulator.endpoint_url, namespace, "cert", rest_api_id)


def wait_ready(cluster: LocalCluster, world: World, operator: Any, timeout: float = 90) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        obj = world.obj()
        ready = condition(obj, "Ready")
        fresh = ready.get("observedGeneration") == obj["metadata"]["generation"]
        return obj if ready.get("status") == "True" and fresh and obj["status"].get("phase") == "Idle" else None

    try:
        return dict(wait_until(ready, timeout=timeout, interval=0.3, what="ClientCertRotation Ready and Idle"))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nstatus={world.status()}\n{operator.logs()[-4000:]}") from None


def request_rotation(cluster: LocalCluster, namespace: str, name: str = "cert") -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    cluster.kubectl("patch", "-n", namespace, "clientcertrotation", name, "--type=merge",
                    "-p", f'{{"spec":{{"rotateRequestedAt":"{stamp}"}}}}')
    return stamp


def reasons(cluster: LocalCluster, namespace: str, name: str = "cert") -> list[str]:
    return [e["reason"] for e in events(cluster, namespace, name)]


def assert_settled_on_one(world: World, history: int) -> str:
    status = world.status()
    current = status["current"]["clientCertificateId"]
    assert world.owned() == [current], f"owned {world.owned()}, current {current}"
    assert world.stage_cert() == current
    assert tb.certificates_in(world.bundle()) == [tb.normalise(world.pem(current) or "")]
    assert status["trustBundleSha256"] == tb.digest(world.bundle())
    assert len(status.get("history") or []) == history
    assert "pending" not in status and "previous" not in status
    return str(current)


# ---- apply, requested rotation, drift, deletion -------------------------------------------------------------


def test_apply_rotate_on_request_repair_drift_and_delete(cluster, namespace, control, api_ready, onprem) -> None:
    operator, world = api_ready
    apply(cluster, namespace, rotation("cert", verification=verification()))
    wait_ready(cluster, world, operator)
    first = assert_settled_on_one(world, history=0)
    status = world.status()
    assert status["nextRotationTime"] and status["current"]["pemSha256"] == tb.digest(world.pem(first) or "")
    assert condition(world.obj(), "BackendTrustPublished")["status"] == "True"
    assert condition(world.obj(), "StagesUsingCurrent")["status"] == "True"
    assert condition(world.obj(), "Rotating")["status"] == "False"
    # The HybridApi shows the id and never resets it.
    wait_until(lambda: get(cluster, namespace, "hybridapi", "orders")["status"].get("clientCertificateId") == first,
               timeout=30, what="HybridApi status.clientCertificateId")

    # A rotation asked for through the spec (as GitOps would).
    since = control.last_seq()
    with Sampler(world) as sampler:
        stamp = request_rotation(cluster, namespace)
        wait_until(lambda: len(world.status().get("history") or []) == 1, timeout=90, interval=0.3,
                   what="the rotation in status.history")
        wait_ready(cluster, world, operator)
    assert sampler.samples > 20 and sampler.violations == [], sampler.violations[:5]
    assert in_order(sampler.phases) and {"Switching", "Draining"} <= set(sampler.phases), sampler.phases
    second = assert_settled_on_one(world, history=1)
    status = world.status()
    assert second != first and status["lastHandledRotateRequest"] == stamp
    assert status["history"][0]["from"] == first and status["history"][0]["to"] == second
    assert status["lastRotationTime"] == status["history"][0]["completedTime"]
    # AWS saw the documented order: generate, test-invoke the new one, switch, delete the old one.
    ops = [e["operation"] for e in control.requests(since) if e["service"] == "apigateway"
           and e["operation"] in ("GenerateClientCertificate", "TestInvokeMethod", "UpdateStage",
                                  "DeleteClientCertificate")]
    assert ops == ["GenerateClientCertificate", "TestInvokeMethod", "UpdateStage", "DeleteClientCertificate"], ops
    # The verification went through the chain to the on-prem backend, with the gateway's secret header.
    verified = [r for r in onprem.traffic() if r["path"] == "/healthz"]
    assert verified and all(r["status"] == 200 for r in verified), verified
    assert {"Created", "Updated", "Deleted", "Rotated"} <= set(reasons(cluster, namespace))

    # Out-of-band stage switch: put back by the next drift check (2 s), with a DriftCorrected Event.
    foreign = world.apigw.generate_client_certificate(description="not the operator's")["clientCertificateId"]
    world.apigw.update_stage(restApiId=world.rest_api_id, stageName="prod",
                             patchOperations=[{"op": "replace", "path": "/clientCertificateId", "value": foreign}])
    wait_until(lambda: world.stage_cert() == second, timeout=30, what="the stage switched back")
    drift = [e for e in events(cluster, namespace, "cert") if e["reason"] == "DriftCorrected"]
    assert any(foreign in e["message"] and second in e["message"] for e in drift), drift
    world.apigw.get_client_certificate(clientCertificateId=foreign)  # someone else's: left alone

    # Out-of-band deletion of the current certificate: a new rotation replaces it.
    world.apigw.delete_client_certificate(clientCertificateId=second)
    wait_until(lambda: len(world.status().get("history") or []) == 2, timeout=90, interval=0.3,
               what="a rotation after the certificate was deleted")
    wait_ready(cluster, world, operator)
    third = assert_settled_on_one(world, history=2)
    assert world.status()["history"][1]["from"] == second and third not in (first, second)
    assert any(second in e["message"] and "deleted outside" in e["message"]
               for e in events(cluster, namespace, "cert") if e["reason"] == "DriftCorrected")

    # Deletion: the stage is cleared, the certificate deleted, the bundle removed from the Secret.
    cluster.kubectl("delete", "-n", namespace, "clientcertrotation", "cert", "--timeout=60s")
    assert world.stage_cert() == ""
    with pytest.raises(world.apigw.exceptions.NotFoundException):
        world.apigw.get_client_certificate(clientCertificateId=third)
    assert world.bundle() == ""


# ---- time-driven rotation -------------------------------------------------------------------------------------


def test_rotation_becomes_due_by_the_clock(cluster, namespace, control, api_ready) -> None:
    operator, world = api_ready
    # Certificates from the emulator now live 45 s; renewing 30 s before expiry makes the first one due
    # about 15 s after it was generated, by the real clock.
    control.set_client_certificate_validity(45)
    try:
        apply(cluster, namespace, rotation("cert", renewBefore="30s"))
        wait_ready(cluster, world, operator)
        first = assert_settled_on_one(world, history=0)
        status = world.status()
        expires = dt.datetime.fromisoformat(status["current"]["expirationDate"].replace("Z", "+00:00"))
        created = dt.datetime.fromisoformat(status["current"]["createdDate"].replace("Z", "+00:00"))
        assert expires - created == dt.timedelta(seconds=45)
        assert status["nextRotationTime"] == (expires - dt.timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
        with Sampler(world) as sampler:
            wait_until(lambda: world.status().get("phase") not in (None, "Idle"), timeout=60, interval=0.2,
                       what="the rotation to start by itself")
            assert world.status()["rotation"]["reason"] == "Expiring"
            # Keep the next certificate (also 45 s) from being due at once, so the end state can be looked at.
            cluster.kubectl("patch", "-n", namespace, "clientcertrotation", "cert", "--type=merge",
                            "-p", '{"spec":{"renewBefore":"2s"}}')
            wait_until(lambda: len(world.status().get("history") or []) == 1, timeout=60, interval=0.3,
                       what="the rotation in status.history")
            wait_ready(cluster, world, operator)
        assert sampler.samples > 20 and sampler.violations == [], sampler.violations[:5]
        assert in_order(sampler.phases), sampler.phases
        second = assert_settled_on_one(world, history=1)
        assert world.status()["history"][0]["from"] == first and second != first
        assert "ExpiringSoon" in reasons(cluster, namespace)
    finally:
        control.set_client_certificate_validity(None)


# ---- verification -----------------------------------------------------------------------------------------------


def test_failed_verification_keeps_the_stage_on_the_old_certificate_until_the_backend_accepts(
    cluster, namespace, control, api_ready
) -> None:
    operator, world = api_ready
    apply(cluster, namespace, rotation("cert", verification=verification()))
    wait_ready(cluster, world, operator)
    old = assert_settled_on_one(world, history=0)
    # The backend rejects every new certificate until told otherwise.
    control.set_test_invoke_response(403, body='{"message":"Forbidden"}')
    try:
        with Sampler(world) as sampler:
            request_rotation(cluster, namespace)

            def failed_twice() -> dict[str, Any] | None:
                status = world.status()
                attempts = int((status.get("rotation") or {}).get("verificationAttempts") or 0)
                return status if attempts >= 2 else None

            status = wait_until(failed_twice, timeout=60, interval=0.3, what="two failed verifications")
            pending = status["pending"]["clientCertificateId"]
            obj = world.obj()
            rotating = condition(obj, "Rotating")
            assert status["phase"] == "Verifying" and world.stage_cert() == old
            assert rotating["status"] == "True" and rotating["reason"] == "VerificationFailed", rotating
            assert f"test-invoke GET /healthz with certificate {pending} answered 403" in rotating["message"]
            assert condition(obj, "Ready")["status"] == "False"
            assert condition(obj, "Ready")["reason"] == "VerificationFailed"
            assert "VerificationFailed" in reasons(cluster, namespace)
            assert sorted(world.owned()) == sorted([old, pending])

            # The backend starts accepting the new certificate: the rotation completes.
            control.set_test_invoke_response(200, client_certificate_id=pending)
            wait_until(lambda: len(world.status().get("history") or []) == 1, timeout=60, interval=0.3,
                       what="the rotation to complete after verification passed")
            wait_ready(cluster, world, operator)
        assert sampler.violations == [], sampler.violations[:5]
        assert sampler.phases.count("Verifying") == 1 and in_order(sampler.phases), sampler.phases
        assert assert_settled_on_one(world, history=1) == pending
    finally:
        control.clear_test_invoke_responses()


# ---- SIGKILL at every phase boundary ------------------------------------------------------------------------------


def test_operator_killed_at_every_phase_resumes_without_twins_or_untrusted_certificates(
    cluster, namespace, control, api_ready, start_operator
) -> None:
    operator, world = api_ready
    apply(cluster, namespace, rotation("cert", verification=verification()))
    wait_ready(cluster, world, operator)
    old = assert_settled_on_one(world, history=0)
    # Every pass of this object starts by listing client certificates: slowing that call down makes
    # each phase stay visible in status for at least a second, so the kill lands on its boundary.
    control.set_faults(rate=0.0, latency_ms=1000, services=["apigateway"], operations=["GetClientCertificates"])
    killed_in: list[str] = []
    try:
        with Sampler(world) as sampler:
            request_rotation(cluster, namespace)
            for phase in ["Generating", "PublishingTrust", "Verifying", "Switching", "Draining", "Retiring"]:
                wait_until(lambda phase=phase: world.status().get("phase") == phase,
                           timeout=60, interval=0.05, what=f"phase {phase}")
                operator.kill()
                killed_in.append(str(world.status().get("phase")))
                operator = start_operator(namespace)
            wait_until(lambda: len(world.status().get("history") or []) == 1, timeout=90, interval=0.3,
                       what="the rotation to complete")
            control.clear_faults()
            wait_ready(cluster, world, operator)
        assert sampler.violations == [], sampler.violations[:5]
        assert in_order(sampler.phases), sampler.phases
    finally:
        control.clear_faults()
    assert killed_in == ["Generating", "PublishingTrust", "Verifying", "Switching", "Draining", "Retiring"], killed_in
    new = assert_settled_on_one(world, history=1)
    entry = world.status()["history"][0]
    assert new != old and (entry["from"], entry["to"]) == (old, new)
