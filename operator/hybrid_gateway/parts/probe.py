"""The HybridApi's probe: one request test-invoked through the whole chain, and what its answer means.

`run()` makes exactly one AWS call (TestInvokeMethod): the route is resolved from the REST API's
resources as the rest_api part has just read them this pass, so no GetResources. `diagnose()` is pure:
it maps the answer (status, body, execution log) and what the pass knows about the chain onto the hop
that broke and what to fix, following the failure causes API Gateway documents for HTTP(S)
integrations over a VPC link (docs/aws-behaviour.md, "Probe"):

- "Execution failed due to configuration error: General SSLEngine problem" / "PKIX path building
  failed" / "PKIX path validation failed": API Gateway does not trust the certificate the ALB serves;
- "... Host name 'x' does not match the certificate subject provided by the peer (CN=y)": the
  certificate does not cover the hostname of the integration URI (frontDoor.hostname);
- in mutual-TLS verify, a handshake the ALB ends because it refused the stage's client certificate;
- "There was an internal error while executing your request" with the VPC link not AVAILABLE, or
  a log that names the VPC link: the VPC link hop;
- 502 / 503 / 504 from the ALB: no healthy (or no reachable) backend target;
- 401 / 403 from the backend: it refused the request (the gateway secret header, or in passthrough
  the forwarded client certificate).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hybrid_gateway.parts.base import PartContext
from hybrid_gateway.parts.client_certificate import InvokeResult, invoke_route
from hybrid_gateway.parts.rest_api import RestApiState

# What one probe costs in AWS calls (the read budget: docs/probe.md).
CALLS_PER_PROBE = 1

_UNTRUSTED = re.compile(r"General SSLEngine problem|PKIX path (building|validation) failed|"
                        r"unable to find valid certification path", re.IGNORECASE)
# The ALB (mutual TLS verify) refusing the certificate API Gateway presented: TLS alerts, as the log may say.
_CLIENT_CERT_REFUSED = re.compile(r"refused the client certificate|bad_certificate|certificate_required|unknown_ca|"
                                  r"certificate_unknown", re.IGNORECASE)
_HOSTNAME = re.compile(r"Host name '[^']*' does not match the certificate subject", re.IGNORECASE)
_VPC_LINK = re.compile(r"VPC link|VpcLink|vpc-link", re.IGNORECASE)
_INTERNAL = re.compile(r"There was an internal error while executing your request", re.IGNORECASE)
_CONNECT = re.compile(r"Connection refused|Connect timed out|connection timed out|Network error", re.IGNORECASE)
_FAILED_LINE = re.compile(r"Execution failed[^\n]*")


@dataclass(frozen=True)
class ChainFacts:
    """What the pass knows about the chain, beside the probe's answer."""

    hostname: str  # frontDoor.hostname: the integration URI's host
    healthy_targets: int
    total_targets: int
    vpc_link_available: bool = True
    secret_header: str | None = None  # the gateway secret header's name, if any
    mutual_tls_mode: str = "off"
    client_certificate_id: str | None = None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    message: str


def resources_of(state: RestApiState) -> list[dict[str, Any]]:
    """The REST API's resources in GetResources' shape (id, path, resourceMethods), from the part's state."""
    methods: dict[str, dict[str, Any]] = {}
    for key in state.methods:
        http_method, path = key.split(" ", 1)
        methods.setdefault(path, {})[http_method] = {}
    return [{"id": rid, "path": path, "resourceMethods": methods.get(path, {})}
            for path, rid in state.resources.items()]


def run(ctx: PartContext, rest_api_id: str, api: RestApiState, path: str, method: str,
        cert_id: str | None) -> tuple[InvokeResult, str]:
    """The probe's one TestInvokeMethod (with the stage's client certificate, if any)."""
    return invoke_route(ctx, rest_api_id, resources_of(api), path, method, cert_id, "spec.probe",
                        "ProbeRouteNotFound")


def _failed_line(log: str) -> str:
    found = _FAILED_LINE.search(log)
    return found.group(0) if found else ""


def diagnose(answer: InvokeResult, route: str, expect: Sequence[int], facts: ChainFacts) -> Verdict:
    """The TrafficFlows verdict: which hop broke and what to fix (pure)."""
    said = f"probe {route} answered {answer.status}"
    if answer.status in expect:
        return Verdict(True, "ProbePassed", f"{said} through API Gateway, the VPC link, the NLB, the ALB and the "
                                            f"backend in {answer.latency_ms} ms")
    failed = _failed_line(answer.log)
    quoted = f" (API Gateway: {failed!r})" if failed else ""
    if _HOSTNAME.search(answer.log):
        return Verdict(False, "FrontDoorHostnameMismatch", (
            f"{said}: hop API Gateway -> ALB: the certificate the ALB serves does not cover {facts.hostname}"
            f"{quoted}. Fix spec.frontDoor.certificate: use one whose names include {facts.hostname}, or "
            "`request: {}` for an ACM certificate of that name"))
    verify = facts.mutual_tls_mode == "verify"
    if verify and _CLIENT_CERT_REFUSED.search(answer.log):
        return Verdict(False, "ClientCertificateRefused", (
            f"{said}: hop API Gateway -> ALB (mutual TLS verify): the ALB refused the client certificate the stage "
            f"presents ({facts.client_certificate_id or 'none'}){quoted}. Its trust store (status.trustStore) must "
            "hold it: check the ClientCertRotation that names this stage and its spec.backendTrust.s3"))
    if _UNTRUSTED.search(answer.log):
        also = (" (with mutual TLS verify, the ALB refusing the stage's client certificate fails the same way: "
                "see status.trustStore)") if verify else ""
        return Verdict(False, "FrontDoorCertificateNotTrusted", (
            f"{said}: hop API Gateway -> ALB: API Gateway does not trust the certificate the ALB serves for "
            f"{facts.hostname}{quoted}. Fix spec.frontDoor.certificate: API Gateway trusts only certificates "
            "that chain to a public CA (with the full chain), not expired: use `request: {}` for an "
            f"ACM-issued one, or import one with its intermediates{also}"))
    if not facts.vpc_link_available or (answer.status >= 500 and _VPC_LINK.search(answer.log)):
        return Verdict(False, "VpcLinkUnavailable", (
            f"{said}: hop API Gateway -> VPC link -> NLB: the VPC link is not AVAILABLE{quoted}. See the "
            "VpcLinkReady condition; the operator replaces a FAILED link, and the NLB must be active"))
    if answer.status in (401, 403):
        header = (f"the gateway secret header {facts.secret_header} (spec.api.gatewaySecretHeader)"
                  if facts.secret_header else "its credentials (no spec.api.gatewaySecretHeader is set)")
        certificate = ""
        if facts.mutual_tls_mode == "passthrough":
            certificate = (f", and the client certificate forwarded in X-Amzn-Mtls-Clientcert "
                           f"({facts.client_certificate_id or 'none: no ClientCertRotation names this stage'}) "
                           "against the ClientCertRotation's published trust bundle")
        return Verdict(False, "BackendRefused", (
            f"{said}: hop ALB -> backend: the on-premises backend refused the request. Make the backend "
            f"accept {header}{certificate}"))
    unhealthy = facts.total_targets == 0 or facts.healthy_targets < facts.total_targets
    if answer.status in (502, 503, 504) or (answer.status >= 500 and _CONNECT.search(answer.log)) or (
            answer.status >= 500 and facts.healthy_targets == 0):
        return Verdict(False, "BackendUnhealthy", (
            f"{said}: hop ALB -> backend: no healthy backend target answered "
            f"({facts.healthy_targets}/{facts.total_targets} targets healthy){quoted}. Check the on-premises "
            "load balancer, Direct Connect and spec.backend.healthCheck (path and matcher)"))
    if answer.status >= 500 and _INTERNAL.search(answer.log):
        return Verdict(False, "IntegrationFailed", (
            f"{said}: hop API Gateway -> VPC link: API Gateway could not reach the integration{quoted}. "
            "Check the VPC link, the NLB's listener and target group, and the ALB's security group"))
    extra = f" ({facts.healthy_targets}/{facts.total_targets} targets healthy)" if unhealthy else ""
    return Verdict(False, "UnexpectedStatus", (
        f"{said}, expected {', '.join(str(s) for s in expect)}{quoted}{extra}: the chain delivered the request, "
        "the backend answered otherwise. Fix spec.probe (path, method, expectStatus) or the backend"))


__all__ = ["CALLS_PER_PROBE", "ChainFacts", "Verdict", "diagnose", "resources_of", "run"]
