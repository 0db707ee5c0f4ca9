"""The operator's client layer against the emulator's quotas (on, as by default): a burst of calls larger
than AWS's buckets gets 0 throttled answers through AwsClients, while the same burst unpaced is throttled."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hybrid_gateway import metrics
from hybrid_gateway.aws import clients
from hybrid_gateway.aws.clients import AwsClients
from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorServer
from hybrid_gateway_devenv.operator_process import OperatorProcess

from .conftest import REGION

# More calls than AWS's bucket holds (ELBv2 Describe* 40, API Gateway account 40, ACM ListCertificates 1),
# from 8 threads at once.
CALLS: dict[str, tuple[Callable[[Any], Any], int]] = {
    "elbv2": (lambda c: c.describe_load_balancers(), 45),
    "apigateway": (lambda c: c.get_rest_apis(), 45),
    "acm": (lambda c: c.list_certificates(), 4),
}


def _regional(aws: AwsClients, service: str) -> Any:
    return aws.client(service, REGION)


def quota_faults(ctl: EmulatorControl, since: int) -> int:
    return sum(1 for e in ctl.requests(since) if e.get("fault") == "quota")


def burst(make: Callable[[str], Any]) -> None:
    clients = {service: make(service) for service in CALLS}
    with ThreadPoolExecutor(8) as pool:
        work = [service for n in range(max(count for _, count in CALLS.values()))
                for service, (_, count) in CALLS.items() if n < count]
        list(pool.map(lambda service: _quiet(CALLS[service][0], clients[service]), work))


def _quiet(call: Callable[[Any], Any], client: Any) -> None:
    with contextlib.suppress(ClientError):  # counted from the request log
        call(client)


def test_a_burst_through_aws_clients_is_never_throttled(
        ctl: EmulatorControl, emulator_server: EmulatorServer, client: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_server.endpoint_url)
    ctl.set_quotas(time_scale=1)  # AWS's own rates: the burst is larger than AWS's buckets
    unpaced = ctl.last_seq()
    burst(client)
    assert quota_faults(ctl, unpaced) > 0

    for time_scale in (1.0, None):  # AWS's own rates, then the emulator's default (10x)
        ctl.reset()  # full buckets, the default quotas (on, 10x)
        if time_scale is not None:
            ctl.set_quotas(time_scale=time_scale)
        assert ctl.quotas()["enabled"]
        aws = AwsClients(max_attempts=1)  # a throttled answer would stay an answer: no retry hides it
        paced = ctl.last_seq()
        burst(functools.partial(_regional, aws))
        log = [e for e in ctl.requests(paced) if e["service"] in CALLS]
        assert len(log) == sum(count for _, count in CALLS.values())
        assert quota_faults(ctl, paced) == 0, time_scale


def test_throttling_answers_halve_the_bucket_and_are_counted(
        ctl: EmulatorControl, emulator_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_server.endpoint_url)
    ctl.set_faults(rate=1.0, kinds=["throttle"], services=["elbv2"])
    aws = AwsClients(max_attempts=2)
    bucket = aws.bucket(REGION, "elbv2:describe")
    throttles = metrics.AWS_THROTTLES.labels("elbv2", "elbv2:describe")
    before, since = throttles._value.get(), ctl.last_seq()
    with pytest.raises(ClientError):
        aws.client("elbv2", REGION).describe_load_balancers()
    attempts = [e for e in ctl.requests(since) if e["service"] == "elbv2"]
    assert len(attempts) > 1 and all(e["fault"] == "throttle" for e in attempts)
    assert throttles._value.get() - before == len(attempts)  # every throttled attempt is counted
    # Halved at least once (once per burst of answers; botocore's backoff may space the attempts into two), and
    # climbing back only slowly since.
    assert bucket.ceiling * clients.MIN_RATE_SHARE <= bucket.rate < bucket.ceiling * 0.6
    assert metrics.AWS_BUCKET_RATE.labels("elbv2", "elbv2:describe", REGION)._value.get() == bucket.rate
    other = aws.bucket(REGION, "elbv2:mutating")
    assert other.rate == other.ceiling  # only the buckets the throttled call drew from


def test_the_devenv_operator_paces_by_the_emulators_compressed_quotas(
        ctl: EmulatorControl, emulator_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """The emulator refills its buckets `timeScale` times faster than AWS; the devenv's operator gets
    `--aws-quota-scale` with that factor, so that it uses the same share of the emulator's quotas as of
    AWS's (not a tenth of it: an UpdateDomainName every 60 s would stall the e2e suite's drift repairs),
    and a burst paced at that scale is still never throttled."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_server.endpoint_url)
    operator = OperatorProcess(kubeconfig=tmp_path / "kubeconfig", aws_endpoint_url=emulator_server.endpoint_url,
                               log_path=tmp_path / "operator.log")
    scale = ctl.quotas()["timeScale"]
    assert scale > 1 and operator.quota_scale_args() == ["--aws-quota-scale", f"{scale:g}"]
    ctl.set_quotas(time_scale=1)
    assert operator.quota_scale_args() == ["--aws-quota-scale", "1"]
    ctl.disable_quotas()
    assert operator.quota_scale_args() == []
    chosen = OperatorProcess(kubeconfig=tmp_path / "kubeconfig", aws_endpoint_url=emulator_server.endpoint_url,
                             log_path=tmp_path / "operator.log", extra_args=["--aws-quota-scale", "3"])
    assert chosen.quota_scale_args() == []

    ctl.reset()  # quotas on at the default scale, full buckets
    aws = AwsClients(max_attempts=1, quota_scale=scale)
    paced = ctl.last_seq()
    burst(functools.partial(_regional, aws))
    assert quota_faults(ctl, paced) == 0
