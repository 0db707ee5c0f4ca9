"""The tenancy check (hybrid_gateway/tenancy.py): matching tables, the default without policies, the
messages, and that a refused HybridApi / MtlsDomain pass stalls before any AWS call."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.fakes import FakeKube

from hybrid_gateway.api.v1alpha1.hybridapi import HybridApiSpec
from hybrid_gateway.api.v1alpha1.mtlsdomain import MtlsDomainSpec
from hybrid_gateway.api.v1alpha1.tenancypolicy import NamespaceSelector, Rule, TenancyPolicySpec
from hybrid_gateway.errors import Stalled
from hybrid_gateway.tenancy import (
    REASON,
    allows,
    enforce,
    hybridapi_uses,
    in_networks,
    mtlsdomain_uses,
    parse_policy,
    selector_matches,
    suffix_matches,
    verdict,
)

VPC = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
ZONE = "Z0123456789ABCDEFGHIJ"
ARN = "arn:aws:acm:ap-northeast-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
OTHER_ARN = "arn:aws:acm:ap-northeast-1:111122223333:certificate/ffffffff-4e5f-6789-abcd-ef0123456789"


# --------------------------------------------------------------------------------------------
# Matching tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuffixCase:
    reason: str
    name: str
    suffix: str
    matches: bool


SUFFIX_CASES = [
    SuffixCase("the suffix itself", "example.com", "example.com", True),
    SuffixCase("one label below", "api.example.com", "example.com", True),
    SuffixCase("several labels below", "a.b.team-a.example.com", "team-a.example.com", True),
    SuffixCase("not on a label boundary", "evil-example.com", "example.com", False),
    SuffixCase("no dot before the suffix", "notexample.com", "example.com", False),
    SuffixCase("a sibling team", "api.team-b.example.com", "team-a.example.com", False),
    SuffixCase("the parent of the suffix", "example.com", "team-a.example.com", False),
    SuffixCase("suffix as a prefix of the name", "example.com.evil.org", "example.com", False),
    SuffixCase("upper-case name", "API.Example.COM", "example.com", True),
    SuffixCase("upper-case suffix", "api.example.com", "EXAMPLE.com", True),
    SuffixCase("trailing dot on the name", "api.example.com.", "example.com", True),
    SuffixCase("trailing dot on the suffix (as Route 53 writes names)", "api.example.com", "example.com.", True),
    SuffixCase("a single-label suffix", "api.internal", "internal", True),
    SuffixCase("an empty suffix allows nothing", "example.com", "", False),
    SuffixCase("a dot alone allows nothing", "example.com", ".", False),
]


@pytest.mark.parametrize("case", SUFFIX_CASES, ids=[c.reason for c in SUFFIX_CASES])
def test_suffix_matching(case: SuffixCase) -> None:
    assert suffix_matches(case.name, case.suffix) is case.matches, case.reason


@dataclass(frozen=True)
class CidrCase:
    reason: str
    ip: str
    cidrs: tuple[str, ...]
    inside: bool


CIDR_CASES = [
    CidrCase("inside a /24", "192.168.10.5", ("192.168.10.0/24",), True),
    CidrCase("first address of the network", "192.168.10.0", ("192.168.10.0/24",), True),
    CidrCase("last address of the network", "192.168.10.255", ("192.168.10.0/24",), True),
    CidrCase("just outside", "192.168.11.0", ("192.168.10.0/24",), False),
    CidrCase("same text prefix, other network", "192.168.100.5", ("192.168.10.0/24",), False),
    CidrCase("exactly one address with /32", "10.1.2.3", ("10.1.2.3/32",), True),
    CidrCase("not the one address of /32", "10.1.2.4", ("10.1.2.3/32",), False),
    CidrCase("any of several networks", "10.1.9.9", ("192.168.10.0/24", "10.1.0.0/16"), True),
    CidrCase("host bits set count as the network", "192.168.10.77", ("192.168.10.5/24",), True),
    CidrCase("everything with /0", "100.64.0.1", ("0.0.0.0/0",), True),
    CidrCase("no networks allow nothing", "192.168.10.5", (), False),
]


@pytest.mark.parametrize("case", CIDR_CASES, ids=[c.reason for c in CIDR_CASES])
def test_cidr_containment(case: CidrCase) -> None:
    assert in_networks(case.ip, case.cidrs) is case.inside, case.reason


def test_ids_and_arns_match_exactly() -> None:
    assert allows(Rule.VPC_IDS, [VPC], VPC)
    assert not allows(Rule.VPC_IDS, [VPC], "vpc-0123456789abcdef1")
    assert not allows(Rule.VPC_IDS, [], VPC)
    assert allows(Rule.ACM_CERTIFICATE_ARNS, [ARN], ARN)
    assert not allows(Rule.ACM_CERTIFICATE_ARNS, [ARN], OTHER_ARN)
    assert not allows(Rule.HOSTED_ZONE_IDS, [ZONE], "ZOTHER")


def _selector(**fields: Any) -> NamespaceSelector:
    return NamespaceSelector.model_validate(fields)


@dataclass(frozen=True)
class SelectorCase:
    reason: str
    selector: dict[str, Any]
    labels: dict[str, str]
    matches: bool


SELECTOR_CASES = [
    SelectorCase("empty selector matches every namespace", {}, {}, True),
    SelectorCase("matchLabels all present", {"matchLabels": {"tenant": "a", "env": "prod"}},
                 {"tenant": "a", "env": "prod", "x": "y"}, True),
    SelectorCase("matchLabels one value differs", {"matchLabels": {"tenant": "a"}}, {"tenant": "b"}, False),
    SelectorCase("matchLabels label missing", {"matchLabels": {"tenant": "a"}}, {}, False),
    SelectorCase("In", {"matchExpressions": [{"key": "tenant", "operator": "In", "values": ["a", "b"]}]},
                 {"tenant": "b"}, True),
    SelectorCase("In without the label", {"matchExpressions": [{"key": "tenant", "operator": "In", "values": ["a"]}]},
                 {}, False),
    SelectorCase("NotIn without the label", {"matchExpressions": [
        {"key": "tenant", "operator": "NotIn", "values": ["a"]}]}, {}, True),
    SelectorCase("NotIn with a listed value", {"matchExpressions": [
        {"key": "tenant", "operator": "NotIn", "values": ["a"]}]}, {"tenant": "a"}, False),
    SelectorCase("Exists", {"matchExpressions": [{"key": "tenant", "operator": "Exists"}]}, {"tenant": ""}, True),
    SelectorCase("DoesNotExist", {"matchExpressions": [{"key": "tenant", "operator": "DoesNotExist"}]},
                 {"tenant": "a"}, False),
    SelectorCase("labels and expressions both must hold", {
        "matchLabels": {"env": "prod"}, "matchExpressions": [{"key": "tenant", "operator": "Exists"}]},
        {"env": "prod"}, False),
]


@pytest.mark.parametrize("case", SELECTOR_CASES, ids=[c.reason for c in SELECTOR_CASES])
def test_namespace_selector(case: SelectorCase) -> None:
    assert selector_matches(_selector(**case.selector), case.labels) is case.matches, case.reason


def test_policy_model_normalises_suffixes_and_rejects_bad_selector_values() -> None:
    spec = TenancyPolicySpec.model_validate({
        "namespaces": {"names": ["a"]}, "allowed": {"hostnameSuffixes": ["Team-A.Example.COM."]}})
    assert spec.allowed.values(Rule.HOSTNAME_SUFFIXES) == ("team-a.example.com",)
    assert spec.allowed.values(Rule.VPC_IDS) == ()
    broken = parse_policy({"metadata": {"name": "p"}, "spec": {
        "namespaces": {"selector": {"matchExpressions": [{"key": "tenant", "operator": "In"}]}}, "allowed": {}}})
    assert broken.spec is None and "operator In needs at least one value" in broken.problem
    # A network the CRD pattern would refuse (a policy stored without the schema) is an invalid policy, not a crash.
    bad_cidr = parse_policy({"metadata": {"name": "p"}, "spec": {
        "namespaces": {"names": ["a"]}, "allowed": {"targetCidrs": ["fd00::/8"]}}})
    assert bad_cidr.spec is None and "targetCidrs 'fd00::/8'" in bad_cidr.problem


# --------------------------------------------------------------------------------------------
# What specs name, and the verdict
# --------------------------------------------------------------------------------------------


def hybridapi_spec(**front: Any) -> dict[str, Any]:
    return {
        "region": "ap-northeast-1",
        "network": {"vpcId": VPC, "subnetIds": list(SUBNETS)},
        "backend": {"targets": [{"ip": "192.168.10.5", "port": 443}, {"ip": "192.168.10.6", "port": 443}]},
        "frontDoor": {"hostname": "orders.team-a.example.com", "hostedZoneId": ZONE,
                      "certificate": {"request": {}}, **front},
        "api": {"routes": [{"path": "/{proxy+}"}]},
    }


def mtlsdomain_spec(**overrides: Any) -> dict[str, Any]:
    return {
        "region": "ap-northeast-1",
        "domainName": "api.team-a.example.com",
        "hostedZoneId": ZONE,
        "certificate": {"request": {}},
        "truststore": {"sources": [{"secretRef": {"name": "ca", "key": "ca.crt"}}], "bucket": "team-a-truststores"},
        **overrides,
    }


TEAM_A_ALLOWED = {
    "vpcIds": [VPC], "subnetIds": list(SUBNETS), "targetCidrs": ["192.168.10.0/24"], "hostedZoneIds": [ZONE],
    "hostnameSuffixes": ["team-a.example.com"], "acmCertificateArns": [ARN],
}


def policy(name: str, namespaces: dict[str, Any], allowed: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "TenancyPolicy", "metadata": {"name": name},
            "spec": {"namespaces": namespaces, "allowed": allowed}}


def team_a(**allowed: Any) -> dict[str, Any]:
    return policy("team-a", {"names": ["team-a"]}, {**TEAM_A_ALLOWED, **allowed})


def judge(policies: list[dict[str, Any]], uses: Any, namespace: str = "team-a",
          labels: dict[str, str] | None = None, require_policy: bool = False) -> str | None:
    return verdict([parse_policy(p) for p in policies], namespace, lambda: labels or {}, uses,
                   require_policy=require_policy)


def test_hybridapi_uses_name_every_value_with_its_spec_path() -> None:
    spec = HybridApiSpec.model_validate(hybridapi_spec(certificate={"acmCertificateArn": ARN}))
    assert [(u.where, u.rule, u.value) for u in hybridapi_uses(spec)] == [
        ("spec.network.vpcId", Rule.VPC_IDS, VPC),
        ("spec.network.subnetIds[0]", Rule.SUBNET_IDS, SUBNETS[0]),
        ("spec.network.subnetIds[1]", Rule.SUBNET_IDS, SUBNETS[1]),
        ("spec.backend.targets[0].ip", Rule.TARGET_CIDRS, "192.168.10.5"),
        ("spec.backend.targets[1].ip", Rule.TARGET_CIDRS, "192.168.10.6"),
        ("spec.frontDoor.hostname", Rule.HOSTNAME_SUFFIXES, "orders.team-a.example.com"),
        ("spec.frontDoor.hostedZoneId", Rule.HOSTED_ZONE_IDS, ZONE),
        ("spec.frontDoor.certificate.acmCertificateArn", Rule.ACM_CERTIFICATE_ARNS, ARN),
    ]


def test_mtlsdomain_uses_include_both_certificate_arns() -> None:
    spec = MtlsDomainSpec.model_validate(mtlsdomain_spec(
        certificate={"acmCertificateArn": ARN}, ownershipVerificationCertificateArn=OTHER_ARN))
    assert [(u.where, u.value) for u in mtlsdomain_uses(spec)] == [
        ("spec.domainName", "api.team-a.example.com"),
        ("spec.hostedZoneId", ZONE),
        ("spec.certificate.acmCertificateArn", ARN),
        ("spec.ownershipVerificationCertificateArn", OTHER_ARN),
    ]
    requested = MtlsDomainSpec.model_validate(mtlsdomain_spec(ownershipVerificationCertificateArn=""))
    assert [u.where for u in mtlsdomain_uses(requested)] == ["spec.domainName", "spec.hostedZoneId"]


def _uses(**front: Any) -> Any:
    return hybridapi_uses(HybridApiSpec.model_validate(hybridapi_spec(**front)))


def test_no_policy_at_all_allows_everything_unless_required() -> None:
    assert judge([], _uses()) is None
    message = judge([], _uses(), require_policy=True)
    assert message is not None
    assert "no TenancyPolicy exists" in message and "--require-tenancy-policy" in message and "team-a" in message


def test_inside_the_policy_is_allowed() -> None:
    assert judge([team_a()], _uses()) is None
    assert judge([team_a()], _uses(certificate={"acmCertificateArn": ARN})) is None


def test_a_namespace_no_policy_selects_is_denied_once_a_policy_exists() -> None:
    message = judge([team_a()], _uses(), namespace="team-b")
    assert message == ("no TenancyPolicy selects namespace team-b (TenancyPolicy team-a exists): a platform team "
                       "must add the namespace to a policy's spec.namespaces")


def test_a_target_outside_the_cidrs_names_the_policy_the_rule_and_what_is_allowed() -> None:
    spec = hybridapi_spec()
    spec["backend"]["targets"][1]["ip"] = "10.9.9.9"
    message = judge([team_a()], hybridapi_uses(HybridApiSpec.model_validate(spec)))
    assert message == ("spec.backend.targets[1].ip 10.9.9.9 is not allowed by TenancyPolicy team-a "
                       "(allowed.targetCidrs: 192.168.10.0/24)")


def test_every_violation_is_reported_and_an_absent_list_allows_none() -> None:
    allowed = {k: v for k, v in TEAM_A_ALLOWED.items() if k != "acmCertificateArns"}
    message = judge([policy("team-a", {"names": ["team-a"]}, {**allowed, "hostnameSuffixes": ["example.org"]})],
                    _uses(certificate={"acmCertificateArn": ARN}))
    assert message is not None
    assert message.split("; ") == [
        "spec.frontDoor.hostname orders.team-a.example.com is not allowed by TenancyPolicy team-a "
        "(allowed.hostnameSuffixes: example.org)",
        f"spec.frontDoor.certificate.acmCertificateArn {ARN} is not allowed by TenancyPolicy team-a "
        "(allowed.acmCertificateArns: none)",
    ]


def test_a_hostname_that_only_ends_with_the_suffix_text_is_denied() -> None:
    message = judge([team_a(hostnameSuffixes=["example.com"])], _uses(hostname="evil-example.com"))
    assert message is not None and "spec.frontDoor.hostname evil-example.com is not allowed" in message


def test_policies_selecting_one_namespace_add_up() -> None:
    by_label = policy("shared-network", {"selector": {"matchLabels": {"tenant": "a"}}},
                      {"targetCidrs": ["10.9.0.0/16"]})
    spec = hybridapi_spec()
    spec["backend"]["targets"][1]["ip"] = "10.9.9.9"
    uses = hybridapi_uses(HybridApiSpec.model_validate(spec))
    assert judge([team_a(), by_label], uses, labels={"tenant": "a"}) is None
    spec["backend"]["targets"][1]["ip"] = "172.16.0.1"
    message = judge([team_a(), by_label], hybridapi_uses(HybridApiSpec.model_validate(spec)), labels={"tenant": "a"})
    assert message == ("spec.backend.targets[1].ip 172.16.0.1 is not allowed by TenancyPolicies shared-network, "
                       "team-a (allowed.targetCidrs: 10.9.0.0/16, 192.168.10.0/24)")


def test_an_invalid_policy_selects_nothing_but_still_closes_the_default() -> None:
    broken = policy("broken", {"names": ["team-a"]}, {"targetCidrs": ["not-a-network"]})
    broken["spec"]["namespaces"] = {"selector": {"matchExpressions": [{"key": "t", "operator": "Exists",
                                                                       "values": ["x"]}]}}
    message = judge([broken], _uses())
    assert message is not None
    assert message.startswith("no TenancyPolicy selects namespace team-a (TenancyPolicy broken exists; "
                              "TenancyPolicy broken is invalid and selects nothing: ")
    assert "operator Exists takes no values" in message


# --------------------------------------------------------------------------------------------
# Against the KubeApi: reads, and the namespace read only when a selector needs it
# --------------------------------------------------------------------------------------------


class CountingKube(FakeKube):
    label_reads: int = 0

    def namespace_labels(self, name: str) -> dict[str, str]:
        self.label_reads += 1
        return super().namespace_labels(name)


def test_enforce_reads_namespace_labels_only_for_a_selector() -> None:
    kube = CountingKube()
    kube.add_cluster_object("tenancypolicies", team_a())
    enforce(kube, "team-a", _uses())
    assert kube.label_reads == 0
    kube.add_cluster_object("tenancypolicies", policy("by-label", {"selector": {"matchLabels": {"t": "b"}}}, {}))
    kube.namespaces["team-b"] = {"t": "b"}
    with pytest.raises(Stalled) as stalled:
        enforce(kube, "team-b", _uses())
    assert stalled.value.reason == REASON
    assert "is not allowed by TenancyPolicy by-label (allowed.vpcIds: none)" in stalled.value.message
    assert kube.label_reads == 1


# --------------------------------------------------------------------------------------------
# The reconcilers: Stalled before any AWS call
# --------------------------------------------------------------------------------------------


class NoAws:
    """AwsClients that fail the test on any use: the tenancy check comes before every AWS call."""

    def client(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"AWS client asked for {args}: the tenancy check must come first")

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"AWS used ({name}) before the tenancy check")


def _body(kind: str, plural: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": kind,
            "metadata": {"name": "orders", "namespace": "team-a", "uid": "u1", "generation": 1}, "spec": spec}


@pytest.mark.parametrize(("kind", "plural", "spec", "where"), [
    ("HybridApi", "hybridapis", hybridapi_spec(hostname="orders.team-b.example.com"), "spec.frontDoor.hostname"),
    ("MtlsDomain", "mtlsdomains", mtlsdomain_spec(domainName="api.evil-example.com"), "spec.domainName"),
])
def test_reconcilers_stall_before_any_aws_call(kind: str, plural: str, spec: dict[str, Any], where: str) -> None:
    from hybrid_gateway.public_trust import PublicRoots
    from hybrid_gateway.reconcilers.base import Runtime
    from hybrid_gateway.reconcilers.hybridapi import HybridApiReconciler
    from hybrid_gateway.reconcilers.mtlsdomain import MtlsDomainReconciler

    kube = FakeKube()
    kube.add_cluster_object("tenancypolicies", team_a())
    body = _body(kind, plural, copy.deepcopy(spec))
    kube.add_object(plural, body)
    runtime = Runtime(aws=NoAws(), kube=kube, public_roots=PublicRoots.load([]))  # type: ignore[arg-type]
    reconciler = {"hybridapis": HybridApiReconciler, "mtlsdomains": MtlsDomainReconciler}[plural](runtime)
    report = reconciler.run_pass(body)

    assert report.requeue_after is None
    conditions = {c["type"]: c for c in kube.status(plural, "team-a", "orders")["conditions"]}
    assert conditions["Stalled"]["status"] == "True"
    assert conditions["Stalled"]["reason"] == REASON
    assert where in conditions["Stalled"]["message"] and "TenancyPolicy team-a" in conditions["Stalled"]["message"]
    assert [e.reason for e in report.events] == ["Stalled"]
    assert kube.writes == ["patch_status"]  # nothing but the status, no Secret read needed either


def test_the_example_policy_is_what_docs_tenancy_md_shows() -> None:
    """docs/tenancy.md quotes examples/tenancy/tenancypolicy.yaml: keep the two the same."""
    root = Path(__file__).resolve().parents[2]
    example = (root / "examples" / "tenancy" / "tenancypolicy.yaml").read_text(encoding="utf-8")
    policy = example.split("---\n", 1)[1]
    assert policy in (root / "docs" / "tenancy.md").read_text(encoding="utf-8")
