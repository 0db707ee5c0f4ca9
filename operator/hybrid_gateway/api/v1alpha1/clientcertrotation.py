"""ClientCertRotation: the API Gateway client certificate of HybridApi stages, rotated without downtime."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from hybrid_gateway import durations
from hybrid_gateway.api.v1alpha1.common import (
    RFC3339_PATTERN,
    Column,
    Conditions,
    ConfigMapKeyRef,
    Count,
    DateTime,
    Described,
    Duration,
    HybridApiRef,
    Kind,
    Model,
    PemSecretKeyRef,
    Rules,
    S3Bucket,
    S3Key,
    SecretOrConfigMapKey,
    SpecBase,
    StageName,
    StatusBase,
    TestInvocation,
    conditions_field,
    duration_doc,
    invalid,
)


class ConditionType(Described):
    """The hop conditions of a ClientCertRotation (besides Ready, Reconciling, Stalled)."""

    ROTATING = "Rotating"
    BACKEND_TRUST_PUBLISHED = "BackendTrustPublished"
    STAGES_USING_CURRENT = "StagesUsingCurrent"


class Phase(Described):
    """status.phase: the step of the rotation state machine."""

    IDLE = "Idle", "nothing to do"
    GENERATING = "Generating", "new certificate"
    PUBLISHING = "PublishingTrust", "old + new in the backend trust"
    VERIFYING = "Verifying", "test-invoke with the new certificate"
    SWITCHING = "Switching", "stages to the new certificate"
    DRAINING = "Draining", "grace period"
    RETIRING = "Retiring", "old certificate removed from the trust and deleted"


# --------------------------------------------------------------------------------------------
# spec
# --------------------------------------------------------------------------------------------


class StageRef(Model):
    """One HybridApi stage."""

    hybrid_api_ref: HybridApiRef = Field(
        description="The HybridApi (same namespace) whose REST API holds the stage. Required.")
    stage: StageName = Field(description=(
        "Name of the stage of that HybridApi's REST API, i.e. its spec.api.stage.name, for example `prod`. "
        "Required."))

    @property
    def hybrid_api(self) -> str:
        return self.hybrid_api_ref.name

    @property
    def label(self) -> str:
        return f"{self.hybrid_api}/{self.stage}"


def _trust_ref_doc(kind: str) -> str:
    return (f"A {kind} key the operator writes with the PEM bundle of the client certificates the backend must "
            f"trust, for example `{{name: orders-backend-trust, key: ca.pem}}`. The operator creates the {kind} "
            "if missing.")


class S3Object(Model):
    """Also write the bundle to this S3 object (same Region), for on-premises systems that fetch it from there.
    Optional."""

    bucket: S3Bucket = Field(description="Existing S3 bucket, for example `team-a-trust`. Required.")
    key: S3Key = Field(description="Object key, for example `orders/backend-trust.pem`. Required; must not start "
                                   "with '/'.")


class BackendTrust(SecretOrConfigMapKey):
    """Where the operator publishes the trust bundle for the backend: the PEM of the current client
    certificate, plus the new one during a rotation (so the backend trusts both before the stages switch). Set
    exactly one of secretRef and configMapRef; s3 is an optional extra copy. Required."""

    secret_ref: PemSecretKeyRef | None = Field(None, description=_trust_ref_doc("Secret"))
    config_map_ref: ConfigMapKeyRef | None = Field(None, description=_trust_ref_doc("ConfigMap"))
    s3: S3Object | None = None

    one_of_reason = "InvalidBackendTrust"

    def describe(self, namespace: str) -> str:
        return f"{self.kind} {namespace}/{self.ref.name} key {self.ref.key}"


class Verification(TestInvocation):
    """Before switching the stages, test-invoke a method of a HybridApi with the new client certificate and
    check the backend's answer; the rotation waits (and reports it) until the check passes. Optional; without
    it the switch follows publication of the trust bundle."""

    hybrid_api_ref: HybridApiRef = Field(description="The HybridApi whose REST API is test-invoked. Required.")

    @model_validator(mode="after")
    def _names_a_hybrid_api(self) -> Self:
        if not self.hybrid_api_ref.name:
            raise invalid("InvalidVerification", "hybridApiRef.name is required")
        return self

    @property
    def hybrid_api(self) -> str:
        return self.hybrid_api_ref.name


def _rotate_request(text: str) -> str:
    if text:
        try:
            durations.parse_time(text)
        except ValueError:
            raise invalid("InvalidRotateRequest",
                          f"{text!r} is not an RFC 3339 time like 2024-05-01T09:00:00Z") from None
    return text


class ClientCertRotationSpec(SpecBase):
    """Desired state: the client certificate that API Gateway presents to the backend of the named stages,
    renewed before it expires without downtime (generate new, publish it to the backend trust next to the old
    one, verify, switch the stages, drain, remove the old one from the trust, delete the old certificate)."""

    stages: Annotated[tuple[StageRef, ...], Rules(minItems=1, maxItems=50)] = Field(description=(
        "The HybridApi stages that use the certificate, for example `[{hybridApiRef: {name: orders}, stage: "
        "prod}]`. Required: 1 to 50 entries. A stage must be named by only one ClientCertRotation."))
    renew_before: Duration = Field("720h", description=duration_doc(
        "How long before the current certificate expires the rotation starts; API Gateway certificates live "
        "365 days.", "Default `720h`."))
    backend_trust: BackendTrust
    verification: Verification | None = None
    grace_period: Duration = Field("10m", description=duration_doc(
        "How long the old certificate stays in the backend trust after the stages switched (for in-flight "
        "requests and deployments to settle) before it is removed and deleted.", "Default `10m`."))
    rotate_requested_at: Annotated[str, Rules(maxLength=64, pattern=RFC3339_PATTERN),
                                   AfterValidator(_rotate_request)] | None = Field(None, description=(
        "Set (or change) to a new RFC 3339 time, for example `2024-05-01T09:00:00Z`, to ask for a rotation "
        "now; a value equal to status.lastHandledRotateRequest does nothing. Optional; empty or an RFC 3339 "
        "date-time."))

    @model_validator(mode="after")
    def _stages_named_once(self) -> Self:
        if not self.stages or any(not s.hybrid_api or not s.stage for s in self.stages):
            raise invalid("InvalidStages", "spec.stages: name at least one {hybridApiRef: {name}, stage}")
        seen: set[str] = set()
        for ref in self.stages:
            if ref.label in seen:
                raise invalid("DuplicateStage", f"spec.stages names stage {ref.label} twice: remove one")
            seen.add(ref.label)
        return self

    @property
    def renew_before_seconds(self) -> float:
        return durations.parse(self.renew_before, 0.0)

    @property
    def grace_period_seconds(self) -> float:
        return durations.parse(self.grace_period, 0.0)


# --------------------------------------------------------------------------------------------
# status
# --------------------------------------------------------------------------------------------


class ClientCertificateStatus(Model):
    """An API Gateway client certificate."""

    client_certificate_id: str | None = Field(
        None, description="Id of the API Gateway client certificate, for example `ndiqef`.")
    created_date: DateTime | None = Field(None, description="When API Gateway generated the certificate.")
    expiration_date: DateTime | None = Field(
        None, description="When the certificate expires (API Gateway issues them for 365 days).")
    pem_sha256: str | None = Field(None, description=(
        "Hex SHA-256 of the certificate's PEM as returned by API Gateway, to compare with what the backend "
        "trusts."))


class RotationStatus(Model):
    """The rotation under way (kept until the next one starts, for reference)."""

    reason: str | None = Field(None, description=(
        "Why it started: `Initial` (first certificate), `Requested` (spec.rotateRequestedAt), `Expiring` "
        "(renewBefore reached) or `CertificateDeleted` (the current certificate was deleted outside the "
        "operator)."))
    started_time: DateTime | None = Field(None, description="When the rotation started.")
    switched_time: DateTime | None = Field(None, description=(
        "When the stages switched to the new certificate; the grace period counts from here."))
    verification_attempts: Count | None = Field(
        None, description="Test invocations with the new certificate that did not pass so far.")
    next_verification_time: DateTime | None = Field(
        None, description="When the next test invocation is due (retry backoff).")
    last_verification: str | None = Field(None, description="Outcome of the last test invocation.")


class StageStatus(Model):
    """One stage."""

    hybrid_api: str | None = Field(None, description="Name of the HybridApi.")
    stage: str | None = Field(None, description="Stage name.")
    rest_api_id: str | None = Field(None, description="Id of the HybridApi's REST API.")
    client_certificate_id: str | None = Field(
        None, description="The client certificate the stage presents to the backend.")


class HistoryEntry(Model):
    """One rotation."""

    from_: str | None = Field(None, alias="from", description="Id of the certificate replaced.")
    to: str | None = Field(None, description="Id of the certificate that replaced it.")
    started_time: DateTime | None = Field(None, description="When the rotation started.")
    completed_time: DateTime | None = Field(None, description="When the rotation completed.")


class ClientCertRotationStatus(StatusBase):
    """Observed state, written by the operator. The rotation is a resumable state machine: an operator restart
    continues from phase."""

    conditions: Conditions | None = conditions_field(ConditionType)
    phase: Phase | None = Field(None, description=(
        f"Step of the rotation: {', '.join(f'{p} ({p.description})' for p in Phase)}."))
    current: ClientCertificateStatus | None = Field(
        None, description="The certificate the stages use (after a switch: the new one).")
    previous: ClientCertificateStatus | None = Field(
        None, description="The certificate used before the last switch, until it is retired.")
    pending: ClientCertificateStatus | None = Field(None, description=(
        "The certificate generated for the rotation under way, before the stages switch to it; empty when idle."))
    trust_bundle_sha256: str | None = Field(None, description="Hex SHA-256 of the trust bundle last published.")
    next_rotation_time: DateTime | None = Field(
        None, description="When the next rotation starts (current expirationDate minus spec.renewBefore).")
    last_rotation_time: DateTime | None = Field(None, description="When the last rotation completed.")
    last_handled_rotate_request: str | None = Field(
        None, description="The spec.rotateRequestedAt value that was last acted on.")
    rotation: RotationStatus | None = None
    stages: tuple[StageStatus, ...] | None = Field(None, description="The stages named in spec.stages as found in AWS.")
    history: tuple[HistoryEntry, ...] | None = Field(
        None, description="The last 10 completed rotations, newest last.")


CLIENT_CERT_ROTATION = Kind(
    kind="ClientCertRotation",
    plural="clientcertrotations",
    short_names=("ccr",),
    description=(
        "ClientCertRotation keeps the API Gateway client certificate that HybridApi stages present to their "
        "backend valid, rotating it without downtime before it expires."
    ),
    spec=ClientCertRotationSpec,
    status=ClientCertRotationStatus,
    columns=(
        Column("Phase", "string", "Step of the rotation.", ".status.phase"),
        Column("Certificate", "string", "Current client certificate id.", ".status.current.clientCertificateId"),
        Column("Expires", "string", "When the current client certificate expires.",
               ".status.current.expirationDate"),
        Column("Next Rotation", "string", "When the next rotation starts.", ".status.nextRotationTime", priority=1),
    ),
)
