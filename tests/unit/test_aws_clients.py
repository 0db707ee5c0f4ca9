"""The AWS client layer against the emulator: endpoint from AWS_ENDPOINT_URL, retries, call metrics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from hybrid_gateway.aws.clients import AwsClients
from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorServer


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0) as server:
        yield server


@pytest.fixture()
def aws(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> AwsClients:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return AwsClients(max_attempts=10)


def _calls(operation: str, outcome: str) -> float:
    return REGISTRY.get_sample_value(
        "hybrid_gateway_aws_calls_total", {"service": "apigateway", "operation": operation, "outcome": outcome}
    ) or 0.0


def test_clients_are_cached_per_service_and_region(aws: AwsClients) -> None:
    assert aws.client("apigateway", "ap-northeast-1") is aws.client("apigateway", "ap-northeast-1")
    assert aws.client("apigateway", "ap-northeast-1") is not aws.client("apigateway", "us-east-1")


def test_calls_reach_the_endpoint_and_are_counted(aws: AwsClients, emulator: EmulatorServer) -> None:
    control = EmulatorControl(emulator.endpoint_url)
    since = control.last_seq()
    before = _calls("GetRestApis", "ok")
    aws.client("apigateway", "ap-northeast-1").get_rest_apis()
    assert control.count(operation="GetRestApis", since=since) == 1
    assert _calls("GetRestApis", "ok") == before + 1


def test_throttling_and_5xx_are_retried_until_success(aws: AwsClients, emulator: EmulatorServer) -> None:
    control = EmulatorControl(emulator.endpoint_url)
    client = aws.client("apigateway", "ap-northeast-1")
    since = control.last_seq()
    control.set_faults(rate=0.3, seed=7, services=["apigateway"])
    try:
        for _ in range(6):
            client.get_rest_apis()
    finally:
        control.clear_faults()
    faults = [r for r in control.requests(since=since) if r["fault"]]
    assert faults, "the fault injection should have answered some calls with errors"
    assert control.count(operation="GetRestApis", since=since) == 6 + len(faults)
