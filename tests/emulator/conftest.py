"""One emulator for the whole emulator test session; every test starts from an empty AWS.

Every test starts with the emulator's defaults, which follow AWS: provisioning delays and quotas
on (compressed in time). A module that tests mechanics unrelated to time (answer shapes, refusals,
the request log) says so with ``pytestmark = pytest.mark.usefixtures("instant_aws")``; the
behaviours themselves are pinned, against these defaults, in ``tests/aws_behaviour``.

Moto's state is process-wide: the reset before each test (and once at the end of the session)
also empties what any other in-process emulator of this pytest run holds. Fixtures elsewhere
that seed AWS once per session must not rely on that state surviving tests/emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorServer

REGION = "ap-northeast-1"


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        with EmulatorServer(port=0) as server:
            yield server
            server.reset()  # leave no faults, delays or resources behind for later tests


@pytest.fixture(scope="session")
def ctl(emulator_server: EmulatorServer) -> EmulatorControl:
    return EmulatorControl(emulator_server.endpoint_url)


@pytest.fixture(autouse=True)
def _fresh_aws(ctl: EmulatorControl) -> None:
    ctl.reset()


@pytest.fixture()
def instant_aws(ctl: EmulatorControl) -> None:
    """This test needs instant AWS: no delays (provisioning, deletion, domain updates, health checks,
    S3 versioning propagation) and no quotas. Said explicitly, never the default."""
    ctl.set_instant_aws()
    ctl.disable_quotas()


@pytest.fixture(scope="session")
def client(emulator_server: EmulatorServer) -> Callable[..., Any]:
    """``client("apigateway")``: a boto3 client for the emulator (no retries unless asked)."""

    def make(service: str, config: Config | None = None) -> Any:
        factory: Any = boto3.client  # boto3-stubs types client() per literal service name
        return factory(
            service,
            region_name=REGION,
            endpoint_url=emulator_server.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config or Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )

    return make


@pytest.fixture()
def apigw(client: Callable[..., Any]) -> Any:
    return client("apigateway")


@pytest.fixture()
def acm(client: Callable[..., Any]) -> Any:
    return client("acm")


@pytest.fixture()
def route53(client: Callable[..., Any]) -> Any:
    return client("route53")


@pytest.fixture()
def s3(client: Callable[..., Any]) -> Any:
    return client("s3")


@pytest.fixture()
def ec2(client: Callable[..., Any]) -> Any:
    return client("ec2")


@pytest.fixture()
def elbv2(client: Callable[..., Any]) -> Any:
    return client("elbv2")

@pytest.fixture()
def api(apigw: Any) -> dict[str, str]:
    """A REST API with GET / (no integration yet)."""
    created = apigw.create_rest_api(name="orders", endpointConfiguration={"types": ["REGIONAL"]})
    root = created["rootResourceId"]
    apigw.put_method(restApiId=created["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
    return {"id": created["id"], "root": root}
