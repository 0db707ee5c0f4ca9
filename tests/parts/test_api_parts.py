"""VPC link, REST API and stage parts: pure diffs as tables, then each part against the emulator.

The AWS side is `hybrid_gateway_devenv.emulator` when it can be imported (it adds UpdateIntegration,
UpdateVpcLink and stage client certificates to moto), otherwise a plain in-process moto server; tests
that need an operation plain moto lacks skip with the reason.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from hybrid_gateway.aws import AwsClients
from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.errors import RetryLater
from hybrid_gateway.parts import rest_api as rest_api_mod
from hybrid_gateway.parts._apigateway import patch_op, pointer
from hybrid_gateway.parts.base import Observed, PartContext
from hybrid_gateway.parts.rest_api import RestApiDesired, RestApiPart, RestApiState, Route
from hybrid_gateway.parts.stage import DEFAULT_ACCESS_LOG_FORMAT, StageDesired, StagePart, StageState, stage_patch
from hybrid_gateway.parts.vpc_link import STATUS_FAILED, VpcLinkDesired, VpcLinkPart, VpcLinkState
from hybrid_gateway.parts.vpc_link import diff as vpc_link_diff

REGION = "ap-northeast-1"
SECRET = "s3cr3t-Value-4f1c9a77"
NEW_SECRET = "n3w-s3cr3t-Value-88aa01"
NLB_ARN = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/net/nlb/0123456789abcdef"


# --- pure helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "args", "value", "expected"),
    [
        (
            "plain field",
            ("replace", "uri"),
            "https://x/y",
            {"op": "replace", "path": "/uri", "value": "https://x/y"},
        ),
        (
            "booleans are lower-case strings",
            ("replace", "disableExecuteApiEndpoint"),
            True,
            {"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "true"},
        ),
        (
            "whole floats lose .0",
            ("replace", "*", "*", "throttling", "rateLimit"),
            100.0,
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
        ),
        (
            "fractional floats kept",
            ("replace", "*", "*", "throttling", "rateLimit"),
            0.5,
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.5"},
        ),
        (
            "a / inside a segment is escaped",
            ("replace", "variables", "a/b"),
            "v",
            {"op": "replace", "path": "/variables/a~1b", "value": "v"},
        ),
        (
            "remove has no value",
            ("remove", "requestParameters", "integration.request.header.X"),
            None,
            {"op": "remove", "path": "/requestParameters/integration.request.header.X"},
        ),
    ],
)
def test_patch_op(reason: str, args: tuple[str, ...], value: Any, expected: dict[str, str]) -> None:
    assert patch_op(*args, value=value) == expected, reason


def test_patch_op_rejects_unknown_ops_and_missing_values() -> None:
    with pytest.raises(ValueError):
        patch_op("move", "x", value="y")
    with pytest.raises(ValueError):
        patch_op("replace", "x")
    assert pointer("a~b", "c") == "/a~0b/c"


# --- VPC link diff ---------------------------------------------------------------------------------------


def _link_observed(**state: Any) -> Observed[VpcLinkState]:
    base = {"name": "orders", "description": "", "target_arns": (NLB_ARN,), "status": "AVAILABLE",
            "status_message": ""}
    return Observed(id="vl1", state=VpcLinkState(**{**base, **state}))


@pytest.mark.parametrize(
    ("reason", "observed", "expected"),
    [
        ("in sync", _link_observed(), []),
        ("renamed out of band", _link_observed(name="other"), ["name"]),
        ("description drift", _link_observed(description="x"), ["description"]),
        ("another NLB needs a new link", _link_observed(target_arns=("arn:other",)), ["targetArns"]),
        ("a pending link is no difference", _link_observed(status="PENDING"), []),
        ("a FAILED link never recovers: it needs a new one", _link_observed(status="FAILED"), [STATUS_FAILED]),
    ],
)
def test_vpc_link_diff(reason: str, observed: Observed, expected: list[str]) -> None:
    assert vpc_link_diff(VpcLinkDesired(name="orders", target_arn=NLB_ARN), observed) == expected, reason
    assert VpcLinkPart.replace_on == {"targetArns", STATUS_FAILED}


def test_a_failed_vpc_link_is_replaced_not_stalled_and_pending_is_not_ready() -> None:
    """A VPC link AWS put in FAILED (made while its NLB still provisioned) never recovers: CloudFormation
    coverage roadmap #1951 and terraform-provider-aws #10405 (docs/aws-behaviour.md). The part deletes it
    and makes a new one (the reconciler makes links only for an active NLB), instead of stalling."""
    calls: list[str] = []

    class Stub(VpcLinkPart):
        status = "FAILED"

        def find(self, ctx: PartContext, desired: Any, known_id: str | None) -> Observed[VpcLinkState] | None:
            obs = _link_observed(status=self.status, status_message="NLB is not in active state")
            obs.ready = self.status == "AVAILABLE"
            obs.waiting_for = "" if obs.ready else f"VPC link {self.status}"
            return obs

        def delete(self, ctx: PartContext, observed: Observed[VpcLinkState]) -> None:
            calls.append(f"delete {observed.id}")

        def create(self, ctx: PartContext, desired: VpcLinkDesired) -> Observed[VpcLinkState]:
            calls.append("create")
            return Observed("vl2", _link_observed(status="PENDING").state, ready=False, waiting_for="VPC link PENDING")

    ctx = PartContext(aws=AwsClients(), region=REGION, owner=Owner("HybridApi", "ns", "n", "u"))
    replaced = Stub().ensure(ctx, VpcLinkDesired(name="orders", target_arn=NLB_ARN), "vl1")
    assert (replaced.action, replaced.changes, calls) == ("Replaced", [STATUS_FAILED], ["delete vl1", "create"])
    assert replaced.observed.id == "vl2" and not replaced.observed.ready
    Stub.status = "PENDING"
    outcome = Stub().ensure(ctx, VpcLinkDesired(name="orders", target_arn=NLB_ARN), "vl1")
    assert outcome.action is None and not outcome.observed.ready
    assert outcome.observed.waiting_for == "VPC link PENDING"


# --- REST API diff ---------------------------------------------------------------------------------------

ROUTES = (
    Route("/orders", ("GET", "POST"), "/api/orders"),
    Route("/orders/{id}", ("GET",)),
    Route("/{proxy+}", ("ANY",)),
)


def _api_desired(**changes: Any) -> RestApiDesired:
    base = RestApiDesired(
        name="orders",
        hostname="orders-backend.example.com",
        vpc_link_id="vl1",
        routes=ROUTES,
        secret_header=("X-Gateway-Secret", SECRET),
    )
    return replace(base, **changes)


def _api_observed(desired: RestApiDesired) -> Observed[RestApiState]:
    """What AWS would show for `desired`, built without AWS (same shape as `rest_api.observe`)."""
    methods = {key: spec.view() for key, spec in rest_api_mod.desired_methods(desired).items()}
    resources = {path: f"r{i}" for i, path in enumerate(sorted(rest_api_mod.desired_resource_paths(desired)))}
    return Observed(
        id="api1",
        state=RestApiState(
            name=desired.name,
            endpoint_types=("REGIONAL",),
            disable_execute_api_endpoint=desired.disable_execute_api_endpoint,
            root_resource_id=resources["/"],
            resources=resources,
            methods=methods,
            api_definition_hash="",
        ),
    )


def _mutate(fn: Callable[[dict[str, Any]], None]) -> Observed[RestApiState]:
    """The in-sync observed state with `fn` applied to (a deep copy of) its fields."""
    observed = _api_observed(_api_desired())
    state = asdict(observed.state)
    fn(state)
    return Observed(id=observed.id, state=RestApiState(**state))


def _set(path: list[str], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(state: dict[str, Any]) -> None:
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return apply


def _drop_method(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda state: state["methods"].pop(key)


def _extra_route(state: dict[str, Any]) -> None:
    state["methods"]["DELETE /legacy"] = copy.deepcopy(state["methods"]["GET /orders"])
    state["resources"]["/legacy"] = "rx"


REST_API_CASES = [
    ("in sync", _api_desired(), _api_observed(_api_desired()), []),
    (
        "a route was added to the spec",
        _api_desired(routes=(*ROUTES, Route("/health", ("GET",)))),
        _api_observed(_api_desired()),
        ["route GET /health missing"],
    ),
    (
        "a method was deleted out of band",
        _api_desired(),
        _mutate(_drop_method("POST /orders")),
        ["route POST /orders missing"],
    ),
    (
        "a route and its resource not in the spec",
        _api_desired(),
        _mutate(_extra_route),
        ["route DELETE /legacy not in spec", "resource /legacy not in spec"],
    ),
    (
        "backend path changed",
        _api_desired(routes=(Route("/orders", ("GET", "POST"), "/v2/orders"), *ROUTES[1:])),
        _api_observed(_api_desired()),
        ["integration GET /orders uri", "integration POST /orders uri"],
    ),
    (
        "hostname changed moves every uri",
        _api_desired(hostname="new.example.com"),
        _api_observed(_api_desired()),
        [
            "integration GET /orders uri",
            "integration POST /orders uri",
            "integration GET /orders/{id} uri",
            "integration ANY /{proxy+} uri",
        ],
    ),
    (
        "a new VPC link",
        _api_desired(vpc_link_id="vl2"),
        _api_observed(_api_desired()),
        [
            "integration GET /orders connection",
            "integration POST /orders connection",
            "integration GET /orders/{id} connection",
            "integration ANY /{proxy+} connection",
        ],
    ),
    (
        "connection type drift",
        _api_desired(),
        _mutate(_set(["methods", "GET /orders", "integration", "connectionType"], "INTERNET")),
        ["integration GET /orders connection"],
    ),
    (
        "secret rotated",
        _api_desired(secret_header=("X-Gateway-Secret", NEW_SECRET)),
        _api_observed(_api_desired()),
        [
            f"integration {k} secret header"
            for k in ("GET /orders", "POST /orders", "GET /orders/{id}", "ANY /{proxy+}")
        ],
    ),
    (
        "secret header removed",
        _api_desired(secret_header=None),
        _api_observed(_api_desired()),
        [
            f"integration {k} secret header"
            for k in ("GET /orders", "POST /orders", "GET /orders/{id}", "ANY /{proxy+}")
        ],
    ),
    (
        "path parameter mapping dropped out of band",
        _api_desired(),
        _mutate(_set(["methods", "ANY /{proxy+}", "integration", "requestParameters"], {})),
        ["integration ANY /{proxy+} request parameters"],
    ),
    (
        "timeout changed",
        _api_desired(timeout_ms=10000),
        _api_observed(_api_desired()),
        [f"integration {k} timeout" for k in ("GET /orders", "POST /orders", "GET /orders/{id}", "ANY /{proxy+}")],
    ),
    (
        "integration deleted out of band",
        _api_desired(),
        _mutate(_set(["methods", "GET /orders/{id}", "integration"], None)),
        ["integration GET /orders/{id} missing"],
    ),
    (
        "integration type changed out of band",
        _api_desired(),
        _mutate(_set(["methods", "GET /orders/{id}", "integration", "type"], "MOCK")),
        ["integration GET /orders/{id} type"],
    ),
    (
        "authorizer added out of band",
        _api_desired(),
        _mutate(_set(["methods", "GET /orders", "authorizationType"], "AWS_IAM")),
        ["method GET /orders authorization type"],
    ),
    (
        "disableExecuteApiEndpoint toggled",
        _api_desired(disable_execute_api_endpoint=True),
        _api_observed(_api_desired()),
        ["disableExecuteApiEndpoint"],
    ),
    ("renamed out of band", _api_desired(), _mutate(_set(["name"], "x")), ["name"]),
    ("made EDGE out of band", _api_desired(), _mutate(_set(["endpoint_types"], ("EDGE",))), ["endpoint type"]),
]


@pytest.mark.parametrize(
    ("reason", "desired", "observed", "expected"), REST_API_CASES, ids=[c[0] for c in REST_API_CASES]
)
def test_rest_api_diff(reason: str, desired: RestApiDesired, observed: Observed, expected: list[str]) -> None:
    assert sorted(rest_api_mod.diff(desired, observed)) == sorted(expected), reason
    for text in rest_api_mod.diff(desired, observed):
        assert SECRET not in text and NEW_SECRET not in text


def test_integration_uri_and_parameters_are_built_from_routes() -> None:
    specs = rest_api_mod.desired_methods(_api_desired())
    proxy = specs["ANY /{proxy+}"]
    assert proxy.uri == "https://orders-backend.example.com/{proxy}"
    assert proxy.method_parameters == {"method.request.path.proxy": True}
    params = proxy.all_integration_parameters()
    assert params["integration.request.path.proxy"] == "method.request.path.proxy"
    assert params["integration.request.header.X-Gateway-Secret"] == f"'{SECRET}'"
    assert specs["GET /orders"].uri == "https://orders-backend.example.com/api/orders"
    assert specs["GET /orders/{id}"].integration_parameters == {"integration.request.path.id": "method.request.path.id"}
    assert rest_api_mod.desired_resource_paths(_api_desired()) == {
        "/",
        "/orders",
        "/orders/{id}",
        "/{proxy+}",
    }


def test_integration_patch_for_rotation_and_rename_of_the_secret_header() -> None:
    observed = _api_observed(_api_desired())
    have = observed.state.methods["GET /orders"]["integration"]
    rotated = rest_api_mod.desired_methods(_api_desired(secret_header=("X-Gateway-Secret", NEW_SECRET)))
    assert rest_api_mod.integration_patch(rotated["GET /orders"], have, {"secret"}) == [
        {
            "op": "replace",
            "path": "/requestParameters/integration.request.header.X-Gateway-Secret",
            "value": f"'{NEW_SECRET}'",
        }
    ]
    renamed = rest_api_mod.desired_methods(_api_desired(secret_header=("X-Origin-Token", SECRET)))
    assert rest_api_mod.integration_patch(renamed["GET /orders"], have, {"secret"}) == [
        {"op": "remove", "path": "/requestParameters/integration.request.header.X-Gateway-Secret"},
        {
            "op": "add",
            "path": "/requestParameters/integration.request.header.X-Origin-Token",
            "value": f"'{SECRET}'",
        },
    ]
    moved = rest_api_mod.desired_methods(_api_desired(vpc_link_id="vl2", timeout_ms=5000))
    assert rest_api_mod.integration_patch(moved["GET /orders"], have, {"connection", "timeout", "uri"}) == [
        {"op": "replace", "path": "/uri", "value": "https://orders-backend.example.com/api/orders"},
        {"op": "replace", "path": "/connectionType", "value": "VPC_LINK"},
        {"op": "replace", "path": "/connectionId", "value": "vl2"},
        {"op": "replace", "path": "/timeoutInMillis", "value": "5000"},
    ]


@pytest.mark.parametrize(
    ("reason", "build", "message"),
    [
        ("relative path", lambda: Route("orders", ("GET",)), "must start with /"),
        ("unknown method", lambda: Route("/orders", ("FETCH",)), "FETCH"),
        ("greedy segment in the middle", lambda: Route("/{proxy+}/x", ("GET",)), "last segment"),
        ("backend path names an unknown parameter", lambda: Route("/orders", ("GET",), "/o/{id}"), "['id']"),
        (
            "duplicate route method",
            lambda: _api_desired(routes=(Route("/a", ("GET",)), Route("/a", ("GET", "PUT")))),
            "GET /a is listed twice",
        ),
        ("bad header name", lambda: _api_desired(secret_header=("X Secret", SECRET)), "valid HTTP header"),
        ("quote in the secret", lambda: _api_desired(secret_header=("X-S", "ab'" + SECRET)), "without '"),
    ],
)
def test_invalid_routes_are_refused_with_what_to_fix(reason: str, build: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError) as err:
        build()
    assert message in str(err.value), reason
    assert SECRET not in str(err.value)


def test_secret_is_not_in_repr_or_observed_state() -> None:
    desired = _api_desired()
    assert SECRET not in repr(desired)
    observed = rest_api_mod.observe(
        {"id": "a", "name": "orders", "endpointConfiguration": {"types": ["REGIONAL"]}},
        [
            {"id": "r", "path": "/"},
            {
                "id": "p",
                "path": "/{proxy+}",
                "resourceMethods": {
                    "ANY": {
                        "authorizationType": "NONE",
                        "requestParameters": {"method.request.path.proxy": True},
                        "methodIntegration": {
                            "type": "HTTP_PROXY",
                            "httpMethod": "ANY",
                            "uri": "https://h/{proxy}",
                            "requestParameters": {"integration.request.header.X-Gateway-Secret": f"'{SECRET}'"},
                        },
                    }
                },
            },
        ],
    )
    assert SECRET not in json.dumps(asdict(observed.state))
    assert observed.state.methods["ANY /{proxy+}"]["integration"]["staticParameters"][
        "integration.request.header.X-Gateway-Secret"
    ].startswith("sha256:")


def test_aws_errors_echoing_the_secret_are_redacted() -> None:
    with pytest.raises(ClientError) as err, rest_api_mod._redacted(SECRET):
        raise ClientError(
            {"Error": {"Code": "BadRequestException", "Message": f"bad value '{SECRET}'"}}, "PutIntegration"
        )
    assert SECRET not in str(err.value) and "***" in str(err.value)
    assert err.value.response["Error"]["Code"] == "BadRequestException"


# --- stage diff ------------------------------------------------------------------------------------------


def _stage_desired(**changes: Any) -> StageDesired:
    base = StageDesired(
        rest_api_id="api1",
        stage_name="prod",
        api_definition_hash="h1",
        variables={"env": "prod"},
        rate_limit=100.0,
        burst_limit=200,
    )
    return replace(base, **changes)


def _stage_observed(**state: Any) -> Observed[StageState]:
    base = {
        "rest_api_id": "api1",
        "stage_name": "prod",
        "deployment_id": "d1",
        "invoke_url": "https://api1.execute-api.ap-northeast-1.amazonaws.com/prod",
        "deployed_hash": "h1",
        "variables": {"env": "prod"},
        "rate_limit": 100.0,
        "burst_limit": 200,
        "access_log_destination_arn": "",
        "access_log_format": "",
        "client_certificate_id": "",
    }
    return Observed(id="prod", state=StageState(**{**base, **state}))


STAGE_CASES = [
    ("in sync", _stage_desired(), _stage_observed(), []),
    (
        "the API definition changed",
        _stage_desired(api_definition_hash="h2"),
        _stage_observed(),
        ["deployment"],
    ),
    ("deployment not made by us", _stage_desired(), _stage_observed(deployed_hash=""), ["deployment"]),
    (
        "variable added, changed and removed",
        _stage_desired(variables={"env": "stg", "new": "1"}),
        _stage_observed(variables={"env": "prod", "old": "x"}),
        ["variable env", "variable new", "variable old"],
    ),
    (
        "throttling changed",
        _stage_desired(rate_limit=50.0, burst_limit=100),
        _stage_observed(),
        ["throttling rateLimit", "throttling burstLimit"],
    ),
    (
        "throttling not managed when None",
        _stage_desired(rate_limit=None, burst_limit=None),
        _stage_observed(rate_limit=10000.0, burst_limit=5000),
        [],
    ),
    (
        "access logs switched on",
        _stage_desired(access_log_destination_arn="arn:aws:logs:x"),
        _stage_observed(),
        ["access log settings"],
    ),
    (
        "access logs switched off",
        _stage_desired(access_log_destination_arn=""),
        _stage_observed(access_log_destination_arn="arn:aws:logs:x", access_log_format="{}"),
        ["access log settings"],
    ),
    (
        "access log format drift",
        _stage_desired(access_log_destination_arn="arn:aws:logs:x"),
        _stage_observed(access_log_destination_arn="arn:aws:logs:x", access_log_format="{}"),
        ["access log settings"],
    ),
    (
        "a client certificate set by ClientCertRotation is not ours",
        _stage_desired(),
        _stage_observed(client_certificate_id="cc-123"),
        [],
    ),
    (
        "another stage name means another stage",
        _stage_desired(stage_name="v2"),
        _stage_observed(),
        ["stage name"],
    ),
]


@pytest.mark.parametrize(("reason", "desired", "observed", "expected"), STAGE_CASES, ids=[c[0] for c in STAGE_CASES])
def test_stage_diff(reason: str, desired: StageDesired, observed: Observed, expected: list[str]) -> None:
    assert StagePart("api1").diff(desired, observed) == expected, reason


def test_stage_patch_paths() -> None:
    desired = _stage_desired(
        variables={"env": "stg"},
        rate_limit=50.0,
        burst_limit=100,
        access_log_destination_arn="arn:aws:logs:x",
    )
    observed = _stage_observed(variables={"env": "prod", "old": "x"}, client_certificate_id="cc-1")
    changes = StagePart("api1").diff(desired, observed)
    ops = stage_patch(desired, observed.state, changes, "dep2")
    assert ops == [
        {"op": "replace", "path": "/deploymentId", "value": "dep2"},
        {"op": "replace", "path": "/variables/env", "value": "stg"},
        {"op": "remove", "path": "/variables/old"},
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "50"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "100"},
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": "arn:aws:logs:x"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": DEFAULT_ACCESS_LOG_FORMAT},
    ]
    assert stage_patch(
        _stage_desired(), _stage_observed(access_log_destination_arn="a").state, ["access log settings"], None
    ) == [{"op": "remove", "path": "/accessLogSettings"}]


# --- against the emulator ---------------------------------------------------------------------------------


@dataclass
class Aws:
    endpoint_url: str
    emulator: bool
    update_integration: bool  # the server implements UpdateIntegration
    update_vpc_link: bool
    disable_false_works: bool  # moto 5.2 stores "false" for /disableExecuteApiEndpoint as True
    nlb_arn: str = ""
    nlb_arn_2: str = ""


def _patch_moto_connection_id(mp: pytest.MonkeyPatch) -> None:
    """moto 5.2 drops an integration's connectionId; keep it so that a VPC_LINK integration reads back."""
    from moto.apigateway import models, responses

    original_put = responses.APIGatewayResponse.put_integration
    original_json = models.Integration.to_json

    def put_integration(self: Any) -> Any:
        result = original_put(self)
        parts = self.path.split("/")
        integration = self.backend.get_integration(parts[2], parts[4], parts[6])
        integration.connection_id = self._get_param("connectionId")
        return result

    def to_json(self: Any) -> dict[str, Any]:
        data: dict[str, Any] = original_json(self)
        if getattr(self, "connection_id", None):
            data["connectionId"] = self.connection_id
        return data

    mp.setattr(responses.APIGatewayResponse, "put_integration", put_integration)
    mp.setattr(models.Integration, "to_json", to_json)


def _supports(raw: Any, call: Callable[[], Any]) -> bool:
    """True when the server knows the operation (answers NotFound for a made-up id, not 404/500)."""
    try:
        call()
    except ClientError as exc:
        return exc.response.get("Error", {}).get("Code") == "NotFoundException"
    return True


@pytest.fixture(scope="module")
def aws(emulator_endpoint: str) -> Iterator[Aws]:
    url, emulator = emulator_endpoint, True
    with pytest.MonkeyPatch.context() as mp:
        raw = boto3.client(
            "apigateway", region_name=REGION, endpoint_url=url, config=Config(retries={"max_attempts": 1})
        )
        info = Aws(
            endpoint_url=url,
            emulator=emulator,
            update_integration=_supports(
                raw,
                lambda: raw.update_integration(
                    restApiId="nope", resourceId="nope", httpMethod="GET", patchOperations=[]
                ),
            ),
            update_vpc_link=_supports(raw, lambda: raw.update_vpc_link(vpcLinkId="nope", patchOperations=[])),
            disable_false_works=_probe_disable_false(raw),
        )
        info.nlb_arn, info.nlb_arn_2 = _make_nlbs(url)
        if not _connection_id_round_trips(raw, info.nlb_arn):
            _patch_moto_connection_id(mp)
        yield info


def _probe_disable_false(raw: Any) -> bool:
    api = raw.create_rest_api(name="probe", disableExecuteApiEndpoint=True)
    try:
        result = raw.update_rest_api(
            restApiId=api["id"],
            patchOperations=[patch_op("replace", "disableExecuteApiEndpoint", value=False)],
        )
        return result.get("disableExecuteApiEndpoint") is False
    finally:
        raw.delete_rest_api(restApiId=api["id"])


def _connection_id_round_trips(raw: Any, nlb_arn: str) -> bool:
    link = raw.create_vpc_link(name="probe", targetArns=[nlb_arn])["id"]
    api = raw.create_rest_api(name="probe")
    try:
        root = api["rootResourceId"]
        raw.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
        raw.put_integration(
            restApiId=api["id"],
            resourceId=root,
            httpMethod="GET",
            type="HTTP_PROXY",
            integrationHttpMethod="GET",
            uri="https://h.example.com/",
            connectionType="VPC_LINK",
            connectionId=link,
        )
        got = raw.get_integration(restApiId=api["id"], resourceId=root, httpMethod="GET")
        return got.get("connectionId") == link
    finally:
        raw.delete_rest_api(restApiId=api["id"])
        raw.delete_vpc_link(vpcLinkId=link)


def _make_nlbs(url: str) -> tuple[str, str]:
    """Two internal NLBs in a two-AZ VPC, made with boto3 directly (they are not under test here)."""
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=url)
    elbv2 = boto3.client("elbv2", region_name=REGION, endpoint_url=url)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
        for cidr, az in (("10.20.1.0/24", f"{REGION}a"), ("10.20.2.0/24", f"{REGION}c"))
    ]
    arns = [
        elbv2.create_load_balancer(Name=name, Subnets=subnets, Scheme="internal", Type="network")["LoadBalancers"][0][
            "LoadBalancerArn"
        ]
        for name in ("api-parts-nlb", "api-parts-nlb-2")
    ]
    return arns[0], arns[1]


@dataclass
class Recorder:
    """Every API Gateway call our client makes, with its parameters (to count writes exactly)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((model.name, params))

    def writes(self) -> list[str]:
        return [name for name, _ in self.calls if not name.startswith("Get")]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture()
def ctx(aws: Aws) -> PartContext:
    owner = Owner("HybridApi", "team-a", "orders", uid=str(uuid.uuid4()))
    return PartContext(aws=AwsClients(max_attempts=2, rate_limits={"apigateway": 1000.0}), region=REGION, owner=owner)


@pytest.fixture()
def rec(ctx: PartContext) -> Recorder:
    recorder = Recorder()
    ctx.client("apigateway").meta.events.register("before-parameter-build.apigateway", recorder)
    return recorder


@pytest.fixture()
def raw(aws: Aws) -> Any:
    return boto3.client("apigateway", region_name=REGION, endpoint_url=aws.endpoint_url)


@pytest.fixture()
def vpc_link_id(aws: Aws, ctx: PartContext) -> str:
    return VpcLinkPart().ensure(ctx, VpcLinkDesired(name="orders", target_arn=aws.nlb_arn), None).observed.id


def test_vpc_link_lifecycle(aws: Aws, ctx: PartContext, rec: Recorder, raw: Any) -> None:
    part, desired = VpcLinkPart(), VpcLinkDesired(name="orders", target_arn=aws.nlb_arn)
    created = part.ensure(ctx, desired, None)
    assert created.action == "Created" and rec.writes() == ["CreateVpcLink"]
    link = raw.get_vpc_link(vpcLinkId=created.observed.id)
    assert link["targetArns"] == [aws.nlb_arn] and ctx.owner.owns(link["tags"], "vpc-link")

    rec.clear()
    again = part.ensure(ctx, desired, created.observed.id)
    assert again.action is None and rec.writes() == [] and again.observed.ready
    adopted = part.ensure(ctx, desired, None)  # status lost: found by owner tags
    assert adopted.action is None and adopted.observed.id == created.observed.id

    if aws.update_vpc_link:
        rec.clear()
        desired = replace(desired, name="orders-2")
        renamed = part.ensure(ctx, desired, created.observed.id)
        assert renamed.action == "Updated" and renamed.observed.id == created.observed.id
        assert renamed.changes == ["name"] and rec.writes() == ["UpdateVpcLink"]
        assert part.ensure(ctx, desired, created.observed.id).action is None

    rec.clear()
    moved = part.ensure(ctx, replace(desired, target_arn=aws.nlb_arn_2), created.observed.id)
    assert moved.action == "Replaced" and moved.changes == ["targetArns"]
    assert moved.observed.id != created.observed.id and rec.writes() == ["DeleteVpcLink", "CreateVpcLink"]

    assert part.remove(ctx, moved.observed.id) == moved.observed.id
    assert part.remove(ctx, moved.observed.id) is None
    assert part.remove(ctx, None) is None


def test_vpc_link_delete_refused_while_in_use_is_retryable(ctx: PartContext) -> None:
    def refuse(**_: Any) -> None:
        raise ClientError(
            {
                "Error": {
                    "Code": "BadRequestException",
                    "Message": "Cannot delete vpc link. Vpc link "
                    "'abc', is referenced in [ANY:r1:prod] in format of [Method:Resource:Stage].",
                }
            },
            "DeleteVpcLink",
        )

    client = ctx.client("apigateway")
    original = client.delete_vpc_link
    client.delete_vpc_link = refuse
    try:
        with pytest.raises(RetryLater) as err:
            VpcLinkPart().delete(ctx, Observed(id="abc", state=None))
    finally:
        client.delete_vpc_link = original
    assert err.value.reason == "DependencyInUse" and "referenced" in err.value.message


def test_rest_api_lifecycle(aws: Aws, ctx: PartContext, rec: Recorder, raw: Any, vpc_link_id: str) -> None:
    part = RestApiPart()
    desired = _api_desired(vpc_link_id=vpc_link_id)
    rec.clear()
    created = part.ensure(ctx, desired, None)
    api_id = created.observed.id
    assert created.action == "Created"
    writes = rec.writes()
    assert writes.count("CreateRestApi") == 1 and writes.count("PutMethod") == 4
    assert writes.count("PutIntegration") == 4 and writes.count("CreateResource") == 3

    api = raw.get_rest_api(restApiId=api_id)
    assert api["endpointConfiguration"]["types"] == ["REGIONAL"] and ctx.owner.owns(api["tags"], "rest-api")
    proxy = next(r for r in raw.get_resources(restApiId=api_id)["items"] if r["path"] == "/{proxy+}")
    integration = raw.get_integration(restApiId=api_id, resourceId=proxy["id"], httpMethod="ANY")
    assert integration["type"] == "HTTP_PROXY" and integration["connectionType"] == "VPC_LINK"
    assert integration["connectionId"] == vpc_link_id
    assert integration["uri"] == "https://orders-backend.example.com/{proxy}"
    assert integration["requestParameters"] == {
        "integration.request.path.proxy": "method.request.path.proxy",
        "integration.request.header.X-Gateway-Secret": f"'{SECRET}'",
    }

    rec.clear()
    again = part.ensure(ctx, desired, api_id)
    assert again.action is None and rec.writes() == []
    assert [c for c, _ in rec.calls] == ["GetRestApi", "GetResources"]  # bounded reads
    first_hash = again.observed.state.api_definition_hash

    adopted = part.ensure(ctx, desired, None)
    assert adopted.action is None and adopted.observed.id == api_id

    rec.clear()
    with_health = replace(desired, routes=(*desired.routes, Route("/health", ("GET",))))
    added = part.ensure(ctx, with_health, api_id)
    assert added.action == "Updated" and added.observed.id == api_id
    assert added.changes == ["route GET /health missing"]
    assert rec.writes() == ["CreateResource", "PutMethod", "PutIntegration"]
    assert added.observed.state.api_definition_hash != first_hash

    rec.clear()
    toggled = part.ensure(ctx, replace(with_health, disable_execute_api_endpoint=True), api_id)
    assert toggled.changes == ["disableExecuteApiEndpoint"] and rec.writes() == ["UpdateRestApi"]
    assert [p["patchOperations"] for n, p in rec.calls if n == "UpdateRestApi"] == [
        [{"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "true"}]
    ]
    assert toggled.observed.state.disable_execute_api_endpoint is True
    assert toggled.observed.state.api_definition_hash != added.observed.state.api_definition_hash

    rec.clear()
    without = replace(with_health, disable_execute_api_endpoint=True, routes=desired.routes)
    removed_route = part.ensure(ctx, without, api_id)
    assert removed_route.changes == ["route GET /health not in spec", "resource /health not in spec"]
    assert rec.writes() == ["DeleteResource"]  # the method goes with its resource
    assert part.ensure(ctx, without, api_id).action is None

    rec.clear()
    assert part.remove(ctx, api_id) == api_id and rec.writes() == ["DeleteRestApi"]
    assert part.remove(ctx, api_id) is None
    assert part.remove(ctx, None) is None


def test_rest_api_enable_execute_endpoint_again(aws: Aws, ctx: PartContext, rec: Recorder, vpc_link_id: str) -> None:
    if not aws.disable_false_works:
        pytest.skip("moto 5.2 turns UpdateRestApi /disableExecuteApiEndpoint 'false' into True (bool('false'))")
    part = RestApiPart()
    desired = _api_desired(vpc_link_id=vpc_link_id, disable_execute_api_endpoint=True)
    api_id = part.ensure(ctx, desired, None).observed.id
    rec.clear()
    enabled = part.ensure(ctx, replace(desired, disable_execute_api_endpoint=False), api_id)
    assert enabled.changes == ["disableExecuteApiEndpoint"] and rec.writes() == ["UpdateRestApi"]
    assert enabled.observed.state.disable_execute_api_endpoint is False
    part.remove(ctx, api_id)


def test_rest_api_integrations_are_patched_in_place(
    aws: Aws, ctx: PartContext, rec: Recorder, raw: Any, vpc_link_id: str
) -> None:
    if not aws.update_integration:
        pytest.skip("UpdateIntegration is not implemented by moto 5.2; needs hybrid_gateway_devenv.emulator")
    part = RestApiPart()
    desired = _api_desired(vpc_link_id=vpc_link_id)
    api_id = part.ensure(ctx, desired, None).observed.id
    resources = {r["path"]: r["id"] for r in raw.get_resources(restApiId=api_id)["items"]}

    rec.clear()
    moved = replace(desired, routes=(Route("/orders", ("GET", "POST"), "/v2/orders"), *ROUTES[1:]))
    outcome = part.ensure(ctx, moved, api_id)
    assert outcome.action == "Updated" and outcome.observed.id == api_id
    assert outcome.changes == ["integration GET /orders uri", "integration POST /orders uri"]
    assert rec.writes() == ["UpdateIntegration", "UpdateIntegration"]
    got = raw.get_integration(restApiId=api_id, resourceId=resources["/orders"], httpMethod="GET")
    assert got["uri"] == "https://orders-backend.example.com/v2/orders"
    assert part.ensure(ctx, moved, api_id).action is None

    rec.clear()
    rotated = replace(moved, secret_header=("X-Gateway-Secret", NEW_SECRET))
    outcome = part.ensure(ctx, rotated, api_id)
    assert sorted(outcome.changes) == sorted(
        f"integration {k} secret header" for k in ("GET /orders", "POST /orders", "GET /orders/{id}", "ANY /{proxy+}")
    )
    assert rec.writes() == ["UpdateIntegration"] * 4
    got = raw.get_integration(restApiId=api_id, resourceId=resources["/{proxy+}"], httpMethod="ANY")
    assert got["requestParameters"]["integration.request.header.X-Gateway-Secret"] == f"'{NEW_SECRET}'"
    assert part.ensure(ctx, rotated, api_id).action is None
    part.remove(ctx, api_id)


def test_stage_lifecycle(aws: Aws, ctx: PartContext, rec: Recorder, raw: Any, vpc_link_id: str) -> None:
    api_part = RestApiPart()
    api_desired = _api_desired(vpc_link_id=vpc_link_id)
    api = api_part.ensure(ctx, api_desired, None).observed
    part = StagePart(api.id)
    desired = StageDesired(
        rest_api_id=api.id,
        stage_name="prod",
        api_definition_hash=api.state.api_definition_hash,
        variables={"env": "prod"},
        rate_limit=100.0,
        burst_limit=200,
    )

    rec.clear()
    created = part.ensure(ctx, desired, None)
    assert created.action == "Created" and created.observed.id == "prod"
    assert rec.writes() == ["CreateDeployment", "CreateStage", "UpdateStage"]
    state = created.observed.state
    assert state.invoke_url == f"https://{api.id}.execute-api.{REGION}.amazonaws.com/prod"
    assert state.rate_limit == 100.0 and state.burst_limit == 200 and state.variables == {"env": "prod"}
    first_deployment = state.deployment_id
    assert (
        desired.api_definition_hash
        in raw.get_deployment(restApiId=api.id, deploymentId=first_deployment)["description"]
    )

    rec.clear()
    again = part.ensure(ctx, desired, "prod")
    assert again.action is None and rec.writes() == [] and len(rec.calls) == 2  # GetStage, GetDeployment
    assert part.ensure(ctx, desired, None).observed.id == "prod"  # adopted by owner tags

    rec.clear()
    tuned = replace(desired, variables={"env": "prod", "tier": "gold"}, rate_limit=50.0)
    outcome = part.ensure(ctx, tuned, "prod")
    assert outcome.action == "Updated" and outcome.changes == ["variable tier", "throttling rateLimit"]
    assert rec.writes() == ["UpdateStage"]  # no redeploy: the API did not change
    assert outcome.observed.state.deployment_id == first_deployment
    assert part.ensure(ctx, tuned, "prod").action is None

    # The API changed: a new deployment and a switch of the stage, nothing else.
    new_api = api_part.ensure(ctx, replace(api_desired, routes=(*ROUTES, Route("/health", ("GET",)))), api.id)
    rec.clear()
    redeploy = replace(tuned, api_definition_hash=new_api.observed.state.api_definition_hash)
    outcome = part.ensure(ctx, redeploy, "prod")
    assert outcome.changes == ["deployment"] and rec.writes() == ["CreateDeployment", "UpdateStage"]
    assert outcome.observed.state.deployment_id != first_deployment
    assert part.ensure(ctx, redeploy, "prod").action is None

    # A client certificate set by the ClientCertRotation is neither reported as drift nor touched.
    try:
        cert_id = raw.generate_client_certificate(description="rotation")["clientCertificateId"]
    except ClientError:  # plain moto lacks client certificates, and accepts (and drops) any id
        cert_id = "cc-rotation"
    raw.update_stage(
        restApiId=api.id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/clientCertificateId", "value": cert_id}],
    )
    rec.clear()
    kept = part.ensure(ctx, redeploy, "prod")
    assert kept.action is None and rec.writes() == []
    if aws.emulator:
        assert kept.observed.state.client_certificate_id == cert_id
    logged = part.ensure(
        ctx, replace(redeploy, access_log_destination_arn="arn:aws:logs:ap-northeast-1:1:log-group:x"), "prod"
    )
    sent = [op for name, params in rec.calls if name == "UpdateStage" for op in params["patchOperations"]]
    assert logged.changes == ["access log settings"]
    assert not [op for op in sent if "clientCertificateId" in op["path"]]
    assert [op["path"] for op in sent] == ["/accessLogSettings/destinationArn", "/accessLogSettings/format"]
    assert part.ensure(ctx, redeploy, "prod").changes == ["access log settings"]  # and off again

    rec.clear()
    assert part.remove(ctx, "prod") == "prod" and rec.writes() == ["DeleteStage"]
    assert part.remove(ctx, "prod") is None
    api_part.remove(ctx, api.id)
    assert StagePart(api.id).remove(ctx, "prod") is None  # the API is gone too


def test_the_secret_never_shows(aws: Aws, ctx: PartContext, caplog: pytest.LogCaptureFixture, vpc_link_id: str) -> None:
    caplog.set_level(logging.DEBUG, logger="hybrid_gateway")
    part = RestApiPart()
    desired = _api_desired(vpc_link_id=vpc_link_id)
    created = part.ensure(ctx, desired, None)
    outcomes = [
        created,
        part.ensure(ctx, replace(desired, routes=(*ROUTES, Route("/x", ("GET",)))), created.observed.id),
    ]
    if aws.update_integration:
        outcomes.append(
            part.ensure(ctx, replace(desired, secret_header=("X-Gateway-Secret", NEW_SECRET)), created.observed.id)
        )
    for outcome in outcomes:
        text = json.dumps(asdict(outcome.observed.state)) + outcome.message + repr(outcome)
        assert SECRET not in text and NEW_SECRET not in text
    assert caplog.records, "the part logs what it changes"
    for record in caplog.records:
        assert SECRET not in record.getMessage() and NEW_SECRET not in record.getMessage()
    # A refused create: AWS's message is kept, the value is not.
    client = ctx.client("apigateway")
    original = client.put_integration

    def echo(**kwargs: Any) -> None:
        raise ClientError(
            {
                "Error": {
                    "Code": "BadRequestException",
                    "Message": f"Invalid mapping expression: {kwargs['requestParameters']}",
                }
            },
            "PutIntegration",
        )

    client.put_integration = echo
    try:
        with pytest.raises(ClientError) as err:
            part.ensure(ctx, replace(desired, routes=(*ROUTES, Route("/y", ("GET",)))), created.observed.id)
    finally:
        client.put_integration = original
    assert SECRET not in str(err.value) and "Invalid mapping expression" in str(err.value)
    part.remove(ctx, created.observed.id)
