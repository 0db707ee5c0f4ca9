"""The stages' default invoke endpoint (``https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/...``)
on loopback: one HTTPS listener for every REST API and stage, routed by the Host header and the first
path segment, started on first use (``GET /_emulator/invoke-endpoint``), so emulator start-up stays cheap.

It serves a certificate of the emulated public CA for ``*.execute-api.<region>.amazonaws.com``
(chosen by SNI), so a client that trusts that CA can ``curl --resolve <host>:<port>:127.0.0.1``.
A request takes the method of the stage's API that matches its path (``ANY`` when no method of its
own), and an integration over a VPC link runs the request path of :mod:`.path` with the stage's
client certificate and stage variables. Answers as API Gateway's (catalogue: docs/aws-behaviour.md,
"Data plane"): the integration's answer; 500 ``{"message": "Internal server error"}`` when the
integration fails; 403 ``{"message":"Missing Authentication Token"}`` for a path or method the API
does not have; 403 ``{"message":"Forbidden"}`` for an unknown stage or when the API's default
endpoint is disabled. Moto keeps no per-deployment snapshot of the resources: a stage serves the
API's current methods.
"""

from __future__ import annotations

import re
import ssl
import threading
from typing import Any

from ..publicca import PUBLIC_CA
from .listener import HttpsListener, forwarded_headers, ssl_handshake
from .path import ClientIdentity, Outcome, forward_to_alb, integration_method, integration_path, path_parameters
from .tlshop import load_identity

HOST_PATTERN = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
MISSING_TOKEN = '{"message":"Missing Authentication Token"}'
FORBIDDEN = '{"message":"Forbidden"}'


def _find_api(api_id: str, region: str) -> tuple[str, Any, Any] | None:
    """(account, backend, REST API) of ``api_id`` in ``region``, in any emulated account."""
    from moto.apigateway.models import apigateway_backends

    for account, regions in list(apigateway_backends.items()):
        backend = regions.get(region) if region in regions else None
        if backend is not None and api_id in backend.apis:
            return account, backend, backend.apis[api_id]
    return None


def _route(api: Any, path: str, http_method: str) -> tuple[Any, Any] | None:
    """(resource, method) for ``path``: the most specific resource path that matches (literal
    segments before ``{param}`` before ``{proxy+}``), its method or ``ANY``."""
    best: tuple[tuple[int, int], Any] | None = None
    for resource in list(api.resources.values()):
        template = resource.get_path()
        if path_parameters(template, path) is None:
            continue
        segments = [s for s in template.split("/") if s]
        score = (-sum(s.endswith("+}") for s in segments), -sum(s.startswith("{") for s in segments))
        if best is None or score > best[0]:
            best = (score, resource)
    if best is None:
        return None
    methods = best[1].resource_methods
    method = methods.get(http_method) or methods.get("ANY")
    return (best[1], method) if method is not None else None


def stage_identity(backend: Any, cert_id: str) -> ClientIdentity | None:
    """The certificate (with its chain) and key a stage presents to the backend: a generated client
    certificate, or the ACM certificate its clientCertificateId names by ARN, read per connection so that a
    re-import is presented at once (docs/aws-behaviour.md: API Gateway propagates a re-import)."""
    from ..apigateway import client_certificates

    if not cert_id:
        return None
    if cert_id.startswith("arn:"):
        from ..patches import acm_certificate

        acm = acm_certificate(cert_id)
        if acm is None:
            return None
        chain = bytes(acm.cert).decode() + (bytes(acm.chain).decode() if acm.chain else "")
        return ClientIdentity(chain, bytes(acm.key).decode())
    cert = client_certificates(backend).get(cert_id)
    return ClientIdentity(cert.pem, cert.key_pem) if cert is not None and cert.key_pem else None


def invoke_stage(
    account: str,
    region: str,
    backend: Any,
    api: Any,
    stage_name: str,
    http_method: str,
    request: str,
    headers: dict[str, str],
    body: str,
) -> Outcome:
    """API Gateway's answer to ``http_method`` ``request`` (the path below the stage, with its
    query) on ``stage_name`` of ``api``: the request path of :mod:`.path` for a VPC link
    integration. Both the default endpoint and the custom domain names end here."""
    from ..patches import extras

    stage = api.stages.get(stage_name)
    if stage is None:
        return Outcome(403, FORBIDDEN)
    path, sep, query = request.partition("?")
    path = path or "/"
    route = _route(api, path, http_method)
    if route is None:
        return Outcome(403, MISSING_TOKEN)
    resource, method = route
    integration = method.method_integration
    if integration is None or integration.connection_type != "VPC_LINK":
        return Outcome(500, '{"message": "Internal server error"}')  # the emulator carries VPC links only
    client = stage_identity(backend, str(extras(stage).get("clientCertificateId") or ""))
    return forward_to_alb(
        account,
        region,
        integration,
        {str(k): str(v) for k, v in dict(stage.variables or {}).items()},
        client,
        integration_method(integration, http_method),
        integration_path(integration, resource.get_path(), path + sep + query),
        forwarded_headers(headers),
        body,
    )


def answer(host: str, http_method: str, target: str, headers: dict[str, str], body: str) -> Outcome:
    """API Gateway's answer to ``http_method https://host/target``."""
    matched = HOST_PATTERN.match(host.split(":")[0].lower())
    found = _find_api(matched["api"], matched["region"]) if matched else None
    if matched is None or found is None:
        return Outcome(403, FORBIDDEN)
    account, backend, api = found
    if getattr(api, "disableExecuteApiEndpoint", False):
        return Outcome(403, FORBIDDEN)
    stage_name, _, rest = target.lstrip("/").partition("/")
    return invoke_stage(account, matched["region"], backend, api, stage_name, http_method, "/" + rest, headers, body)


class InvokeEndpoint:
    """The one loopback listener of every stage's default endpoint, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contexts: dict[str, ssl.SSLContext] = {}
        self.listener = HttpsListener(
            "invoke-endpoint",
            answer,
            ssl_handshake(self._context_for, lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)),
        )

    def _context_for(self, server_name: str | None) -> ssl.SSLContext:
        matched = HOST_PATTERN.match((server_name or "").lower())
        region = matched["region"] if matched else "us-east-1"
        with self._lock:
            if region not in self._contexts:
                issued = PUBLIC_CA.issue(f"*.execute-api.{region}.amazonaws.com")
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                load_identity(context, (issued.certificate + issued.chain).decode(), issued.private_key.decode())
                self._contexts[region] = context
            return self._contexts[region]

    def address(self) -> tuple[str, int]:
        return self.listener.address()

    def to_json(self) -> dict[str, Any]:
        return self.listener.to_json()

    def stop(self) -> None:
        self.listener.stop()


INVOKE_ENDPOINT = InvokeEndpoint()
