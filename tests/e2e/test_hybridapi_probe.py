"""Issue 10, item 3: the probe (spec.probe) test-invokes the stage's method through the chain and reports
TrafficFlows, whose message names the broken hop and what to fix; with a probe, Ready needs it to pass.

TestInvokeMethod goes through the emulated data plane (VPC link, NLB, ALB with real TLS, the on-prem
backend of the `onprem` fixture): the passing probe, the backend refusing the secret header and the
unreachable, unhealthy backend are real. The two front-door certificate failures cannot be made to last
(the operator stalls such a certificate before any write, and repairs a listener certificate changed by
hand), so their answers are injected with the execution-log line API Gateway writes
(`set_test_invoke_response(..., log=)`; sources in docs/aws-behaviour.md). The probe costs exactly one
read (TestInvokeMethod) per drift check. Also item 1: passthrough is written to the ALB listener and the
backend is reached through a passthrough listener."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hybrid_gateway_devenv.onprem_backend import OnPremBackend
from tests.e2e.helpers import (
    BACKEND_TARGETS,
    apply,
    aws,
    condition,
    format_reads,
    get,
    hybridapi,
    passes_since,
    secret,
    steady_state_calls,
    wait_ready,
    wait_until,
)
from tests.e2e.test_hybridapi_steady import EXPECTED_READS_PER_CHECK

pytestmark = pytest.mark.e2e

PROBE = {"path": "/orders", "method": "GET", "expectStatus": [200]}
TARGETS = ("192.168.10.5", "192.168.10.6")


@pytest.fixture()
def answers(control: Any) -> Iterator[Any]:
    """The emulator's TestInvokeMethod answers and target health, put back after the test."""
    try:
        yield control
    finally:
        control.clear_test_invoke_responses()
        for ip in TARGETS:
            control.set_target_health(ip, "healthy")
        control.clear_onprem_routes()


def _probed(name: str, account: Any, **overrides: Any) -> dict[str, Any]:
    obj = hybridapi(name, account, probe=PROBE, driftCheckInterval="1s", **overrides)
    obj["spec"]["frontDoor"]["mutualTls"] = {"mode": "passthrough"}
    return obj


def test_probe_passes_through_a_passthrough_listener_for_one_read_per_check(
    cluster, namespace, account, control, answers, start_operator, emulator, onprem
) -> None:
    onprem.required_header = ("X-Gateway-Secret", "flows-secret")
    start_operator(namespace)
    apply(cluster, namespace, secret("flows-gw", {"token": "flows-secret"}), _probed("flows", account))
    wait_ready(cluster, namespace, "flows")
    obj = get(cluster, namespace, "hybridapi", "flows")
    flows = condition(obj, "TrafficFlows")
    assert flows["status"] == "True", flows
    assert flows["reason"] == "ProbePassed"
    assert "GET /orders answered 200" in flows["message"]
    assert obj["status"]["probe"]["statusCode"] == 200
    listener = aws(emulator.endpoint_url, "elbv2").describe_listeners(
        ListenerArns=[obj["status"]["resources"]["albListenerArn"]])["Listeners"][0]
    assert listener["MutualAuthentication"]["Mode"] == "passthrough"
    probed = [r for r in onprem.traffic() if r["path"] == "/api/orders"]
    assert probed and probed[-1]["status"] == 200  # the probe really reached the backend, with the secret

    since = control.last_seq()
    wait_until(lambda: len(passes_since(control, since)) >= 2, timeout=30, what="a drift check after Ready")
    since = control.last_seq()
    checks = 10
    calls = steady_state_calls(control, since, checks, timeout=checks * 3 + 30)
    print("\n" + format_reads(calls))
    assert calls["writes"] == []
    # The probe's one call per check, on top of what a HybridApi without one reads.
    assert calls["reads_per_check"] == {**EXPECTED_READS_PER_CHECK, "apigateway:TestInvokeMethod": 1}


def _wait_verdict(cluster: Any, namespace: str, name: str, reason: str) -> dict[str, Any]:
    def verdict() -> dict[str, Any] | None:
        obj = get(cluster, namespace, "hybridapi", name)
        flows = condition(obj, "TrafficFlows")
        return obj if flows.get("reason") == reason else None
    return wait_until(verdict, timeout=180, interval=1.0, what=f"TrafficFlows {reason}")


STAMPED = "Execution failed due to configuration error: "
# (injected status, body, log) or None: through the data plane; targets set unhealthy; the backend's secret
# (None: no backend at all, the targets are unreachable); the verdict and words of its message.
FAILURES = [
    pytest.param(500, '{"message": "Internal server error"}',
                 STAMPED + "General SSLEngine problem", (), "broken-secret",
                 "FrontDoorCertificateNotTrusted", ["API Gateway -> ALB", "does not trust", "public CA"],
                 id="front-door-certificate-not-trusted"),
    pytest.param(500, '{"message": "Internal server error"}',
                 STAMPED + "Host name '{hostname}' does not match the certificate subject provided by the peer "
                 "(CN=other.example.com)", (), "broken-secret",
                 "FrontDoorHostnameMismatch", ["does not cover {hostname}", "spec.frontDoor.certificate"],
                 id="hostname-not-covered"),
    pytest.param(None, "", "", TARGETS, None,
                 "BackendUnhealthy", ["ALB -> backend", "0/2 targets healthy", "spec.backend.healthCheck"],
                 id="backend-unhealthy"),
    pytest.param(None, "", "", (), "another-secret",
                 "BackendRefused", ["ALB -> backend", "refused", "X-Gateway-Secret", "X-Amzn-Mtls-Clientcert"],
                 id="backend-refuses-the-secret-header"),
]


@pytest.mark.parametrize(("status", "body", "log", "unhealthy", "backend_secret", "reason", "words"), FAILURES)
def test_probe_names_the_broken_hop(
    cluster, namespace, account, control, answers, start_operator,
    status: int | None, body: str, log: str, unhealthy: tuple[str, ...], backend_secret: str | None, reason: str,
    words: list[str],
) -> None:
    backend = OnPremBackend().start()
    if backend_secret is not None:
        backend.required_header = ("X-Gateway-Secret", backend_secret)
        control.set_onprem_routes({f"{t['ip']}:{t['port']}": backend.address for t in BACKEND_TARGETS})
    try:
        _names_the_broken_hop(cluster, namespace, account, answers, start_operator, status, body, log, unhealthy,
                              backend, reason, words)
    finally:
        control.clear_onprem_routes()
        backend.stop()


def _names_the_broken_hop(
    cluster: Any, namespace: str, account: Any, answers: Any, start_operator: Any, status: int | None, body: str,
    log: str, unhealthy: tuple[str, ...], backend: OnPremBackend, reason: str, words: list[str],
) -> None:
    start_operator(namespace)
    obj = _probed("broken", account)
    hostname = obj["spec"]["frontDoor"]["hostname"]
    for ip in unhealthy:
        answers.set_target_health(ip, "unhealthy")
    if status is not None:
        answers.set_test_invoke_response(status, body=body, log=log.format(hostname=hostname))
    apply(cluster, namespace, secret("broken-gw", {"token": "broken-secret"}), obj)

    found = _wait_verdict(cluster, namespace, "broken", reason)
    flows, ready = condition(found, "TrafficFlows"), condition(found, "Ready")
    assert flows["status"] == "False"
    for word in words:
        assert word.format(hostname=hostname) in flows["message"], flows["message"]
    # With a probe, Ready needs it: the chain itself converged, so nothing is Reconciling.
    assert ready["status"] == "False" and ready["reason"] == reason
    assert ready["message"].startswith("TrafficFlows: ")
    assert condition(found, "Reconciling")["status"] == "False"
    if status is not None:
        assert found["status"]["probe"]["statusCode"] == status

    # Once the hop is fixed, the next drift check's probe sees it and Ready follows.
    answers.clear_test_invoke_responses()
    for ip in unhealthy:
        answers.set_target_health(ip, "healthy")
    backend.required_header = ("X-Gateway-Secret", "broken-secret")
    answers.set_onprem_routes({f"{t['ip']}:{t['port']}": backend.address for t in BACKEND_TARGETS})
    wait_ready(cluster, namespace, "broken", timeout=120)
    assert condition(get(cluster, namespace, "hybridapi", "broken"), "TrafficFlows")["status"] == "True"
