"""Throttling answers per service, request-rate quotas and resource-count quotas
(catalogue: docs/aws-behaviour.md, "Throttling and quotas").

Emulator only: these tests drive requests over AWS's quotas, which a test must not do to a real
account. The emulator's rates are AWS's times its time-scale factor (10 by default); tests that
need AWS's own rates set ``timeScale`` 1 through the control API and say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.retries import standard

from hybrid_gateway_devenv.emulator import EmulatorControl

from .helpers import Aws, error_of

pytestmark = pytest.mark.emulator_only

NLB = "arn:aws:elasticloadbalancing:{region}:123456789012:loadbalancer/net/nope/0123456789abcdef"


def retryable_throttle(err: ClientError) -> bool:
    class _Http:
        status_code = err.response["ResponseMetadata"]["HTTPStatusCode"]

    context = standard.RetryContext(attempt_number=1, parsed_response=err.response, http_response=_Http())
    return bool(standard.ThrottledRetryableChecker().is_retryable(context))


def first_refusal(call: Callable[[], Any], attempts: int) -> ClientError:
    for _ in range(attempts):
        try:
            call()
        except ClientError as err:
            if err.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 429, 503) and error_of_code(err):
                return err
    raise AssertionError(f"no throttling within {attempts} calls")


def error_of_code(err: ClientError) -> bool:
    return err.response["Error"]["Code"] in (
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
    )


# (service, a call that takes a token from a small bucket, calls enough to empty it, code, status, source)
THROTTLED: list[tuple[str, Callable[[Any, str], Any], int, str, int]] = [
    ("apigateway", lambda c, r: c.get_resources(restApiId="nope"), 8, "TooManyRequestsException", 429),
    (
        "elbv2",
        lambda c, r: c.set_subnets(LoadBalancerArn=NLB.format(region=r), Subnets=["subnet-1"]),
        12,
        "Throttling",
        400,
    ),
    ("route53", lambda c, r: c.get_health_check_status(HealthCheckId="nope"), 6, "Throttling", 400),
    ("acm", lambda c, r: c.list_certificates(), 3, "ThrottlingException", 400),
    (
        "ec2",
        lambda c, r: c.create_vpc_endpoint(VpcId="vpc-1", ServiceName="com.amazonaws.vpce.x"),
        6,
        "RequestLimitExceeded",
        503,
    ),
]


@pytest.mark.parametrize(("service", "call", "attempts", "code", "status"), THROTTLED, ids=[t[0] for t in THROTTLED])
def test_over_quota_each_service_answers_its_throttling_error__service_throttling_pages(
    aws: Aws, ctl: EmulatorControl, service: str, call: Callable[[Any, str], Any], attempts: int, code: str, status: int
) -> None:
    """Over a request-rate quota each service answers its own throttling error, which botocore's
    standard retry mode treats as throttling: API Gateway ``TooManyRequestsException`` 429 (with
    ``Retry-After``); ELBv2 ``Throttling`` 400 "Rate exceeded"; Route 53 ``Throttling`` 400 "Rate
    exceeded"; ACM ``ThrottlingException`` 400; EC2 ``RequestLimitExceeded`` 503.

    Sources: API Gateway API reference (TooManyRequestsException, 429); "Request throttling for the
    ELB API" (ELB User Guide; the wire code is ``Throttling``, 400: kubernetes-sigs/
    aws-load-balancer-controller #1871 and #3167, weaker); "Throttling for Amazon Route 53 API
    requests" (Route 53 Developer Guide: HTTP 400, Code Throttling, Message Rate exceeded); ACM User
    Guide, "Quotas" (ThrottlingException); "Request throttling for the Amazon EC2 API"
    (RequestLimitExceeded; 503 in botocore's legacy retry table and public reports). Buckets: the
    quota pages of each service (docs/aws-behaviour.md). AWS's own rates (timeScale 1) here.
    """
    ctl.set_quotas(time_scale=1)
    client = aws.client(service, retries=False)
    refused = first_refusal(lambda: call(client, aws.region), attempts)
    assert error_of(pytest_exc(refused))[:2] == (code, status)
    assert retryable_throttle(refused)
    if service == "apigateway":
        assert int(refused.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    [entry] = [e for e in ctl.requests() if e["fault"] == "quota"][-1:]
    assert entry["service"] == service


def pytest_exc(err: ClientError) -> pytest.ExceptionInfo[ClientError]:
    return pytest.ExceptionInfo.from_exception(err)


def test_s3_throttling_answer_is_slow_down__s3_user_guide_error_best_practices(aws: Aws, ctl: EmulatorControl) -> None:
    """S3 throttles with ``SlowDown`` 503 (S3 has no documented per-account control-plane bucket the
    operator could reach, so only fault injection produces it).

    Source: S3 User Guide, "Amazon S3 error best practices" (SlowDown); re:Post Knowledge Center
    "http-5xx-errors-s3" ("Slow Down (Service: Amazon S3; Status Code: 503; Error Code: 503 Slow Down").
    """
    ctl.set_faults(rate=1.0, kinds=["throttle"], services=["s3"])
    with pytest.raises(ClientError) as slow:
        aws.client("s3", retries=False).list_buckets()
    assert error_of(slow)[:2] == ("SlowDown", 503)


def test_route53_prior_request_not_complete__route53_knowledge_center_avoid_throttling(
    aws: Aws, ctl: EmulatorControl
) -> None:
    """Route 53 answers ``PriorRequestNotComplete`` (400) while it still processes a prior request;
    botocore retries it. Injected by the fault kind ``prior-request``.

    Source: re:Post Knowledge Center "route-53-avoid-throttling-errors"; botocore ``_retry.json``
    (``PriorRequestNotComplete`` 400 for route53).
    """
    ctl.set_faults(rate=1.0, kinds=["prior-request"])
    with pytest.raises(ClientError) as busy:
        aws.client("route53", retries=False).list_hosted_zones()
    assert error_of(busy)[:2] == ("PriorRequestNotComplete", 400)
    assert retryable_throttle(busy.value)
    aws.client("apigateway", retries=False).get_rest_apis()  # not a Route 53 call: no fault


def test_fixed_operation_quota_and_time_scale__api_gateway_quotas_create_rest_api(
    aws: Aws, ctl: EmulatorControl
) -> None:
    """API Gateway allows one regional CreateRestApi every 3 seconds: a second one at once is
    throttled; at the default time scale (10) the next token comes 0.3 s later; switched off, no
    quota applies.

    Source: API Gateway Developer Guide, "Amazon API Gateway quotas" ("CreateRestApi — regional or
    private API: 1 request every 3 seconds").
    """
    assert (ctl.quotas()["enabled"], ctl.quotas()["timeScale"]) == (True, 10.0)
    apigw = aws.client("apigateway", retries=False)
    regional = {"endpointConfiguration": {"types": ["REGIONAL"]}}
    apigw.create_rest_api(name="first", **regional)
    with pytest.raises(ClientError) as throttled:
        apigw.create_rest_api(name="second", **regional)
    assert error_of(throttled)[:2] == ("TooManyRequestsException", 429)
    time.sleep(0.35)
    apigw.create_rest_api(name="second", **regional)
    ctl.disable_quotas()
    for index in range(5):
        apigw.create_rest_api(name=f"more-{index}", **regional)
    assert len(apigw.get_rest_apis(limit=500)["items"]) == 7


def test_route53_account_bucket__route53_developer_guide_throttling(aws: Aws, ctl: EmulatorControl) -> None:
    """All Route 53 actions share an account bucket of 50 requests refilled at 10 per second (the old
    "5 requests per second" figure is superseded), on top of a bucket per action.

    Source: Route 53 Developer Guide, "Throttling for Amazon Route 53 API requests" (current page:
    "All Route 53 API actions combined" max capacity 50, refill 10 per second).
    """
    ctl.set_quotas(time_scale=1)
    route53 = aws.client("route53", retries=False)
    calls = 0
    try:
        while calls < 60:
            route53.list_hosted_zones() if calls % 2 else route53.get_hosted_zone_count()
            calls += 1
    except ClientError as err:
        assert error_of(pytest_exc(err))[:2] == ("Throttling", 400)
    assert 50 <= calls < 60


def test_vpc_link_count_quota__api_gateway_quotas_vpc_links_per_region(aws: Aws, ctl: EmulatorControl) -> None:
    """A 21st REST API VPC link in an account and Region is refused with ``LimitExceededException``
    (429), which AWS also uses for resource-count quotas.

    Source: API Gateway Developer Guide, "Amazon API Gateway quotas" ("VPC links per account per
    Region: 20"); LimitExceededException 429 for a quota: hashicorp/terraform-provider-aws #37605
    (weaker; "Maximum number of Resources for this API has been reached"). The message text here is
    assumed.
    """
    apigw = aws.client("apigateway")
    target = NLB.format(region=aws.region)
    for index in range(20):
        apigw.create_vpc_link(name=f"link-{index}", targetArns=[target])
    with pytest.raises(ClientError) as limit:
        aws.client("apigateway", retries=False).create_vpc_link(name="link-21", targetArns=[target])
    code, status, message = error_of(limit)
    assert (code, status) == ("LimitExceededException", 429) and "Maximum number of" in message


def test_client_certificate_count_quota__api_gateway_quotas_client_certificates(aws: Aws, ctl: EmulatorControl) -> None:
    """A 61st API Gateway client certificate in an account and Region is refused with
    ``LimitExceededException`` (429).

    Source: API Gateway Developer Guide, "Amazon API Gateway quotas" ("Client certificates per
    account per Region: 60").
    """
    apigw = aws.client("apigateway")
    for _ in range(60):
        apigw.generate_client_certificate()
    with pytest.raises(ClientError) as limit:
        aws.client("apigateway", retries=False).generate_client_certificate()
    assert error_of(limit)[:2] == ("LimitExceededException", 429)


def test_load_balancer_count_quota__elb_api_reference_create_load_balancer(aws: Aws, ctl: EmulatorControl) -> None:
    """A 51st Network Load Balancer in an account and Region is refused with ``TooManyLoadBalancers``
    (400); creating an existing one again (same name and settings) still succeeds.

    Source: ELB API reference, ``CreateLoadBalancer`` (errors: TooManyLoadBalancers "You've reached
    the limit on the number of load balancers for your AWS account."; "If you attempt to create
    multiple load balancers with the same settings, each call succeeds"); NLB user guide, "Quotas
    for your Network Load Balancers" (50 per Region). CreateLoadBalancer's own bucket (10, 0.2 per
    second) is sped up here (timeScale 1000) so that 51 creates take no time.
    """
    ctl.set_quotas(time_scale=1000)
    ec2, elbv2 = aws.client("ec2"), aws.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.198.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.198.1.0/24")["Subnet"]["SubnetId"]
    for index in range(50):
        elbv2.create_load_balancer(Name=f"nlb-{index}", Subnets=[subnet], Type="network", Scheme="internal")
    elbv2.create_load_balancer(Name="nlb-0", Subnets=[subnet], Type="network", Scheme="internal")
    with pytest.raises(ClientError) as limit:
        aws.client("elbv2", retries=False).create_load_balancer(
            Name="nlb-50", Subnets=[subnet], Type="network", Scheme="internal"
        )
    assert error_of(limit) == (
        "TooManyLoadBalancers",
        400,
        "You've reached the limit on the number of load balancers for your AWS account.",
    )


def test_rest_api_and_domain_name_count_quotas__api_gateway_quotas_apis_and_domain_names_per_region(
    aws: Aws, ctl: EmulatorControl
) -> None:
    """The 601st regional REST API, the 121st edge-optimized REST API and the 121st custom domain name
    in an account and Region are refused with ``LimitExceededException`` (429).

    Source: API Gateway Developer Guide, "Amazon API Gateway quotas" ("Regional APIs per Region: 600",
    "Edge-optimized APIs per Region: 120", "Custom domain names per account per Region: 120"). The
    per-operation buckets (CreateRestApi 1 every 3 s, CreateDomainName 1 every 30 s) are sped up here
    (timeScale 100000) so that the creates take no time.
    """
    from .helpers import self_signed

    ctl.set_quotas(time_scale=100000)
    apigw, once = aws.client("apigateway"), aws.client("apigateway", retries=False)
    for index in range(600):
        apigw.create_rest_api(name=f"r{index}", endpointConfiguration={"types": ["REGIONAL"]})
    with pytest.raises(ClientError) as regional:
        once.create_rest_api(name="r600", endpointConfiguration={"types": ["REGIONAL"]})
    assert error_of(regional)[:2] == ("LimitExceededException", 429)
    for index in range(120):
        apigw.create_rest_api(name=f"e{index}")  # no endpointConfiguration: EDGE
    with pytest.raises(ClientError) as edge:
        once.create_rest_api(name="e120")
    assert error_of(edge)[:2] == ("LimitExceededException", 429)

    cert, key = self_signed("*.quota.example")
    arn = aws.client("acm").import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    for index in range(120):
        apigw.create_domain_name(
            domainName=f"d{index}.quota.example",
            regionalCertificateArn=arn,
            endpointConfiguration={"types": ["REGIONAL"]},
        )
    with pytest.raises(ClientError) as domains:
        once.create_domain_name(
            domainName="d120.quota.example", regionalCertificateArn=arn, endpointConfiguration={"types": ["REGIONAL"]}
        )
    assert error_of(domains)[:2] == ("LimitExceededException", 429)
