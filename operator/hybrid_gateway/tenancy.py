"""The tenancy check: what a HybridApi's or MtlsDomain's spec names in AWS, against the TenancyPolicies
that select its namespace (api/v1alpha1/tenancypolicy.py, docs/tenancy.md).

The reconcilers call `enforce()` right after parsing the spec, before any AWS call (read or write) and
before they read the object's Secrets, so an object outside its namespace's policy is Stalled with
`NotAllowedByTenancyPolicy` and AWS never hears of it. Policies are read from the API server on every
pass (one list, plus one namespace read when a policy selects by label): a policy change applies from the
next pass, at the latest the drift check. The matching itself is pure and unit-tested.

The default: while no TenancyPolicy exists, everything is allowed (a single-tenant install, as before
policies existed), unless the operator runs with --require-tenancy-policy; once one exists, a namespace
that no policy selects may use nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ValidationError

from hybrid_gateway.api.v1alpha1.hybridapi import HybridApiSpec
from hybrid_gateway.api.v1alpha1.mtlsdomain import MtlsDomainSpec
from hybrid_gateway.api.v1alpha1.tenancypolicy import TENANCY_POLICY, NamespaceSelector, Rule, TenancyPolicySpec
from hybrid_gateway.errors import Stalled
from hybrid_gateway.kube import KubeApi

REASON = "NotAllowedByTenancyPolicy"
REQUIRE_FLAG = "--require-tenancy-policy"


@dataclass(frozen=True)
class Use:
    """One value a spec names that a policy rule covers."""

    where: str  # the spec path, e.g. spec.backend.targets[1].ip
    rule: Rule
    value: str


# --------------------------------------------------------------------------------------------
# What each kind's spec names
# --------------------------------------------------------------------------------------------


def _certificate_use(where: str, arn: str | None) -> list[Use]:
    return [Use(where, Rule.ACM_CERTIFICATE_ARNS, arn)] if arn else []


def hybridapi_uses(spec: HybridApiSpec) -> list[Use]:
    network, front = spec.network, spec.front_door
    return [
        Use("spec.network.vpcId", Rule.VPC_IDS, network.vpc_id),
        *(Use(f"spec.network.subnetIds[{i}]", Rule.SUBNET_IDS, s) for i, s in enumerate(network.subnet_ids)),
        *(Use(f"spec.backend.targets[{i}].ip", Rule.TARGET_CIDRS, t.ip) for i, t in enumerate(spec.backend.targets)),
        Use("spec.frontDoor.hostname", Rule.HOSTNAME_SUFFIXES, front.hostname),
        Use("spec.frontDoor.hostedZoneId", Rule.HOSTED_ZONE_IDS, front.hosted_zone_id),
        *_certificate_use("spec.frontDoor.certificate.acmCertificateArn", front.certificate.acm_certificate_arn),
    ]


def mtlsdomain_uses(spec: MtlsDomainSpec) -> list[Use]:
    return [
        Use("spec.domainName", Rule.HOSTNAME_SUFFIXES, spec.domain_name),
        Use("spec.hostedZoneId", Rule.HOSTED_ZONE_IDS, spec.hosted_zone_id),
        *_certificate_use("spec.certificate.acmCertificateArn", spec.certificate.acm_certificate_arn),
        *_certificate_use("spec.ownershipVerificationCertificateArn", spec.ownership_arn),
    ]


# --------------------------------------------------------------------------------------------
# Matching (pure)
# --------------------------------------------------------------------------------------------


def _dns(name: str) -> str:
    return name.strip().lower().rstrip(".")


def suffix_matches(name: str, suffix: str) -> bool:
    """`name` is `suffix` or below it, on a label boundary, case-insensitively, trailing dots ignored:
    `api.example.com` and `example.com` match `example.com`; `evil-example.com` does not."""
    name, suffix = _dns(name), _dns(suffix)
    return bool(suffix) and (name == suffix or name.endswith("." + suffix))


@cache
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)  # 192.168.10.5/24 is 192.168.10.0/24 (documented)


def in_networks(ip: str, cidrs: Iterable[str]) -> bool:
    """`ip` is inside one of `cidrs`."""
    address = ipaddress.ip_address(ip)
    return any(address in _network(cidr) for cidr in cidrs)


def allows(rule: Rule, allowed: Sequence[str], value: str) -> bool:
    """Whether the values `allowed` of `rule` admit `value`."""
    if rule is Rule.TARGET_CIDRS:
        return in_networks(value, allowed)
    if rule is Rule.HOSTNAME_SUFFIXES:
        return any(suffix_matches(value, suffix) for suffix in allowed)
    return value in allowed  # ids and ARNs: exactly


def selector_matches(selector: NamespaceSelector, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics; an empty selector matches every namespace."""
    if any(labels.get(key) != value for key, value in (selector.match_labels or {}).items()):
        return False
    for requirement in selector.match_expressions or ():
        present, value = requirement.key in labels, labels.get(requirement.key)
        values = set(requirement.values or ())
        met = {
            "In": present and value in values,
            "NotIn": not present or value not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[requirement.operator]
        if not met:
            return False
    return True


@dataclass(frozen=True)
class Policy:
    """A TenancyPolicy as read: its spec, or None with the reason it does not parse (it then selects nothing,
    but still counts as a policy: a broken policy must not open every namespace)."""

    name: str
    spec: TenancyPolicySpec | None
    problem: str = ""

    def selects(self, namespace: str, labels: Callable[[], dict[str, str]]) -> bool:
        if self.spec is None:
            return False
        chosen = self.spec.namespaces
        if namespace in (chosen.names or ()):
            return True
        return chosen.selector is not None and selector_matches(chosen.selector, labels())


def parse_policy(body: dict[str, Any]) -> Policy:
    name = str((body.get("metadata") or {}).get("name", ""))
    try:
        return Policy(name, TenancyPolicySpec.model_validate(body.get("spec") or {}))
    except ValidationError as exc:
        return Policy(name, None, "; ".join(e["msg"] for e in exc.errors()))


def _policies_phrase(names: Sequence[str]) -> str:
    return f"TenancyPolic{'y' if len(names) == 1 else 'ies'} {', '.join(names)}"


def verdict(policies: Sequence[Policy], namespace: str, labels: Callable[[], dict[str, str]], uses: Sequence[Use],
            *, require_policy: bool = False) -> str | None:
    """Why the object may not go ahead (the Stalled message), or None when it may."""
    if not policies:
        if not require_policy:
            return None  # no policy at all: single tenant, everything allowed
        return (f"no TenancyPolicy exists and the operator runs with {REQUIRE_FLAG}: a platform team must "
                f"write one that selects namespace {namespace}")
    selecting = [p for p in sorted(policies, key=lambda p: p.name) if p.selects(namespace, labels)]
    if not selecting:
        known = _policies_phrase(sorted(p.name for p in policies))
        broken = "".join(f"; TenancyPolicy {p.name} is invalid and selects nothing: {p.problem}"
                         for p in sorted(policies, key=lambda p: p.name) if p.spec is None)
        return (f"no TenancyPolicy selects namespace {namespace} ({known} exist{'s' if len(policies) == 1 else ''}"
                f"{broken}): a platform team must add the namespace to a policy's spec.namespaces")
    names = _policies_phrase([p.name for p in selecting])
    problems = []
    for use in uses:
        allowed: list[str] = []
        for policy in selecting:
            assert policy.spec is not None  # only parsed policies select
            allowed += [v for v in policy.spec.allowed.values(use.rule) if v not in allowed]
        if not allows(use.rule, allowed, use.value):
            problems.append(f"{use.where} {use.value} is not allowed by {names} "
                            f"(allowed.{use.rule.value}: {', '.join(allowed) or 'none'})")
    return "; ".join(problems) or None


# --------------------------------------------------------------------------------------------
# Against the API server
# --------------------------------------------------------------------------------------------


def enforce(kube: KubeApi, namespace: str, uses: Sequence[Use], *, require_policy: bool = False) -> None:
    """Stalled (NotAllowedByTenancyPolicy) when the TenancyPolicies do not allow `uses` in `namespace`."""
    policies = [parse_policy(body) for body in kube.list_cluster_objects(TENANCY_POLICY.plural)]
    read: list[dict[str, str]] = []

    def labels() -> dict[str, str]:  # read once, and only when a policy selects by label
        if not read:
            read.append(kube.namespace_labels(namespace))
        return read[0]

    message = verdict(policies, namespace, labels, uses, require_policy=require_policy)
    if message is not None:
        raise Stalled(REASON, message)
