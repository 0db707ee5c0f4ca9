"""API Gateway (REST, v1) operations moto 5.2 lacks or gets wrong, answered in front of moto.

The emulator's WSGI app hands a request here when its operation (resolved from botocore's model,
see :mod:`.routing`) is one of :data:`HANDLED_OPERATIONS`; everything else goes to moto untouched.
Handlers work on moto's own model objects (``apigateway_backends[account][region]``), so the rest
of moto (GetStage, GetMethod, GetDomainNames, base path mappings, ...) sees the same resources.
Fields moto does not keep are stored with :func:`.patches.extras` and serialised by the patched
``to_json`` methods in :mod:`.patches`. Client certificates are a store of their own, kept per moto
backend instance so that a moto reset forgets them too.

Semantics follow the API Gateway API reference (field names, error types, patch paths). Checked
against plain moto 5.2.1 before writing each handler:

- client certificates (Generate/Get/Get*s/Update/Delete): moto answers 404 for the whole path;
- ``clientCertificateId`` on stages: moto accepts ``replace /clientCertificateId`` and drops it;
- PutIntegration drops ``connectionId`` and ``integrationTarget`` (the ALB / NLB of a VPC link V2
  integration); GetIntegration answers ``200 {}`` for a method without
  an integration; UpdateIntegration is not implemented (500);
- UpdateRestApi ``replace /disableExecuteApiEndpoint`` with ``"false"`` sets it to *true*
  (``bool("false")``);
- CreateDomainName drops ``mutualTlsAuthentication`` and ``ownershipVerificationCertificateArn``,
  silently replaces an existing domain name and accepts certificates that do not exist;
  UpdateDomainName is not implemented (500);
- DeleteVpcLink succeeds for unknown ids and for VPC links that integrations still use;
- TestInvokeMethod is not implemented (500);
- DeleteRestApi of an unknown id fails with a KeyError (500, which botocore retries) instead of
  NotFoundException;
- GetTags / TagResource / UntagResource work only for stage ARNs (404 for REST APIs, VPC links,
  domain names, client certificates).

What AWS does over time (docs/aws-behaviour.md): a domain name is ``UPDATING`` for the domain-name
delay after CreateDomainName / UpdateDomainName, and UpdateDomainName meanwhile answers
``ConflictException`` "There is already an update in progress"; DeleteVpcLink leaves the link
``DELETING`` for the deletion delay before it is gone; UpdateVpcLink changes name and description
only.

Deleting a client certificate that a stage still uses is allowed, as on AWS (the certificate is
an independent resource; nothing in the API reference forbids it). The stage keeps the now
dangling ``clientCertificateId``; TestInvokeMethod with that id answers BadRequestException.
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from .. import certs
from .delays import DELAYS
from .patches import domain_name_status, extras
from .reply import Reply, json_reply, rest_json_error
from .routing import AwsCall
from .truststore import TRUSTSTORE_PEM, Truststore, TruststoreError, load_truststore

CLIENT_CERTIFICATE_DAYS = 365
DEFAULT_TIMEOUT_MS = 29000
MIN_TIMEOUT_MS = 50
MAX_TIMEOUT_MS = 29000
HTTP_INTEGRATION_TYPES = ("HTTP", "HTTP_PROXY")

# Route 53 hosted zone of API Gateway's regional endpoints (what an alias record to a regional
# custom domain name must use); moto answers the CloudFront zone id for every region.
REGIONAL_HOSTED_ZONE_IDS = {
    "us-east-1": "Z1UJRXOUMOOFQ8",
    "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-1": "Z2MUQ32089INYE",
    "us-west-2": "Z2OJLYMUO9EFXC",
    "ca-central-1": "Z19DQILCV0OWEC",
    "eu-central-1": "Z1U9ULNL0V5AJ3",
    "eu-west-1": "ZLY8HYME6SFDD",
    "eu-west-2": "ZJ5UAJN8Y3Z2Q",
    "eu-west-3": "Z3KY65QIEKYHQQ",
    "eu-north-1": "Z3UWIKFBOOGXPP",
    "ap-northeast-1": "Z1YSHQZHG15GKL",
    "ap-northeast-2": "Z20JF4UZKIW1U8",
    "ap-southeast-1": "ZL327KTPIQFUL",
    "ap-southeast-2": "Z2RPCDW04V8134",
    "sa-east-1": "ZCMLWB8V5SYIT",
}


class ApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequestException", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFoundException", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "ConflictException", message)


# -- client certificates ------------------------------------------------------------------------
@dataclass
class ClientCertificate:
    client_certificate_id: str
    description: str
    pem: str
    created: int
    expires: int
    tags: dict[str, str] = field(default_factory=dict)
    # The private key stays inside API Gateway (never answered); the data plane presents it.
    key_pem: str = field(default="", repr=False)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "clientCertificateId": self.client_certificate_id,
            "description": self.description,
            "pemEncodedCertificate": self.pem,
            "createdDate": self.created,
            "expirationDate": self.expires,
        }
        if self.tags:
            data["tags"] = dict(self.tags)
        return data


def self_signed_pem(
    common_name: str, not_before: datetime, days: int = CLIENT_CERTIFICATE_DAYS, *, validity: timedelta | None = None
) -> str:
    """A self-signed RSA-2048 / SHA-256 certificate for ``common_name`` (public part only, PEM).

    It is valid for ``validity`` when given, else for ``days``.
    """
    return self_signed_pair(common_name, not_before, days, validity=validity)[0]


def self_signed_pair(
    common_name: str, not_before: datetime, days: int = CLIENT_CERTIFICATE_DAYS, *, validity: timedelta | None = None
) -> tuple[str, str]:
    """(certificate PEM, private key PEM) of :func:`self_signed_pem`."""
    lifetime = validity if validity is not None else timedelta(days=days)
    return certs.self_signed(common_name, not_before=not_before, not_after=not_before + lifetime, end_entity=True)


_CLIENT_CERTS: weakref.WeakKeyDictionary[Any, dict[str, ClientCertificate]] = weakref.WeakKeyDictionary()
_STORE_LOCK = threading.RLock()


def client_certificates(backend: Any) -> dict[str, ClientCertificate]:
    """The client certificates of one moto API Gateway backend (account + region)."""
    with _STORE_LOCK:
        found = _CLIENT_CERTS.get(backend)
        if found is None:
            found = {}
            _CLIENT_CERTS[backend] = found
        return found


def clear_client_certificates() -> None:
    with _STORE_LOCK:
        _CLIENT_CERTS.clear()


# -- TestInvokeMethod answers ------------------------------------------------------------------
@dataclass
class TestInvokeAnswer:
    status: int = 200
    body: str = "{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    # The execution log's lines after "Sending request to ..." (a failure as API Gateway logs it); "": success.
    log: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TestInvokeAnswer:
        status = int(data.get("status", 200))
        if not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        headers = data.get("headers")
        return cls(
            status=status,
            body=str(data.get("body", "")),
            headers={str(k): str(v) for k, v in (headers or {}).items()},
            log=str(data.get("log") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body, "headers": dict(self.headers), "log": self.log}


# -- helpers ------------------------------------------------------------------------------------
def _json_body(call: AwsCall) -> dict[str, Any]:
    if not call.body:
        return {}
    try:
        data = json.loads(call.body)
    except ValueError:
        raise bad_request("Invalid request body: not JSON") from None
    if not isinstance(data, dict):
        raise bad_request("Invalid request body: expected a JSON object")
    return data


def _patch_operations(body: dict[str, Any]) -> list[dict[str, Any]]:
    ops = body.get("patchOperations") or []
    if not isinstance(ops, list):
        raise bad_request("patchOperations must be a list")
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request("Each patch operation needs 'op' and 'path'")
        if op["op"] not in ("add", "remove", "replace", "move", "copy", "test"):
            raise ApiError(
                400,
                "ValidationException",
                "1 validation error detected: Value '"
                + str(op["op"])
                + "' at 'updateInput.patchOperations.1.member.op' failed to satisfy constraint: "
                "Member must satisfy enum value set: [add, remove, move, test, replace, copy]",
            )
    return ops


def _invalid_path(op: dict[str, Any], allowed: list[str]) -> ApiError:
    choices = ", ".join(allowed)
    path, kind = op["path"], op["op"]
    return bad_request(f"Invalid patch path '{path}' specified for op '{kind}'. Must be one of: [{choices}]")


def _unsupported_op(op: dict[str, Any], allowed: str) -> ApiError:
    return bad_request(f"Invalid patch operation specified. Must be one of: [{allowed}] for path '{op['path']}'")


def _pointer_key(path: str, prefix: str) -> str:
    """The member key in ``/prefix/<key>`` with JSON-pointer escapes undone (~1 = /, ~0 = ~)."""
    return path[len(prefix) :].replace("~1", "/").replace("~0", "~")


def _bool_value(op: dict[str, Any]) -> bool:
    value = str(op.get("value", "")).strip().lower()
    if value not in ("true", "false"):
        raise bad_request(f"Invalid boolean value '{op.get('value')}' for path '{op['path']}'; use true or false")
    return value == "true"


def _new_id(existing: set[str], length: int = 6) -> str:
    alphabet = string.ascii_lowercase + string.digits
    while True:
        candidate = "".join(random.choices(alphabet, k=length))
        if candidate not in existing:
            return candidate


def _is_stage_variable(value: str) -> bool:
    return value.startswith("${stageVariables.")


def integrations_using(backend: Any, link_id: str) -> list[str]:
    """The integrations (``rest-api-id/resource-id/http-method``) of one moto API Gateway backend
    whose ``connectionId`` is ``link_id`` (a VPC link V1 or V2)."""
    references: list[str] = []
    for api in list(backend.apis.values()):
        for resource in list(api.resources.values()):
            for method_name, method in list(resource.resource_methods.items()):
                integration = method.method_integration
                if integration is not None and extras(integration).get("connectionId") == link_id:
                    references.append(f"{api.id}/{resource.id}/{method_name}")
    return references


def rest_integrations_using(account_id: str, region: str, link_id: str) -> list[str]:
    """:func:`integrations_using` for the REST APIs of one account and Region."""
    from moto.apigateway.models import apigateway_backends

    return integrations_using(apigateway_backends[account_id][region], link_id)


def _load_balancer_arn_problem(arn: str, region: str, account_id: str) -> str | None:
    """Why ``arn`` is no ``integrationTarget`` (an ALB or NLB of this account and Region), or None."""
    parts = arn.split(":")
    resource = parts[5] if len(parts) == 6 else ""
    if not (
        len(parts) == 6
        and parts[2] == "elasticloadbalancing"
        and resource.startswith(("loadbalancer/app/", "loadbalancer/net/"))
        and len(resource.split("/")) == 4
    ):
        return (
            f"Invalid integrationTarget ARN specified: {arn}. "
            "It must be the ARN of an Application or Network Load Balancer."
        )
    if parts[3] != region or parts[4] != account_id:
        return (
            f"Invalid integrationTarget ARN specified: {arn}. "
            "The load balancer must be in the API's account and Region."
        )
    return None


def _acm_certificate(account_id: str, arn: str) -> Any | None:
    from moto.acm.models import acm_backends

    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "acm":
        return None
    region = parts[3]
    try:
        backend = acm_backends[account_id][region]
    except Exception:
        return None
    certificates = getattr(backend, "_certificates", {})
    cert = certificates.get(arn)
    if cert is not None:
        cert.check()
    return cert


def _require_issued_certificate(account_id: str, arn: str, what: str) -> Any:
    cert = _acm_certificate(account_id, arn)
    if cert is None:
        raise bad_request(f"Invalid {what} ARN specified: certificate {arn} not found.")
    if cert.status != "ISSUED":
        raise bad_request(f"The {what} {arn} is not in ISSUED state (current status: {cert.status}).")
    return cert


class ApiGatewayExtension:
    """Request handlers for :data:`HANDLED_OPERATIONS`, plus the TestInvokeMethod answers."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._default_answer: TestInvokeAnswer | None = None
        self._answers: dict[str, TestInvokeAnswer] = {}
        # How long newly generated client certificates live (AWS: 365 days). Tests shorten it so
        # that renewal becomes due by the real clock; certificates already issued keep their dates.
        self._client_certificate_validity = timedelta(days=CLIENT_CERTIFICATE_DAYS)
        self._handlers: dict[str, Callable[[AwsCall, Any, dict[str, Any]], Reply]] = {
            "GenerateClientCertificate": self.generate_client_certificate,
            "GetClientCertificate": self.get_client_certificate,
            "GetClientCertificates": self.get_client_certificates,
            "UpdateClientCertificate": self.update_client_certificate,
            "DeleteClientCertificate": self.delete_client_certificate,
            "CreateStage": self.create_stage,
            "UpdateStage": self.update_stage,
            "PutIntegration": self.put_integration,
            "GetIntegration": self.get_integration,
            "UpdateIntegration": self.update_integration,
            "UpdateRestApi": self.update_rest_api,
            "CreateDomainName": self.create_domain_name,
            "UpdateDomainName": self.update_domain_name,
            "DeleteVpcLink": self.delete_vpc_link,
            "UpdateVpcLink": self.update_vpc_link,
            "TestInvokeMethod": self.test_invoke_method,
            "DeleteRestApi": self.delete_rest_api,
            "GetTags": self.get_tags,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
        }

    # -- dispatch --------------------------------------------------------------------------------
    def handles(self, call: AwsCall) -> bool:
        return call.service == "apigateway" and call.operation in self._handlers

    def handle(self, call: AwsCall) -> Reply:
        from moto.apigateway.models import apigateway_backends
        from moto.core.exceptions import JsonRESTError

        handler = self._handlers[call.operation]
        try:
            with self._lock:
                backend = apigateway_backends[call.account_id][call.region]
                return handler(call, backend, _json_body(call))
        except ApiError as err:
            return rest_json_error(err.status, err.error_type, err.message)
        except JsonRESTError as err:
            return rest_json_error(int(err.code), str(err.error_type), str(err.message))

    # -- TestInvokeMethod answers ------------------------------------------------------------------
    def set_test_invoke_answer(self, answer: TestInvokeAnswer, client_certificate_id: str | None) -> None:
        with self._lock:
            if client_certificate_id:
                self._answers[client_certificate_id] = answer
            else:
                self._default_answer = answer

    def clear_test_invoke_answers(self) -> None:
        with self._lock:
            self._default_answer = None
            self._answers.clear()

    def test_invoke_answers(self) -> dict[str, Any]:
        with self._lock:
            return {
                "default": (self._default_answer or TestInvokeAnswer()).to_json(),
                "byClientCertificate": {k: v.to_json() for k, v in self._answers.items()},
            }

    # -- client certificate lifetime ---------------------------------------------------------------
    def set_client_certificate_validity(self, seconds: float | None) -> None:
        """Lifetime of client certificates generated from now on; None restores 365 days."""
        if seconds is not None and seconds <= 0:
            raise ValueError("validitySeconds must be positive")
        with self._lock:
            self._client_certificate_validity = (
                timedelta(days=CLIENT_CERTIFICATE_DAYS) if seconds is None else timedelta(seconds=seconds)
            )

    def client_certificate_settings(self) -> dict[str, Any]:
        with self._lock:
            return {"validitySeconds": self._client_certificate_validity.total_seconds()}

    def reset(self) -> None:
        self.clear_test_invoke_answers()
        self.set_client_certificate_validity(None)
        clear_client_certificates()

    # -- client certificates ---------------------------------------------------------------------
    def _client_certificate(self, backend: Any, cert_id: str) -> ClientCertificate:
        cert = client_certificates(backend).get(cert_id)
        if cert is None:
            raise not_found("Invalid Client Certificate identifier specified")
        return cert

    def generate_client_certificate(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        store = client_certificates(backend)
        cert_id = _new_id(set(store))
        now = datetime.now(UTC).replace(microsecond=0)
        tags = body.get("tags") or {}
        if not isinstance(tags, dict):
            raise bad_request("tags must be a map")
        validity = self._client_certificate_validity
        pem, key_pem = self_signed_pair(cert_id, now, validity=validity)
        cert = ClientCertificate(
            client_certificate_id=cert_id,
            description=str(body.get("description") or ""),
            pem=pem,
            key_pem=key_pem,
            created=int(now.timestamp()),
            expires=int((now + validity).timestamp()),
            tags={str(k): str(v) for k, v in tags.items()},
        )
        store[cert_id] = cert
        return json_reply(201, cert.to_json())

    def get_client_certificate(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        return json_reply(200, self._client_certificate(backend, call.path_params["clientcertificate_id"]).to_json())

    def get_client_certificates(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        items = sorted(client_certificates(backend).values(), key=lambda c: (c.created, c.client_certificate_id))
        limit_text = call.query_value("limit")
        try:
            limit = int(limit_text) if limit_text else 25
        except ValueError:
            raise bad_request("Invalid limit: must be an integer") from None
        if not 1 <= limit <= 500:
            raise bad_request("Invalid limit: must be between 1 and 500")
        start = 0
        position = call.query_value("position")
        if position:
            ids = [c.client_certificate_id for c in items]
            if position not in ids:
                raise bad_request("Invalid position parameter")
            start = ids.index(position)
        page = items[start : start + limit]
        data: dict[str, Any] = {"item": [c.to_json() for c in page]}
        if start + limit < len(items):
            data["position"] = items[start + limit].client_certificate_id
        return json_reply(200, data)

    def update_client_certificate(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        cert = self._client_certificate(backend, call.path_params["clientcertificate_id"])
        description = cert.description
        for op in _patch_operations(body):
            if op["path"] != "/description":
                raise _invalid_path(op, ["/description"])
            if op["op"] == "replace":
                description = str(op.get("value") or "")
            elif op["op"] == "remove":
                description = ""
            else:
                raise _unsupported_op(op, "replace, remove")
        cert.description = description
        return json_reply(200, cert.to_json())

    def delete_client_certificate(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        cert_id = call.path_params["clientcertificate_id"]
        self._client_certificate(backend, cert_id)
        del client_certificates(backend)[cert_id]
        return Reply(202, b"", [("Content-Type", "application/json")])

    # -- stages ------------------------------------------------------------------------------------
    def create_stage(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        api_id = call.path_params["restapi_id"]
        stage_name = body.get("stageName")
        if not stage_name:
            raise bad_request("Stage name must be non-empty")
        cert_id = body.get("clientCertificateId")
        if cert_id and cert_id not in client_certificates(backend):
            raise bad_request(f"Invalid client certificate identifier specified: {cert_id}")
        stage = backend.create_stage(
            api_id,
            stage_name,
            body.get("deploymentId"),
            variables=body.get("variables") or {},
            description=body.get("description") or "",
            cacheClusterEnabled=body.get("cacheClusterEnabled", False),
            cacheClusterSize=body.get("cacheClusterSize"),
            tags=body.get("tags"),
            tracing_enabled=body.get("tracingEnabled"),
        )
        if cert_id:
            extras(stage)["clientCertificateId"] = cert_id
        return json_reply(201, stage.to_json())

    def update_stage(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        api_id = call.path_params["restapi_id"]
        stage_name = call.path_params["stage_name"]
        stage = backend.get_stage(api_id, stage_name)
        ours = [op for op in _patch_operations(body) if op["path"] == "/clientCertificateId"]
        others = [op for op in body.get("patchOperations") or [] if op["path"] != "/clientCertificateId"]
        unset = object()
        new_cert: object = unset
        for op in ours:
            if op["op"] in ("replace", "add"):
                value = str(op.get("value") or "")
                if value and value not in client_certificates(backend):
                    raise bad_request(f"Invalid client certificate identifier specified: {value}")
                new_cert = value or None
            elif op["op"] == "remove":
                new_cert = None
            else:
                raise _unsupported_op(op, "replace, remove")
        if others:
            stage = backend.update_stage(api_id, stage_name, others)
        if new_cert is not unset:
            extras(stage)["clientCertificateId"] = new_cert
        return json_reply(200, stage.to_json())

    # -- integrations ------------------------------------------------------------------------------
    def _method(self, backend: Any, call: AwsCall) -> Any:
        from moto.apigateway.exceptions import MethodNotFoundException

        resource = backend.get_resource(call.path_params["restapi_id"], call.path_params["resource_id"])
        method = resource.resource_methods.get(call.path_params["http_method"])
        if method is None:
            raise MethodNotFoundException()
        return method

    def _check_connection(
        self,
        call: AwsCall,
        backend: Any,
        connection_type: str | None,
        connection_id: str | None,
        integration_target: str | None,
    ) -> None:
        """A VPC link V1 id (no ``integrationTarget``) or a V2 id with an ``integrationTarget`` (the ALB or
        NLB): "Set up a private integration"; a stage variable id is resolved only at invocation."""
        from .vpclinks_v2 import find_v2_link

        if connection_type not in (None, "INTERNET", "VPC_LINK"):
            raise bad_request(f"Invalid connection type '{connection_type}'. Must be one of: [INTERNET, VPC_LINK]")
        if connection_type != "VPC_LINK":
            if integration_target:
                raise bad_request("integrationTarget can only be set when connectionType is VPC_LINK")
            return
        if not connection_id:
            raise bad_request("A connectionId must be specified when connectionType is VPC_LINK")
        if integration_target:
            problem = _load_balancer_arn_problem(integration_target, call.region, call.account_id)
            if problem:
                raise bad_request(problem)
        if _is_stage_variable(connection_id):
            return
        if connection_id in backend.vpc_links:
            if integration_target:
                raise bad_request(
                    f"integrationTarget cannot be used with VPC link {connection_id}: it is a VPC link V1, which "
                    "targets its Network Load Balancer. Use a VPC link V2."
                )
            return
        if find_v2_link(call.account_id, call.region, connection_id) is not None:
            if not integration_target:
                raise bad_request(
                    f"VPC link {connection_id} is a VPC link V2: an integrationTarget (the ARN of the Application "
                    "or Network Load Balancer) is required."
                )
            return
        raise bad_request(f"Invalid VPC Link identifier specified: {connection_id}")

    @staticmethod
    def _check_timeout(value: Any) -> int:
        try:
            timeout = int(value)
        except (TypeError, ValueError):
            raise bad_request(f"Invalid timeoutInMillis '{value}'") from None
        if not MIN_TIMEOUT_MS <= timeout <= MAX_TIMEOUT_MS:
            raise bad_request(f"Timeout should be between {MIN_TIMEOUT_MS} ms and {MAX_TIMEOUT_MS} ms")
        return timeout

    def put_integration(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        self._method(backend, call)
        integration_type = body.get("type")
        if not integration_type:
            raise bad_request("Enumeration value for IntegrationType must be non-empty")
        connection_type = body.get("connectionType")
        connection_id = body.get("connectionId")
        if connection_type is None and integration_type != "MOCK":
            connection_type = "INTERNET"
        integration_target = body.get("integrationTarget") or None
        self._check_connection(call, backend, connection_type, connection_id, integration_target)
        timeout = self._check_timeout(body.get("timeoutInMillis", DEFAULT_TIMEOUT_MS))
        integration = backend.put_integration(
            call.path_params["restapi_id"],
            call.path_params["resource_id"],
            call.path_params["http_method"],
            integration_type,
            body.get("uri"),
            integration_method=body.get("httpMethod"),
            credentials=body.get("credentials"),
            request_templates=body.get("requestTemplates"),
            passthrough_behavior=body.get("passthroughBehavior") or "WHEN_NO_MATCH",
            tls_config=body.get("tlsConfig"),
            cache_namespace=body.get("cacheNamespace"),
            timeout_in_millis=timeout,
            request_parameters=body.get("requestParameters"),
            content_handling=body.get("contentHandling"),
            connection_type=connection_type,
        )
        integration.cache_key_parameters = list(body.get("cacheKeyParameters") or [])
        extras(integration)["connectionId"] = connection_id if connection_type == "VPC_LINK" else None
        extras(integration)["integrationTarget"] = integration_target
        return json_reply(201, integration.to_json())

    def get_integration(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        integration = self._method(backend, call).method_integration
        if integration is None:
            raise not_found("Invalid Integration identifier specified")
        return json_reply(200, integration.to_json())

    _INTEGRATION_SCALARS = {
        "/uri": "uri",
        "/httpMethod": "http_method",
        "/type": "integration_type",
        "/connectionType": "connection_type",
        "/connectionId": "connection_id",
        "/credentials": "credentials",
        "/passthroughBehavior": "passthrough_behaviour",
        "/contentHandling": "content_handling",
        "/timeoutInMillis": "timeout_in_millis",
        "/cacheNamespace": "cache_namespace",
        "/integrationTarget": "integration_target",
    }
    # kept in extras (moto's Integration has no such attribute)
    _INTEGRATION_EXTRAS = {"connection_id": "connectionId", "integration_target": "integrationTarget"}
    _INTEGRATION_PATHS = [
        *_INTEGRATION_SCALARS,
        "/requestParameters/{name}",
        "/requestTemplates/{contentType}",
        "/cacheKeyParameters/{name}",
        "/tlsConfig/insecureSkipVerification",
    ]

    def update_integration(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        integration = self._method(backend, call).method_integration
        if integration is None:
            raise not_found("Invalid Integration identifier specified")
        state: dict[str, Any] = {
            attr: getattr(integration, attr, None)
            for attr in self._INTEGRATION_SCALARS.values()
            if attr not in self._INTEGRATION_EXTRAS
        }
        for attr, key in self._INTEGRATION_EXTRAS.items():
            state[attr] = extras(integration).get(key)
        request_parameters = dict(integration.request_parameters or {})
        request_templates = dict(integration.request_templates or {})
        cache_keys = list(integration.cache_key_parameters or [])
        tls_config = dict(integration.tls_config or {})
        for op in _patch_operations(body):
            path, kind = op["path"], op["op"]
            if path in self._INTEGRATION_SCALARS:
                attr = self._INTEGRATION_SCALARS[path]
                if kind in ("replace", "add"):
                    state[attr] = op.get("value")
                elif kind == "remove":
                    state[attr] = None
                else:
                    raise _unsupported_op(op, "add, remove, replace")
            elif path.startswith("/requestParameters/"):
                key = _pointer_key(path, "/requestParameters/")
                if kind in ("add", "replace"):
                    request_parameters[key] = str(op.get("value", ""))
                elif kind == "remove":
                    if key not in request_parameters:
                        raise bad_request(f"Cannot remove request parameter '{key}': it does not exist")
                    del request_parameters[key]
                else:
                    raise _unsupported_op(op, "add, remove, replace")
            elif path.startswith("/requestTemplates/"):
                key = _pointer_key(path, "/requestTemplates/")
                if kind in ("add", "replace"):
                    request_templates[key] = str(op.get("value", ""))
                elif kind == "remove":
                    request_templates.pop(key, None)
                else:
                    raise _unsupported_op(op, "add, remove, replace")
            elif path.startswith("/cacheKeyParameters/"):
                key = _pointer_key(path, "/cacheKeyParameters/")
                if kind == "add":
                    if key not in cache_keys:
                        cache_keys.append(key)
                elif kind == "remove":
                    if key in cache_keys:
                        cache_keys.remove(key)
                else:
                    raise _unsupported_op(op, "add, remove")
            elif path == "/tlsConfig/insecureSkipVerification":
                if kind != "replace":
                    raise _unsupported_op(op, "replace")
                tls_config["insecureSkipVerification"] = _bool_value(op)
            else:
                raise _invalid_path(op, self._INTEGRATION_PATHS)
        if state["connection_type"] != "VPC_LINK" and state["connection_id"]:
            raise bad_request("connectionId can only be set when connectionType is VPC_LINK")
        self._check_connection(
            call, backend, state["connection_type"], state["connection_id"], state["integration_target"]
        )
        if state["timeout_in_millis"] is not None:
            state["timeout_in_millis"] = self._check_timeout(state["timeout_in_millis"])
        if state["integration_type"] in HTTP_INTEGRATION_TYPES:
            parsed = urlparse(str(state["uri"] or ""))
            if not (parsed.scheme in ("http", "https") and parsed.netloc):
                raise bad_request("Invalid HTTP endpoint specified for URI")
        for attr, value in state.items():
            if attr in self._INTEGRATION_EXTRAS:
                extras(integration)[self._INTEGRATION_EXTRAS[attr]] = value
            else:
                setattr(integration, attr, value)
        integration.request_parameters = request_parameters or None
        integration.request_templates = request_templates or None
        integration.cache_key_parameters = cache_keys
        integration.tls_config = tls_config or None
        return json_reply(200, integration.to_json())

    # -- REST APIs ---------------------------------------------------------------------------------
    def update_rest_api(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        api_id = call.path_params["restapi_id"]
        api = backend.get_rest_api(api_id)
        ops = _patch_operations(body)
        disable: bool | None = None
        for op in ops:
            if op["path"] == "/disableExecuteApiEndpoint":
                if op["op"] != "replace":
                    raise _unsupported_op(op, "replace")
                disable = _bool_value(op)
        others = [op for op in ops if op["path"] != "/disableExecuteApiEndpoint"]
        if others:
            api = backend.update_rest_api(api_id, others)
        if disable is not None:
            api.disableExecuteApiEndpoint = disable
        return json_reply(200, api.to_dict())

    # -- domain names ------------------------------------------------------------------------------
    def _check_domain_settings(
        self,
        call: AwsCall,
        *,
        regional: bool,
        security_policy: str,
        regional_certificate_arn: str | None,
        ownership_arn: str | None,
        truststore_uri: str | None,
        truststore_version: str | None,
        load_truststore_object: bool = True,
    ) -> Truststore | None:
        """Validate a domain name's settings; return the truststore read from S3.

        None when mutual TLS is off, or when ``load_truststore_object`` is false (the truststore
        did not change, so its earlier warnings and certificates stand).
        """
        if security_policy not in ("TLS_1_0", "TLS_1_2") and not security_policy.startswith("SecurityPolicy_"):
            raise bad_request(f"Invalid security policy '{security_policy}'. Must be one of: [TLS_1_0, TLS_1_2]")
        regional_cert = None
        if regional:
            if not regional_certificate_arn:
                raise bad_request("A certificate was not provided for the endpoint type REGIONAL.")
            regional_cert = _require_issued_certificate(
                call.account_id, regional_certificate_arn, "regional certificate"
            )
        if ownership_arn:
            # Not necessarily ISSUED yet: the domain name then waits in PENDING_OWNERSHIP_VERIFICATION.
            owner = _acm_certificate(call.account_id, ownership_arn)
            if owner is None:
                raise bad_request(
                    f"Invalid ownership verification certificate ARN specified: {ownership_arn} not found."
                )
            if owner.type != "AMAZON_ISSUED":
                raise bad_request("The ownership verification certificate must be a public certificate issued by ACM.")
        if not truststore_uri:
            return None
        if not regional:
            raise bad_request("Mutual TLS is only supported for REGIONAL custom domain names.")
        if security_policy == "TLS_1_0":
            raise bad_request("Mutual TLS requires the TLS_1_2 security policy.")
        if regional_cert is not None and regional_cert.type != "AMAZON_ISSUED" and not ownership_arn:
            raise bad_request("Missing ownershipVerificationCertificate.")
        if not load_truststore_object:
            return None
        try:
            return load_truststore(call.account_id, truststore_uri, truststore_version)
        except TruststoreError as err:
            raise bad_request(str(err)) from None

    def create_domain_name(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        name = body.get("domainName")
        if not name:
            raise bad_request("No Domain Name specified")
        if name in backend.domain_names:
            raise bad_request("The domain name you provided already exists.")
        endpoint_configuration = body.get("endpointConfiguration") or {"types": ["EDGE"]}
        types = list(endpoint_configuration.get("types") or ["EDGE"])
        regional = "REGIONAL" in types
        security_policy = str(body.get("securityPolicy") or "TLS_1_2")
        mtls = body.get("mutualTlsAuthentication") or {}
        truststore_uri = mtls.get("truststoreUri") or None
        truststore_version = mtls.get("truststoreVersion") or None
        ownership_arn = body.get("ownershipVerificationCertificateArn") or None
        truststore = self._check_domain_settings(
            call,
            regional=regional,
            security_policy=security_policy,
            regional_certificate_arn=body.get("regionalCertificateArn"),
            ownership_arn=ownership_arn,
            truststore_uri=truststore_uri,
            truststore_version=truststore_version,
        )
        domain = backend.create_domain_name(
            name,
            body.get("certificateName"),
            body.get("tags"),
            body.get("certificateArn"),
            body.get("certificateBody"),
            body.get("certificatePrivateKey"),
            body.get("certificateChain"),
            body.get("regionalCertificateName"),
            body.get("regionalCertificateArn"),
            {"types": types, **{k: v for k, v in endpoint_configuration.items() if k != "types"}},
            security_policy,
        )
        domain.regional_hosted_zone_id = REGIONAL_HOSTED_ZONE_IDS.get(call.region, domain.regional_hosted_zone_id)
        more = extras(domain)
        more["changed"] = time.time()  # UPDATING for the domain-name delay (delays.py)
        more["domainNameArn"] = f"arn:aws:apigateway:{call.region}::/domainnames/{name}"
        more["ownershipVerificationCertificateArn"] = ownership_arn
        if truststore is not None:
            more["mutualTlsAuthentication"] = {
                "truststoreUri": truststore_uri,
                "truststoreVersion": truststore_version,
                "truststoreWarnings": list(truststore.warnings),
            }
            more[TRUSTSTORE_PEM] = truststore.pem()
        return json_reply(201, domain.to_json())

    _DOMAIN_PATHS = [
        "/securityPolicy",
        "/regionalCertificateArn",
        "/regionalCertificateName",
        "/certificateArn",
        "/certificateName",
        "/ownershipVerificationCertificateArn",
        "/mutualTlsAuthentication/truststoreUri",
        "/mutualTlsAuthentication/truststoreVersion",
    ]

    def update_domain_name(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        domain = backend.get_domain_name(call.path_params["domain_name"])
        if domain_name_status(domain) == "UPDATING":
            raise conflict("There is already an update in progress")
        more = extras(domain)
        mtls = dict(more.get("mutualTlsAuthentication") or {})
        state: dict[str, Any] = {
            "/securityPolicy": domain.security_policy,
            "/regionalCertificateArn": domain.regional_certificate_arn,
            "/regionalCertificateName": domain.regional_certificate_name,
            "/certificateArn": domain.certificate_arn,
            "/certificateName": domain.certificate_name,
            "/ownershipVerificationCertificateArn": more.get("ownershipVerificationCertificateArn"),
            "/mutualTlsAuthentication/truststoreUri": mtls.get("truststoreUri"),
            "/mutualTlsAuthentication/truststoreVersion": mtls.get("truststoreVersion"),
        }
        touched_truststore = False
        for op in _patch_operations(body):
            path = op["path"]
            if path not in state:
                raise _invalid_path(op, self._DOMAIN_PATHS)
            if op["op"] == "replace":
                state[path] = op.get("value") or None
            elif op["op"] == "remove" and path in (
                "/ownershipVerificationCertificateArn",
                "/mutualTlsAuthentication/truststoreVersion",
            ):
                state[path] = None
            else:
                raise _unsupported_op(op, "replace")
            if path == "/mutualTlsAuthentication/truststoreUri":
                touched_truststore = True
                if not any(o["path"] == "/mutualTlsAuthentication/truststoreVersion" for o in body["patchOperations"]):
                    state["/mutualTlsAuthentication/truststoreVersion"] = None
            elif path == "/mutualTlsAuthentication/truststoreVersion":
                touched_truststore = True
        if state["/mutualTlsAuthentication/truststoreVersion"] and not state["/mutualTlsAuthentication/truststoreUri"]:
            raise bad_request("A truststoreVersion requires a truststoreUri.")
        types = list((domain.endpoint_configuration or {}).get("types") or ["EDGE"])
        enabling = bool(state["/mutualTlsAuthentication/truststoreUri"]) and not mtls.get("truststoreUri")
        truststore = self._check_domain_settings(
            call,
            regional="REGIONAL" in types,
            security_policy=str(state["/securityPolicy"] or "TLS_1_2"),
            regional_certificate_arn=state["/regionalCertificateArn"],
            ownership_arn=state["/ownershipVerificationCertificateArn"],
            truststore_uri=state["/mutualTlsAuthentication/truststoreUri"],
            truststore_version=state["/mutualTlsAuthentication/truststoreVersion"],
            load_truststore_object=touched_truststore or enabling,
        )
        domain.security_policy = state["/securityPolicy"]
        domain.regional_certificate_arn = state["/regionalCertificateArn"]
        domain.regional_certificate_name = state["/regionalCertificateName"]
        domain.certificate_arn = state["/certificateArn"]
        domain.certificate_name = state["/certificateName"]
        more["ownershipVerificationCertificateArn"] = state["/ownershipVerificationCertificateArn"]
        if not state["/mutualTlsAuthentication/truststoreUri"]:
            more.pop("mutualTlsAuthentication", None)
            more.pop(TRUSTSTORE_PEM, None)
        else:
            warnings = truststore.warnings if truststore is not None else mtls.get("truststoreWarnings") or []
            more["mutualTlsAuthentication"] = {
                "truststoreUri": state["/mutualTlsAuthentication/truststoreUri"],
                "truststoreVersion": state["/mutualTlsAuthentication/truststoreVersion"],
                "truststoreWarnings": list(warnings),
            }
            if truststore is not None:  # trust changes only when the domain is pointed at a truststore
                more[TRUSTSTORE_PEM] = truststore.pem()
        more["changed"] = time.time()
        return json_reply(200, domain.to_json())

    def delete_rest_api(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        api_id = call.path_params["restapi_id"]
        backend.get_rest_api(api_id)  # NotFoundException for unknown ids
        backend.delete_rest_api(api_id)
        return Reply(202, b"", [("Content-Type", "application/json")])

    # -- tags ----------------------------------------------------------------------------------------
    def _tag_holder(self, call: AwsCall, backend: Any) -> tuple[Any, str]:
        """(object, attribute) holding the tag map of the resource named by the ARN in the path."""
        arn = call.path_params["resource_arn"]
        _, _, path = arn.partition("::")
        parts = path.strip("/").split("/")
        try:
            if len(parts) == 2 and parts[0] == "restapis":
                return backend.get_rest_api(parts[1]), "tags"
            if len(parts) == 4 and parts[0] == "restapis" and parts[2] == "stages":
                return backend.get_stage(parts[1], parts[3]), "tags"
            if len(parts) == 2 and parts[0] == "vpclinks":
                return backend.get_vpc_link(parts[1]), "tags"
            if len(parts) == 2 and parts[0] == "domainnames":
                return backend.get_domain_name(parts[1]), "tags"
            if len(parts) == 2 and parts[0] == "clientcertificates":
                return self._client_certificate(backend, parts[1]), "tags"
        except ApiError:
            raise
        except Exception as err:
            if getattr(err, "code", None) == 404:
                raise not_found(f"Invalid resource identifier specified: {arn}") from None
            raise
        raise bad_request(f"Invalid ARN specified in the request: {arn}")

    def get_tags(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        holder, attribute = self._tag_holder(call, backend)
        return json_reply(200, {"tags": dict(getattr(holder, attribute) or {})})

    def tag_resource(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        holder, attribute = self._tag_holder(call, backend)
        tags = body.get("tags") or {}
        if not isinstance(tags, dict):
            raise bad_request("tags must be a map")
        merged = dict(getattr(holder, attribute) or {})
        merged.update({str(k): str(v) for k, v in tags.items()})
        if len(merged) > 50:
            raise bad_request("Too many tags: a resource can have at most 50 tags")
        setattr(holder, attribute, merged)
        return Reply(204, b"", [])

    def untag_resource(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        holder, attribute = self._tag_holder(call, backend)
        remaining = dict(getattr(holder, attribute) or {})
        for key in call.query.get("tagKeys", []):
            remaining.pop(key, None)
        setattr(holder, attribute, remaining)
        return Reply(204, b"", [])

    # -- VPC links ---------------------------------------------------------------------------------
    def delete_vpc_link(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        link_id = call.path_params["vpclink_id"]
        if link_id not in backend.vpc_links:
            raise not_found("Invalid Vpc Link identifier specified")
        references = integrations_using(backend, link_id)
        if references:
            raise bad_request(
                f"Cannot delete vpc link. Vpc link '{link_id}', is referenced in [{', '.join(references)}] "
                "in format of [rest-api-id/resource-id/http-method]."
            )
        link = backend.vpc_links[link_id]
        more = extras(link)
        seconds = DELAYS.get("deletionSeconds")
        if "deleting" not in more:
            if seconds <= 0:
                backend.delete_vpc_link(link_id)
            else:
                # DELETING for the deletion delay, then gone (GetVpcLink: 404).
                more["deleting"] = time.time()
                links = backend.vpc_links
                DELAYS.schedule(seconds, lambda: links.pop(link_id, None) if links.get(link_id) is link else None)
        return Reply(202, b"", [("Content-Type", "application/json")])

    def update_vpc_link(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        """Name and description change in place; the target cannot ("Target arns are not allowed to be
        changed/added", hashicorp/terraform-provider-aws #2512)."""
        link_id = call.path_params["vpclink_id"]
        link = backend.vpc_links.get(link_id)
        if link is None:
            raise not_found("Invalid Vpc Link identifier specified")
        name, description = link.name, link.description
        for op in _patch_operations(body):
            if op["path"] in ("/targetArns", "/targetArns/0") or op["path"].startswith("/targetArns/"):
                raise bad_request("Target arns are not allowed to be changed/added.")
            if op["path"] not in ("/name", "/description"):
                raise _invalid_path(op, ["/name", "/description"])
            if op["op"] != "replace":
                raise _unsupported_op(op, "replace")
            if op["path"] == "/name":
                name = str(op.get("value") or "")
                if not name.strip():
                    raise bad_request("Name cannot be empty")
            else:
                description = str(op.get("value") or "")
        link.name, link.description = name, description
        return json_reply(200, link.to_json())

    # -- TestInvokeMethod --------------------------------------------------------------------------
    def test_invoke_method(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        method = self._method(backend, call)
        api_id = call.path_params["restapi_id"]
        resource = backend.get_resource(api_id, call.path_params["resource_id"])
        cert_id = body.get("clientCertificateId") or None
        if cert_id and cert_id not in client_certificates(backend):
            raise bad_request(f"Invalid client certificate identifier specified: {cert_id}")
        with self._lock:
            injected = (self._answers.get(cert_id) if cert_id else None) or self._default_answer
        integration = method.method_integration
        if injected is None and integration is not None and integration.connection_type == "VPC_LINK":
            return self._test_invoke_through_the_data_plane(call, backend, body, resource, integration, cert_id)
        answer = injected or TestInvokeAnswer()
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        path = body.get("pathWithQueryString") or resource.get_path()
        integration = method.method_integration
        lines = [
            f"Execution log for request {request_id}",
            f"{stamp} : Starting execution for request: {request_id}",
            f"{stamp} : HTTP Method: {call.path_params['http_method']}, Resource Path: {path}",
            f"{stamp} : Method request headers: {body.get('headers') or {}}",
            f"{stamp} : Method request body before transformations: {body.get('body') or ''}",
        ]
        status, response_body, headers = answer.status, answer.body, dict(answer.headers)
        if integration is None:
            status, response_body, headers = 500, '{"message": "Internal server error"}', {}
            lines.append(f"{stamp} : Execution failed due to configuration error: No integration defined for method")
        else:
            uri = integration.uri or ""
            lines += [
                f"{stamp} : Endpoint request URI: {uri}",
                f"{stamp} : Sending request to {uri}",
            ]
            received = [
                f"{stamp} : Received response. Status: {status}, Integration latency: 1 ms",
                f"{stamp} : Endpoint response headers: {headers}",
                f"{stamp} : Endpoint response body before transformations: {response_body}",
                f"{stamp} : Method response body after transformations: {response_body}",
                f"{stamp} : Method response headers: {headers}",
                f"{stamp} : Successfully completed execution",
            ]
            # An injected failure is logged as API Gateway logs it, instead of the response lines.
            lines += [f"{stamp} : {line}" for line in answer.log.splitlines()] if answer.log else received
        lines.append(f"{stamp} : Method completed with status: {status}")
        return json_reply(
            200,
            {
                "status": status,
                "body": response_body,
                "headers": headers,
                "multiValueHeaders": {k: [v] for k, v in headers.items()},
                "log": "\n".join(lines) + "\n",
                "latency": max(1, int((time.monotonic() - started) * 1000)),
            },
        )

    def _test_invoke_through_the_data_plane(
        self, call: AwsCall, backend: Any, body: dict[str, Any], resource: Any, integration: Any, cert_id: str | None
    ) -> Reply:
        """TestInvokeMethod over the real request path (no injected answer configured)."""
        from .dataplane.path import ClientIdentity, forward_to_alb, integration_method, integration_path

        started = time.monotonic()
        request_id = str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        cert = client_certificates(backend).get(cert_id) if cert_id else None
        client = ClientIdentity(cert.pem, cert.key_pem) if cert is not None and cert.key_pem else None
        request_path = str(body.get("pathWithQueryString") or "")
        headers = {str(k): str(v) for k, v in dict(body.get("headers") or {}).items()}
        outcome = forward_to_alb(
            call.account_id,
            call.region,
            integration,
            {str(k): str(v) for k, v in dict(body.get("stageVariables") or {}).items()},
            client,
            integration_method(integration, call.path_params["http_method"]),
            integration_path(integration, resource.get_path(), request_path or "/"),
            headers,
            str(body.get("body") or ""),
        )
        lines = [
            f"Execution log for request {request_id}",
            f"{stamp} : Starting execution for request: {request_id}",
            f"{stamp} : HTTP Method: {call.path_params['http_method']}, Resource Path: {request_path or '/'}",
            f"{stamp} : Endpoint request URI: {integration.uri}",
            *[f"{stamp} : {line}" for line in outcome.log],
            f"{stamp} : Method completed with status: {outcome.status}",
        ]
        return json_reply(
            200,
            {
                "status": outcome.status,
                "body": outcome.body,
                "headers": outcome.headers,
                "multiValueHeaders": {k: [v] for k, v in outcome.headers.items()},
                "log": "\n".join(lines) + "\n",
                "latency": max(1, int((time.monotonic() - started) * 1000)),
            },
        )


HANDLED_OPERATIONS = frozenset(
    {
        "GenerateClientCertificate",
        "GetClientCertificate",
        "GetClientCertificates",
        "UpdateClientCertificate",
        "DeleteClientCertificate",
        "CreateStage",
        "UpdateStage",
        "PutIntegration",
        "GetIntegration",
        "UpdateIntegration",
        "UpdateRestApi",
        "CreateDomainName",
        "UpdateDomainName",
        "DeleteVpcLink",
        "UpdateVpcLink",
        "TestInvokeMethod",
        "DeleteRestApi",
        "GetTags",
        "TagResource",
        "UntagResource",
    }
)
