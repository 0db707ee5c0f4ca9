"""Issue 3, "Done when" 6: twenty HybridApis applied together (one `kubectl apply`) all reach Ready
while every load balancer, VPC link and certificate takes 5 s to provision. The elapsed time is
printed, not asserted (bench/many_objects.py measures it, with AWS-like rate limits and without)."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.helpers import (
    NOTHING,
    ONE_OF_EACH,
    apply,
    counts,
    hybridapi,
    inventory,
    records,
    secret,
    wait_until_nothing_left,
)

pytestmark = pytest.mark.e2e

OBJECTS = 20
DELAY = 5.0
# A Region of its own, as a fresh account would have: AWS allows 20 REST API VPC links per account and
# Region (API Gateway quotas; docs/aws-behaviour.md), and other tests of the session keep some.
SCALE_REGION = "ap-southeast-1"


def test_twenty_objects_applied_together_all_become_ready(
    cluster, namespace, emulator, control, start_operator
) -> None:
    from hybrid_gateway_devenv.seed import seed_account

    account = seed_account(emulator.endpoint_url, SCALE_REGION)
    control.set_provisioning_delay(DELAY)
    try:
        # The emulator is not AWS: lift the client-side limits that keep a fleet under AWS's API rate
        # limits (defaults: elbv2 10/s, apigateway 8/s, ...), which would otherwise set the pace here.
        start_operator(namespace, extra_args=["--aws-rate-limit", "*=100"])
        manifests = []
        for i in range(OBJECTS):
            name = f"many-{i:02d}"
            manifests += [secret(f"{name}-gw", {"token": f"token-{i}"}),
                          hybridapi(name, account, driftCheckInterval="60s")]
        since = control.last_seq()
        started = time.monotonic()
        apply(cluster, namespace, *manifests)
        waited = cluster.kubectl("wait", "-n", namespace, "hybridapi", "--all", "--for=condition=Ready",
                                 "--timeout=600s", check=False, timeout=660)
        elapsed = time.monotonic() - started
    finally:
        control.set_provisioning_delay(0)
    calls = control.requests(since)
    print(f"\n{OBJECTS} HybridApis with {DELAY:.0f}s provisioning delays: all Ready in {elapsed:.1f}s "
          f"({len(calls)} AWS calls, {sum(1 for c in calls if c['write'])} writes)")
    assert waited.returncode == 0, waited.stderr
    items = json.loads(cluster.kubectl("get", "-n", namespace, "hybridapis", "-o", "json").stdout)["items"]
    owners = [(obj["metadata"]["uid"], obj["spec"]["frontDoor"]["hostname"]) for obj in items]
    assert len(owners) == OBJECTS
    for uid, hostname in (owners[0], owners[-1]):
        assert counts(inventory(emulator.endpoint_url, uid, account.hosted_zone_id, hostname, SCALE_REGION)) == (
            ONE_OF_EACH)

    # And all deleted together (which also leaves the session's emulator as it was for later tests).
    started = time.monotonic()
    cluster.kubectl("delete", "-n", namespace, "hybridapi", "--all", "--timeout=300s", timeout=330)
    print(f"all {OBJECTS} deleted in {time.monotonic() - started:.1f}s")
    everyone = {uid for uid, _ in owners}
    assert wait_until_nothing_left(emulator.endpoint_url, everyone, account.hosted_zone_id, None, SCALE_REGION) == (
        NOTHING)
    names = {r["Name"].rstrip(".") for r in records(emulator.endpoint_url, account.hosted_zone_id, SCALE_REGION)}
    assert not names & {hostname for _, hostname in owners}
