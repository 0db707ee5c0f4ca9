"""The operator's client layer against the emulator's quotas (on, as by default): a burst of calls larger
than AWS's buckets gets 0 throttled answers through AwsClients, while the same burst unpaced is throttled."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hybrid_gateway.aws.clients import AwsClients
from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorServer

from .conftest import REGION

# More calls than AWS's bucket holds (ELBv2 Describe* 40, API Gateway account 40, ACM ListCertificates 1),
# from 8 threads at once.
CALLS: dict[str, tuple[Callable[[Any], Any], int]] = {
    "elbv2": (lambda c: c.describe_load_balancers(), 45),
    "apigateway": (lambda c: c.get_rest_apis(), 45),
    "acm": (lambda c: c.list_certificates(), 4),
}


def quota_faults(ctl: EmulatorControl, since: int) -> int:
    return sum(1 for e in ctl.requests(since) if e.get("fault") == "quota")


def burst(make: Callable[[str], Any]) -> None:
    clients = {service: make(service) for service in CALLS}
    with ThreadPoolExecutor(8) as pool:
        work = [service for n in range(max(count for _, count in CALLS.values()))
                for service, (_, count) in CALLS.items() if n < count]
        list(pool.map(lambda service: _quiet(CALLS[service][0], clients[service]), work))


def _quiet(call: Callable[[Any], Any], client: Any) -> None:
    try:
        call(client)
    except ClientError:
        pass  # counted from the request log


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
        burst(lambda service: aws.client(service, REGION))
        log = [e for e in ctl.requests(paced) if e["service"] in CALLS]
        assert len(log) == sum(count for _, count in CALLS.values())
        assert quota_faults(ctl, paced) == 0, time_scale
