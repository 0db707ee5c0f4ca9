"""`hybrid-gateway run --aws-rate-limit SERVICE=RPS`: per-service overrides of the client layer's limits."""

from __future__ import annotations

import pytest

from hybrid_gateway.aws.clients import DEFAULT_RATE_LIMITS, AwsClients, effective_rate_limits
from hybrid_gateway.cli import build_parser


def parse(*argv: str) -> dict[str, float]:
    return dict(build_parser().parse_args(["run", *argv]).aws_rate_limit or [])


def test_defaults_stay_when_nothing_is_given() -> None:
    clients = AwsClients(rate_limits=parse())
    for service, rate in DEFAULT_RATE_LIMITS.items():
        assert clients.rate_limit(service) == rate
    assert clients.rate_limit("sts") == 10.0


def test_one_service_and_every_service() -> None:
    clients = AwsClients(rate_limits=parse("--aws-rate-limit", "*=100", "--aws-rate-limit", "elbv2=20"))
    assert clients.rate_limit("elbv2") == 20.0
    assert clients.rate_limit("apigateway") == 100.0
    assert clients.rate_limit("sts") == 100.0
    only = AwsClients(rate_limits=parse("--aws-rate-limit", "route53=2.5"))
    assert only.rate_limit("route53") == 2.5
    assert only.rate_limit("elbv2") == DEFAULT_RATE_LIMITS["elbv2"]


@pytest.mark.parametrize("bad", ["elbv2", "elbv2=", "=5", "elbv2=0", "elbv2=-1", "elbv2=fast"])
def test_malformed_values_are_refused(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--aws-rate-limit", bad)
    assert "SERVICE=RPS" in capsys.readouterr().err


def test_non_positive_limits_are_refused_by_the_client_layer() -> None:
    with pytest.raises(ValueError):
        effective_rate_limits({"elbv2": 0})
