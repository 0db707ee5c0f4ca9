"""One in-process emulator per parts test module, reached the way the operator reaches AWS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hybrid_gateway_devenv.emulator import EmulatorServer

REGION = "ap-northeast-1"


@pytest.fixture(scope="module")
def emulator_endpoint() -> Iterator[str]:
    """Dummy credentials, the region, and AWS_ENDPOINT_URL pointing at a fresh EmulatorServer."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": REGION}.items():
            mp.setenv(key, value)
        server = EmulatorServer(port=0).start()
        mp.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        try:
            yield server.endpoint_url
        finally:
            server.stop()
