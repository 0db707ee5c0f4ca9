"""Fault injection: throttling / 5xx shaped per service and recognised by botocore; latency; filters."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard

from hybrid_gateway_devenv.emulator import EmulatorControl

# injected faults only: no quota throttling mixed in, instant AWS.
pytestmark = pytest.mark.usefixtures("instant_aws")


def retry_context(err: ClientError) -> standard.RetryContext:
    class _Http:
        status_code = err.response["ResponseMetadata"]["HTTPStatusCode"]

    return standard.RetryContext(attempt_number=1, parsed_response=err.response, http_response=_Http())


CALLS: dict[str, Callable[[Callable[..., Any]], Any]] = {
    "apigateway": lambda client: client("apigateway").get_rest_apis(),
    "elbv2": lambda client: client("elbv2").describe_load_balancers(),
    "ec2": lambda client: client("ec2").describe_vpcs(),
    "acm": lambda client: client("acm").list_certificates(),
    "route53": lambda client: client("route53").list_hosted_zones(),
    "s3": lambda client: client("s3").list_buckets(),
}

THROTTLES = {
    "apigateway": ("TooManyRequestsException", 429),
    "elbv2": ("Throttling", 400),
    "ec2": ("RequestLimitExceeded", 503),
    "acm": ("ThrottlingException", 400),
    "route53": ("Throttling", 400),
    "s3": ("SlowDown", 503),
}

SERVER_ERRORS = {
    "apigateway": ("ServiceUnavailableException", 503),
    "elbv2": ("InternalFailure", 500),
    "ec2": ("InternalError", 500),
    "acm": ("InternalFailure", 500),
    "route53": ("InternalFailure", 500),
    "s3": ("InternalError", 500),
}


@pytest.mark.parametrize("service", sorted(CALLS))
def test_throttling_errors_are_throttling_for_botocore(
    service: str, ctl: EmulatorControl, client: Callable[..., Any]
) -> None:
    start = ctl.last_seq()
    ctl.set_faults(rate=1.0, kinds=["throttle"])
    with pytest.raises(ClientError) as throttled:
        CALLS[service](client)
    code, status = THROTTLES[service]
    assert throttled.value.response["Error"]["Code"] == code
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert standard.ThrottledRetryableChecker().is_retryable(retry_context(throttled.value))
    [entry] = ctl.requests(since=start)
    assert (entry["service"], entry["fault"], entry["status"]) == (service, "throttle", status)

    ctl.set_faults(rate=1.0, kinds=["5xx"])
    with pytest.raises(ClientError) as failed:
        CALLS[service](client)
    code, status = SERVER_ERRORS[service]
    assert failed.value.response["Error"]["Code"] == code
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert standard.TransientRetryableChecker().is_retryable(retry_context(failed.value))

    ctl.clear_faults()
    CALLS[service](client)
    assert [e["fault"] for e in ctl.requests(since=start)] == ["throttle", "5xx", None]


def test_faulted_calls_change_nothing(ctl: EmulatorControl, apigw: Any) -> None:
    ctl.set_faults(rate=1.0, kinds=["throttle"], operations=["CreateRestApi"])
    with pytest.raises(ClientError):
        apigw.create_rest_api(name="never")
    assert apigw.get_rest_apis()["items"] == []  # other operations pass


def test_retrying_client_gets_through_a_faulty_endpoint(
    ctl: EmulatorControl, client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keep botocore's exponential backoff from sleeping seconds per retry; the retry decisions are real.
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.001)
    apigw = client("apigateway", Config(retries={"mode": "standard", "max_attempts": 10}))
    api_id = apigw.create_rest_api(name="target")["id"]
    start = ctl.last_seq()
    ctl.set_faults(rate=0.2, kinds=["throttle", "5xx"], seed=7)
    for _ in range(50):
        assert apigw.get_rest_api(restApiId=api_id)["id"] == api_id
    entries = ctl.requests(since=start)
    faults = [e["fault"] for e in entries if e["fault"]]
    assert len(entries) == 50 + len(faults)
    assert 3 <= len(faults) <= 30
    assert set(faults) == {"throttle", "5xx"}
    assert sum(1 for e in entries if e["fault"] is None) == 50


def test_seeded_faults_repeat(ctl: EmulatorControl, apigw: Any) -> None:
    def pattern() -> list[bool]:
        ctl.set_faults(rate=0.5, kinds=["throttle"], seed=42)
        results = []
        for _ in range(12):
            try:
                apigw.get_rest_apis()
                results.append(True)
            except ClientError:
                results.append(False)
        return results

    first = pattern()
    assert first == pattern()
    assert True in first and False in first


def test_latency_and_filters(ctl: EmulatorControl, apigw: Any, ec2: Any) -> None:
    ec2.describe_vpcs()  # moto builds the EC2 backend (default VPC, ...) on the first call: not timed
    apigw.get_rest_apis()
    ctl.set_faults(latency_ms=400, services=["apigateway"])
    started = time.monotonic()
    apigw.get_rest_apis()
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    ec2.describe_vpcs()
    assert time.monotonic() - started < 0.4

    ctl.set_faults(rate=1.0, kinds=["throttle"], services=["ec2"], operations=["DescribeSubnets"])
    ec2.describe_vpcs()
    apigw.get_rest_apis()
    with pytest.raises(ClientError) as throttled:
        ec2.describe_subnets()
    assert throttled.value.response["Error"]["Code"] == "RequestLimitExceeded"


def test_a_slow_answer_comes_after_the_call_took_effect(ctl: EmulatorControl, apigw: Any) -> None:
    """answerLatencyMs: the write is done and logged while its client still waits for the answer (what the
    crash tests use to stop the operator between a create and its status write)."""
    import threading

    ctl.set_faults(answer_latency_ms=3000, services=["apigateway"], operations=["CreateRestApi"])
    since = ctl.last_seq()
    answered: list[str] = []
    caller = threading.Thread(target=lambda: answered.append(apigw.create_rest_api(name="slow")["id"]))
    caller.start()
    try:
        deadline = time.monotonic() + 2.5
        while ctl.count(operation="CreateRestApi", since=since) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ctl.count(operation="CreateRestApi", since=since) == 1, "logged before the answer"
        assert [api["name"] for api in apigw.get_rest_apis()["items"]] == ["slow"], "in effect before the answer"
        assert caller.is_alive() and not answered, "the client still waits"
    finally:
        caller.join(10)
        ctl.clear_faults()
    assert len(answered) == 1


def test_invalid_fault_settings_are_refused(ctl: EmulatorControl) -> None:
    from hybrid_gateway_devenv.emulator import EmulatorControlError

    with pytest.raises(EmulatorControlError, match="400"):
        ctl.set_faults(rate=1.5)
    with pytest.raises(EmulatorControlError, match="400"):
        ctl.set_faults(rate=0.5, kinds=["meteor"])
