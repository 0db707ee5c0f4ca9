"""Work out which AWS operation an HTTP request is, the way the real endpoint would.

Every request reaches the emulator on one host and port, so the service comes from the SigV4
credential scope (``Credential=AKID/20240101/ap-northeast-1/apigateway/aws4_request``) and the
operation from the protocol of that service in botocore's own service model:

- ``json`` (ACM, ...): the ``X-Amz-Target`` header, ``CertificateManager.DescribeCertificate``;
- ``query`` / ``ec2`` (ELBv2, EC2, STS, IAM, ...): the ``Action`` parameter of the form body or
  query string; the ``Version`` parameter tells services that share a signing name apart
  (``elasticloadbalancing`` is both ``elb`` 2012-06-01 and ``elbv2`` 2015-12-01);
- ``rest-json`` / ``rest-xml`` (API Gateway, Route 53, S3, ...): HTTP method + path matched against
  every operation's ``requestUri`` template; literal query keys in the template (``?versioning``)
  and required query-string / header members (S3 ``UploadPart`` needs ``partNumber`` and
  ``uploadId``, ``CopyObject`` needs ``x-amz-copy-source``) break ties between operations that
  share a path.
"""

from __future__ import annotations

import io
import os
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session
from botocore.model import OperationModel, ServiceModel

# Signing names that do not equal a botocore service name, or that several services share.
# Order matters for REST services: the first whose routes match wins.
SIGNING_NAME_SERVICES: dict[str, tuple[str, ...]] = {
    "elasticloadbalancing": ("elbv2", "elb"),
    "apigateway": ("apigateway", "apigatewayv2"),
    "execute-api": ("apigatewaymanagementapi",),
    "monitoring": ("cloudwatch",),
    "email": ("ses", "sesv2"),
    "states": ("stepfunctions",),
    "tagging": ("resourcegroupstaggingapi",),
    "events": ("events",),
    "elasticfilesystem": ("efs",),
    "ses": ("ses", "sesv2"),
}

READ_PREFIXES = ("Get", "List", "Describe", "Head", "TestInvoke")
UNKNOWN_OPERATION = "Unknown"

_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")
# The same pattern moto uses to take the access key from the Authorization header.
_ACCESS_KEY_RE = re.compile(r"AWS.*(?P<access_key>(?<![A-Z0-9])[A-Z0-9]{20}(?![A-Z0-9]))[:/]")


def is_write(operation: str) -> bool:
    """An operation changes state unless its name says it reads."""
    return not operation.startswith(READ_PREFIXES)


@dataclass
class AwsCall:
    """One AWS API request as the emulator sees it (body already buffered)."""

    method: str
    raw_path: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    signing_name: str | None = None
    service: str = "unknown"
    operation: str = UNKNOWN_OPERATION
    region: str = "us-east-1"
    account_id: str = "123456789012"
    protocol: str = ""
    path_params: dict[str, str] = field(default_factory=dict)
    form: dict[str, list[str]] = field(default_factory=dict)

    @property
    def write(self) -> bool:
        return is_write(self.operation)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


def _headers_from_environ(environ: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = str(value)
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = str(environ["CONTENT_LENGTH"])
    return headers


def buffer_body(environ: dict[str, Any]) -> bytes:
    """Read the whole request body and put it back so that the next WSGI app can read it again."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length_text = environ.get("CONTENT_LENGTH") or ""
    if length_text.strip():
        try:
            length = int(length_text)
        except ValueError:
            length = 0
        body = stream.read(length) if length > 0 else b""
    elif environ.get("wsgi.input_terminated") or "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")):
        body = stream.read()
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def account_for(headers: dict[str, str]) -> str:
    """The account moto will use for this request (same precedence as moto's BaseResponse)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if "x-moto-account-id" in headers:
        return headers["x-moto-account-id"]
    access_key = "AKIAEXAMPLE"
    match = _ACCESS_KEY_RE.search(headers.get("authorization", ""))
    if match:
        access_key = match.group("access_key")
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(access_key))


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    regex: re.Pattern[str]
    query_literals: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    literal_length: int


def _compile_uri(uri: str) -> tuple[re.Pattern[str], tuple[tuple[str, str | None], ...], int]:
    path, _, query = uri.partition("?")
    parts: list[str] = []
    literal_length = 0
    for token in re.split(r"(\{[^}]+\})", path):
        if not token:
            continue
        if token.startswith("{") and token.endswith("}"):
            name = token[1:-1]
            greedy = name.endswith("+")
            group = re.sub(r"\W", "_", name.rstrip("+"))
            parts.append(f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)")
        else:
            literal_length += len(token)
            parts.append(re.escape(token))
    regex = "".join(parts)
    if regex.endswith("/"):
        regex = regex[:-1] + "/?"
    else:
        regex += "/?"
    literals: list[tuple[str, str | None]] = []
    for item in query.split("&") if query else []:
        key, sep, value = item.partition("=")
        literals.append((key, value if sep else None))
    return re.compile(f"^{regex}$"), tuple(literals), literal_length


class OperationResolver:
    """Maps requests to (service, operation) using botocore's service models; thread-safe, cached."""

    def __init__(self) -> None:
        self._session = botocore.session.get_session()
        self._lock = threading.Lock()
        self._models: dict[str, ServiceModel | None] = {}
        self._routes: dict[str, list[_Route]] = {}
        self._signing_scan: dict[str, tuple[str, ...]] | None = None

    def model(self, service: str) -> ServiceModel | None:
        with self._lock:
            if service not in self._models:
                try:
                    self._models[service] = self._session.get_service_model(service)
                except Exception:
                    self._models[service] = None
            return self._models[service]

    def operation_model(self, service: str, operation: str) -> OperationModel | None:
        model = self.model(service)
        if model is None or operation not in model.operation_names:
            return None
        return model.operation_model(operation)

    def _candidates(self, signing_name: str) -> tuple[str, ...]:
        if signing_name in SIGNING_NAME_SERVICES:
            return SIGNING_NAME_SERVICES[signing_name]
        if self.model(signing_name) is not None:
            return (signing_name,)
        return self._scan_signing_names().get(signing_name, ())

    def _scan_signing_names(self) -> dict[str, tuple[str, ...]]:
        """Slow path for services not named by their signing name: look at every model once."""
        if self._signing_scan is None:
            found: dict[str, list[str]] = {}
            for name in self._session.get_available_services():
                model = self.model(name)
                if model is None:
                    continue
                signing = model.metadata.get("signingName") or model.metadata.get("endpointPrefix") or name
                found.setdefault(signing, []).append(name)
            self._signing_scan = {k: tuple(v) for k, v in found.items()}
        return self._signing_scan

    def _rest_routes(self, service: str) -> list[_Route]:
        with self._lock:
            cached = self._routes.get(service)
        if cached is not None:
            return cached
        model = self.model(service)
        routes: list[_Route] = []
        if model is not None:
            for name in model.operation_names:
                op = model.operation_model(name)
                http = op.http
                regex, literals, literal_length = _compile_uri(http.get("requestUri", "/"))
                required_query: list[str] = []
                required_headers: list[str] = []
                shape = op.input_shape
                if shape is not None:
                    for member in shape.required_members:
                        ser = shape.members[member].serialization
                        if ser.get("location") == "querystring":
                            required_query.append(ser.get("name", member))
                        elif ser.get("location") == "header":
                            required_headers.append(ser.get("name", member).lower())
                routes.append(
                    _Route(
                        name,
                        http.get("method", "GET"),
                        regex,
                        literals,
                        tuple(required_query),
                        tuple(required_headers),
                        literal_length,
                    )
                )
        with self._lock:
            self._routes[service] = routes
        return routes

    def match_rest(self, service: str, call: AwsCall) -> tuple[str, dict[str, str]] | None:
        best: tuple[tuple[int, int, int], _Route, dict[str, str]] | None = None
        for route in self._rest_routes(service):
            if route.method != call.method:
                continue
            match = route.regex.match(call.raw_path)
            if match is None:
                continue
            literal_hits = 0
            ok = True
            for key, value in route.query_literals:
                if key not in call.query or (value is not None and value not in call.query[key]):
                    ok = False
                    break
                literal_hits += 1
            if not ok:
                continue
            if any(q not in call.query for q in route.required_query):
                continue
            if any(h not in call.headers for h in route.required_headers):
                continue
            required_hits = len(route.required_query) + len(route.required_headers)
            score = (literal_hits, required_hits, route.literal_length)
            if best is None or score > best[0]:
                params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                best = (score, route, params)
        if best is None:
            return None
        return best[1].operation, best[2]

    def resolve(self, call: AwsCall) -> None:
        """Fill in service, operation, protocol and path parameters of ``call``."""
        signing = call.signing_name
        if not signing:
            return
        candidates = self._candidates(signing)
        if not candidates:
            call.service = signing
            return
        call.service = candidates[0]
        action = _first(call.form, "Action") or _first(call.query, "Action")
        version = _first(call.form, "Version") or _first(call.query, "Version")
        target = call.header("x-amz-target")
        for name in candidates:
            model = self.model(name)
            if model is None:
                continue
            protocol = str(model.metadata.get("protocol", ""))
            if protocol in ("query", "ec2"):
                if action is None:
                    continue
                if version and len(candidates) > 1 and model.metadata.get("apiVersion") != version:
                    continue
                call.service, call.protocol, call.operation = name, protocol, action
                return
            if protocol == "json":
                if not target:
                    continue
                prefix, _, op = target.rpartition(".")
                expected = model.metadata.get("targetPrefix")
                if expected and prefix and prefix != expected and len(candidates) > 1:
                    continue
                call.service, call.protocol, call.operation = name, "json", op
                return
            if protocol.startswith("rest"):
                matched = self.match_rest(name, call)
                if matched is None:
                    continue
                call.service, call.protocol = name, protocol
                call.operation, call.path_params = matched
                return
            if target:  # smithy-rpc-v2-cbor and other target-based protocols
                call.service, call.protocol, call.operation = name, protocol, target.rpartition(".")[2]
                return
        # Nothing matched: keep the first candidate's name and say what we can.
        first = self.model(candidates[0])
        call.protocol = str(first.metadata.get("protocol", "")) if first is not None else ""
        if action:
            call.operation = action
        elif target:
            call.operation = target.rpartition(".")[2]


def _first(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


@lru_cache(maxsize=1)
def default_resolver() -> OperationResolver:
    return OperationResolver()


def parse_call(environ: dict[str, Any], resolver: OperationResolver | None = None) -> AwsCall:
    """Buffer the body of a WSGI request and describe it as an :class:`AwsCall`."""
    body = buffer_body(environ)
    headers = _headers_from_environ(environ)
    raw_uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    if raw_uri:
        split = urlsplit(raw_uri)
        raw_path = split.path or "/"
        query_string = split.query
    else:
        raw_path = str(environ.get("PATH_INFO") or "/")
        query_string = str(environ.get("QUERY_STRING") or "")
    if not raw_path.startswith("/"):
        raw_path = "/" + raw_path
    query = parse_qs(query_string, keep_blank_values=True)
    form: dict[str, list[str]] = {}
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded") and body:
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
    call = AwsCall(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        raw_path=raw_path,
        path=unquote(raw_path),
        query=query,
        headers=headers,
        body=body,
        form=form,
    )
    match = _CREDENTIAL_RE.search(headers.get("authorization", ""))
    if match:
        call.region = match.group(3)
        call.signing_name = match.group(4).lower()
    elif "x-amz-credential" in {k.lower() for k in query}:
        # Pre-signed URL: the credential scope travels in the query string.
        cred = next(v[0] for k, v in query.items() if k.lower() == "x-amz-credential")
        parts = cred.split("/")
        if len(parts) >= 5:
            call.region, call.signing_name = parts[2], parts[3].lower()
    call.account_id = account_for(headers)
    (resolver or default_resolver()).resolve(call)
    return call
