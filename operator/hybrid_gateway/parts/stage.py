"""The deployment and stage that publish the REST API.

A deployment is a snapshot of the API definition, so a new one is made only when the definition
changed: its description carries the REST API part's `api_definition_hash`, and the stage is moved to
a new deployment only when that hash differs from the one its current deployment records. Everything
else on the stage (variables, throttling, access logs) is patched in place with one UpdateStage call.

The stage's `clientCertificateId` belongs to the ClientCertRotation that names the stage (api.md,
"Who writes what"): this part never sends it and its diff ignores it; it is only reported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from hybrid_gateway.parts._apigateway import delete_ignoring_not_found, get_or_none, owned, owner_tags, patch_op
from hybrid_gateway.parts.base import Observed, Part, PartContext, Replacement

if TYPE_CHECKING:
    from hybrid_gateway.parts._apigateway import PatchOperation

DEPLOYMENT_PREFIX = "hybrid-gateway api-definition "
ALL_METHODS = ("*", "*")  # the stage-wide method settings key "*/*"
DEFAULT_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationStatus": "$context.integration.status",
        "integrationLatency": "$context.integration.latency",
        "integrationError": "$context.integration.error",
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class StageDesired:
    rest_api_id: str
    stage_name: str
    api_definition_hash: str  # from the REST API part's observed state
    variables: Mapping[str, str] = field(default_factory=dict)
    # None leaves the value alone (AWS's account-level default applies while it was never set).
    rate_limit: float | None = None
    burst_limit: int | None = None
    access_log_destination_arn: str | None = None  # None or "" = no access logs
    access_log_format: str = DEFAULT_ACCESS_LOG_FORMAT
    description: str = ""


def invoke_url(rest_api_id: str, region: str, stage_name: str) -> str:
    return f"https://{rest_api_id}.execute-api.{region}.amazonaws.com/{stage_name}"


def deployment_description(api_definition_hash: str) -> str:
    return DEPLOYMENT_PREFIX + api_definition_hash


def deployed_hash(description: str | None) -> str:
    """The definition hash a deployment was made for ("" when it was not made by us)."""
    text = description or ""
    return text[len(DEPLOYMENT_PREFIX) :] if text.startswith(DEPLOYMENT_PREFIX) else ""


@dataclass(frozen=True)
class StageState:
    rest_api_id: str
    stage_name: str
    deployment_id: str
    deployed_hash: str  # the definition hash its deployment was made for ("" when not made by us)
    invoke_url: str
    client_certificate_id: str  # the ClientCertRotation's: reported only
    variables: dict[str, str]
    rate_limit: float | None
    burst_limit: int | None
    access_log_destination_arn: str
    access_log_format: str


def observe(
    rest_api_id: str, region: str, stage: Mapping[str, Any], deployment: Mapping[str, Any] | None
) -> Observed[StageState]:
    settings = (stage.get("methodSettings") or {}).get("/".join(ALL_METHODS)) or {}
    logs = stage.get("accessLogSettings") or {}
    name = str(stage["stageName"])
    state = StageState(
        rest_api_id=rest_api_id,
        stage_name=name,
        deployment_id=str(stage.get("deploymentId") or ""),
        deployed_hash=deployed_hash((deployment or {}).get("description")),
        invoke_url=invoke_url(rest_api_id, region, name),
        client_certificate_id=str(stage.get("clientCertificateId") or ""),
        variables=dict(stage.get("variables") or {}),
        rate_limit=settings.get("throttlingRateLimit"),
        burst_limit=settings.get("throttlingBurstLimit"),
        access_log_destination_arn=str(logs.get("destinationArn") or ""),
        access_log_format=str(logs.get("format") or ""),
    )
    return Observed(id=name, state=state)


def diff(desired: StageDesired, observed: Observed[StageState]) -> list[str]:
    """What differs; `clientCertificateId` is deliberately not compared (another resource owns it)."""
    state = observed.state
    changes = []
    if observed.id != desired.stage_name:
        changes.append("stage name")
    if state.deployed_hash != desired.api_definition_hash:
        changes.append("deployment")
    have_vars = state.variables
    for key in sorted(set(have_vars) | set(desired.variables)):
        if have_vars.get(key) != desired.variables.get(key):
            changes.append(f"variable {key}")
    if desired.rate_limit is not None and _float(state.rate_limit) != float(desired.rate_limit):
        changes.append("throttling rateLimit")
    if desired.burst_limit is not None and _int(state.burst_limit) != int(desired.burst_limit):
        changes.append("throttling burstLimit")
    want_arn = desired.access_log_destination_arn or ""
    have_arn = state.access_log_destination_arn
    if want_arn != have_arn or (want_arn and state.access_log_format != desired.access_log_format):
        changes.append("access log settings")
    return changes


def stage_patch(
    desired: StageDesired, observed_state: StageState, changes: list[str], deployment_id: str | None
) -> list[PatchOperation]:
    """The UpdateStage operations for `changes` (pure); `deployment_id` is the new deployment, if any."""
    ops: list[PatchOperation] = []
    if deployment_id:
        ops.append(patch_op("replace", "deploymentId", value=deployment_id))
    have_vars = observed_state.variables
    for change in changes:
        if change.startswith("variable "):
            key = change[len("variable ") :]
            if key in desired.variables:
                ops.append(patch_op("replace", "variables", key, value=desired.variables[key]))
            elif key in have_vars:
                ops.append(patch_op("remove", "variables", key))
    if "throttling rateLimit" in changes and desired.rate_limit is not None:
        ops.append(
            patch_op("replace", *ALL_METHODS, "throttling", "rateLimit", value=float(desired.rate_limit))
        )
    if "throttling burstLimit" in changes and desired.burst_limit is not None:
        ops.append(
            patch_op("replace", *ALL_METHODS, "throttling", "burstLimit", value=int(desired.burst_limit))
        )
    if "access log settings" in changes:
        if desired.access_log_destination_arn:
            ops.append(
                patch_op(
                    "replace", "accessLogSettings", "destinationArn", value=desired.access_log_destination_arn
                )
            )
            ops.append(patch_op("replace", "accessLogSettings", "format", value=desired.access_log_format))
        else:
            ops.append(patch_op("remove", "accessLogSettings"))
    return ops


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


class StagePart(Part[StageDesired, StageState]):
    """The stage of one REST API; its observed id is the stage name."""

    name = "stage"
    replace_on: ClassVar[frozenset[str]] = frozenset({"stage name"})
    replacement: ClassVar[Replacement] = Replacement.DELETE_FIRST

    def __init__(self, rest_api_id: str, recorded_deployment: tuple[str, str] | None = None) -> None:
        # A stage only exists inside its REST API, and `remove` is given only the stage name.
        self.rest_api_id = rest_api_id
        # (deployment id, definition hash) as status recorded them: a deployment's description does
        # not change once made, so a stage still on it needs no GetDeployment.
        self.recorded_deployment = recorded_deployment

    def find(
        self, ctx: PartContext, desired: StageDesired | None, known_id: str | None
    ) -> Observed[StageState] | None:
        """By name (`known_id`), else by owner tags among the API's stages."""
        client = ctx.client("apigateway")
        stage = None
        if known_id:
            stage = get_or_none(client.get_stage, restApiId=self.rest_api_id, stageName=known_id)
        if stage is None:
            listing = get_or_none(client.get_stages, restApiId=self.rest_api_id)
            candidates = [
                s for s in (listing or {}).get("item", []) if owned(ctx.owner, s.get("tags"), self.name)
            ]
            if not candidates:
                return None
            stage = sorted(candidates, key=lambda s: str(s["stageName"]))[0]
        deployment = None
        recorded = self.recorded_deployment
        if recorded is not None and stage.get("deploymentId") == recorded[0]:
            deployment = {"description": deployment_description(recorded[1])}
        elif stage.get("deploymentId"):
            deployment = get_or_none(
                client.get_deployment, restApiId=self.rest_api_id, deploymentId=stage["deploymentId"]
            )
        return observe(self.rest_api_id, ctx.region, stage, deployment)

    def create(self, ctx: PartContext, desired: StageDesired) -> Observed[StageState]:
        self._check(desired)
        client = ctx.client("apigateway")
        deployment = self._deploy(client, desired)
        stage = client.create_stage(
            restApiId=self.rest_api_id,
            stageName=desired.stage_name,
            deploymentId=deployment["id"],
            description=desired.description,
            variables=dict(desired.variables),
            tags=owner_tags(ctx.owner, self.name),
        )
        created = observe(self.rest_api_id, ctx.region, stage, deployment)
        # CreateStage takes neither method settings nor access logs: set them with one patch.
        rest = [c for c in diff(desired, created) if not c.startswith("variable ")]
        ops = stage_patch(desired, created.state, rest, None)
        if ops:
            stage = client.update_stage(
                restApiId=self.rest_api_id, stageName=desired.stage_name, patchOperations=ops
            )
            created = observe(self.rest_api_id, ctx.region, stage, deployment)
        return created

    def diff(self, desired: StageDesired, observed: Observed[StageState]) -> list[str]:
        return diff(desired, observed)

    def update(
        self, ctx: PartContext, desired: StageDesired, observed: Observed[StageState], changes: list[str]
    ) -> Observed[StageState]:
        self._check(desired)
        client = ctx.client("apigateway")
        deployment = self._deploy(client, desired) if "deployment" in changes else None
        ops = stage_patch(desired, observed.state, changes, deployment["id"] if deployment else None)
        if not ops:
            return observed
        stage = client.update_stage(restApiId=self.rest_api_id, stageName=observed.id, patchOperations=ops)
        if deployment is None:
            deployment = {"description": deployment_description(observed.state.deployed_hash)}
        return observe(self.rest_api_id, ctx.region, stage, deployment)

    def delete(self, ctx: PartContext, observed: Observed[StageState]) -> None:
        delete_ignoring_not_found(
            ctx.client("apigateway").delete_stage,
            self.name,
            observed.id,
            restApiId=self.rest_api_id,
            stageName=observed.id,
        )

    def _deploy(self, client: Any, desired: StageDesired) -> dict[str, Any]:
        deployment: dict[str, Any] = client.create_deployment(
            restApiId=self.rest_api_id, description=deployment_description(desired.api_definition_hash)
        )
        return deployment

    def _check(self, desired: StageDesired) -> None:
        if desired.rest_api_id != self.rest_api_id:
            raise ValueError(f"stage part of {self.rest_api_id} given a stage of {desired.rest_api_id}")
