"""Issue 12, item 4 (and 5): while an object waits on AWS, one loop looks at it, with the backoff of the pass
(reconcilers/base.py wait_delay: never sooner than WAIT_REQUEUE_SECONDS). The object's drift check is
every second: were the drift daemon to poll alongside kopf's handler retry, it would look every second."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hybrid_gateway import durations
from hybrid_gateway.reconcilers.base import WAIT_REQUEUE_SECONDS
from tests.e2e.helpers import apply, get, hybridapi, passes_since, secret, wait_ready, wait_until

pytestmark = pytest.mark.e2e
PROVISIONING_SECONDS = 20


def test_a_waiting_object_is_looked_at_by_one_loop_with_the_backoff(
    cluster, namespace, account, control, start_operator
) -> None:
    control.set_provisioning_delay(PROVISIONING_SECONDS)  # the NLB and the VPC link stay PENDING a while
    try:
        # The budget on, as in production, over AWS's own quotas (not the emulator's compressed ones).
        start_operator(namespace, extra_args=["--drift-budget-share", "0.5", "--aws-quota-scale", "1"])
        since = control.last_seq()
        started = time.monotonic()
        apply(cluster, namespace, secret("slow-gw", {"token": "slow"}),
              hybridapi("slow", account, driftCheckInterval="1s"))
        wait_ready(cluster, namespace, "slow", timeout=300)
        window = time.monotonic() - started
    finally:
        control.restore_delays()
    passes = passes_since(control, since)
    # One loop, each look at least WAIT_REQUEUE_SECONDS after the last: at most window / 3 + 1 passes (and a
    # drift check that may start right after Ready). Two loops would add about one look per second.
    bound = int(window / WAIT_REQUEUE_SECONDS) + 2
    print(f"\n{len(passes)} passes while waiting {window:.0f}s for AWS (one loop allows at most {bound})")
    assert 2 <= len(passes) <= bound

    # Issue 12, item 5: one check every second asks more of the ELB Describe bucket (5/s by default) than the
    # drift budget's half of it: the first drift check's cost stretches the interval, and status says so.
    wait_until(lambda: effective_interval(cluster, namespace, "slow") > 1.0, timeout=60,
               what="status.drift.effectiveInterval stretched by the drift budget")


def effective_interval(cluster: Any, namespace: str, name: str) -> float:
    drift = get(cluster, namespace, "hybridapi", name)["status"].get("drift") or {}
    return durations.parse(drift.get("effectiveInterval"), 0.0)
