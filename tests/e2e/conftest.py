"""Fixtures of the end-to-end tests (the session fixtures -- cluster, emulator, operator -- are in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hybrid_gateway_devenv.onprem_backend import OnPremBackend
from tests.e2e.helpers import BACKEND_TARGETS


@pytest.fixture()
def onprem(control: Any) -> Iterator[OnPremBackend]:
    """A real on-prem HTTPS backend on loopback that answers for every target of ``helpers.hybridapi``
    (the emulator's on-prem network map points them at it), so requests through the emulated data
    plane (TestInvokeMethod, health checks) really reach it. Set ``required_header`` /
    ``trusted_bundle`` on it to make it check what API Gateway sends."""
    backend = OnPremBackend().start()
    control.set_onprem_routes({f"{t['ip']}:{t['port']}": backend.address for t in BACKEND_TARGETS})
    try:
        yield backend
    finally:
        control.clear_onprem_routes()
        backend.stop()
