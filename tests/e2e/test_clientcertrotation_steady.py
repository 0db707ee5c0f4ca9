"""Issue 12: a ClientCertRotation at rest (phase Idle) reads at most 2 times per target stage per drift
check, exactly EXPECTED_READS_PER_CHECK by operation, and writes nothing, so that a read added anywhere
fails here. Its stage's HybridApi checks hourly, so that its own reads stay out of the window."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import (
    apply,
    assert_steady_reads,
    get,
    hybridapi,
    secret,
    wait_until,
)
from tests.e2e.test_clientcertrotation import rotation

pytestmark = pytest.mark.e2e

CHECKS = 10
# One listing of the owner's client certificates per pass: it marks pass boundaries.
MARKER = "GetClientCertificates"
STAGES = 1
# Per stage: GetStage (which certificate it presents); per object: one listing of the region's client
# certificates (which of ours exist, with their PEMs for the bundle). The bundle in the Secret is read
# from Kubernetes, not AWS.
EXPECTED_READS_PER_CHECK = {
    "apigateway:GetClientCertificates": 1,
    "apigateway:GetStage": STAGES,
}
MAX_READS_PER_STAGE = 2


def idle(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), {})
    return ready.get("status") == "True" and status.get("phase") == "Idle"


def test_drift_checks_of_an_idle_rotation_read_at_most_2_per_stage_and_write_nothing(
    cluster, namespace, account, control, start_operator
) -> None:
    start_operator(namespace)
    apply(cluster, namespace, secret("orders-gw", {"token": "steady-gateway-secret"}),
          hybridapi("orders", account, driftCheckInterval="1h"), rotation("cert", driftCheckInterval="1s"))
    wait_until(lambda: idle(get(cluster, namespace, "clientcertrotation", "cert")), timeout=180,
               what="ClientCertRotation Ready and Idle")
    assert_steady_reads(control, CHECKS, EXPECTED_READS_PER_CHECK, STAGES * MAX_READS_PER_STAGE, marker=MARKER)
