"""The HybridApi probe: what a test invocation's answer means (parts/probe.py), pure.

The execution-log lines are API Gateway's, as AWS's knowledge-center articles quote them
(docs/aws-behaviour.md, "Probe").
"""

from __future__ import annotations

import pytest

from hybrid_gateway.parts.client_certificate import InvokeResult
from hybrid_gateway.parts.probe import ChainFacts, diagnose, resources_of
from hybrid_gateway.parts.rest_api import RestApiState

STAMP = "Thu May 04 19:50:21 UTC 2024"
FACTS = ChainFacts(hostname="orders-backend.example.com", healthy_targets=2, total_targets=2,
                   secret_header="X-Gateway-Secret")


def _log(line: str) -> str:
    return f"{STAMP} : Sending request to https://orders-backend.example.com/healthz\n{STAMP} : {line}\n" \
           f"{STAMP} : Method completed with status: 500\n"


@pytest.mark.parametrize(
    ("reason", "answer", "facts", "verdict", "words"),
    [
        ("expected status", InvokeResult(200, 12), FACTS, "ProbePassed", ["answered 200", "12 ms"]),
        ("untrusted front-door certificate (SSLEngine)",
         InvokeResult(500, 5, '{"message": "Internal server error"}',
                      _log("Execution failed due to configuration error: General SSLEngine problem")),
         FACTS, "FrontDoorCertificateNotTrusted",
         ["API Gateway -> ALB", "does not trust", "spec.frontDoor.certificate"]),
        ("untrusted front-door certificate (PKIX)",
         InvokeResult(500, 5, "", _log("Execution failed due to configuration error: PKIX path building failed: "
                                       "sun.security.provider.certpath.SunCertPathBuilderException: unable to find "
                                       "valid certification path to requested target")),
         FACTS, "FrontDoorCertificateNotTrusted", ["public CA"]),
        ("hostname not covered",
         InvokeResult(500, 5, "", _log("Execution failed due to configuration error: Host name "
                                       "'orders-backend.example.com' does not match the certificate subject provided "
                                       "by the peer (CN=other.example.com)")),
         FACTS, "FrontDoorHostnameMismatch",
         ["does not cover orders-backend.example.com", "spec.frontDoor.certificate"]),
        ("no healthy target: the ALB answers 503", InvokeResult(503, 3, "", ""),
         ChainFacts("orders-backend.example.com", 0, 2), "BackendUnhealthy", ["ALB -> backend", "0/2 targets healthy"]),
        ("a 502 from the ALB", InvokeResult(502, 3), FACTS, "BackendUnhealthy", ["spec.backend.healthCheck"]),
        ("backend refuses the secret header", InvokeResult(403, 3, '{"error":"forbidden"}'), FACTS,
         "BackendRefused", ["ALB -> backend", "X-Gateway-Secret"]),
        ("backend refuses, passthrough: the certificate is named too", InvokeResult(401, 3),
         ChainFacts("h.example.com", 1, 1, secret_header=None, mutual_tls_mode="passthrough",
                    client_certificate_id="abc123"),
         "BackendRefused", ["X-Amzn-Mtls-Clientcert", "abc123", "no spec.api.gatewaySecretHeader"]),
        ("VPC link not available",
         InvokeResult(500, 3, "", _log("Execution failed due to configuration error: There was an internal error "
                                       "while executing your request")),
         ChainFacts("h.example.com", 1, 1, vpc_link_available=False), "VpcLinkUnavailable", ["VPC link"]),
        ("internal error with a healthy chain",
         InvokeResult(500, 3, "", _log("Execution failed due to configuration error: There was an internal error "
                                       "while executing your request")),
         FACTS, "IntegrationFailed", ["internal error"]),
        ("another status", InvokeResult(404, 3), FACTS, "UnexpectedStatus", ["expected 200", "spec.probe"]),
        ("verify: the ALB refused the stage's client certificate",
         InvokeResult(500, 3, "", _log("Execution failed due to configuration error: General SSLEngine problem (the "
                                       "load balancer refused the client certificate: tlsv1 alert unknown ca)")),
         ChainFacts("h.example.com", 1, 1, mutual_tls_mode="verify", client_certificate_id="abc123"),
         "ClientCertificateRefused", ["mutual TLS verify", "abc123", "status.trustStore"]),
        ("verify: a plain SSLEngine problem may be either side",
         InvokeResult(500, 3, "", _log("Execution failed due to configuration error: General SSLEngine problem")),
         ChainFacts("h.example.com", 1, 1, mutual_tls_mode="verify"),
         "FrontDoorCertificateNotTrusted", ["does not trust", "status.trustStore"]),
    ],
)
def test_diagnose(reason: str, answer: InvokeResult, facts: ChainFacts, verdict: str, words: list[str]) -> None:
    got = diagnose(answer, "GET /healthz", (200,), facts)
    assert got.reason == verdict, reason
    assert got.ok is (verdict == "ProbePassed"), reason
    for word in words:
        assert word in got.message, (reason, word, got.message)


def test_resources_of_gives_get_resources_shape() -> None:
    state = RestApiState(name="a", endpoint_types=("REGIONAL",), disable_execute_api_endpoint=False,
                         root_resource_id="r0", resources={"/": "r0", "/orders": "r1", "/{proxy+}": "r2"},
                         methods={"GET /orders": {}, "POST /orders": {}, "ANY /{proxy+}": {}},
                         api_definition_hash="h")
    by_path = {r["path"]: r for r in resources_of(state)}
    assert by_path["/orders"] == {"id": "r1", "path": "/orders", "resourceMethods": {"GET": {}, "POST": {}}}
    assert by_path["/{proxy+}"]["resourceMethods"] == {"ANY": {}}
    assert by_path["/"]["resourceMethods"] == {}
