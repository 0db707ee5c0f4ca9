"""Issue 3, "Done when" 8: with one AWS call in five answered by throttling or a 5xx, the example
still reaches Ready, with exactly one of each resource (retries never make twins)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.helpers import (
    ONE_OF_EACH,
    apply,
    condition,
    counts,
    get,
    hybridapi,
    inventory,
    passes_since,
    secret,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.e2e


def test_ready_with_one_of_each_despite_throttling_and_5xx(
    cluster, namespace, account, emulator, control, start_operator
) -> None:
    since = control.last_seq()
    control.set_faults(rate=0.2, kinds=["throttle", "5xx"], seed=3)
    try:
        operator = start_operator(namespace)
        started = time.monotonic()
        apply(cluster, namespace, secret("flaky-gw", {"token": "flaky"}), hybridapi("flaky", account))
        wait_ready(cluster, namespace, "flaky", timeout=300)
        elapsed = time.monotonic() - started
        # A few drift checks under the same faults: still Ready, nothing re-created.
        mark = control.last_seq()
        wait_until(lambda: len(passes_since(control, mark)) >= 3, timeout=60, what="three drift checks")
    finally:
        control.clear_faults()

    log = control.requests(since)
    faulted = [e for e in log if e.get("fault")]
    print(f"\nReady in {elapsed:.1f}s with {len(faulted)} of {len(log)} AWS calls faulted "
          f"({sum(1 for e in faulted if e['fault'] == 'throttle')} throttled)")
    assert len(faulted) >= 0.1 * len(log), "faults were injected"

    obj = get(cluster, namespace, "hybridapi", "flaky")
    assert condition(obj, "Ready")["status"] == "True", operator.logs()[-3000:]
    found = inventory(emulator.endpoint_url, obj["metadata"]["uid"], account.hosted_zone_id,
                      obj["spec"]["frontDoor"]["hostname"])
    assert counts(found) == ONE_OF_EACH
    # Each resource was created by exactly one successful call.
    done = [e for e in log if not e.get("fault") and e["status"] < 300]
    for operation, expected in (("CreateLoadBalancer", 2), ("CreateTargetGroup", 2), ("CreateRestApi", 1),
                                ("CreateVpcLink", 1), ("CreateSecurityGroup", 1), ("RequestCertificate", 1),
                                ("CreateListener", 2), ("CreateStage", 1)):
        assert sum(1 for e in done if e["operation"] == operation) == expected, operation
