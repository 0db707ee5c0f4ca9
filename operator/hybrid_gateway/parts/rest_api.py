"""The REST API with its resource tree, methods and HTTP_PROXY integrations through the VPC link.

Every route method is an `HTTP_PROXY` integration with `connectionType: VPC_LINK` to
``https://<front-door hostname><backend path>`` (seed 000: API Gateway only talks HTTPS to a name with a
public certificate, which resolves to the NLB). The gateway secret header (seed 002) is a static
integration request parameter, ``integration.request.header.<Name> = '<value>'``, so the backend can
tell that a request came through the gateway.

The secret value never leaves this module in clear: `RestApiDesired` hides it from `repr`, observed
static parameter values are kept only as sha256, diff items name the header without its value, and AWS
error messages that echo it are redacted before they propagate.

One `GetResources(embed=methods)` call (paged) returns every resource with its methods and
integrations, so `find` costs two or three reads however many routes there are.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from hybrid_gateway.parts._apigateway import (
    delete_ignoring_not_found,
    get_or_none,
    got_or_listed,
    items,
    owned,
    owner_tags,
    patch_op,
    sha256_hex,
    stable_hash,
)
from hybrid_gateway.parts.base import Observed, Part, PartContext, shared_read

if TYPE_CHECKING:
    from hybrid_gateway.parts._apigateway import PatchOperation

log = logging.getLogger(__name__)

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
DEFAULT_TIMEOUT_MS = 29000
_SEGMENT = re.compile(r"^(?:[A-Za-z0-9._\-:]+|\{[A-Za-z0-9._\-]+\}|\{[A-Za-z0-9._\-]+\+\})$")
_URI_PARAM = re.compile(r"\{([A-Za-z0-9._\-]+)\+?\}")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&*+.^_`|~-]+$")
_STATIC_PREFIX = "integration.request.header."


@dataclass(frozen=True)
class Route:
    """One path of the API and the methods it answers; `backend_path` defaults to `path`."""

    path: str  # "/orders", "/orders/{id}", "/{proxy+}", "/"
    methods: tuple[str, ...]
    backend_path: str | None = None

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"route path {self.path!r} must start with /")
        segments = self.segments
        for i, segment in enumerate(segments):
            if not _SEGMENT.match(segment):
                raise ValueError(f"route path {self.path!r}: invalid segment {segment!r}")
            if segment.endswith("+}") and i != len(segments) - 1:
                raise ValueError(f"route path {self.path!r}: a greedy {segment} must be the last segment")
        if not self.methods:
            raise ValueError(f"route {self.path}: list at least one method")
        for method in self.methods:
            if method not in HTTP_METHODS:
                raise ValueError(f"route {self.path}: method {method!r} is not one of {sorted(HTTP_METHODS)}")
        if self.backend_path is not None:
            if not self.backend_path.startswith("/"):
                raise ValueError(f"route {self.path}: backendPath {self.backend_path!r} must start with /")
            unknown = set(_URI_PARAM.findall(self.backend_path)) - set(self.path_parameters)
            if unknown:
                raise ValueError(
                    f"route {self.path}: backendPath uses {sorted(unknown)} which the path does not define"
                )

    @property
    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]

    @property
    def path_parameters(self) -> list[str]:
        return [s.strip("{}").rstrip("+") for s in self.segments if s.startswith("{")]


@dataclass(frozen=True)
class RestApiDesired:
    name: str
    hostname: str  # the front-door name the integrations call over HTTPS
    vpc_link_id: str
    routes: tuple[Route, ...]
    # VPC link V2: the load balancer the integrations name (the ALB's ARN); "" over a V1 link, whose one NLB
    # is the target (API Gateway "Set up a private integration").
    integration_target: str = ""
    disable_execute_api_endpoint: bool = False
    # (header name, secret value); excluded from repr so that logging a desired state cannot leak it.
    secret_header: tuple[str, str] | None = field(default=None, repr=False)
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    description: str = ""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for route in self.routes:
            for method in route.methods:
                key = route_key(method, route.path)
                if key in seen:
                    raise ValueError(f"route {key} is listed twice")
                seen.add(key)
        if self.secret_header is not None:
            problem = secret_header_problem(*self.secret_header)
            if problem:
                raise ValueError(f"gateway secret header {self.secret_header[0]}: {problem}")
        if self.timeout_ms < 50:
            raise ValueError(f"integration timeout {self.timeout_ms} ms is below API Gateway's minimum of 50")


def secret_header_problem(header: str, value: str) -> str | None:
    """Why API Gateway cannot send `value` as the static integration request header `header`; None when
    it can. Never quotes the value (a secret).

    A static value in an integration request parameter mapping is a literal enclosed in a pair of single
    quotes, ``'STATIC_VALUE'``, with no escape (docs/aws-behaviour.md): a value holding ``'`` cannot be
    written, and an empty one sends nothing. An HTTP field value holds no control characters (RFC 9110,
    section 5.5): a trailing newline from ``echo token > file`` would not arrive as written.
    """
    if not _HEADER_NAME.match(header):
        return f"the name {header!r} is not a valid HTTP header name"
    if not value:
        return "the value is empty"
    if "'" in value:
        return ("the value must be written without ' (a single quote): API Gateway's static header value is a "
                "single-quoted literal with no escape")
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
        return ("the value contains a control character (a trailing newline?), which an HTTP header value "
                "cannot hold: write the Secret with `kubectl create secret generic --from-literal`")
    return None


def route_key(method: str, path: str) -> str:
    return f"{method} {path}"


def _secret_digest(value: str) -> str:
    return "sha256:" + sha256_hex(value)


@dataclass(frozen=True)
class _MethodSpec:
    """What one route method should look like, in API Gateway's own request shapes."""

    path: str
    http_method: str
    method_parameters: dict[str, bool]
    uri: str
    integration_parameters: dict[str, str]  # mapping expressions (not secret)
    static_parameters: dict[str, str] = field(repr=False)  # parameter -> clear (unquoted) value
    connection_id: str = ""
    integration_target: str = ""
    timeout_ms: int = DEFAULT_TIMEOUT_MS

    def view(self) -> dict[str, Any]:
        """The comparable form: the same shape `_observed_view` reads from AWS, secrets hashed."""
        return {
            "authorizationType": "NONE",
            "requestParameters": dict(self.method_parameters),
            "integration": {
                "type": "HTTP_PROXY",
                "httpMethod": self.http_method,
                "uri": self.uri,
                "connectionType": "VPC_LINK",
                "connectionId": self.connection_id,
                "integrationTarget": self.integration_target,
                "timeoutInMillis": self.timeout_ms,
                "requestParameters": dict(self.integration_parameters),
                "staticParameters": {k: _secret_digest(v) for k, v in self.static_parameters.items()},
            },
        }

    def all_integration_parameters(self) -> dict[str, str]:
        """The PutIntegration `requestParameters`; contains the secret, so only ever sent to AWS."""
        return {
            **self.integration_parameters,
            **{k: f"'{v}'" for k, v in self.static_parameters.items()},
        }


def desired_methods(desired: RestApiDesired) -> dict[str, _MethodSpec]:
    """Route methods keyed "GET /orders" (pure)."""
    static: dict[str, str] = {}
    if desired.secret_header is not None:
        static[_STATIC_PREFIX + desired.secret_header[0]] = desired.secret_header[1]
    specs: dict[str, _MethodSpec] = {}
    for route in desired.routes:
        backend = (route.backend_path or route.path).replace("+}", "}")
        uri_params = _URI_PARAM.findall(backend)
        for method in route.methods:
            specs[route_key(method, route.path)] = _MethodSpec(
                path=route.path,
                http_method=method,
                method_parameters={f"method.request.path.{p}": True for p in route.path_parameters},
                uri=f"https://{desired.hostname}{backend}",
                integration_parameters={
                    f"integration.request.path.{p}": f"method.request.path.{p}" for p in uri_params
                },
                static_parameters=dict(static),
                connection_id=desired.vpc_link_id,
                integration_target=desired.integration_target,
                timeout_ms=desired.timeout_ms,
            )
    return specs


def desired_resource_paths(desired: RestApiDesired) -> set[str]:
    """Every resource path the routes need, parents included ("/" is always there)."""
    paths = {"/"}
    for route in desired.routes:
        segments = route.segments
        for i in range(1, len(segments) + 1):
            paths.add("/" + "/".join(segments[:i]))
    return paths


def _is_static(value: str) -> bool:
    return len(value) >= 2 and value.startswith("'") and value.endswith("'")


def _observed_view(method: dict[str, Any]) -> dict[str, Any]:
    """AWS's Method (with embedded methodIntegration) -> the comparable form; static values hashed."""
    integration = method.get("methodIntegration")
    integration_view: dict[str, Any] | None = None
    if integration:
        plain: dict[str, str] = {}
        static: dict[str, str] = {}
        for key, value in (integration.get("requestParameters") or {}).items():
            if _is_static(str(value)):
                static[key] = _secret_digest(str(value)[1:-1])
            else:
                plain[key] = str(value)
        integration_view = {
            "type": integration.get("type"),
            "httpMethod": integration.get("httpMethod"),
            "uri": integration.get("uri"),
            "connectionType": integration.get("connectionType") or "INTERNET",
            "connectionId": integration.get("connectionId") or "",
            "integrationTarget": integration.get("integrationTarget") or "",
            "timeoutInMillis": int(integration.get("timeoutInMillis") or DEFAULT_TIMEOUT_MS),
            "requestParameters": plain,
            "staticParameters": static,
        }
    return {
        "authorizationType": method.get("authorizationType"),
        "requestParameters": {k: bool(v) for k, v in (method.get("requestParameters") or {}).items()},
        "integration": integration_view,
    }


@dataclass(frozen=True)
class RestApiState:
    name: str
    endpoint_types: tuple[str, ...]
    disable_execute_api_endpoint: bool
    root_resource_id: str
    resources: dict[str, str]  # path -> resource id
    methods: dict[str, dict[str, Any]]  # "GET /orders" -> the comparable view (static values hashed)
    # What a deployment snapshots: when this changes the stage needs a new deployment.
    api_definition_hash: str


def observe(api: Mapping[str, Any], resources: list[dict[str, Any]]) -> Observed[RestApiState]:
    """RestApi + its resources (methods embedded) -> Observed with a stable definition hash."""
    paths: dict[str, str] = {}
    methods: dict[str, dict[str, Any]] = {}
    for resource in resources:
        path = str(resource.get("path", ""))
        paths[path] = str(resource["id"])
        for http_method, method in (resource.get("resourceMethods") or {}).items():
            methods[route_key(http_method, path)] = _observed_view(method or {})
    disabled = bool(api.get("disableExecuteApiEndpoint", False))
    state = RestApiState(
        name=str(api.get("name", "")),
        endpoint_types=tuple((api.get("endpointConfiguration") or {}).get("types") or ()),
        disable_execute_api_endpoint=disabled,
        root_resource_id=str(api.get("rootResourceId") or paths.get("/", "")),
        resources=paths,
        methods=methods,
        api_definition_hash=stable_hash({"methods": methods, "disableExecuteApiEndpoint": disabled}),
    )
    return Observed(id=str(api["id"]), state=state)


# --- the plan: what differs, and what to do about it (pure) -------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference. `text` is what diff reports (never a secret); the rest tells update what to do."""

    text: str
    # api | add_route | redo_route | remove_route | put_integration | patch_integration | remove_resource
    kind: str
    key: str = ""  # route key or resource path
    field: str = ""  # for api / patch_integration: which field


def plan(desired: RestApiDesired, observed: Observed[RestApiState]) -> list[Change]:
    state = observed.state
    changes: list[Change] = []
    if state.name != desired.name:
        changes.append(Change("name", "api", field="name"))
    if tuple(state.endpoint_types) != ("REGIONAL",):
        changes.append(Change("endpoint type", "api", field="endpointType"))
    if state.disable_execute_api_endpoint != desired.disable_execute_api_endpoint:
        changes.append(Change("disableExecuteApiEndpoint", "api", field="disableExecuteApiEndpoint"))

    want = desired_methods(desired)
    have = state.methods
    for key, spec in want.items():
        if key not in have:
            changes.append(Change(f"route {key} missing", "add_route", key))
            continue
        want_view, have_view = spec.view(), have[key]
        if have_view.get("authorizationType") != want_view["authorizationType"]:
            changes.append(Change(f"method {key} authorization type", "redo_route", key))
        elif have_view.get("requestParameters") != want_view["requestParameters"]:
            changes.append(Change(f"method {key} request parameters", "redo_route", key))
        else:
            changes.extend(_integration_changes(key, want_view["integration"], have_view.get("integration")))
    for key in sorted(set(have) - set(want)):
        changes.append(Change(f"route {key} not in spec", "remove_route", key))

    wanted_paths = desired_resource_paths(desired)
    for path in sorted(set(state.resources) - wanted_paths):
        changes.append(Change(f"resource {path} not in spec", "remove_resource", path))
    return changes


def _integration_changes(key: str, want: dict[str, Any], have: dict[str, Any] | None) -> list[Change]:
    if have is None:
        return [Change(f"integration {key} missing", "put_integration", key)]
    if have.get("type") != want["type"] or have.get("httpMethod") != want["httpMethod"]:
        # The kind of integration changed: PutIntegration replaces it whole.
        return [Change(f"integration {key} type", "put_integration", key)]
    found = []
    if have.get("uri") != want["uri"]:
        found.append(Change(f"integration {key} uri", "patch_integration", key, "uri"))
    if (
        have.get("connectionType") != want["connectionType"]
        or have.get("connectionId") != want["connectionId"]
        or have.get("integrationTarget") != want["integrationTarget"]
    ):
        found.append(Change(f"integration {key} connection", "patch_integration", key, "connection"))
    if have.get("requestParameters") != want["requestParameters"]:
        found.append(Change(f"integration {key} request parameters", "patch_integration", key, "parameters"))
    if have.get("staticParameters") != want["staticParameters"]:
        found.append(Change(f"integration {key} secret header", "patch_integration", key, "secret"))
    if have.get("timeoutInMillis") != want["timeoutInMillis"]:
        found.append(Change(f"integration {key} timeout", "patch_integration", key, "timeout"))
    return found


def diff(desired: RestApiDesired, observed: Observed[RestApiState]) -> list[str]:
    return [change.text for change in plan(desired, observed)]


def integration_patch(spec: _MethodSpec, have: dict[str, Any], fields: set[str]) -> list[PatchOperation]:
    """UpdateIntegration operations for the named fields (contains the secret value when "secret")."""
    ops: list[PatchOperation] = []
    if "uri" in fields:
        ops.append(patch_op("replace", "uri", value=spec.uri))
    if "connection" in fields:
        ops.append(patch_op("replace", "connectionType", value="VPC_LINK"))
        ops.append(patch_op("replace", "connectionId", value=spec.connection_id))
        # The link and its target move together: a V2 link names its load balancer here, a V1 link has none.
        if spec.integration_target:
            ops.append(patch_op("replace", "integrationTarget", value=spec.integration_target))
        elif have.get("integrationTarget"):
            ops.append(patch_op("remove", "integrationTarget"))
    if "timeout" in fields:
        ops.append(patch_op("replace", "timeoutInMillis", value=spec.timeout_ms))
    if "parameters" in fields:
        ops.extend(_parameter_ops(have.get("requestParameters", {}), spec.integration_parameters))
    if "secret" in fields:
        want_static = {k: f"'{v}'" for k, v in spec.static_parameters.items()}
        have_digests: dict[str, str] = have.get("staticParameters", {})
        ops.extend(
            _parameter_ops(
                have_digests,
                want_static,
                same=lambda k: have_digests.get(k) == _secret_digest(spec.static_parameters[k]),
            )
        )
    return ops


def _parameter_ops(
    have: dict[str, str], want: dict[str, str], same: Callable[[str], bool] | None = None
) -> list[PatchOperation]:
    """add / replace / remove of `/requestParameters/<key>`; `same` compares when values are hashed."""
    ops = []
    for key in sorted(set(have) - set(want)):
        ops.append(patch_op("remove", "requestParameters", key))
    for key in sorted(want):
        if key not in have:
            ops.append(patch_op("add", "requestParameters", key, value=want[key]))
        elif not (same(key) if same else have[key] == want[key]):
            ops.append(patch_op("replace", "requestParameters", key, value=want[key]))
    return ops


# --- the part -------------------------------------------------------------------------------------------


@contextmanager
def _redacted(secret: str | None) -> Iterator[None]:
    """Re-raise AWS errors with the secret value cut out, in case AWS echoes a request parameter."""
    try:
        yield
    except ClientError as exc:
        if not secret or secret not in str(exc):
            raise
        response: dict[str, Any] = {
            **exc.response,
            "Error": {k: str(v).replace(secret, "***") for k, v in exc.response.get("Error", {}).items()},
        }
        raise ClientError(response, exc.operation_name) from None  # type: ignore[arg-type]


REST_APIS = got_or_listed(
    "apigateway:GetRestApi",
    lambda clients, api_id: get_or_none(clients.client("apigateway").get_rest_api, restApiId=api_id),
    lambda clients: items(clients.client("apigateway"), "get_rest_apis", limit=500))


class RestApiPart(Part[RestApiDesired, RestApiState]):
    name = "rest-api"

    def find(
        self, ctx: PartContext, desired: RestApiDesired | None, known_id: str | None
    ) -> Observed[RestApiState] | None:
        """By id, else by owner tags (REST API names are not unique)."""
        client = ctx.client("apigateway")
        api = shared_read(ctx, REST_APIS, [known_id]).get(known_id) if known_id else None
        if api is None:
            candidates = [
                a
                for a in items(client, "get_rest_apis", limit=500)
                if owned(ctx.owner, a.get("tags"), self.name)
            ]
            if not candidates:
                return None
            # Twins can only come from a crash between create and status write: keep the oldest.
            api = sorted(candidates, key=lambda a: (str(a.get("createdDate", "")), str(a["id"])))[0]
        resources = list(items(client, "get_resources", restApiId=api["id"], embed=["methods"], limit=500))
        return observe(api, resources)

    def create(self, ctx: PartContext, desired: RestApiDesired) -> Observed[RestApiState]:
        api = ctx.client("apigateway").create_rest_api(
            name=desired.name,
            description=desired.description,
            endpointConfiguration={"types": ["REGIONAL"]},
            disableExecuteApiEndpoint=desired.disable_execute_api_endpoint,
            tags=owner_tags(ctx.owner, self.name),
        )
        root = str(api.get("rootResourceId") or "")
        empty = observe(api, [{"id": root, "path": "/"}] if root else [])
        if not root:
            empty = self.find(ctx, desired, str(api["id"])) or empty
        self._apply(ctx, desired, empty, plan(desired, empty))
        return self.find(ctx, desired, str(api["id"])) or empty

    def diff(self, desired: RestApiDesired, observed: Observed[RestApiState]) -> list[str]:
        return diff(desired, observed)

    def update(
        self, ctx: PartContext, desired: RestApiDesired, observed: Observed[RestApiState], changes: list[str]
    ) -> Observed[RestApiState]:
        wanted = set(changes)
        todo = [c for c in plan(desired, observed) if c.text in wanted]
        log.info("updating REST API %s: %s", observed.id, ", ".join(c.text for c in todo))
        self._apply(ctx, desired, observed, todo)
        return self.find(ctx, desired, observed.id) or observed

    def delete(self, ctx: PartContext, observed: Observed[RestApiState]) -> None:
        delete_ignoring_not_found(
            ctx.client("apigateway").delete_rest_api, self.name, observed.id, restApiId=observed.id
        )

    # --- applying a plan ---

    def _apply(
        self, ctx: PartContext, desired: RestApiDesired, observed: Observed[RestApiState], todo: list[Change]
    ) -> None:
        """Make the writes `todo` names, in an order AWS accepts, each at most once."""
        client = ctx.client("apigateway")
        api_id = observed.id
        secret = desired.secret_header[1] if desired.secret_header else None
        specs = desired_methods(desired)
        have_methods = observed.state.methods
        resources = dict(observed.state.resources)

        current_types = list(observed.state.endpoint_types or ["EDGE"])
        api_ops = [_api_patch(c.field, desired, current_types) for c in todo if c.kind == "api"]
        if api_ops:
            client.update_rest_api(restApiId=api_id, patchOperations=api_ops)

        stale_paths = [c.key for c in todo if c.kind == "remove_resource"]
        for change in todo:
            # Methods on a resource that goes away go with it.
            if change.kind == "remove_route" and change.key.split(" ", 1)[1] not in stale_paths:
                method, path = change.key.split(" ", 1)
                delete_ignoring_not_found(
                    client.delete_method,
                    self.name,
                    api_id,
                    restApiId=api_id,
                    resourceId=resources[path],
                    httpMethod=method,
                )

        with _redacted(secret):
            for change in todo:
                spec = specs.get(change.key)
                if change.kind in ("add_route", "redo_route") and spec is not None:
                    if change.kind == "redo_route":
                        client.delete_method(
                            restApiId=api_id, resourceId=resources[spec.path], httpMethod=spec.http_method
                        )
                    resource_id = self._ensure_resource(client, api_id, resources, spec.path)
                    client.put_method(
                        restApiId=api_id,
                        resourceId=resource_id,
                        httpMethod=spec.http_method,
                        authorizationType="NONE",
                        requestParameters=spec.method_parameters,
                    )
                    self._put_integration(client, api_id, resource_id, spec)
                elif change.kind == "put_integration" and spec is not None:
                    self._put_integration(client, api_id, resources[spec.path], spec)

            fields_by_key: dict[str, set[str]] = {}
            for change in todo:
                if change.kind == "patch_integration":
                    fields_by_key.setdefault(change.key, set()).add(change.field)
            for key, fields in fields_by_key.items():
                spec = specs[key]
                ops = integration_patch(spec, have_methods[key].get("integration") or {}, fields)
                client.update_integration(
                    restApiId=api_id,
                    resourceId=resources[spec.path],
                    httpMethod=spec.http_method,
                    patchOperations=ops,
                )

        # Deepest first: AWS would take a subtree in one call, but not every emulator does.
        for path in sorted(stale_paths, key=lambda p: (-p.count("/"), p)):
            delete_ignoring_not_found(
                client.delete_resource, self.name, api_id, restApiId=api_id, resourceId=resources[path]
            )

    @staticmethod
    def _ensure_resource(client: Any, api_id: str, resources: dict[str, str], path: str) -> str:
        """The id of the resource at `path`, creating missing parents on the way."""
        if path in resources:
            return resources[path]
        segments = [s for s in path.split("/") if s]
        parent_path = "/"
        for i, segment in enumerate(segments):
            current = "/" + "/".join(segments[: i + 1])
            if current not in resources:
                created = client.create_resource(
                    restApiId=api_id, parentId=resources[parent_path], pathPart=segment
                )
                resources[current] = str(created["id"])
            parent_path = current
        return resources[path]

    @staticmethod
    def _put_integration(client: Any, api_id: str, resource_id: str, spec: _MethodSpec) -> None:
        client.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=spec.http_method,
            type="HTTP_PROXY",
            integrationHttpMethod=spec.http_method,
            uri=spec.uri,
            connectionType="VPC_LINK",
            connectionId=spec.connection_id,
            requestParameters=spec.all_integration_parameters(),
            timeoutInMillis=spec.timeout_ms,
            **({"integrationTarget": spec.integration_target} if spec.integration_target else {}),
        )


def _api_patch(field_name: str, desired: RestApiDesired, current_types: list[str]) -> PatchOperation:
    if field_name == "name":
        return patch_op("replace", "name", value=desired.name)
    if field_name == "disableExecuteApiEndpoint":
        return patch_op("replace", "disableExecuteApiEndpoint", value=desired.disable_execute_api_endpoint)
    # Changing the endpoint type replaces the current one: /endpointConfiguration/types/EDGE -> REGIONAL.
    return patch_op("replace", "endpointConfiguration", "types", current_types[0], value="REGIONAL")
