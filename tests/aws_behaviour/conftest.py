"""The AWS behaviour tests run against the emulator by default, and against a real AWS sandbox account
with an explicit opt-in:

    AWS_PROFILE=sandbox AWS_REGION=eu-west-1 pytest tests/aws_behaviour --real-aws

``--real-aws`` is refused when ``AWS_ENDPOINT_URL`` is set or when ``CI`` is set: these tests create
load balancers, VPC links and certificates in the account (cost and run time: docs/aws-behaviour.md).
Every resource they create is tagged ``hybrid-gateway-behaviour-test=<run id>`` and deleted by the
test that created it, failures included.

Against the emulator the tests see its defaults (delays and quotas on, compressed in time); a step
that needs the emulator's control API (mark a target down, read the public CA) is skipped on AWS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorServer

from .helpers import EMULATOR_REGION, Aws, Cleanup, run_id


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aws-behaviour", "AWS behaviour tests (tests/aws_behaviour)")
    group.addoption(
        "--real-aws",
        action="store_true",
        default=False,
        help="run tests/aws_behaviour against the real AWS account of the default credential chain "
        "(creates billable resources; never in CI; AWS_ENDPOINT_URL must be unset)",
    )
    group.addoption(
        "--real-aws-domain",
        default=None,
        help="with --real-aws: a name (e.g. behaviour.example.org) in a public Route 53 zone of the account, "
        "for the API Gateway domain-name tests (skipped without it)",
    )
    group.addoption("--real-aws-zone-id", default=None, help="with --real-aws-domain: that public hosted zone's id")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "emulator_only: needs the emulator's control API; skipped on real AWS")
    config.addinivalue_line("markers", "slow_on_aws: takes minutes on real AWS (VPC links, load balancers)")


def _real(config: pytest.Config) -> bool:
    return bool(config.getoption("--real-aws", default=False))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _real(config):
        return
    skip = pytest.mark.skip(reason="needs the emulator's control API (emulator_only)")
    for item in items:
        if "emulator_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def aws(request: pytest.FixtureRequest) -> Iterator[Aws]:
    config = request.config
    if _real(config):
        if os.environ.get("AWS_ENDPOINT_URL"):
            pytest.exit("--real-aws needs AWS_ENDPOINT_URL unset (it points every client at an emulator)", 2)
        if os.environ.get("CI"):
            pytest.exit("--real-aws is never run in CI", 2)
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            pytest.exit("--real-aws needs AWS_REGION (or AWS_DEFAULT_REGION)", 2)
        yield Aws(
            region=region,
            endpoint_url=None,
            control=None,
            run=run_id(),
            domain=config.getoption("--real-aws-domain", default=None),
            zone_id=config.getoption("--real-aws-zone-id", default=None),
        )
        return
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": EMULATOR_REGION,
        }.items():
            mp.setenv(key, value)
        for key in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION"):
            mp.delenv(key, raising=False)
        with EmulatorServer(port=0) as server:
            control = EmulatorControl(server.endpoint_url)
            yield Aws(region=EMULATOR_REGION, endpoint_url=server.endpoint_url, control=control, run=run_id())
            server.reset()


@pytest.fixture(autouse=True)
def _fresh_emulator(aws: Aws) -> None:
    """Against the emulator every test starts from an empty account with the default settings."""
    if aws.control is not None:
        aws.control.reset()


@pytest.fixture()
def ctl(aws: Aws) -> EmulatorControl:
    """The emulator's control API; a test using it is emulator-only."""
    if aws.control is None:
        pytest.skip("needs the emulator's control API")
    return aws.control


@pytest.fixture()
def cleanup(aws: Aws) -> Iterator[Cleanup]:
    stack = Cleanup(aws)
    try:
        yield stack
    finally:
        stack.run()
