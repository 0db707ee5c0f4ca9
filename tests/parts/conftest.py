"""One in-process emulator per parts test module, reached the way the operator reaches AWS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorServer

REGION = "ap-northeast-1"


@pytest.fixture(scope="module")
def emulator_endpoint() -> Iterator[str]:
    """Dummy credentials, the region, and AWS_ENDPOINT_URL pointing at a fresh EmulatorServer."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": REGION}.items():
            mp.setenv(key, value)
        server = EmulatorServer(port=0).start()
        # The emulator's settings are process-wide: start from a known state, never from what an earlier
        # test module left. Parts tests check a part's find/create/diff/update/delete logic one call at a
        # time, so they say they need instant AWS (no provisioning or deletion delays, no quotas: their
        # setup creates with raw boto3 faster than AWS's create quotas allow). AWS's timing and quotas are
        # pinned by tests/aws_behaviour and tests/emulator (the operator's pacing by
        # tests/emulator/test_operator_pacing.py), and the operator's waits for AWS by tests/e2e.
        server.reset()
        control = EmulatorControl(server.endpoint_url)
        control.set_instant_aws()
        control.disable_quotas()
        mp.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        try:
            yield server.endpoint_url
        finally:
            server.reset()  # leave AWS's defaults behind for later test modules
            server.stop()
