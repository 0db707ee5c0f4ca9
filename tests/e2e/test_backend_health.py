"""Issue 10: BackendHealthy comes from real health checks. The emulator's load balancers send HTTPS health
checks (the group's path and matcher) through the on-prem network map to a real backend on loopback, so
stopping the backend turns BackendHealthy False, and bringing it back turns it True again."""

from __future__ import annotations

from typing import Any

import pytest

from hybrid_gateway_devenv.onprem_backend import OnPremBackend
from tests.e2e.helpers import apply, condition, get, hybridapi, secret, wait_ready, wait_until

pytestmark = pytest.mark.e2e


def _backend_healthy(cluster: Any, namespace: str, name: str) -> dict[str, Any]:
    return condition(get(cluster, namespace, "hybridapi", name), "BackendHealthy")


def test_stopping_the_backend_turns_backend_healthy_false_and_back(
    cluster, namespace, account, onprem: OnPremBackend, start_operator
) -> None:
    start_operator(namespace)
    # Health checks every 5 s (the shortest AWS allows), two failures to turn a target unhealthy.
    checks = {"path": "/healthz", "matcher": "200-399", "intervalSeconds": 5, "timeoutSeconds": 2,
              "healthyThreshold": 2, "unhealthyThreshold": 2}
    api = hybridapi("health", account)
    api["spec"]["backend"]["healthCheck"] = checks
    apply(cluster, namespace, secret("health-gw", {"token": "health"}), api)
    wait_ready(cluster, namespace, "health", timeout=300)
    healthy = _backend_healthy(cluster, namespace, "health")
    assert healthy["status"] == "True" and healthy["message"] == "2/2 targets healthy"
    # The health checks really reached the backend: the group's path, from ELB's health checker.
    seen = onprem.health_checks()
    assert seen and {r["path"] for r in seen} == {"/healthz"}

    port = onprem.port
    onprem.stop()  # the on-prem load balancer goes away: every check now times out
    down = wait_until(lambda: (c := _backend_healthy(cluster, namespace, "health"))["message"].startswith("0/2") and c,
                      timeout=120, what="BackendHealthy 0/2 after the backend stopped")
    assert down["status"] == "False" and down["reason"] == "TargetsUnhealthy"

    onprem.start(port)  # back on the same address
    wait_until(lambda: _backend_healthy(cluster, namespace, "health")["status"] == "True", timeout=120,
               what="BackendHealthy True once the backend answers again")
