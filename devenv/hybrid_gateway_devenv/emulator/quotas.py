"""AWS's control-plane quotas: request-rate token buckets and resource counts, enforced by default.

Rate quotas are token buckets per (account, Region, bucket), where a bucket is an operation group of
one service as AWS documents it (every row cites its page in ``docs/aws-behaviour.md``):

- API Gateway: one account bucket for every operation (10 requests/s, burst 40) and, for the
  operations with a fixed quota, one bucket each (CreateDeployment 1 every 5 s, CreateRestApi
  1 every 3 s, DeleteRestApi 1 every 30 s, Create/Update/DeleteDomainName 1 every 30 s, ...). A
  request takes a token from both. Over quota: ``TooManyRequestsException`` (429).
- ELBv2: Describe* (40, 10/s), Register/DeregisterTargets (20, 4/s), CreateLoadBalancer and
  SetSubnets (10, 0.2/s), every other mutating action (20, 3/s). Over quota: ``Throttling`` (400).
- Route 53: an account bucket (50, 10/s) plus one bucket per action (50, 10/s unless listed).
  Over quota: ``Throttling`` (400).
- ACM: one bucket per operation at its requests-per-second quota. ``ThrottlingException`` (400).
- EC2: one bucket per action by category (non-mutating 100, 20/s; unfiltered-unpaginated
  describes 50, 10/s; mutating 50, 5/s; ...). ``RequestLimitExceeded`` (503).

Time is compressed by :attr:`QuotaEnforcer.time_scale` (default :data:`DEFAULT_TIME_SCALE` = 10:
buckets refill ten times faster than on AWS, capacities stay AWS's), so the suite stays fast while
bursts that AWS would refuse are still refused. ``time_scale`` 1 gives AWS's own rates
(benchmarks); ``enabled`` false switches every quota off (a test that says so).

Resource-count quotas (per account and Region): REST API VPC links 20, VPC links V2 10, client certificates 60,
regional/private REST APIs 600, edge-optimized REST APIs 120, custom domain names 120 — API Gateway
answers ``LimitExceededException`` (429) — and 50 Application / 50 Network Load Balancers — ELBv2
answers ``TooManyLoadBalancers`` (400).

The state is process-wide (:data:`QUOTAS`), like moto's: the buckets belong to the emulated account.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from .reply import Reply, request_id, rest_json_error, xml_reply
from .routing import AwsCall

DEFAULT_TIME_SCALE = 10.0


@dataclass(frozen=True)
class Bucket:
    """A token bucket at AWS's rate: ``capacity`` tokens, ``refill`` tokens per second."""

    capacity: float
    refill: float


def _every(seconds: float, burst: float = 1.0) -> Bucket:
    return Bucket(burst, 1.0 / seconds)


def _rps(rate: float, burst: float | None = None) -> Bucket:
    return Bucket(burst if burst is not None else max(1.0, rate), rate)


# -- API Gateway: "Amazon API Gateway quotas", API Gateway Developer Guide ---------------------------
APIGATEWAY_ACCOUNT = Bucket(40, 10)
APIGATEWAY_OPERATIONS: dict[str, Bucket] = {
    "CreateApiKey": _rps(5),
    "CreateDeployment": _every(5),
    "CreateDocumentationVersion": _every(20),
    "CreateDomainName": _every(30),
    "CreateResource": _rps(5),
    "DeleteApiKey": _rps(5),
    "DeleteDomainName": _every(30),
    "DeleteResource": _rps(5),
    "DeleteRestApi": _every(30),
    "GetResources": Bucket(5, 2.5),  # 5 every 2 seconds
    "ImportDocumentationParts": _every(30),
    "PutRestApi": _rps(1),
    "UpdateAccount": _every(20),
    "UpdateDomainName": _every(30),
    "UpdateUsagePlan": _every(20),
}
# CreateRestApi / ImportRestApi: regional or private 1 every 3 s, edge-optimized 1 every 30 s.
APIGATEWAY_BY_ENDPOINT = {"regional": _every(3), "edge": _every(30)}
APIGATEWAYV2_OPERATIONS: dict[str, Bucket] = {"CreateVpcLink": _every(15), "DeleteVpcLink": _every(30)}

# -- ELBv2: "Request throttling for the ELB API", Elastic Load Balancing User Guide ---------------
ELBV2_DESCRIBE = Bucket(40, 10)
ELBV2_REGISTRATION = Bucket(20, 4)
ELBV2_CREATE_LOAD_BALANCER = Bucket(10, 0.2)
ELBV2_MUTATING = Bucket(20, 3)

# -- Route 53: "Throttling for Amazon Route 53 API requests", Route 53 Developer Guide ----------
ROUTE53_ACCOUNT = Bucket(50, 10)
ROUTE53_DEFAULT_ACTION = Bucket(50, 10)
ROUTE53_ACTIONS: dict[str, Bucket] = {
    "AssociateVPCWithHostedZone": Bucket(20, 5),
    "CreateHealthCheck": Bucket(50, 0.5),
    "CreateHostedZone": Bucket(40, 2),
    "DeleteHostedZone": Bucket(40, 5),
    "DeleteHealthCheck": Bucket(15, 3),
    "DisassociateVPCFromHostedZone": Bucket(10, 5),
    "GetHealthCheckStatus": Bucket(4, 1),
    "GetHealthCheckLastFailureReason": Bucket(4, 1),
    "CreateTrafficPolicyInstance": Bucket(1, 1),
    "DeleteTrafficPolicyInstance": Bucket(1, 1),
}

# -- ACM: "Quotas", AWS Certificate Manager User Guide (requests per second per operation) -------
ACM_OPERATIONS: dict[str, Bucket] = {
    name: _rps(rate)
    for name, rate in {
        "AddTagsToCertificate": 5,
        "DeleteCertificate": 10,
        "DescribeCertificate": 10,
        "ExportCertificate": 5,
        "GetAccountConfiguration": 1,
        "GetCertificate": 10,
        "ImportCertificate": 1,
        "ListCertificates": 1,
        "ListTagsForCertificate": 10,
        "PutAccountConfiguration": 1,
        "RemoveTagsFromCertificate": 5,
        "RenewCertificate": 5,
        "RequestCertificate": 5,
        "ResendValidationEmail": 1,
        "UpdateCertificateOptions": 5,
    }.items()
}

# -- EC2: "Request throttling for the Amazon EC2 API", EC2 Developer Guide -------------------------
EC2_NON_MUTATING = Bucket(100, 20)
EC2_UNFILTERED = Bucket(50, 10)
EC2_MUTATING = Bucket(50, 5)
EC2_UNFILTERED_ACTIONS = frozenset(
    {
        "DescribeInstances",
        "DescribeInstanceStatus",
        "DescribeNetworkInterfaces",
        "DescribeSecurityGroups",
        "DescribeSnapshots",
        "DescribeSpotInstanceRequests",
        "DescribeVolumes",
    }
)
EC2_ACTIONS: dict[str, Bucket] = {
    "CreateTags": Bucket(100, 10),
    "DeleteTags": Bucket(100, 10),
    "CreateNetworkInterface": Bucket(100, 5),
    "DeleteNetworkInterface": Bucket(100, 5),
    "CreateVpcEndpoint": Bucket(4, 0.3),
    "DeleteVpcEndpoints": Bucket(4, 0.3),
    "ModifyVpcEndpoint": Bucket(4, 0.3),
    "CreateVpcEndpointServiceConfiguration": Bucket(10, 1),
    "CreateNatGateway": Bucket(10, 1),
    "RunInstances": Bucket(5, 2),
}
_EC2_READ_PREFIXES = ("Describe", "List", "Search", "Get")


def _first(call: AwsCall, name: str) -> str | None:
    values = call.form.get(name) or call.query.get(name)
    return values[0] if values else None


def _json(call: AwsCall) -> dict[str, Any]:
    try:
        data = json.loads(call.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _rest_api_endpoint_kind(call: AwsCall) -> str:
    types = (_json(call).get("endpointConfiguration") or {}).get("types") or ["EDGE"]
    return "edge" if "EDGE" in types else "regional"


def _ec2_unfiltered(call: AwsCall) -> bool:
    params = {**call.query, **call.form}
    return not any(k.startswith(("Filter.", "MaxResults", "NextToken")) or ".1" in k for k in params)


def buckets_for(call: AwsCall) -> list[tuple[str, Bucket]]:
    """(bucket name, bucket) pairs a call takes a token from; empty when AWS documents no quota."""
    service, operation = call.service, call.operation
    if service in ("apigateway", "apigatewayv2"):
        found = [("apigateway:account", APIGATEWAY_ACCOUNT)]
        if operation in ("CreateRestApi", "ImportRestApi") and service == "apigateway":
            kind = _rest_api_endpoint_kind(call)
            found.append((f"apigateway:{operation}:{kind}", APIGATEWAY_BY_ENDPOINT[kind]))
        elif service == "apigateway" and operation in APIGATEWAY_OPERATIONS:
            found.append((f"apigateway:{operation}", APIGATEWAY_OPERATIONS[operation]))
        elif service == "apigatewayv2" and operation in APIGATEWAYV2_OPERATIONS:
            found.append((f"apigatewayv2:{operation}", APIGATEWAYV2_OPERATIONS[operation]))
        elif service == "apigatewayv2" and operation in APIGATEWAY_OPERATIONS:
            found.append((f"apigateway:{operation}", APIGATEWAY_OPERATIONS[operation]))
        return found
    if service == "elbv2":
        if operation.startswith("Describe"):
            return [("elbv2:describe", ELBV2_DESCRIBE)]
        if operation in ("RegisterTargets", "DeregisterTargets"):
            return [("elbv2:registration", ELBV2_REGISTRATION)]
        if operation in ("CreateLoadBalancer", "SetSubnets"):
            return [("elbv2:create-load-balancer", ELBV2_CREATE_LOAD_BALANCER)]
        return [("elbv2:mutating", ELBV2_MUTATING)]
    if service == "route53":
        return [
            ("route53:account", ROUTE53_ACCOUNT),
            (f"route53:{operation}", ROUTE53_ACTIONS.get(operation, ROUTE53_DEFAULT_ACTION)),
        ]
    if service == "acm":
        bucket = ACM_OPERATIONS.get(operation)
        return [(f"acm:{operation}", bucket)] if bucket else []
    if service == "ec2":
        if operation in EC2_ACTIONS:
            return [(f"ec2:{operation}", EC2_ACTIONS[operation])]
        if operation in EC2_UNFILTERED_ACTIONS and _ec2_unfiltered(call):
            return [(f"ec2:{operation}:unfiltered", EC2_UNFILTERED)]
        if operation.startswith(_EC2_READ_PREFIXES):
            return [(f"ec2:{operation}", EC2_NON_MUTATING)]
        return [(f"ec2:{operation}", EC2_MUTATING)]
    return []


# -- resource counts ----------------------------------------------------------------------------------
RESOURCE_COUNTS: dict[str, int] = {
    "apigateway.vpcLinks": 20,
    "apigatewayv2.vpcLinks": 10,  # VPC links V2 (HTTP API quotas page: "VPC links per account per Region")
    "apigateway.clientCertificates": 60,
    "apigateway.regionalRestApis": 600,
    "apigateway.edgeRestApis": 120,
    "apigateway.domainNames": 120,
    "elbv2.applicationLoadBalancers": 50,
    "elbv2.networkLoadBalancers": 50,
}


def _limit_exceeded(what: str) -> Reply:
    return rest_json_error(
        429,
        "LimitExceededException",
        f"Maximum number of {what} for this account and Region has been reached. "
        f"Please contact AWS if you need additional {what}.",
    )


def _rest_api_kind(api: Any) -> str:
    types = (getattr(api, "endpoint_configuration", None) or {}).get("types") or ["EDGE"]
    return "edge" if "EDGE" in types else "regional"


def resource_count_refusal(call: AwsCall) -> Reply | None:
    """AWS's answer when ``call`` would create one resource more than the account may have."""
    if call.service == "apigateway" and call.operation in (
        "CreateVpcLink",
        "GenerateClientCertificate",
        "CreateRestApi",
        "CreateDomainName",
    ):
        from moto.apigateway.models import apigateway_backends

        from .apigateway import client_certificates

        backend = apigateway_backends[call.account_id][call.region]
        if call.operation == "CreateVpcLink" and len(backend.vpc_links) >= RESOURCE_COUNTS["apigateway.vpcLinks"]:
            return _limit_exceeded("VpcLinks")
        if (
            call.operation == "GenerateClientCertificate"
            and len(client_certificates(backend)) >= RESOURCE_COUNTS["apigateway.clientCertificates"]
        ):
            return _limit_exceeded("ClientCertificates")
        if call.operation == "CreateRestApi":
            kind = _rest_api_endpoint_kind(call)
            count = sum(1 for api in list(backend.apis.values()) if _rest_api_kind(api) == kind)
            if count >= RESOURCE_COUNTS[f"apigateway.{kind}RestApis"]:
                return _limit_exceeded("RestApis")
        if call.operation == "CreateDomainName":
            name = _json(call).get("domainName")
            limit = RESOURCE_COUNTS["apigateway.domainNames"]
            if name not in backend.domain_names and len(backend.domain_names) >= limit:
                return _limit_exceeded("DomainNames")
        return None
    if call.service == "apigatewayv2" and call.operation == "CreateVpcLink":
        from .vpclinks_v2 import v2_backend

        if len(v2_backend(call.account_id, call.region).vpc_links) >= RESOURCE_COUNTS["apigatewayv2.vpcLinks"]:
            return _limit_exceeded("VpcLinks")
        return None
    if call.service == "elbv2" and call.operation == "CreateLoadBalancer":
        from moto.elbv2.models import elbv2_backends

        balancers = list(elbv2_backends[call.account_id][call.region].load_balancers.values())
        name = _first(call, "Name")
        if any(lb.name == name for lb in balancers):
            return None  # idempotent create of an existing load balancer
        wanted = _first(call, "Type") or "application"
        count = len([lb for lb in balancers if lb.type == wanted])
        allowed = RESOURCE_COUNTS.get(f"elbv2.{wanted}LoadBalancers")
        if allowed is not None and count >= allowed:
            rid = request_id()
            body = (
                '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error>'
                "<Type>Sender</Type><Code>TooManyLoadBalancers</Code>"
                "<Message>You've reached the limit on the number of load balancers for your AWS account.</Message>"
                f"</Error><RequestId>{rid}</RequestId></ErrorResponse>"
            )
            return xml_reply(400, body, [("x-amzn-RequestId", rid)])
    return None


class QuotaEnforcer:
    """Token buckets per (account, Region, bucket name), refilled at AWS's rate x ``time_scale``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.enabled = True
        self.time_scale = DEFAULT_TIME_SCALE
        self._startup = (True, DEFAULT_TIME_SCALE)  # what reset() restores (the command line's flags)
        self._tokens: dict[tuple[str, str, str], tuple[float, float]] = {}

    def keep_as_startup(self) -> None:
        with self._lock:
            self._startup = (self.enabled, self.time_scale)

    def configure(self, enabled: bool | None = None, time_scale: float | None = None) -> None:
        if time_scale is not None and (not math.isfinite(time_scale) or time_scale <= 0):
            raise ValueError("timeScale must be a positive number (1 = AWS's rates)")
        with self._lock:
            if enabled is not None:
                self.enabled = bool(enabled)
            if time_scale is not None:
                self.time_scale = float(time_scale)
            self._tokens.clear()  # start from full buckets under the new settings

    def reset(self) -> None:
        with self._lock:
            self.enabled, self.time_scale = self._startup
            self._tokens.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"enabled": self.enabled, "timeScale": self.time_scale, "resourceCounts": dict(RESOURCE_COUNTS)}

    def admit(self, call: AwsCall, now: float | None = None) -> float | None:
        """None when ``call`` is within every quota (its tokens are taken), else seconds to wait."""
        buckets = buckets_for(call)
        if not buckets:
            return None
        now = time.monotonic() if now is None else now
        region = "global" if call.service == "route53" else call.region
        with self._lock:
            if not self.enabled:
                return None
            scale = self.time_scale
            levels: list[tuple[tuple[str, str, str], float]] = []
            wait = 0.0
            for name, bucket in buckets:
                key = (call.account_id, region, name)
                tokens, updated = self._tokens.get(key, (bucket.capacity, now))
                tokens = min(bucket.capacity, tokens + (now - updated) * bucket.refill * scale)
                levels.append((key, tokens))
                if tokens < 1.0:
                    wait = max(wait, (1.0 - tokens) / (bucket.refill * scale))
            if wait > 0:
                for key, tokens in levels:
                    self._tokens[key] = (tokens, now)
                return wait
            for key, tokens in levels:
                self._tokens[key] = (tokens - 1.0, now)
            return None

    def resource_refusal(self, call: AwsCall) -> Reply | None:
        with self._lock:
            if not self.enabled:
                return None
        return resource_count_refusal(call)


QUOTAS = QuotaEnforcer()


def throttled_reply(call: AwsCall, wait: float) -> Reply:
    """The service's own throttling answer (see :func:`.faults.fault_reply`), with ``Retry-After``
    on API Gateway's 429 (the ``retryAfterSeconds`` member of TooManyRequestsException)."""
    from .faults import THROTTLE, fault_reply

    reply = fault_reply(call, THROTTLE)
    if call.service in ("apigateway", "apigatewayv2"):
        reply.headers.append(("Retry-After", str(max(1, math.ceil(wait)))))
    return reply


__all__ = [
    "DEFAULT_TIME_SCALE",
    "QUOTAS",
    "RESOURCE_COUNTS",
    "Bucket",
    "QuotaEnforcer",
    "buckets_for",
    "resource_count_refusal",
    "throttled_reply",
]
