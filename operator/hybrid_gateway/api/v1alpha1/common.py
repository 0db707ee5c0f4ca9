"""What the kinds of hybridgateway.io/v1alpha1 share: the model base, value rules, patterns, references,
the certificate source, the fields every spec has, conditions and the drift record.

A field's CRD schema comes from its Python type (str, int, float, bool, Literal or a `Described` enum,
tuple = array, dict[str, X] = map, a `Model` = object; `X | None` = optional), its `Field(description=...,
default=...)` (else the model's docstring) and the `Rules` in its `Annotated` metadata. Rules (bounds,
pattern, format, list semantics) are enforced by the API server from the generated CRD; parsing with the
models applies types, defaults, exactly-one-of groups, normalisation and the checks a schema cannot make,
each failing with a CamelCase reason (`PydanticCustomError`) that the reconcilers report as Stalled.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from hybrid_gateway import durations

# --------------------------------------------------------------------------------------------
# Patterns (Go RE2 on the API server, Python ``re`` in the offline tests: keep to the common
# subset, always anchored).
# --------------------------------------------------------------------------------------------

DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
# Kubernetes object name (RFC 1123 subdomain).
K8S_NAME_PATTERN = rf"^{DNS_LABEL}(\.{DNS_LABEL})*$"
# Key in a Secret's or ConfigMap's data.
K8S_DATA_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
# Fully qualified host name: lower-case RFC 1123 labels, at least one dot, no wildcard, no trailing dot.
FQDN_PATTERN = rf"^{DNS_LABEL}(\.{DNS_LABEL})+$"
OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_PATTERN = rf"^({OCTET}\.){{3}}{OCTET}$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
# The drift-check interval in whole units of s, m and h only: a schema cannot compare a sum of parts
# with a minimum, but it can refuse the sub-second units that no sensible interval needs ("1ms").
DRIFT_INTERVAL_PATTERN = r"^([0-9]+(\.[0-9]+)?(s|m|h))+$"
ACM_ARN_PATTERN = r"^arn:aws[a-zA-Z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$"
LOGS_ARN_PATTERN = r"^$|^arn:aws[a-zA-Z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[^:*]+(:\*)?$"
VPC_ID_PATTERN = r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$"
SUBNET_ID_PATTERN = r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$"
SG_ID_PATTERN = r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$"
# Real Route 53 ids start with "Z"; the pattern also admits the ids the moto emulator makes
# (22 upper-case letters and digits, any first character).
HOSTED_ZONE_ID_PATTERN = r"^[A-Z0-9]{1,32}$"
SSL_POLICY_PATTERN = r"^ELBSecurityPolicy-.+$"
# API Gateway resource path: "/", "/a/b", "/a/{id}", "/{proxy+}", "/a/{proxy+}".
_PATH_PART = r"([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\})"
_GREEDY = r"\{[A-Za-z_][A-Za-z0-9_]*\+\}"
ROUTE_PATH_PATTERN = rf"^/({_PATH_PART}(/{_PATH_PART})*(/{_GREEDY})?|{_GREEDY})?$"
BACKEND_PATH_PATTERN = r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/{}-]*$"
HEALTH_CHECK_PATH_PATTERN = r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$"
# Base path of a base path mapping: "" (the root) or one or more segments without a leading
# slash, e.g. "orders" or "orders/v2".
# One segment: API Gateway v1 refuses "/" in a base path mapping ("To create a multi-level base path
# mapping, use API Gateway V2"; docs/aws-behaviour.md), and this operator maps REST APIs through v1.
BASE_PATH_PATTERN = r"^$|^[A-Za-z0-9$_.+!*'()-]+$"
STAGE_NAME_PATTERN = r"^[A-Za-z0-9_]+$"
STAGE_VARIABLE_VALUE_PATTERN = r"^[A-Za-z0-9-._~:/?#&=,]*$"
HTTP_HEADER_NAME_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
_HTTP_CODE = r"[2-4][0-9][0-9]"
MATCHER_PATTERN = rf"^{_HTTP_CODE}(-{_HTTP_CODE})?(,{_HTTP_CODE}(-{_HTTP_CODE})?)*$"
S3_BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
S3_KEY_PATTERN = r"^[^/].*$"
RFC3339_PATTERN = (
    r"^$|^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
CONDITION_TYPE_PATTERN = r"^[A-Z][A-Za-z0-9]*$"
CONDITION_REASON_PATTERN = r"^([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?)?$"

# --------------------------------------------------------------------------------------------
# The model base, value rules, enums with descriptions
# --------------------------------------------------------------------------------------------


class Rules:
    """CRD schema keywords of a value (``pattern``, ``maxLength``, ``minimum``, ``format``,
    ``x-kubernetes-list-type``, ``description`` of an array item, ...), written into the CRD as given.
    The API server enforces them; parsing with the models does not check them again."""

    def __init__(self, **rules: Any) -> None:
        self.rules = rules

    def __repr__(self) -> str:
        return f"Rules({self.rules!r})"


SET = Rules(**{"x-kubernetes-list-type": "set"})


def list_map(*keys: str) -> Rules:
    """An array whose items are unique by `keys` (the API server rejects duplicates; apply merges by key)."""
    return Rules(**{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)})


def invalid(reason: str, message: str) -> PydanticCustomError:
    """A validation error that the reconcilers report as Stalled with `reason` (CamelCase)."""
    return PydanticCustomError(reason, "{message}", {"message": message})


class Model(BaseModel):
    """Base of every API model: immutable, camelCase names on the wire, unknown fields ignored.

    `one_of` names fields of which exactly one must be set: the generator writes it as
    ``oneOf: [{required: [a]}, ...]`` and parsing rejects any other count with `one_of_reason`.
    """

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore")
    one_of: ClassVar[tuple[str, ...]] = ()
    one_of_reason: ClassVar[str] = "InvalidSpec"

    @model_validator(mode="after")
    def _exactly_one_of(self) -> Self:
        if self.one_of and sum(getattr(self, name) is not None for name in self.one_of) != 1:
            names = ", ".join(type(self).model_fields[name].alias or name for name in self.one_of)
            raise invalid(self.one_of_reason, f"set exactly one of {names}")
        return self


class Described(StrEnum):
    """A string enum whose members carry a description: condition types, phases, status keys."""

    description: str

    def __new__(cls, value: str, description: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member


# --------------------------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------------------------


def _duration(text: str) -> str:
    try:
        durations.parse(text, 0.0)
    except ValueError as exc:
        raise invalid("InvalidDuration", str(exc)) from None
    return text


def _host_name(value: Any) -> Any:
    return value.lower().rstrip(".") if isinstance(value, str) else value


def _hosted_zone_id(value: Any) -> Any:
    return value.split("/")[-1] if isinstance(value, str) else value  # "/hostedzone/Z..." as Route 53 writes it


Region = Annotated[str, Rules(pattern=REGION_PATTERN, maxLength=32)]
ObjectName = Annotated[str, Rules(minLength=1, maxLength=253, pattern=K8S_NAME_PATTERN)]
DataKey = Annotated[str, Rules(minLength=1, maxLength=253, pattern=K8S_DATA_KEY_PATTERN)]
AcmCertificateArn = Annotated[str, Rules(pattern=ACM_ARN_PATTERN, maxLength=2048)]
HostName = Annotated[str, Rules(maxLength=253, pattern=FQDN_PATTERN), BeforeValidator(_host_name)]
HostedZoneId = Annotated[str, Rules(pattern=HOSTED_ZONE_ID_PATTERN), BeforeValidator(_hosted_zone_id)]
StageName = Annotated[str, Rules(minLength=1, maxLength=128, pattern=STAGE_NAME_PATTERN)]
Duration = Annotated[str, Rules(pattern=DURATION_PATTERN, maxLength=32), AfterValidator(_duration)]
DriftInterval = Annotated[str, Rules(pattern=DRIFT_INTERVAL_PATTERN, maxLength=32), AfterValidator(_duration)]
S3Bucket = Annotated[str, Rules(minLength=3, maxLength=63, pattern=S3_BUCKET_PATTERN)]
S3Key = Annotated[str, Rules(minLength=1, maxLength=1024, pattern=S3_KEY_PATTERN)]
DateTime = Annotated[str, Rules(format="date-time")]
Count = Annotated[int, Rules(format="int64", minimum=0)]
DeletionPolicy = Literal["Delete", "Retain"]


def duration_doc(text: str, default: str) -> str:
    return (
        f"{text} A Go duration: a sequence of numbers with units ns, us, ms, s, m or h, for example `90s`, "
        f"`10m`, `1h30m`, `720h` (days are not a unit: 30 days is `720h`). {default}"
    )


# --------------------------------------------------------------------------------------------
# References to objects in the same namespace
# --------------------------------------------------------------------------------------------


def _name_doc(kind: str) -> str:
    return (f"Name of the {kind} in the same namespace as this object (a Kubernetes object name: lower-case "
            "letters, digits, '-' and '.', at most 253 characters). Required.")


def _key_doc(kind: str, example: str) -> str:
    return (f"Key in the {kind}'s data that holds the value, for example `{example}`. Required; letters, "
            "digits, '-', '_' and '.' only.")


class HybridApiRef(Model):
    """A HybridApi in the same namespace."""

    name: ObjectName = Field(description=_name_doc("HybridApi"))


TestInvokeMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


class TestInvocation(Model):
    """One request that the operator test-invokes (API Gateway TestInvokeMethod) on a route of a HybridApi's
    REST API, and the answers that count as success: what a ClientCertRotation's verification and a
    HybridApi's probe share."""

    path: Annotated[str, Rules(maxLength=1024, pattern=BACKEND_PATH_PATTERN)] = Field("/", description=(
        "Resource path to invoke, one of the HybridApi's routes with parameters filled in, for example "
        "`/healthz`. Default `/`."))
    method: Annotated[TestInvokeMethod, BeforeValidator(_upper)] = Field(
        "GET", description="HTTP method of the test invocation. Default `GET`.")
    expect_status: Annotated[tuple[Annotated[int, Rules(minimum=100, maximum=599)], ...],
                             Rules(minItems=1, maxItems=20), SET] = Field((200,), description=(
        "HTTP status codes that count as success, each 100 to 599, for example `[200, 204]`. Default `[200]`."))


class TlsSecretRef(Model):
    """A Secret of type kubernetes.io/tls in the same namespace."""

    name: ObjectName = Field(description=_name_doc("Secret"))


class SecretKeyRef(Model):
    """One key of a Secret in the same namespace."""

    name: ObjectName = Field(description="Name of the Secret in the same namespace as this object. Required.")
    key: DataKey = Field(description=_key_doc("Secret", "ca.crt"))

    kind: ClassVar[str] = "Secret"


class ConfigMapKeyRef(Model):
    """One key of a ConfigMap in the same namespace."""

    name: ObjectName = Field(description="Name of the ConfigMap in the same namespace as this object. Required.")
    key: DataKey = Field(description=_key_doc("ConfigMap", "ca.pem"))

    kind: ClassVar[str] = "ConfigMap"


class PemSecretKeyRef(SecretKeyRef):
    key: DataKey = Field(description=_key_doc("Secret", "ca.pem"))


class TokenSecretKeyRef(SecretKeyRef):
    key: DataKey = Field(description=_key_doc("Secret", "token"))


class SecretOrConfigMapKey(Model):
    """Exactly one of a Secret key and a ConfigMap key (subclasses declare the two fields)."""

    secret_ref: SecretKeyRef | None = None
    config_map_ref: ConfigMapKeyRef | None = None

    one_of = ("secret_ref", "config_map_ref")

    @property
    def ref(self) -> SecretKeyRef | ConfigMapKeyRef:
        ref = self.secret_ref or self.config_map_ref
        assert ref is not None  # exactly one is set (validated)
        return ref

    @property
    def kind(self) -> str:
        return self.ref.kind


# --------------------------------------------------------------------------------------------
# Where a server certificate comes from (HybridApi front door, MtlsDomain)
# --------------------------------------------------------------------------------------------


class CertificateRequest(Model):
    """A public ACM certificate, DNS-validated by the operator (no options yet)."""


def acm_certificate_arn_field(host: str) -> Any:
    return Field(None, description=(
        f"ARN of an existing ACM certificate in the same Region that covers {host}, for example "
        "`arn:aws:acm:ap-northeast-1:111122223333:certificate/0a1b2c3d-...`. The operator uses it as is and "
        "never deletes it."
    ))


def certificate_request_field(host: str, zone: str) -> Any:
    return Field(None, description=(
        f"Ask ACM for a public certificate for {host}, validated through DNS records that the operator "
        f"writes into {zone}; ACM renews it automatically. Write `request: {{}}`; it takes no options yet."
    ))


class CertificateSource(Model):
    """Exactly one of: an ACM ARN, a kubernetes.io/tls Secret to import, or a DNS-validated request.
    Subclasses describe acmCertificateArn and request for the host name and zone fields of their kind."""

    acm_certificate_arn: AcmCertificateArn | None = acm_certificate_arn_field("the host name")
    secret_ref: TlsSecretRef | None = Field(None, description=(
        "A Secret of type kubernetes.io/tls in the same namespace (keys tls.crt with the certificate and its "
        "chain, and tls.key with the private key) that the operator imports into ACM and re-imports whenever "
        "the Secret changes, for example one issued by cert-manager. Only tls.crt, tls.key and ca.crt are read "
        "(other keys, such as a keystore.p12, are left alone); they must be PEM text. The private key never "
        "appears in status, events or logs."
    ))
    request: CertificateRequest | None = certificate_request_field("the host name", "the hosted zone")

    one_of = ("acm_certificate_arn", "secret_ref", "request")
    one_of_reason = "InvalidCertificateSource"

    @property
    def secret_name(self) -> str | None:
        return self.secret_ref.name if self.secret_ref else None

    @property
    def requested(self) -> bool:
        return self.request is not None


# --------------------------------------------------------------------------------------------
# Fields every spec has
# --------------------------------------------------------------------------------------------


# The floor of any drift-check interval (the operator's --min-drift-interval, by default): a check of one
# HybridApi costs about 12 ELB reads, and the AWS API rate limits are shared by every object of the account
# (elbv2 at 10 requests/s by default), so one object checked every 30s takes at most 4% of that budget and
# no single object can starve the others (docs/aws-behaviour.md, "Drift checks and the rate limits").
MIN_DRIFT_SECONDS: Final = 30.0


class DriftCheck(Model):
    """The drift-check interval alone (the kopf layer reads it for every kind)."""

    drift_check_interval: DriftInterval | None = Field(None, description=(
        "How often the operator re-reads the AWS resources of this object and corrects any difference from "
        "the spec (drift), in addition to reconciling on every change of the object. A check that finds "
        "nothing wrong makes no write call. A Go duration in units s, m and h, for example `90s`, `10m`, "
        "`1h30m` (sub-second units are refused). At least the operator's `--min-drift-interval` (by default "
        f"{MIN_DRIFT_SECONDS:.0f}s): every check reads AWS APIs whose rate limits all objects of the account "
        "share, so a shorter interval is Stalled (DriftCheckIntervalTooShort) before any AWS call. Optional; "
        "when unset, the operator's `--drift-interval` applies (by default 60s)."
    ))

    def drift_seconds(self, default: float) -> float:
        """Seconds between drift checks; `default` (the operator's --drift-interval) when unset."""
        return durations.parse(self.drift_check_interval, default)

    def drift_too_short(self, minimum: float) -> str | None:
        """What to fix when spec.driftCheckInterval is set below `minimum` seconds; None when it is fine."""
        if self.drift_check_interval is None or self.drift_seconds(minimum) >= minimum:
            return None
        return (f"spec.driftCheckInterval {self.drift_check_interval} is below the operator's minimum of "
                f"{minimum:g}s (--min-drift-interval): every drift check reads AWS APIs whose rate limits all "
                f"objects of the account share; set {minimum:g}s or more, or leave it unset")


class SpecBase(DriftCheck):
    """Fields of every kind's spec: the Region, what deletion does, the drift-check interval."""

    region: Region = Field(description=(
        "AWS Region in which every AWS resource of this object is created and looked up, for example "
        "`ap-northeast-1`. Required. Changing it makes the operator build the resources in the new Region "
        "(and delete the old ones unless deletionPolicy is Retain)."
    ))
    deletion_policy: DeletionPolicy = Field("Delete", description=(
        "What happens to the AWS resources this object created when the object is deleted. `Delete` (the "
        "default) removes them in reverse dependency order before the object goes away; `Retain` leaves them "
        "in AWS untouched (they keep their owner tags, so a new object with the same namespace and name "
        "adopts them)."
    ))

    @property
    def retain(self) -> bool:
        return self.deletion_policy == "Retain"


# --------------------------------------------------------------------------------------------
# Status fragments
# --------------------------------------------------------------------------------------------

# Condition types every kind reports (kstatus), and Synced (the last pass reached AWS, Crossplane style).
READY: Final = "Ready"
RECONCILING: Final = "Reconciling"
STALLED: Final = "Stalled"
SYNCED: Final = "Synced"
SUMMARY_CONDITIONS = (READY, RECONCILING, STALLED)


class StatusCondition(Model):
    """One aspect of the object's current state."""

    type: Annotated[str, Rules(maxLength=316, pattern=CONDITION_TYPE_PATTERN)] = Field(
        description="Type of the condition in CamelCase, for example `Ready`. Unique in the list.")
    status: Literal["True", "False", "Unknown"] = Field(
        description="Whether the condition holds: `True`, `False` or `Unknown`.")
    reason: Annotated[str, Rules(maxLength=1024, pattern=CONDITION_REASON_PATTERN)] | None = Field(None, description=(
        "One-word CamelCase reason for the condition's last transition, for example "
        "`CertificatePendingValidation`."))
    message: Annotated[str, Rules(maxLength=32768)] | None = Field(None, description=(
        "Human-readable details; when the status is not what it should be, says what to do about it."))
    observed_generation: Count | None = Field(None, description=(
        "metadata.generation of the object when the condition was set; older than the current generation "
        "means the condition may be out of date."))
    last_transition_time: DateTime | None = Field(None, description=(
        "When the condition last changed from one status to another (RFC 3339)."))


Conditions = Annotated[tuple[StatusCondition, ...], list_map("type")]


def conditions_field(types: type[Described]) -> Any:
    """The status.conditions field of a kind whose hop conditions are `types`."""
    return Field(None, description=(
        "Current state of this object as a list of conditions, one per type (kstatus style). Types used: "
        f"{', '.join([*SUMMARY_CONDITIONS, *types])}. `Ready=True` only when everything is converged for the "
        "current generation; `Reconciling=True` while work is under way or waiting on AWS; `Stalled=True` "
        "when progress needs a change from you (the message says what). `kubectl wait --for=condition=Ready` "
        "works on it."
    ))


class DriftRecord(Model):
    """What the periodic drift check (spec.driftCheckInterval) found and corrected."""

    last_check_time: DateTime | None = Field(
        None, description="When the AWS resources were last compared with the spec.")
    last_correction_time: DateTime | None = Field(
        None, description="When a difference was last found and corrected; absent if never.")
    corrections: Count | None = Field(
        None, description="How many corrections have been made since the object was created.")
    last_corrected: tuple[Annotated[str, Rules(description="One correction: the AWS resource and what was put back.")],
                          ...] | None = Field(None, description=(
        "The most recent corrections, newest first (a bounded list), each as `<resource>: <what was put back>`, "
        "for example `alb-listener: sslPolicy`."))
    repairing: bool | None = Field(None, description=(
        "True while a drift repair takes more than one pass because AWS must finish something first (a new "
        "VPC link must become AVAILABLE, a domain name must leave UPDATING): what those passes put back still "
        "counts as drift. False or absent otherwise."))
    effective_interval: str | None = Field(None, description=(
        "The interval at which the drift check actually runs, as a duration (e.g. `2m0s`): "
        "spec.driftCheckInterval (or the operator's default), stretched when the whole fleet's checks would use "
        "more than the operator's drift budget (--drift-budget-share) of an AWS API rate limit."))


class CertificateStatus(Model):
    """A server certificate in use."""

    arn: str | None = Field(None, description="ARN of the ACM certificate in use.")
    not_after: DateTime | None = Field(None, description="When the certificate expires (RFC 3339).")


class StatusBase(Model):
    """Fields of every kind's status besides conditions."""

    observed_generation: Count | None = Field(None, description=(
        "The metadata.generation that the operator last processed; equal to metadata.generation when the "
        "status describes the current spec."))
    validated_generation: Count | None = Field(None, description=(
        "The metadata.generation whose inputs (subnets, hosted zone, ...) the operator last checked in AWS "
        "and whose AWS resources it recorded in full: drift checks of that generation read neither again."))
    drift: DriftRecord | None = None


# --------------------------------------------------------------------------------------------
# What a kind's CRD says besides its schema
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """An additional printer column (`kubectl get`)."""

    name: str
    type: str
    description: str
    json_path: str
    priority: int | None = None


@dataclass(frozen=True)
class Kind:
    """One kind of the API: names, the CRD's description and columns, and its spec and status models.

    A kind without a status model (a policy that nothing reconciles) gets no status subresource and no
    Ready/Reason columns."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    description: str
    spec: type[Model]
    status: type[Model] | None
    columns: tuple[Column, ...] = ()
    scope: Literal["Namespaced", "Cluster"] = "Namespaced"

    @property
    def singular(self) -> str:
        return self.kind.lower()
