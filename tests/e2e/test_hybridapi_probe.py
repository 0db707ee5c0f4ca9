"""Issue 10, item 3: the probe (spec.probe) test-invokes the stage's method through the chain and reports
TrafficFlows, whose message names the broken hop and what to fix; with a probe, Ready needs it to pass.

Until the emulated data plane carries requests, TestInvokeMethod's answer is injected
(`set_test_invoke_response`, with the execution-log lines API Gateway writes for each failure; sources in
docs/aws-behaviour.md, "Probe"). The probe costs exactly one read (TestInvokeMethod) per drift check.
Also item 1: spec.frontDoor.mutualTls.mode passthrough is written to the ALB listener."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import (
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


def _probed(name: str, account: Any, **overrides: Any) -> dict[str, Any]:
    obj = hybridapi(name, account, probe=PROBE, driftCheckInterval="1s", **overrides)
    obj["spec"]["frontDoor"]["mutualTls"] = {"mode": "passthrough"}
    return obj


def test_probe_passes_through_a_passthrough_listener_for_one_read_per_check(
    cluster, namespace, account, control, answers, start_operator, emulator
) -> None:
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
FAILURES = [
    pytest.param(500, '{"message": "Internal server error"}',
                 STAMPED + "General SSLEngine problem", (),
                 "FrontDoorCertificateNotTrusted", ["API Gateway -> ALB", "does not trust", "public CA"],
                 id="front-door-certificate-not-trusted"),
    pytest.param(500, '{"message": "Internal server error"}',
                 STAMPED + "Host name '{hostname}' does not match the certificate subject provided by the peer "
                 "(CN=other.example.com)", (),
                 "FrontDoorHostnameMismatch", ["does not cover {hostname}", "spec.frontDoor.certificate"],
                 id="hostname-not-covered"),
    pytest.param(503, "", "", TARGETS,
                 "BackendUnhealthy", ["ALB -> backend", "0/2 targets healthy", "spec.backend.healthCheck"],
                 id="backend-unhealthy"),
    pytest.param(403, '{"error": "missing gateway secret"}', "", (),
                 "BackendRefused", ["ALB -> backend", "refused", "X-Gateway-Secret", "X-Amzn-Mtls-Clientcert"],
                 id="backend-refuses-the-secret-header"),
]


@pytest.mark.parametrize(("status", "body", "log", "unhealthy", "reason", "words"), FAILURES)
def test_probe_names_the_broken_hop(
    cluster, namespace, account, answers, start_operator,
    status: int, body: str, log: str, unhealthy: tuple[str, ...], reason: str, words: list[str],
) -> None:
    start_operator(namespace)
    obj = _probed("broken", account)
    hostname = obj["spec"]["frontDoor"]["hostname"]
    for ip in unhealthy:
        answers.set_target_health(ip, "unhealthy")
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
    assert found["status"]["probe"]["statusCode"] == status

    # Once the hop is fixed, the next drift check's probe sees it and Ready follows.
    answers.clear_test_invoke_responses()
    for ip in unhealthy:
        answers.set_target_health(ip, "healthy")
    wait_ready(cluster, namespace, "broken", timeout=120)
    assert condition(get(cluster, namespace, "hybridapi", "broken"), "TrafficFlows")["status"] == "True"
