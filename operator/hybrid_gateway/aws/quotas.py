"""AWS's request-rate quotas as buckets per operation group, and the operator's share of each.

AWS throttles control-plane calls per account and Region with token buckets per operation group
(docs/aws-budget.md has the table with its sources): API Gateway one account bucket for every
operation plus a bucket per operation with a fixed quota; ELBv2 Describe*, target registration,
CreateLoadBalancer/SetSubnets and the other mutating actions; Route 53 an account bucket plus one per
action (global, not per Region); ACM one per operation; EC2 one per action, by category.

The operator's client-side buckets carry the same names, at no more than DEFAULT_SHARE of AWS's rate
and burst, so that the operator leaves the other half to every other tool in the account.
tests/unit/test_aws_quotas.py checks this table against the emulator's model of AWS's buckets.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SHARE = 0.5  # of each AWS quota, for the operator's own buckets
ARRIVAL_JITTER_SECONDS = 0.1  # added to each interval of a bucket AWS gives no burst (Quota.share)
GLOBAL_REGION = "global"  # Route 53's quotas are per account, not per Region
FALLBACK_RATE = 10.0  # a service AWS documents no control-plane quota for, requests/s per Region


@dataclass(frozen=True)
class Quota:
    """A token bucket: `rate` requests per second, up to `burst` at once."""

    rate: float
    burst: float

    def share(self, fraction: float) -> Quota:
        shared = Quota(self.rate * fraction, max(1.0, self.burst * fraction))
        if self.burst > 1:
            return shared
        # AWS's bucket holds no spare token: two calls that reach AWS closer together than 1/rate are
        # throttled, and the time a call takes to reach AWS varies. So every interval gets room for that.
        return Quota(1.0 / (1.0 / shared.rate + ARRIVAL_JITTER_SECONDS), shared.burst)

    def scaled(self, factor: float) -> Quota:
        """The quota of an account whose rates are `factor` times this one (bursts are not scaled: AWS
        raises a rate, and an emulator that compresses time refills faster, but neither holds more)."""
        return Quota(self.rate * factor, self.burst)


def _every(seconds: float, burst: float = 1.0) -> Quota:
    return Quota(1.0 / seconds, burst)


def _rps(rate: float, burst: float | None = None) -> Quota:
    return Quota(rate, burst if burst is not None else max(1.0, rate))


# AWS's own numbers (requests per second, burst), per bucket name. Names with a `{operation}` are a
# family: one bucket per operation at the same quota.
APIGATEWAY_ACCOUNT = "apigateway:account"
AWS_QUOTAS: dict[str, Quota] = {
    # "Amazon API Gateway quotas", API Gateway Developer Guide
    APIGATEWAY_ACCOUNT: Quota(10, 40),
    "apigateway:CreateApiKey": _rps(5),
    "apigateway:CreateDeployment": _every(5),
    "apigateway:CreateDocumentationVersion": _every(20),
    "apigateway:CreateDomainName": _every(30),
    "apigateway:CreateResource": _rps(5),
    "apigateway:DeleteApiKey": _rps(5),
    "apigateway:DeleteDomainName": _every(30),
    "apigateway:DeleteResource": _rps(5),
    "apigateway:DeleteRestApi": _every(30),
    "apigateway:GetResources": Quota(2.5, 5),
    "apigateway:ImportDocumentationParts": _every(30),
    "apigateway:PutRestApi": _rps(1),
    "apigateway:UpdateAccount": _every(20),
    "apigateway:UpdateDomainName": _every(30),
    "apigateway:UpdateUsagePlan": _every(20),
    # CreateRestApi / ImportRestApi: regional or private 1 every 3 s, edge-optimized 1 every 30 s. The
    # operator creates REGIONAL APIs only, so it paces them by the regional quota.
    "apigateway:CreateRestApi:regional": _every(3),
    "apigateway:ImportRestApi:regional": _every(3),
    "apigatewayv2:CreateVpcLink": _every(15),
    "apigatewayv2:DeleteVpcLink": _every(30),
    # "Request throttling for the ELB API", Elastic Load Balancing User Guide
    "elbv2:describe": Quota(10, 40),
    "elbv2:registration": Quota(4, 20),
    "elbv2:create-load-balancer": Quota(0.2, 10),
    "elbv2:mutating": Quota(3, 20),
    # "Throttling for Amazon Route 53 API requests", Route 53 Developer Guide
    "route53:account": Quota(10, 50),
    "route53:{operation}": Quota(10, 50),
    "route53:AssociateVPCWithHostedZone": Quota(5, 20),
    "route53:CreateHealthCheck": Quota(0.5, 50),
    "route53:CreateHostedZone": Quota(2, 40),
    "route53:DeleteHostedZone": Quota(5, 40),
    "route53:DeleteHealthCheck": Quota(3, 15),
    "route53:DisassociateVPCFromHostedZone": Quota(5, 10),
    "route53:GetHealthCheckStatus": Quota(1, 4),
    "route53:GetHealthCheckLastFailureReason": Quota(1, 4),
    "route53:CreateTrafficPolicyInstance": Quota(1, 1),
    "route53:DeleteTrafficPolicyInstance": Quota(1, 1),
    # "Quotas", AWS Certificate Manager User Guide (requests per second per operation)
    **{f"acm:{name}": _rps(rate) for name, rate in {
        "AddTagsToCertificate": 5, "DeleteCertificate": 10, "DescribeCertificate": 10, "ExportCertificate": 5,
        "GetAccountConfiguration": 1, "GetCertificate": 10, "ImportCertificate": 1, "ListCertificates": 1,
        "ListTagsForCertificate": 10, "PutAccountConfiguration": 1, "RemoveTagsFromCertificate": 5,
        "RenewCertificate": 5, "RequestCertificate": 5, "ResendValidationEmail": 1,
        "UpdateCertificateOptions": 5}.items()},
    # "Request throttling for the Amazon EC2 API", EC2 Developer Guide
    "ec2:{operation}:non-mutating": Quota(20, 100),
    "ec2:{operation}:unfiltered": Quota(10, 50),
    "ec2:{operation}:mutating": Quota(5, 50),
    "ec2:CreateTags": Quota(10, 100),
    "ec2:DeleteTags": Quota(10, 100),
    "ec2:CreateNetworkInterface": Quota(5, 100),
    "ec2:DeleteNetworkInterface": Quota(5, 100),
    "ec2:CreateVpcEndpoint": Quota(0.3, 4),
    "ec2:DeleteVpcEndpoints": Quota(0.3, 4),
    "ec2:ModifyVpcEndpoint": Quota(0.3, 4),
    "ec2:CreateVpcEndpointServiceConfiguration": Quota(1, 10),
    "ec2:CreateNatGateway": Quota(1, 10),
    "ec2:RunInstances": Quota(2, 5),
}
# EC2 paces these describes by the "unfiltered and unpaginated" quota when a call has no filter; the
# operator paces them at that (lower) rate always rather than inspecting each request.
EC2_UNFILTERED_ACTIONS = frozenset({
    "DescribeInstances", "DescribeInstanceStatus", "DescribeNetworkInterfaces", "DescribeSecurityGroups",
    "DescribeSnapshots", "DescribeSpotInstanceRequests", "DescribeVolumes",
})
_EC2_READ_PREFIXES = ("Describe", "List", "Search", "Get")
# S3 documents request rates per prefix (3,500 writes / 5,500 reads per second), far above what the
# operator sends: one bucket for the service keeps it modest.
SERVICE_QUOTAS: dict[str, Quota] = {"s3": _rps(100)}


def region_of(service: str, region: str) -> str:
    """The Region a bucket belongs to: Route 53's quotas are global."""
    return GLOBAL_REGION if service == "route53" else region


def buckets_for(service: str, operation: str) -> tuple[str, ...]:
    """Names of the buckets one call takes a token from (each the name of a row of AWS_QUOTAS)."""
    if service in ("apigateway", "apigatewayv2"):
        if operation in ("CreateRestApi", "ImportRestApi") and service == "apigateway":
            return APIGATEWAY_ACCOUNT, f"apigateway:{operation}:regional"
        for name in (f"{service}:{operation}", f"apigateway:{operation}"):
            if name in AWS_QUOTAS:
                return APIGATEWAY_ACCOUNT, name
        return (APIGATEWAY_ACCOUNT,)
    if service == "elbv2":
        if operation.startswith("Describe"):
            return ("elbv2:describe",)
        if operation in ("RegisterTargets", "DeregisterTargets"):
            return ("elbv2:registration",)
        if operation in ("CreateLoadBalancer", "SetSubnets"):
            return ("elbv2:create-load-balancer",)
        return ("elbv2:mutating",)
    if service == "route53":
        return "route53:account", f"route53:{operation}"
    if service == "acm":
        name = f"acm:{operation}"
        return (name,) if name in AWS_QUOTAS else ()
    if service == "ec2":
        return (f"ec2:{operation}",)
    return (service,)


def aws_quota(bucket: str) -> Quota | None:
    """AWS's quota of a bucket named by buckets_for (None: AWS documents none; SERVICE_QUOTAS or the
    fallback applies)."""
    if bucket in AWS_QUOTAS:
        return AWS_QUOTAS[bucket]
    service, _, operation = bucket.partition(":")
    if service == "route53" and operation:
        return AWS_QUOTAS["route53:{operation}"]
    if service == "ec2" and operation:
        if operation in EC2_UNFILTERED_ACTIONS:
            category = "unfiltered"
        elif operation.startswith(_EC2_READ_PREFIXES):
            category = "non-mutating"
        else:
            category = "mutating"
        return AWS_QUOTAS[f"ec2:{{operation}}:{category}"]
    return None


def default_quota(bucket: str, share: float = DEFAULT_SHARE, scale: float = 1.0) -> Quota:
    """The operator's own bucket: `share` of AWS's quota (SERVICE_QUOTAS or FALLBACK_RATE where AWS
    documents none), for an account whose quotas are `scale` times AWS's defaults."""
    quota = aws_quota(bucket)
    if quota is not None:
        return quota.scaled(scale).share(share)
    return SERVICE_QUOTAS.get(bucket.partition(":")[0], _rps(FALLBACK_RATE)).scaled(scale)


ALL = "*"  # an override key that sets every bucket of every service


def configured_quota(bucket: str, overrides: dict[str, float], share: float = DEFAULT_SHARE,
                     scale: float = 1.0) -> Quota:
    """The bucket's quota after `overrides` (from --aws-rate-limit): the most specific key wins, the bucket's
    own name (`elbv2:mutating`), then its service (`elbv2`: every bucket of the service), then `*`; else
    `share` (--aws-quota-share) of AWS's quota times `scale` (--aws-quota-scale)."""
    service = bucket.partition(":")[0]
    for key in (bucket, service, ALL):
        if key in overrides:
            return _rps(overrides[key])
    return default_quota(bucket, share, scale)


def validate_share(share: float) -> None:
    # More than AWS's quota would only turn the operator's pacing into AWS's throttling.
    if not 0 < share <= 1:
        raise ValueError(f"the share of AWS's quotas must be in (0, 1], not {share}")


def validate_overrides(overrides: dict[str, float]) -> None:
    for key, rate in overrides.items():
        if not rate > 0:
            raise ValueError(f"rate limit of {key} must be positive, not {rate}")
