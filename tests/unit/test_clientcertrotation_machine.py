"""The ClientCertRotation state machine, pass by pass, against the in-process AWS emulator.

Kubernetes is a small in-memory fake (status merge patches, Secret/ConfigMap keys) and time is a
fake clock given to the reconciler, so every phase, retry and grace period is driven exactly.
After every AWS write and every bundle write the invariant is checked: each target stage presents
a certificate whose PEM is in the published trust bundle. The crash tests stop a pass (with an
exception no handler catches, as SIGKILL would) after each write of a rotation in turn, start a new
reconciler, and require that the rotation still completes with exactly one certificate left.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from tests.fakes import DataObject, FakeKube

from hybrid_gateway.aws import AwsClients
from hybrid_gateway.parts import trust_bundle as tb
from hybrid_gateway.reconcilers.base import Runtime
from hybrid_gateway.reconcilers.clientcertrotation import (
    DRAINING,
    GENERATING,
    IDLE,
    PUBLISHING,
    RETIRING,
    SWITCHING,
    VERIFYING,
    ClientCertRotationReconciler,
)

REGION = "ap-northeast-1"
NS = "team-a"
NO_LIMITS = {"apigateway": 1e6, "s3": 1e6}  # the token buckets would only slow the tests down


def hybrid_api_spec() -> dict[str, Any]:
    """A valid HybridApi spec with stage prod (the reconciler reads the stage name through the API model)."""
    return {
        "region": REGION,
        "network": {"vpcId": "vpc-0123456789abcdef0",
                    "subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]},
        "backend": {"targets": [{"ip": "192.168.10.5", "port": 443}]},
        "frontDoor": {"hostname": "orders-backend.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ",
                      "certificate": {"request": {}}},
        "api": {"routes": [{"path": "/{proxy+}"}], "stage": {"name": "prod"}},
    }


class Crash(BaseException):
    """Stops a pass dead, like SIGKILL: no handler in the operator catches a BaseException."""


@dataclass
class Aws:
    endpoint_url: str
    control: Any

    def client(self, service: str) -> Any:
        factory: Any = boto3.client
        return factory(service, region_name=REGION, endpoint_url=self.endpoint_url,
                       config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorServer

    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": REGION}.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        server = EmulatorServer(port=0).start()
        mp.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        control = EmulatorControl(server.endpoint_url)
        # A unit test of the rotation state machine on a fake clock: AWS's delays and quotas are not
        # what it tests, so it says it needs instant AWS (the emulator's defaults follow AWS).
        control.set_instant_aws()
        control.disable_quotas()
        try:
            yield Aws(server.endpoint_url, control)
        finally:
            server.stop()


def make_api(apigw: Any, name: str) -> str:
    """A REST API like a HybridApi's: ANY /{proxy+} as an HTTP_PROXY integration, deployed to prod."""
    api = apigw.create_rest_api(name=name)
    proxy = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}")
    apigw.put_method(restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY", authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY", type="HTTP_PROXY",
                          integrationHttpMethod="ANY", uri="https://backend.example.com/{proxy}")
    deployment = apigw.create_deployment(restApiId=api["id"])
    apigw.create_stage(restApiId=api["id"], stageName="prod", deploymentId=deployment["id"])
    return str(api["id"])


class Harness:
    """One ClientCertRotation over two HybridApi stages, a fake clock and invariant checks."""

    def __init__(self, aws: Aws, **spec: Any) -> None:
        self.aws = aws
        self.apigw = aws.client("apigateway")
        self.s3 = aws.client("s3")
        self.kube = FakeKube(after_write=lambda what: self.check())
        # The fake clock starts at the real time: the emulator dates certificates by the real clock.
        self.clock = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.violations: list[str] = []
        self.crash_at: int | None = None  # crash after this many writes (AWS + Kubernetes)
        self.write_count = 0
        self.apis = {name: make_api(self.apigw, f"{name}-{uuid.uuid4().hex[:6]}") for name in ("orders", "billing")}
        for name, api_id in self.apis.items():
            self.kube.objects[("hybridapis", NS, name)] = {
                "metadata": {"name": name, "namespace": NS},
                "spec": hybrid_api_spec(),
                "status": {"resources": {"restApiId": api_id}},
            }
        self.uid = str(uuid.uuid4())
        body_spec: dict[str, Any] = {
            "region": REGION,
            "stages": [{"hybridApiRef": {"name": n}, "stage": "prod"} for n in self.apis],
            "backendTrust": {"secretRef": {"name": "backend-trust", "key": "ca.pem"}},
            "renewBefore": "720h",
            "gracePeriod": "20s",
        }
        body_spec.update(spec)
        self.kube.objects[("clientcertrotations", NS, "cert")] = {
            "apiVersion": "hybridgateway.io/v1alpha1",
            "kind": "ClientCertRotation",
            "metadata": {"name": "cert", "namespace": NS, "uid": self.uid, "generation": 1,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": body_spec,
        }
        self.restart()

    # ---- operator ----
    def restart(self) -> None:
        """A new reconciler with new AWS clients, as after an operator restart."""
        self.rec = ClientCertRotationReconciler(Runtime(AwsClients(max_attempts=1, rate_limits=NO_LIMITS), self.kube))  # type: ignore[arg-type]
        self.rec.now = lambda: self.clock  # type: ignore[method-assign]
        events = self.rec.runtime.aws.client("apigateway", REGION).meta.events
        events.register("after-call.apigateway", self._after_aws_call)
        events_s3 = self.rec.runtime.aws.client("s3", REGION).meta.events
        events_s3.register("after-call.s3", self._after_aws_call)

    def _after_aws_call(self, model: Any, **_: Any) -> None:
        name = model.name
        if name.startswith(("Get", "TestInvoke")):
            return
        self.kube.writes.append(name)
        self.check()
        self._maybe_crash()

    def _maybe_crash(self) -> None:
        self.write_count += 1
        if self.crash_at is not None and self.write_count == self.crash_at:
            self.crash_at = None
            raise Crash(f"crash after write {self.write_count}")

    @property
    def obj(self) -> dict[str, Any]:
        return self.kube.objects[("clientcertrotations", NS, "cert")]

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.obj.get("status") or {})

    def condition(self, type_: str) -> dict[str, Any]:
        return next((c for c in self.status.get("conditions") or [] if c["type"] == type_), {})

    def patch_spec(self, **values: Any) -> None:
        self.obj["spec"].update(values)
        self.obj["metadata"]["generation"] += 1

    def run(self, advance: float = 0.0) -> Any:
        """One pass (after moving the clock); a Crash restarts the operator instead."""
        self.clock += dt.timedelta(seconds=advance)
        self.kube.after_write = self._kube_write
        try:
            return self.rec.run_pass(copy.deepcopy(self.obj))
        except Crash:
            self.restart()
            return None

    def _kube_write(self, what: str) -> None:
        self.check()
        self._maybe_crash()

    def until(self, phase: str = IDLE, advance: float = 5.0, limit: int = 40) -> list[str]:
        """Run passes until `phase` is reached and Ready=True; returns the phases seen after each pass."""
        seen = []
        for _ in range(limit):
            self.run(advance)
            seen.append(self.status.get("phase", ""))
            if seen[-1] == phase and (phase != IDLE or self.condition("Ready").get("status") == "True"):
                return seen
        raise AssertionError(f"never reached {phase}: {seen}; status={self.status}")

    # ---- AWS and bundle as they are ----
    def stage_cert(self, name: str) -> str:
        return str(self.apigw.get_stage(restApiId=self.apis[name], stageName="prod").get("clientCertificateId") or "")

    def owned(self) -> list[str]:
        found = []
        for page in self.apigw.get_paginator("get_client_certificates").paginate(limit=500):
            found += [c["clientCertificateId"] for c in page["items"]
                      if (c.get("tags") or {}).get("hybridgateway.io/uid") == self.uid]
        return found

    def pem(self, cert_id: str) -> str | None:
        try:
            return str(self.apigw.get_client_certificate(clientCertificateId=cert_id)["pemEncodedCertificate"])
        except self.apigw.exceptions.NotFoundException:
            return None

    def bundle(self) -> str:
        trust = self.obj["spec"]["backendTrust"]
        kind, ref = ("Secret", trust["secretRef"]) if "secretRef" in trust else ("ConfigMap", trust["configMapRef"])
        return self.kube.data_key(kind, NS, ref["name"], ref["key"]) or ""

    def bundle_ids(self) -> list[str]:
        blocks = tb.certificates_in(self.bundle())
        return [i for i in self.owned() if tb.normalise(self.pem(i) or "") in blocks]

    def check(self) -> None:
        """The invariant: every target stage presents a certificate the published bundle holds."""
        bundle = self.bundle()
        for name in self.apis:
            cert_id = self.stage_cert(name)
            if not cert_id:
                continue
            pem = self.pem(cert_id)
            if pem is None or not tb.contains(bundle, pem):
                self.violations.append(f"{name} presents {cert_id}, not in the bundle (phase "
                                       f"{self.status.get('phase')}, writes {self.kube.writes[-3:]})")

    def events(self, report: Any) -> list[tuple[str, str]]:
        return [(e.reason, e.message) for e in (report.events if report else [])]


@pytest.fixture()
def h(aws: Aws) -> Iterator[Harness]:
    aws.control.clear_test_invoke_responses()
    harness = Harness(aws)
    yield harness
    aws.control.clear_test_invoke_responses()


def created(h: Harness) -> str:
    """Drive the first certificate to Ready; returns its id."""
    phases = h.until(IDLE)
    assert phases == [GENERATING, PUBLISHING, SWITCHING, IDLE]
    return str(h.status["current"]["clientCertificateId"])


# ---- first creation -----------------------------------------------------------------------------------


def test_first_creation_generates_publishes_and_switches(h: Harness) -> None:
    reports = []
    for _ in range(4):
        reports.append(h.run(1))
    status = h.status
    assert status["phase"] == IDLE and h.condition("Ready")["status"] == "True"
    cert_id = status["current"]["clientCertificateId"]
    assert h.owned() == [cert_id]
    assert h.stage_cert("orders") == h.stage_cert("billing") == cert_id
    assert h.bundle() == tb.compose([h.pem(cert_id) or ""])
    assert status["trustBundleSha256"] == tb.digest(h.bundle())
    assert status["current"]["pemSha256"] == tb.digest(h.pem(cert_id) or "")
    assert "pending" not in status and "previous" not in status and status.get("history", []) == []
    created_at = dt.datetime.fromisoformat(status["current"]["createdDate"].replace("Z", "+00:00"))
    expires = dt.datetime.fromisoformat(status["current"]["expirationDate"].replace("Z", "+00:00"))
    assert expires - created_at == dt.timedelta(days=365)
    assert status["nextRotationTime"] == (expires - dt.timedelta(hours=720)).isoformat().replace("+00:00", "Z")
    assert [s["clientCertificateId"] for s in status["stages"]] == [cert_id, cert_id]
    assert h.condition("Rotating")["status"] == "False"
    assert h.condition("BackendTrustPublished")["status"] == "True"
    assert h.condition("StagesUsingCurrent")["status"] == "True"
    reasons = [e[0] for r in reports for e in h.events(r)]
    assert reasons.count("Created") >= 2 and reasons.count("Updated") == 2  # bundle + cert, two stages
    assert h.kube.data[("Secret", NS, "backend-trust")].owners[0]["uid"] == h.uid
    assert h.violations == []


def test_a_check_that_finds_nothing_wrong_writes_nothing(h: Harness) -> None:
    created(h)
    h.kube.writes.clear()
    report = h.run(60)
    assert [w for w in h.kube.writes if not w.startswith("patch_status")] == []
    assert report.requeue_after is None and h.events(report) == []


# ---- rotations ------------------------------------------------------------------------------------------


def test_requested_rotation_goes_through_every_step_in_order(h: Harness) -> None:
    h.patch_spec(verification={"hybridApiRef": {"name": "orders"}, "path": "/healthz", "method": "GET",
                               "expectStatus": [200]})
    old = created(h)
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    phases, reasons = [], []
    for _ in range(12):
        report = h.run(5)
        phases.append(h.status["phase"])
        reasons += [e[0] for e in h.events(report)]
        if phases[-1] == IDLE:
            break
    assert phases == [GENERATING, PUBLISHING, VERIFYING, SWITCHING, DRAINING, DRAINING, DRAINING, DRAINING,
                      RETIRING, IDLE]
    status = h.status
    new = status["current"]["clientCertificateId"]
    assert new != old and h.owned() == [new]
    assert h.stage_cert("orders") == h.stage_cert("billing") == new
    assert h.bundle() == tb.compose([h.pem(new) or ""])
    assert status["lastHandledRotateRequest"] == "2026-03-01T12:01:00Z"
    assert [(e["from"], e["to"]) for e in status["history"]] == [(old, new)]
    assert status["rotation"]["reason"] == "Requested"
    assert "previous" not in status and "pending" not in status
    assert reasons.count("Rotated") == 1 and "Deleted" in reasons
    assert h.violations == []
    # The same request value does not rotate again.
    h.run(5)
    assert h.status["phase"] == IDLE and h.owned() == [new]


def test_the_bundle_holds_both_certificates_from_publication_until_the_grace_period_ends(h: Harness) -> None:
    old = created(h)
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    h.until(PUBLISHING)
    new = h.status["pending"]["clientCertificateId"]
    assert h.bundle_ids() == [old]  # generated, not yet published
    h.until(SWITCHING)
    assert sorted(h.bundle_ids()) == sorted([old, new]) and h.stage_cert("orders") == old
    h.until(DRAINING)
    assert h.stage_cert("orders") == new and sorted(h.bundle_ids()) == sorted([old, new])
    assert h.condition("Ready")["status"] == "False"  # a short grace period keeps the pass coming back
    h.run(10)
    assert h.status["phase"] == DRAINING  # 10 s of 20
    h.until(IDLE, advance=10)
    assert h.bundle_ids() == [new] and h.owned() == [new]
    assert h.violations == []


def test_time_driven_rotation_starts_when_renew_before_is_reached(h: Harness) -> None:
    h.patch_spec(renewBefore="8759h")  # due one hour after generation (certificates live 8760 h)
    first = created(h)
    h.run(60)
    assert h.status["phase"] == IDLE
    report = h.run(3600)
    assert h.status["phase"] == GENERATING and h.status["rotation"]["reason"] == "Expiring"
    assert any(e[0] == "ExpiringSoon" and first in e[1] for e in h.events(report))
    assert h.condition("Ready")["status"] == "False" and report.requeue_after is not None
    h.patch_spec(renewBefore="720h")  # the next certificate is not due at once
    h.until(IDLE)
    new = h.status["current"]["clientCertificateId"]
    assert h.status["history"][-1]["from"] == first and h.owned() == [new] and h.violations == []


def test_not_due_before_renew_before(h: Harness) -> None:
    created(h)
    h.run(3600 * 24 * 300)  # 300 days later: 65 days left, renewBefore 30 days
    assert h.status["phase"] == IDLE
    h.run(3600 * 24 * 36)  # 29 days left
    assert h.status["phase"] == GENERATING and h.status["rotation"]["reason"] == "Expiring"


def test_a_long_grace_period_reports_ready_and_finishes_on_a_later_check(h: Harness) -> None:
    h.patch_spec(gracePeriod="10m")
    created(h)
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    report = None
    for _ in range(6):
        report = h.run(1)
        if h.status["phase"] == DRAINING:
            break
    assert h.status["phase"] == DRAINING
    assert report is not None and report.requeue_after is None  # no quick requeue for 10 minutes
    assert h.condition("Ready")["status"] == "True"
    assert h.condition("Rotating")["status"] == "True" and h.condition("Rotating")["reason"] == DRAINING
    h.run(300)
    assert h.status["phase"] == DRAINING
    h.run(301)
    assert h.status["phase"] == RETIRING
    h.run(1)
    assert h.status["phase"] == IDLE and len(h.owned()) == 1 and h.violations == []


# ---- verification ------------------------------------------------------------------------------------------


def test_failed_verification_keeps_the_old_certificate_and_retries_with_backoff(h: Harness) -> None:
    h.patch_spec(verification={"hybridApiRef": {"name": "orders"}, "path": "/healthz", "method": "GET",
                               "expectStatus": [200, 204]})
    old = created(h)
    h.aws.control.set_test_invoke_response(403, body='{"message":"Forbidden"}')  # every certificate
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    h.until(VERIFYING, advance=1)
    new = h.status["pending"]["clientCertificateId"]
    report = h.run(1)
    assert h.status["phase"] == VERIFYING and h.stage_cert("orders") == old
    rotating = h.condition("Rotating")
    assert rotating["status"] == "True" and rotating["reason"] == "VerificationFailed"
    assert f"test-invoke GET /healthz with certificate {new} answered 403" in rotating["message"]
    assert h.condition("Ready")["reason"] == "VerificationFailed"
    assert any(e[0] == "VerificationFailed" for e in h.events(report))
    assert report.requeue_after is not None
    assert h.status["rotation"]["verificationAttempts"] == 1

    # Before the backoff ends no test-invoke is made; after it, another attempt.
    seq = h.aws.control.last_seq()
    h.run(1)
    assert h.aws.control.count(operation="TestInvokeMethod", since=seq) == 0
    h.run(3)
    assert h.aws.control.count(operation="TestInvokeMethod", since=seq) == 1
    assert h.status["rotation"]["verificationAttempts"] == 2 and h.stage_cert("orders") == old

    # The backend starts accepting the new certificate (204 is one of the expected answers).
    h.aws.control.set_test_invoke_response(204, client_certificate_id=new)
    phases = h.until(IDLE, advance=7)
    assert SWITCHING in phases and h.stage_cert("orders") == new and h.owned() == [new]
    assert h.violations == []


def test_verification_path_matching_no_route_is_stalled(h: Harness) -> None:
    created(h)
    h.patch_spec(verification={"hybridApiRef": {"name": "orders"}, "path": "/", "method": "GET"},
                 rotateRequestedAt="2026-03-01T12:01:00Z")
    h.until(VERIFYING, advance=1)
    h.run(1)
    stalled = h.condition("Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "VerificationRouteNotFound"
    assert h.status["phase"] == VERIFYING and h.violations == []


# ---- crashes ---------------------------------------------------------------------------------------------------


def rotation_writes(aws: Aws) -> int:
    """How many writes a clean requested rotation (with verification) makes."""
    h = Harness(aws, verification={"hybridApiRef": {"name": "orders"}, "path": "/x"})
    created(h)
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    h.write_count = 0
    h.until(IDLE, advance=7)
    return h.write_count


def test_a_crash_after_any_write_of_a_rotation_resumes_without_twins_or_broken_trust(aws: Aws) -> None:
    aws.control.clear_test_invoke_responses()
    total = rotation_writes(aws)
    assert total >= 15  # generate, 2 bundle writes, 2 stage switches, delete, a status write per pass
    for crash_at in range(1, total + 1):
        h = Harness(aws, verification={"hybridApiRef": {"name": "orders"}, "path": "/x"})
        old = created(h)
        h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
        h.write_count, h.crash_at = 0, crash_at
        h.until(IDLE, advance=7)
        assert h.crash_at is None, f"crash point {crash_at} never reached"
        new = h.status["current"]["clientCertificateId"]
        assert new != old and h.owned() == [new], f"crash after write {crash_at}: {h.owned()}"
        assert h.stage_cert("orders") == h.stage_cert("billing") == new
        assert h.bundle_ids() == [new]
        assert [(e["from"], e["to"]) for e in h.status["history"]] == [(old, new)]
        assert h.violations == [], f"crash after write {crash_at}"


def test_a_certificate_generated_just_before_a_crash_is_adopted(h: Harness) -> None:
    old = created(h)
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    h.run(1)
    assert h.status["phase"] == GENERATING
    h.write_count, h.crash_at = 0, 1  # GenerateClientCertificate is the pass's first write
    h.run(1)
    assert h.status["phase"] == GENERATING and "pending" not in h.status and len(h.owned()) == 2
    twin = next(i for i in h.owned() if i != old)
    report = h.run(1)
    assert h.status["pending"]["clientCertificateId"] == twin and len(h.owned()) == 2
    assert any("Adopted" in e[1] for e in h.events(report))


# ---- drift ------------------------------------------------------------------------------------------------------


def test_a_stage_switched_out_of_band_is_put_back(h: Harness) -> None:
    cert_id = created(h)
    foreign = h.apigw.generate_client_certificate(description="someone else's")["clientCertificateId"]
    h.apigw.update_stage(restApiId=h.apis["billing"], stageName="prod",
                         patchOperations=[{"op": "replace", "path": "/clientCertificateId", "value": foreign}])
    report = h.run(60)
    assert h.stage_cert("billing") == cert_id
    drift = [e for e in h.events(report) if e[0] == "DriftCorrected"]
    assert drift and f"clientCertificateId {foreign} -> {cert_id}" in drift[0][1]
    assert h.status["drift"]["corrections"] == 1
    assert h.apigw.get_client_certificate(clientCertificateId=foreign)  # not ours: never deleted


def test_a_tampered_bundle_is_rewritten(h: Harness) -> None:
    cert_id = created(h)
    h.kube.data[("Secret", NS, "backend-trust")].data["ca.pem"] = "garbage"
    report = h.run(60)
    assert h.bundle() == tb.compose([h.pem(cert_id) or ""])
    assert any(e[0] == "DriftCorrected" and "trust-bundle" in e[1] for e in h.events(report))


def test_the_current_certificate_deleted_out_of_band_starts_a_rotation(h: Harness) -> None:
    old = created(h)
    h.apigw.delete_client_certificate(clientCertificateId=old)
    report = h.run(60)
    assert h.status["phase"] == GENERATING and h.status["rotation"]["reason"] == "CertificateDeleted"
    assert any(e[0] == "DriftCorrected" and old in e[1] for e in h.events(report))
    # (Until the switch the stages present the deleted, already unusable, certificate.)
    h.until(IDLE)
    new = h.status["current"]["clientCertificateId"]
    assert h.owned() == [new] and h.stage_cert("orders") == new and h.bundle_ids() == [new]
    assert h.status["history"][-1]["from"] == old


def test_the_pending_certificate_deleted_out_of_band_is_replaced(h: Harness) -> None:
    old = created(h)
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    h.until(PUBLISHING, advance=1)
    h.run(1)
    pending = h.status["pending"]["clientCertificateId"]
    h.apigw.delete_client_certificate(clientCertificateId=pending)
    h.until(IDLE)
    new = h.status["current"]["clientCertificateId"]
    assert new not in (old, pending) and h.owned() == [new] and h.violations == []


def test_leftover_certificates_of_the_owner_are_deleted_when_idle(h: Harness) -> None:
    cert_id = created(h)
    stray = h.rec.runtime.aws.client("apigateway", REGION).generate_client_certificate(
        tags={"hybridgateway.io/uid": h.uid, "hybridgateway.io/part": "client-certificate"})
    h.run(60)
    assert h.owned() == [cert_id] and stray["clientCertificateId"] != cert_id


# ---- inputs --------------------------------------------------------------------------------------------------------


def test_a_missing_hybridapi_is_stalled_without_writes(h: Harness) -> None:
    del h.kube.objects[("hybridapis", NS, "billing")]
    h.run()
    stalled = h.condition("Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "HybridApiNotFound"
    assert f"HybridApi {NS}/billing" in stalled["message"] and h.owned() == []


def test_a_hybridapi_without_a_rest_api_yet_is_waited_for(h: Harness) -> None:
    h.kube.objects[("hybridapis", NS, "billing")]["status"] = {}
    report = h.run()
    assert report.requeue_after is not None and h.owned() == []
    assert h.condition("StagesUsingCurrent")["reason"] == "WaitingForStages"
    assert h.condition("Stalled")["status"] == "False"


def test_a_stage_the_hybridapi_does_not_have_is_stalled(h: Harness) -> None:
    h.patch_spec(stages=[{"hybridApiRef": {"name": "orders"}, "stage": "dev"}])
    h.run()
    assert h.condition("Stalled")["reason"] == "StageNotFound"
    assert "its stage is prod" in h.condition("Stalled")["message"]


def test_a_stage_named_by_an_older_rotation_is_stalled(h: Harness) -> None:
    other = copy.deepcopy(h.obj)
    other["metadata"].update(name="older", uid="uid-older", creationTimestamp="2025-01-01T00:00:00Z")
    h.kube.objects[("clientcertrotations", NS, "older")] = other
    h.run()
    assert h.condition("Stalled")["reason"] == "StageClaimed" and h.owned() == []


# ---- S3 copy, ConfigMap and deletion ------------------------------------------------------------------------------


def test_s3_copy_and_configmap_target(aws: Aws) -> None:
    bucket = f"trust-{uuid.uuid4().hex[:8]}"
    h = Harness(aws, backendTrust={"configMapRef": {"name": "trust-cm", "key": "bundle.pem"},
                                   "s3": {"bucket": bucket, "key": "orders/trust.pem"}})
    h.until(PUBLISHING)
    h.run()
    assert h.condition("Stalled")["reason"] == "BucketNotFound"
    assert "does not exist" in h.condition("Stalled")["message"]
    h.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    h.until(IDLE)
    cert_id = h.status["current"]["clientCertificateId"]
    want = tb.compose([h.pem(cert_id) or ""])
    assert h.kube.data_key("ConfigMap", NS, "trust-cm", "bundle.pem") == want
    assert h.s3.get_object(Bucket=bucket, Key="orders/trust.pem")["Body"].read().decode() == want

    result = h.rec.run_finalize(copy.deepcopy(h.obj))
    assert result.done
    assert h.owned() == [] and h.stage_cert("orders") == "" and h.stage_cert("billing") == ""
    assert h.kube.data_key("ConfigMap", NS, "trust-cm", "bundle.pem") is None
    with pytest.raises(h.s3.exceptions.NoSuchKey):
        h.s3.get_object(Bucket=bucket, Key="orders/trust.pem")
    assert [e.reason for e in result.events].count("Deleted") >= 3


def test_delete_clears_stages_then_deletes_certificates_and_the_bundle(h: Harness) -> None:
    created(h)
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    h.until(DRAINING)  # two certificates exist mid-rotation
    assert len(h.owned()) == 2
    result = h.rec.run_finalize(copy.deepcopy(h.obj))
    assert result.done and h.owned() == []
    assert h.stage_cert("orders") == "" and h.stage_cert("billing") == ""
    assert h.bundle() == ""
    assert sum(1 for e in result.events if e.reason == "Deleted" and "client certificate" in e.message) == 2


def test_retain_keeps_everything_and_releases_the_bundle_from_garbage_collection(h: Harness) -> None:
    cert_id = created(h)
    h.patch_spec(deletionPolicy="Retain")
    result = h.rec.run_finalize(copy.deepcopy(h.obj))
    assert result.done and h.owned() == [cert_id] and h.stage_cert("orders") == cert_id
    assert h.bundle() and h.kube.data[("Secret", NS, "backend-trust")].owners == []


def test_a_request_already_in_the_manifest_at_creation_does_not_rotate_again(aws: Aws) -> None:
    h = Harness(aws, rotateRequestedAt="2026-01-01T00:00:00Z")
    created(h)
    h.run(5)
    assert h.status["phase"] == IDLE and len(h.owned()) == 1
    assert h.status["lastHandledRotateRequest"] == "2026-01-01T00:00:00Z"


def test_days_to_expiry_gauge_follows_the_current_certificate(h: Harness) -> None:
    from prometheus_client import REGISTRY

    def days(cert_id: str) -> float | None:
        labels = {"kind": "ClientCertRotation", "namespace": NS, "name": "cert", "certificate": cert_id,
                  "role": "client"}
        return REGISTRY.get_sample_value("hybrid_gateway_certificate_days_to_expiry", labels)

    first = created(h)
    assert days(first) == pytest.approx(365, abs=0.01)
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    h.until(IDLE, advance=7)
    second = h.status["current"]["clientCertificateId"]
    assert days(first) is None and days(second) == pytest.approx(365, abs=0.01)
    h.rec.run_finalize(copy.deepcopy(h.obj))
    assert days(second) is None


def test_a_stage_moved_back_to_the_old_certificate_keeps_it_trusted_until_moved_again(h: Harness) -> None:
    old = created(h)
    h.patch_spec(rotateRequestedAt="2026-03-01T12:01:00Z")
    h.until(RETIRING, advance=7)
    new = h.status["current"]["clientCertificateId"]
    # Out of band, right before the old certificate leaves the bundle, a stage goes back to it.
    h.apigw.update_stage(restApiId=h.apis["billing"], stageName="prod",
                         patchOperations=[{"op": "replace", "path": "/clientCertificateId", "value": old}])
    h.run(1)
    assert h.violations == []  # the bundle lost `old` only after the stage was put back on `new`
    assert h.stage_cert("billing") == new and h.owned() == [new] and h.bundle_ids() == [new]


# ---- the trust bundle object must be one this ClientCertRotation created --------------------------------------


@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
def test_an_existing_bundle_object_it_did_not_create_is_stalled_without_writes(aws: Aws, kind: str) -> None:
    ref = {"secretRef": {"name": "aws-auth", "key": "mapRoles"}} if kind == "Secret" else \
        {"configMapRef": {"name": "aws-auth", "key": "mapRoles"}}
    h = Harness(aws, backendTrust=ref)
    h.kube.add_data(kind, NS, "aws-auth", {"mapRoles": "keep me"})
    h.run(1)
    stalled = h.condition("Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "TrustBundleTargetNotOwned"
    assert f"{kind} {NS}/aws-auth" in stalled["message"]
    assert "not created by this ClientCertRotation" in stalled["message"]
    assert "Delete that" in stalled["message"] and "name another" in stalled["message"]
    assert h.kube.data[(kind, NS, "aws-auth")].data == {"mapRoles": "keep me"}
    assert h.owned() == []  # refused before any AWS write: no client certificate generated
    assert not any(w.startswith((kind, "Generate")) for w in h.kube.writes)
    # Deletion leaves someone else's key alone too.
    result = h.rec.run_finalize(copy.deepcopy(h.obj))
    assert result.done and h.kube.data[(kind, NS, "aws-auth")].data == {"mapRoles": "keep me"}


def test_a_bundle_object_made_by_an_earlier_release_keeps_working_and_gets_the_owner_labels(h: Harness) -> None:
    # Earlier releases created the object with the ownerReference and the managed-by label only.
    owner = {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "ClientCertRotation", "name": "cert",
             "uid": h.uid, "controller": True, "blockOwnerDeletion": True}
    h.kube.data[("Secret", NS, "backend-trust")] = DataObject(
        {}, [owner], {"app.kubernetes.io/managed-by": "hybrid-gateway-operator"})
    created(h)
    found = h.kube.data[("Secret", NS, "backend-trust")]
    assert h.bundle() and found.labels == {"app.kubernetes.io/managed-by": "hybrid-gateway-operator",
                                           "hybridgateway.io/uid": h.uid}
    writes = len(h.kube.writes)
    h.run(60)
    assert not [w for w in h.kube.writes[writes:] if w.startswith("Secret")]  # labelled once, then no writes


def test_the_bundle_object_it_creates_carries_the_owner_labels_and_reference(h: Harness) -> None:
    created(h)
    found = h.kube.data[("Secret", NS, "backend-trust")]
    assert found.owners[0]["uid"] == h.uid and found.labels["hybridgateway.io/uid"] == h.uid


def test_after_retain_a_new_rotation_of_the_same_name_does_not_take_the_released_object(aws: Aws) -> None:
    h = Harness(aws)
    created(h)
    h.patch_spec(deletionPolicy="Retain")
    assert h.rec.run_finalize(copy.deepcopy(h.obj)).done
    kept = h.bundle()
    again = Harness(aws)  # same name, new uid
    again.kube.data = h.kube.data
    again.run(1)
    assert again.condition("Stalled")["reason"] == "TrustBundleTargetNotOwned"
    assert again.bundle() == kept


# ---- frontDoor.mutualTls verify: the ALB trust store gains the new certificate before any switch ---------


def test_a_verify_mode_trust_store_must_hold_the_new_bundle_before_any_stage_switches(aws: Aws) -> None:
    bucket = f"trust-{uuid.uuid4().hex[:8]}"
    h = Harness(aws, backendTrust={"secretRef": {"name": "backend-trust", "key": "ca.pem"},
                                   "s3": {"bucket": bucket, "key": "orders/trust.pem"}})
    h.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    orders = h.kube.objects[("hybridapis", NS, "orders")]
    orders["spec"]["frontDoor"]["mutualTls"] = {"mode": "verify"}

    h.until(PUBLISHING)
    for _ in range(3):  # the trust store of "orders" has not loaded the bundle: no stage switches
        h.run(5)
        assert h.status["phase"] == PUBLISHING
        assert h.stage_cert("orders") == "" and h.stage_cert("billing") == ""
    stages = h.condition("StagesUsingCurrent")
    assert stages["reason"] == "WaitingForTrustStore" and "HybridApi orders" in stages["message"]
    assert "billing" not in stages["message"]  # not in verify mode: nothing to wait for
    # Asked to reconcile once for this bundle, not once per pass.
    assert h.kube.writes.count("annotate hybridapis/orders") == 1

    orders["status"]["trustStore"] = {"bundleSha256": h.status["trustBundleSha256"]}  # what the HybridApi reports
    h.until(IDLE)
    assert h.stage_cert("orders") == h.status["current"]["clientCertificateId"]
    assert h.violations == []
