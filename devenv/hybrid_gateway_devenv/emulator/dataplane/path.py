"""The request path of an HTTP(S) integration over a VPC link, hop by hop, as AWS runs it:

    integration (connectionType VPC_LINK, connectionId)   -> the VPC link must be AVAILABLE
    V1 (legacy): VPC link -> its NLB -> the NLB listener on the URI's port -> its alb-type target group
      -> the ALB (registered, active, with a listener on the group's port)
    V2: the link's ENIs (its subnets, its security groups) -> the load balancer named by
      ``integrationTarget`` (active, in the link's VPC; its security groups must admit the link's
      security groups, or a CIDR covering the link's subnets, on the URI's port) -> an ALB's listener
      on the URI's port (an NLB target continues as in V1, from the NLB listener)
    -> from the ALB listener on, one path for both:
    -> TLS to the ALB listener: it serves its ACM certificate; API Gateway trusts the public CA only
       and checks the URI's hostname; it presents the stage's client certificate; the listener's
       mutual TLS mode: off (no client certificate asked), passthrough (the chain goes to the target
       in ``X-Amzn-Mtls-Clientcert``), verify (the chain must lead to the trust store's bundle)
    -> the listener's target group (ip): healthy targets, or all registered when none is healthy
       (ALB fails open) -> the on-prem network map -> HTTP(S) to the target (ALB does not verify
       target certificates).

Each failure answers as API Gateway does (catalogue: docs/aws-behaviour.md, "Data plane").
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from ..patches import acm_certificate, extras, target_health_state, vpc_link_status
from ..publicca import PUBLIC_CA
from .network import ONPREM
from .tlshop import HandshakeFailure, handshake, load_identity

INTERNAL_ERROR = '{"message": "Internal server error"}'
TIMEOUT_ERROR = '{"message": "Endpoint request timed out"}'
SSL_ENGINE_PROBLEM = "General SSLEngine problem"
HOSTNAME_MISMATCH_CODE = 62  # X509_V_ERR_HOSTNAME_MISMATCH
TARGET_TIMEOUT_SECONDS = 5.0
# Knowledge Center "api-gateway-500-error-vpc": the execution log line for a VPC link whose load
# balancer is gone, or whose traffic the security groups do not allow
INTERNAL_ERROR_DETAIL = "There was an internal error while executing your request"


@dataclass
class ClientIdentity:
    certificate_pem: str
    key_pem: str


@dataclass
class Outcome:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


class PathFailure(Exception):
    def __init__(self, status: int, body: str, log: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(log)
        self.status, self.body, self.log, self.headers = status, body, log, headers or {}


def configuration_error(detail: str) -> PathFailure:
    """API Gateway's answer when it cannot reach or trust the integration endpoint."""
    return PathFailure(500, INTERNAL_ERROR, f"Execution failed due to configuration error: {detail}")


def _resolve(value: str, stage_variables: dict[str, str]) -> str:
    if value.startswith("${stageVariables.") and value.endswith("}"):
        return stage_variables.get(value[len("${stageVariables.") : -1], "")
    return value


def path_parameters(template: str, path: str) -> dict[str, str] | None:
    """Values of ``{name}`` / ``{name+}`` in the resource path ``template`` for ``path`` (None: no match)."""
    want = [s for s in template.split("/") if s]
    have = [s for s in path.split("/") if s]
    found: dict[str, str] = {}
    for index, segment in enumerate(want):
        if segment.startswith("{") and segment.endswith("+}"):
            if index >= len(have):
                return None
            found[segment[1:-2]] = "/".join(have[index:])
            return found
        if index >= len(have):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            found[segment[1:-1]] = have[index]
        elif segment != have[index]:
            return None
    return found if len(have) == len(want) else None


def integration_path(integration: Any, resource_path: str, request: str) -> str:
    """The path (and query) API Gateway sends for the method request ``request`` (path?query): the
    integration URI's path with each ``{name}`` replaced by the ``integration.request.path.name``
    mapping's value; an HTTP proxy integration passes the query string on."""
    path, sep, query = request.partition("?")
    values = path_parameters(resource_path, path) or {}
    uri_path = urlsplit(str(integration.uri or "")).path or "/"
    prefix = "integration.request.path."
    for key, source in dict(getattr(integration, "request_parameters", None) or {}).items():
        if key.startswith(prefix) and str(source).startswith("method.request.path."):
            value = values.get(str(source)[len("method.request.path.") :], "")
            uri_path = uri_path.replace("{" + key[len(prefix) :] + "}", value)
    return uri_path + (sep + query if sep else "")


def integration_method(integration: Any, method_request: str) -> str:
    """The HTTP method of the integration request: the integration's ``httpMethod``, or with ``ANY``
    (proxy) the method request's; a test invocation of an ``ANY`` method sends GET (assumed)."""
    configured = str(getattr(integration, "http_method", None) or "ANY").upper()
    if configured != "ANY":
        return configured
    return method_request.upper() if method_request.upper() != "ANY" else "GET"


def _default_forward(listener: Any) -> str | None:
    for action in list(getattr(listener, "default_actions", []) or []):
        data = action.data if hasattr(action, "data") else action
        arn = data.get("TargetGroupArn") or data.get("target_group_arn")
        if arn:
            return str(arn)
        for group in (data.get("ForwardConfig") or {}).get("TargetGroups") or []:
            if group.get("TargetGroupArn"):
                return str(group["TargetGroupArn"])
    return None


def _active(balancer: Any | None) -> bool:
    if balancer is None:
        return False
    balancer.activate()  # moto moves provisioning -> active when asked (after the provisioning delay)
    return str(balancer.state) == "active"


def _listener_on(balancer: Any, port: int) -> Any | None:
    for listener in list(balancer.listeners.values()):
        if int(listener.port) == port:
            return listener
    return None


def _static_headers(integration: Any, stage_variables: dict[str, str]) -> dict[str, str]:
    """``integration.request.header.X: 'literal'`` (or a stage variable) mapped onto the request."""
    headers: dict[str, str] = {}
    for key, value in dict(getattr(integration, "request_parameters", None) or {}).items():
        prefix = "integration.request.header."
        if not key.startswith(prefix):
            continue
        text = str(value)
        if text.startswith("'") and text.endswith("'") and len(text) >= 2:
            headers[key[len(prefix) :]] = text[1:-1]
        elif text.startswith("stageVariables."):
            headers[key[len(prefix) :]] = stage_variables.get(text[len("stageVariables.") :], "")
    return headers


def _server_context(listener: Any, client: ClientIdentity | None) -> ssl.SSLContext:
    from ..elb_truststores import TRUST_STORES, listener_mutual_authentication

    certificates = list(getattr(listener, "certificates", []) or [])
    arn = certificates[0] if certificates else None
    arn = arn.get("CertificateArn") if isinstance(arn, dict) else arn
    cert = acm_certificate(str(arn)) if arn else None
    if cert is None:
        raise configuration_error("Connection refused")  # no certificate: no HTTPS listener serves
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    chain = bytes(cert.cert).decode() + (bytes(cert.chain).decode() if cert.chain else "")
    load_identity(context, chain, bytes(cert.key).decode())
    setting = listener_mutual_authentication(listener) or {"Mode": "off"}
    mode = setting.get("Mode")
    if mode == "verify":
        store = TRUST_STORES.find(str(setting.get("TrustStoreArn") or ""))
        context.verify_mode = ssl.CERT_REQUIRED
        if store is not None:
            context.load_verify_locations(cadata=store.bundle.decode())
    elif mode == "passthrough" and client is not None:
        # Passthrough accepts any client certificate: trust exactly the one presented.
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(cadata=client.certificate_pem)
    return context


def _client_context(client: ClientIdentity | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=PUBLIC_CA.to_json()["certificate"])
    if client is not None:
        load_identity(context, client.certificate_pem, client.key_pem)
    return context


def forward_to_alb(
    account: str,
    region: str,
    integration: Any,
    stage_variables: dict[str, str],
    client: ClientIdentity | None,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str,
) -> Outcome:
    """Carry one request (``path``: the integration request's path and query, see
    :func:`integration_path`) from API Gateway through the chain; failures become API Gateway's answers."""
    log: list[str] = []
    try:
        return _forward(account, region, integration, stage_variables, client, method, path, headers, body, log)
    except PathFailure as failure:
        log.append(failure.log)
        return Outcome(failure.status, failure.body, failure.headers, log)


def _forward(
    account: str,
    region: str,
    integration: Any,
    stage_variables: dict[str, str],
    client: ClientIdentity | None,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str,
    log: list[str],
) -> Outcome:
    from moto.apigateway.models import apigateway_backends
    from moto.elbv2.models import elbv2_backends

    from ..vpclinks_v2 import find_v2_link

    uri = str(integration.uri or "")
    split = urlsplit(uri)
    host = split.hostname or ""
    port = split.port or (443 if split.scheme == "https" else 80)
    link_id = _resolve(str(extras(integration).get("connectionId") or ""), stage_variables)
    elb = elbv2_backends[account][region]
    link = apigateway_backends[account][region].vpc_links.get(link_id)
    if link is not None:
        alb_listener = _v1_alb_listener(elb, link, host, port)
    else:
        v2_link = find_v2_link(account, region, link_id)
        if v2_link is None:
            raise configuration_error(f"Invalid VPC link identifier {link_id!r}")
        target = str(extras(integration).get("integrationTarget") or "")
        alb_listener = _v2_alb_listener(account, region, elb, v2_link, target, host, port)
    if alb_listener is None:
        raise PathFailure(504, TIMEOUT_ERROR, "Execution failed due to a timeout error")
    log.append(f"Sending request to {uri}")
    return _through_alb_listener(
        elb, alb_listener, split.scheme, host, client, integration, stage_variables, method, path, headers, body, log
    )


def _v1_alb_listener(elb: Any, link: Any, host: str, port: int) -> Any | None:
    """VPC link V1 -> its NLB -> the ALB listener behind it (None: no ALB listener answers)."""
    status, _ = vpc_link_status(link)
    if status != "AVAILABLE":
        raise configuration_error(f"VPC link {link.id} is not available (status {status})")
    nlb = elb.load_balancers.get((link.target_arns or [""])[0])
    if not _active(nlb):
        raise configuration_error("Connection refused")
    return _alb_listener_behind_nlb(elb, nlb, host, port)


def _alb_listener_behind_nlb(elb: Any, nlb: Any, host: str, port: int) -> Any | None:
    """The NLB listener on ``port`` -> its alb-type target group -> the ALB's listener on the group's port."""
    nlb_listener = _listener_on(nlb, port)
    if nlb_listener is None:
        raise configuration_error(f"Connection refused: nothing listens on {host}:{port} (no NLB listener)")
    group = elb.target_groups.get(_default_forward(nlb_listener) or "")
    alb_arn = next(iter(group.targets), None) if group is not None and group.target_type == "alb" else None
    alb = elb.load_balancers.get(alb_arn or "")
    alb_port = int((group.targets.get(alb_arn) or {}).get("Port") or group.port) if alb_arn and group else 0
    return _listener_on(alb, alb_port) if _active(alb) else None


def _v2_alb_listener(
    account: str, region: str, elb: Any, link: Any, target: str, host: str, port: int
) -> Any | None:
    """VPC link V2 -> the load balancer ``integrationTarget`` names -> the ALB listener on ``port``."""
    from ..vpclinks_v2 import link_vpc, v2_link_status

    status, _ = v2_link_status(link)
    if status != "AVAILABLE":
        raise configuration_error(f"VPC link {link.id} is not available (status {status})")
    balancer = elb.load_balancers.get(target)
    if not _active(balancer) or str(balancer.vpc_id) != str(link_vpc(account, region, link)):
        raise configuration_error(INTERNAL_ERROR_DETAIL)
    if not _security_groups_admit(account, region, balancer, link, port):
        raise configuration_error(INTERNAL_ERROR_DETAIL)
    if str(balancer.type) == "network":
        return _alb_listener_behind_nlb(elb, balancer, host, port)
    return _listener_on(balancer, port)


def _security_groups_admit(account: str, region: str, balancer: Any, link: Any, port: int) -> bool:
    """Whether an ingress rule of the load balancer's security groups lets the V2 link's ENIs in on
    ``port``: TCP (or all traffic) covering the port, from one of the link's security groups or from a
    CIDR that covers every subnet of the link. An ALB created without security groups has its VPC's
    default group; an NLB without security groups filters nothing."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account][region]
    group_ids = list(getattr(balancer, "security_groups", None) or [])
    if not group_ids:
        if str(balancer.type) == "network":
            return True
        default = ec2.get_default_security_group(str(balancer.vpc_id))
        group_ids = [default.id] if default is not None else []
    link_groups = set(link.sg_ids or [])
    subnet_networks = []
    for subnet_id in link.subnet_ids or []:
        try:
            subnet_networks.append(ipaddress.ip_network(str(ec2.get_subnet(subnet_id).cidr_block)))
        except Exception:
            return False
    for group_id in group_ids:
        group = ec2.get_security_group_from_id(group_id)
        for rule in list(group.ingress_rules) if group is not None else []:
            protocol = str(rule.ip_protocol or "")
            if protocol not in ("-1", "tcp"):
                continue
            if protocol == "tcp" and not int(rule.from_port or 0) <= port <= int(rule.to_port or 0):
                continue
            if (rule.source_group or {}).get("GroupId") in link_groups:
                return True
            cidr = (rule.ip_range or {}).get("CidrIp")
            if cidr and subnet_networks and all(_covers(cidr, net) for net in subnet_networks):
                return True
    return False


def _covers(cidr: str, subnet: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        allowed = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return allowed.version == subnet.version and subnet.subnet_of(allowed)  # type: ignore[arg-type]


def _through_alb_listener(
    elb: Any,
    alb_listener: Any,
    scheme: str,
    host: str,
    client: ClientIdentity | None,
    integration: Any,
    stage_variables: dict[str, str],
    method: str,
    path: str,
    headers: dict[str, str],
    body: str,
    log: list[str],
) -> Outcome:
    """From the ALB listener on (both link versions): TLS with the stage's client certificate, the
    listener's mutual TLS mode, the integration's static headers, the listener's targets."""
    from ..elb_truststores import listener_mutual_authentication

    if scheme == "https":
        if str(alb_listener.protocol).upper() != "HTTPS":
            raise configuration_error(SSL_ENGINE_PROBLEM)
        try:
            handshake(_client_context(client), _server_context(alb_listener, client), host)
        except HandshakeFailure as failure:
            if failure.side == "client" and failure.verify_code == HOSTNAME_MISMATCH_CODE:
                raise configuration_error(
                    f"Host name '{host}' does not match the certificate subject provided by the peer"
                ) from None
            if failure.side == "client":
                raise configuration_error(SSL_ENGINE_PROBLEM) from None
            raise configuration_error(
                f"{SSL_ENGINE_PROBLEM} (the load balancer refused the client certificate: {failure.reason})"
            ) from None
    forwarded = dict(headers)
    forwarded.update(_static_headers(integration, stage_variables))
    if (listener_mutual_authentication(alb_listener) or {}).get("Mode") == "passthrough" and client is not None:
        forwarded["X-Amzn-Mtls-Clientcert"] = quote(client.certificate_pem, safe="+=/")
    return _to_target(elb, alb_listener, method, path, forwarded, body, log)


def _to_target(
    elb: Any, listener: Any, method: str, path: str, headers: dict[str, str], body: str, log: list[str]
) -> Outcome:
    group = elb.target_groups.get(_default_forward(listener) or "")
    if group is None or not group.targets:
        raise PathFailure(503, '{"message": "Service Unavailable"}', "Endpoint response: 503 (no registered targets)")
    candidates = [(t["Id"], t.get("Port") or group.port) for t in group.targets.values()]
    healthy = [c for c in candidates if target_health_state(group, c[0], c[1])[0] == "healthy"]
    target_ip, target_port = (healthy or candidates)[0]  # ALB fails open when no target is healthy
    mapped = ONPREM.resolve(str(target_ip), target_port)
    if mapped is None:
        raise PathFailure(
            504,
            '{"message": "Gateway Timeout"}',
            f"Endpoint response: 504 (target {target_ip}:{target_port} unreachable)",
        )
    started = time.monotonic()
    connection: http.client.HTTPConnection
    if str(group.protocol).upper() == "HTTPS":
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE  # ALB does not verify target certificates
        connection = http.client.HTTPSConnection(
            mapped[0], mapped[1], timeout=TARGET_TIMEOUT_SECONDS, context=unverified
        )
    else:
        connection = http.client.HTTPConnection(mapped[0], mapped[1], timeout=TARGET_TIMEOUT_SECONDS)
    try:
        connection.request(method, path or "/", body=body.encode() if body else None, headers=headers)
        answer = connection.getresponse()
        text = answer.read().decode("utf-8", "replace")
        answer_headers = {k: v for k, v in answer.getheaders() if k.lower() not in ("transfer-encoding", "connection")}
    except (ConnectionError, OSError):
        raise PathFailure(
            502,
            '{"message": "Bad Gateway"}',
            f"Endpoint response: 502 (target {target_ip}:{target_port} refused the connection)",
        ) from None
    finally:
        connection.close()
    latency = max(1, int((time.monotonic() - started) * 1000))
    log.append(f"Received response. Status: {answer.status}, Integration latency: {latency} ms")
    return Outcome(answer.status, text, answer_headers, log)
