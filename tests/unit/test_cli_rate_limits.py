"""`hybrid-gateway run --aws-rate-limit SERVICE[:BUCKET]=RPS`: overrides of the client layer's buckets."""

from __future__ import annotations

import pytest

from hybrid_gateway.aws import quotas
from hybrid_gateway.aws.clients import AwsClients
from hybrid_gateway.cli import build_parser

BUCKETS = ("apigateway:account", "apigateway:CreateDeployment", "elbv2:describe", "elbv2:mutating",
           "route53:account", "acm:DescribeCertificate", "ec2:DescribeSubnets", "s3", "sts")


def parse(*argv: str) -> dict[str, float]:
    return dict(build_parser().parse_args(["run", *argv]).aws_rate_limit or [])


def test_defaults_stay_when_nothing_is_given() -> None:
    clients = AwsClients(rate_limits=parse())
    for bucket in BUCKETS:
        assert clients.quota(bucket) == quotas.default_quota(bucket)
    assert clients.quota("sts").rate == quotas.FALLBACK_RATE


def test_one_service_and_every_service() -> None:
    clients = AwsClients(rate_limits=parse("--aws-rate-limit", "*=100", "--aws-rate-limit", "elbv2=20"))
    assert clients.quota("elbv2:describe").rate == 20.0
    assert clients.quota("elbv2:mutating").rate == 20.0
    assert clients.quota("apigateway:account").rate == 100.0
    assert clients.quota("sts").rate == 100.0
    only = AwsClients(rate_limits=parse("--aws-rate-limit", "route53=2.5"))
    assert only.quota("route53:account").rate == 2.5
    assert only.quota("elbv2:describe") == quotas.default_quota("elbv2:describe")


def test_one_bucket() -> None:
    clients = AwsClients(rate_limits=parse("--aws-rate-limit", "elbv2:mutating=2", "--aws-rate-limit", "elbv2=4"))
    assert clients.quota("elbv2:mutating").rate == 2.0
    assert clients.quota("elbv2:describe").rate == 4.0
    assert clients.quota("apigateway:account") == quotas.default_quota("apigateway:account")


@pytest.mark.parametrize("bad", ["elbv2", "elbv2=", "=5", "elbv2=0", "elbv2=-1", "elbv2=fast", "elbv2:=2", ":x=1"])
def test_malformed_values_are_refused(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--aws-rate-limit", bad)
    assert "SERVICE=RPS" in capsys.readouterr().err


def test_non_positive_limits_are_refused_by_the_client_layer() -> None:
    with pytest.raises(ValueError):
        AwsClients(rate_limits={"elbv2": 0})


@pytest.mark.parametrize("bad", ["1.5", "-0.1", "half"])
def test_drift_budget_share_is_a_fraction(bad: str) -> None:
    with pytest.raises(SystemExit):
        parse("--drift-budget-share", bad)
    assert build_parser().parse_args(["run"]).drift_budget_share == 0.5
    assert build_parser().parse_args(["run", "--drift-budget-share", "0"]).drift_budget_share == 0.0  # off


def test_quota_scale_scales_the_default_buckets_not_the_overrides() -> None:
    args = build_parser().parse_args(["run", "--aws-quota-scale", "10", "--aws-rate-limit", "elbv2:mutating=2"])
    clients = AwsClients(rate_limits=dict(args.aws_rate_limit), quota_scale=args.aws_quota_scale)
    describe = quotas.default_quota("elbv2:describe")
    assert clients.quota("elbv2:describe") == quotas.Quota(describe.rate * 10, describe.burst)
    update_domain = quotas.AWS_QUOTAS["apigateway:UpdateDomainName"]  # 1 per 30 s on AWS
    assert clients.quota("apigateway:UpdateDomainName") == update_domain.scaled(10).share(quotas.DEFAULT_SHARE)
    assert clients.quota("elbv2:mutating").rate == 2.0  # an override is an absolute rate
    assert build_parser().parse_args(["run"]).aws_quota_scale == 1.0


@pytest.mark.parametrize("bad", ["0", "-2", "inf", "fast"])
def test_quota_scale_is_positive(bad: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--aws-quota-scale", bad])
    with pytest.raises(ValueError):
        AwsClients(quota_scale=0)


def test_quota_share_sets_rate_and_burst_where_no_limit_is_given() -> None:
    """--aws-quota-share 1: AWS's own rate and burst (an account where the operator is alone); an explicit
    --aws-rate-limit still wins."""
    args = build_parser().parse_args(["run", "--aws-quota-share", "1", "--aws-rate-limit", "elbv2:mutating=2"])
    clients = AwsClients(rate_limits=dict(args.aws_rate_limit), quota_share=args.aws_quota_share)
    assert clients.quota("elbv2:create-load-balancer") == quotas.AWS_QUOTAS["elbv2:create-load-balancer"]
    assert clients.quota("apigateway:account") == quotas.Quota(10, 40)
    assert clients.quota("elbv2:mutating").rate == 2.0
    assert build_parser().parse_args(["run"]).aws_quota_share == quotas.DEFAULT_SHARE


@pytest.mark.parametrize("bad", ["0", "1.5", "-0.5", "all"])
def test_quota_share_is_a_positive_fraction(bad: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--aws-quota-share", bad])
    with pytest.raises(ValueError):
        AwsClients(quota_share=0)
