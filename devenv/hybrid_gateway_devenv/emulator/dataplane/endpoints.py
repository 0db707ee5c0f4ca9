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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..publicca import PUBLIC_CA
from .path import ClientIdentity, Outcome, _path_parameters, forward_to_alb, integration_method, integration_path
from .tlshop import load_identity

HOST_PATTERN = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
MISSING_TOKEN = '{"message":"Missing Authentication Token"}'
FORBIDDEN = '{"message":"Forbidden"}'
HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "content-length"}


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
        if _path_parameters(template, path) is None:
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


def answer(host: str, http_method: str, target: str, headers: dict[str, str], body: str) -> Outcome:
    """API Gateway's answer to ``http_method https://host/target``."""
    from ..apigateway import client_certificates
    from ..patches import extras

    matched = HOST_PATTERN.match(host.split(":")[0].lower())
    found = _find_api(matched["api"], matched["region"]) if matched else None
    if matched is None or found is None:
        return Outcome(403, FORBIDDEN)
    account, backend, api = found
    if getattr(api, "disableExecuteApiEndpoint", False):
        return Outcome(403, FORBIDDEN)
    stage_name, _, rest = target.lstrip("/").partition("/")
    stage = api.stages.get(stage_name)
    if stage is None:
        return Outcome(403, FORBIDDEN)
    path, sep, query = ("/" + rest).partition("?")
    route = _route(api, path, http_method)
    if route is None:
        return Outcome(403, MISSING_TOKEN)
    resource, method = route
    integration = method.method_integration
    if integration is None or integration.connection_type != "VPC_LINK":
        return Outcome(500, '{"message": "Internal server error"}')  # the emulator carries VPC links only
    cert_id = extras(stage).get("clientCertificateId")
    cert = client_certificates(backend).get(cert_id) if cert_id else None
    client = ClientIdentity(cert.pem, cert.key_pem) if cert is not None and cert.key_pem else None
    forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
    return forward_to_alb(
        account,
        matched["region"],
        integration,
        {str(k): str(v) for k, v in dict(stage.variables or {}).items()},
        client,
        integration_method(integration, http_method),
        integration_path(integration, resource.get_path(), path + sep + query),
        forwarded,
        body,
    )


class InvokeEndpoint:
    """The one loopback listener of every stage's default endpoint, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # address() starts the server, which makes a context
        self._server: ThreadingHTTPServer | None = None
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _context_for(self, region: str) -> ssl.SSLContext:
        with self._lock:
            if region not in self._contexts:
                issued = PUBLIC_CA.issue(f"*.execute-api.{region}.amazonaws.com")
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                load_identity(context, (issued.certificate + issued.chain).decode(), issued.private_key.decode())
                self._contexts[region] = context
            return self._contexts[region]

    def address(self) -> tuple[str, int]:
        with self._lock:
            if self._server is None:
                self._server = self._start()
            return "127.0.0.1", int(self._server.server_address[1])

    def _start(self) -> ThreadingHTTPServer:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                host = self.headers.get("Host", "")
                outcome = answer(host, self.command, self.path, dict(self.headers.items()), body)
                payload = outcome.body.encode()
                self.send_response(outcome.status)
                for key, value in outcome.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                if not any(k.lower() == "content-type" for k in outcome.headers):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        default = self._context_for("us-east-1")

        def pick(connection: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext) -> None:
            matched = HOST_PATTERN.match((server_name or "").lower())
            if matched:
                connection.context = self._context_for(matched["region"])

        default.sni_callback = pick
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = default.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, name="invoke-endpoint", daemon=True).start()
        return server

    def to_json(self) -> dict[str, Any]:
        host, port = self.address()
        return {"host": host, "port": port}


INVOKE_ENDPOINT = InvokeEndpoint()
