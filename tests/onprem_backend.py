"""The on-prem backend as a pytest fixture (the backend itself: hybrid_gateway_devenv.onprem_backend)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hybrid_gateway_devenv.onprem_backend import OnPremBackend

__all__ = ["OnPremBackend", "onprem_backend"]


@pytest.fixture()

def onprem_backend() -> Iterator[OnPremBackend]:
    backend = OnPremBackend().start()
    try:
        yield backend
    finally:
        backend.stop()
