"""TenancyPolicy: what the objects of some namespaces may name in the AWS account (cluster-scoped).

A platform team writes it once, as cert-manager's ClusterIssuer or Gateway API's GatewayClass: the
tenants (namespaces) cannot write or change it. The operator reads it before every HybridApi and
MtlsDomain pass (hybrid_gateway/tenancy.py); it has no status and nothing reconciles it.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from hybrid_gateway.api.v1alpha1.common import (
    DNS_LABEL,
    OCTET,
    SET,
    SUBNET_ID_PATTERN,
    VPC_ID_PATTERN,
    AcmCertificateArn,
    Column,
    HostedZoneId,
    Kind,
    Model,
    Rules,
    invalid,
)

# A namespace name is an RFC 1123 label (at most 63 characters).
NAMESPACE_NAME_PATTERN = rf"^{DNS_LABEL}$"
# Label key: an optional DNS-subdomain prefix and '/', then a name of letters, digits, '-', '_', '.'.
LABEL_KEY_PATTERN = (rf"^({DNS_LABEL}(\.{DNS_LABEL})*/)?"
                     r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"
IPV4_CIDR_PATTERN = rf"^({OCTET}\.){{3}}{OCTET}/([0-9]|[12][0-9]|3[0-2])$"
# A DNS name of one or more labels, any case, an optional trailing dot (as Route 53 writes names).
_ANY_CASE_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
HOSTNAME_SUFFIX_PATTERN = rf"^{_ANY_CASE_LABEL}(\.{_ANY_CASE_LABEL})*\.?$"


class Rule(StrEnum):
    """The lists of spec.allowed: each one covers one kind of value that HybridApi and MtlsDomain specs name."""

    VPC_IDS = "vpcIds"
    SUBNET_IDS = "subnetIds"
    TARGET_CIDRS = "targetCidrs"
    HOSTED_ZONE_IDS = "hostedZoneIds"
    HOSTNAME_SUFFIXES = "hostnameSuffixes"
    ACM_CERTIFICATE_ARNS = "acmCertificateArns"


def _suffix(value: Any) -> Any:
    return value.lower().rstrip(".") if isinstance(value, str) else value


def _ipv4_network(text: str) -> str:
    # The CRD pattern admits only IPv4 CIDRs; this catches a policy stored under an older or missing schema.
    try:
        ipaddress.IPv4Network(text, strict=False)
    except ValueError as exc:
        raise invalid("InvalidTenancyPolicy", f"targetCidrs {text!r}: {exc}") from None
    return text


NamespaceName = Annotated[str, Rules(maxLength=63, pattern=NAMESPACE_NAME_PATTERN,
                                     description="A namespace name, for example `team-a`.")]
LabelValue = Annotated[str, Rules(maxLength=63, pattern=LABEL_VALUE_PATTERN)]


class LabelSelectorRequirement(Model):
    """One requirement on a namespace's labels (as in a Kubernetes label selector)."""

    key: Annotated[str, Rules(maxLength=317, pattern=LABEL_KEY_PATTERN)] = Field(description=(
        "The label key, for example `hybridgateway.io/tenant`. Required."))
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(description=(
        "How the label's value is compared with values: `In` (the label is set to one of them), `NotIn` (it "
        "is not set, or set to none of them), `Exists` (it is set, values must be empty) or `DoesNotExist`. "
        "Required."))
    values: Annotated[tuple[Annotated[LabelValue, Rules(description="A label value.")], ...],
                      Rules(maxItems=64), SET] | None = Field(None, description=(
        "The values for `In` and `NotIn` (at least one); empty for `Exists` and `DoesNotExist`."))

    @model_validator(mode="after")
    def _values_fit_the_operator(self) -> Self:
        wants_values = self.operator in ("In", "NotIn")
        if wants_values != bool(self.values):
            need = "needs at least one value" if wants_values else "takes no values"
            raise invalid("InvalidTenancyPolicy", f"matchExpressions key {self.key}: operator {self.operator} {need}")
        return self


class NamespaceSelector(Model):
    """A Kubernetes label selector on namespaces' labels: a namespace matches when it has every label of
    matchLabels and meets every requirement of matchExpressions. An empty selector (`{}`) matches every
    namespace."""

    match_labels: dict[str, Annotated[LabelValue, Rules(description="The value the label must have.")]] | None = (
        Field(None, description=(
            "Labels a namespace must carry, key to value, for example `{hybridgateway.io/tenant: team-a}`.")))
    match_expressions: Annotated[tuple[LabelSelectorRequirement, ...], Rules(maxItems=32)] | None = Field(
        None, description="Requirements a namespace's labels must meet, all of them.")


class Namespaces(Model):
    """The namespaces (tenants) this policy applies to: those named in names, and those whose labels match
    selector. Required; set names, selector or both."""

    names: Annotated[tuple[NamespaceName, ...], Rules(maxItems=256), SET] | None = Field(None, description=(
        "Namespaces by name, for example `[team-a, team-a-staging]`. At most 256, no duplicates."))
    selector: NamespaceSelector | None = Field(None, description=(
        "Namespaces by label, for example `{matchLabels: {hybridgateway.io/tenant: team-a}}`. A tenant must "
        "not be able to label its own namespace (namespaces are cluster-scoped; keep patch on namespaces "
        "with the platform team)."))


def _values_doc(what: str, example: str, extra: str = "") -> str:
    return (f"{what}, for example `{example}`. Absent or empty allows none.{extra} At most 256, no "
            "duplicates.")


class Allowed(Model):
    """What the objects of the selected namespaces may name. A value the spec of a HybridApi or MtlsDomain names
    must be in the matching list; a list that is absent or empty allows nothing of its kind. When several
    policies select a namespace, each list is the union of theirs."""

    vpc_ids: Annotated[tuple[Annotated[str, Rules(pattern=VPC_ID_PATTERN, description="A VPC id.")], ...],
                       Rules(maxItems=256), SET] | None = Field(None, description=_values_doc(
        "VPCs a HybridApi may use (spec.network.vpcId)", "[vpc-0123456789abcdef0]"))
    subnet_ids: Annotated[tuple[Annotated[str, Rules(pattern=SUBNET_ID_PATTERN, description="A subnet id.")], ...],
                          Rules(maxItems=256), SET] | None = Field(None, description=_values_doc(
        "Subnets a HybridApi may put its internal load balancers in (spec.network.subnetIds, every one)",
        "[subnet-0123456789abcdef0, subnet-0fedcba9876543210]"))
    target_cidrs: Annotated[tuple[Annotated[str, Rules(
        pattern=IPV4_CIDR_PATTERN, maxLength=18, description="An IPv4 network in CIDR notation."),
        AfterValidator(_ipv4_network)], ...],
        Rules(maxItems=256), SET] | None = Field(None, description=_values_doc(
            "IPv4 networks that the on-premises targets of a HybridApi (spec.backend.targets[].ip) must be in",
            "[192.168.10.0/24, 10.1.0.0/16]", " An address with host bits set counts as its network "
            "(`192.168.10.5/24` is `192.168.10.0/24`); `/32` allows one address."))
    hosted_zone_ids: Annotated[tuple[Annotated[HostedZoneId, Rules(description="A Route 53 hosted zone id.")], ...],
                               Rules(maxItems=256), SET] | None = Field(None, description=_values_doc(
        "Route 53 hosted zones the operator may write records into for these namespaces "
        "(HybridApi spec.frontDoor.hostedZoneId, MtlsDomain spec.hostedZoneId)", "[Z0123456789ABCDEFGHIJ]"))
    hostname_suffixes: Annotated[tuple[Annotated[str, Rules(
        pattern=HOSTNAME_SUFFIX_PATTERN, maxLength=253,
        description="A DNS suffix, for example `team-a.example.com`."), BeforeValidator(_suffix)], ...],
        Rules(maxItems=256), SET] | None = Field(None, description=_values_doc(
            "DNS suffixes that front-door host names (HybridApi spec.frontDoor.hostname) and custom domain "
            "names (MtlsDomain spec.domainName) must end with", "[team-a.example.com]",
            " A suffix matches the name itself and every name below it, on label boundaries: "
            "`example.com` matches `example.com` and `api.example.com`, not `evil-example.com`. "
            "Compared case-insensitively, a trailing dot ignored."))
    acm_certificate_arns: Annotated[tuple[Annotated[AcmCertificateArn, Rules(
        description="An ACM certificate ARN.")], ...], Rules(maxItems=256), SET] | None = Field(
        None, description=_values_doc(
            "Existing ACM certificates a spec may name (HybridApi spec.frontDoor.certificate.acmCertificateArn, "
            "MtlsDomain spec.certificate.acmCertificateArn and spec.ownershipVerificationCertificateArn)",
            "[arn:aws:acm:ap-northeast-1:111122223333:certificate/0a1b2c3d-...]",
            " Certificates the operator requests or imports from a Secret are its own and need no entry."))

    def values(self, rule: Rule) -> tuple[str, ...]:
        """The list of `rule` (empty when absent)."""
        field = next(name for name, info in type(self).model_fields.items() if info.alias == rule.value)
        return tuple(getattr(self, field) or ())


class TenancyPolicySpec(Model):
    """Which namespaces this policy applies to and what their HybridApis and MtlsDomains may name in AWS."""

    namespaces: Annotated[Namespaces, Rules(minProperties=1)] = Field(description=(
        "The namespaces this policy applies to. Required: set names, selector or both."))
    allowed: Allowed = Field(description=(
        "The VPCs, subnets, target networks, hosted zones, host name suffixes and ACM certificates that "
        "objects in those namespaces may use. Required; write `allowed: {}` to select namespaces without "
        "allowing them anything."))


TENANCY_POLICY = Kind(
    kind="TenancyPolicy",
    plural="tenancypolicies",
    short_names=("tp",),
    description=(
        "TenancyPolicy (cluster-scoped, written by the platform team) says what the HybridApis and MtlsDomains "
        "of some namespaces may name in the AWS account: VPCs, subnets, on-premises target networks, Route 53 "
        "hosted zones, host name suffixes and existing ACM certificates. An object that names anything else is "
        "Stalled (NotAllowedByTenancyPolicy) before any AWS call. While no TenancyPolicy exists every namespace "
        "may use everything (unless the operator runs with --require-tenancy-policy); once one exists, a "
        "namespace that no policy selects may use nothing."
    ),
    spec=TenancyPolicySpec,
    status=None,
    scope="Cluster",
    columns=(
        Column("Namespaces", "string", "Namespaces selected by name.", ".spec.namespaces.names"),
        Column("VPCs", "string", "Allowed VPC ids.", ".spec.allowed.vpcIds"),
        Column("Suffixes", "string", "Allowed host name suffixes.", ".spec.allowed.hostnameSuffixes"),
        Column("Selector", "string", "Namespaces selected by label.", ".spec.namespaces.selector", priority=1),
        Column("Target CIDRs", "string", "Allowed target networks.", ".spec.allowed.targetCidrs", priority=1),
        Column("Zones", "string", "Allowed hosted zone ids.", ".spec.allowed.hostedZoneIds", priority=1),
    ),
)
