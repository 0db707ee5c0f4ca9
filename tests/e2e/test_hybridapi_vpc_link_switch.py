"""Issue 13, item 1: switching an existing HybridApi between VPC link V1 (NLB) and V2 (straight to the ALB)
replaces the link side of the chain without a gap. Requests go to the stage's invoke URL through the emulated
data plane the whole time (V1: link -> NLB -> ALB; V2: link -> ALB; then the on-prem backend), at least 20 a
second, each on a fresh connection; not one may fail, through V1 -> V2 and back to V1.

The object has subnets of its own, so its V2 link is its alone and is deleted when it switches back."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e.helpers import (
    ONE_OF_EACH,
    ONE_OF_EACH_V2,
    apply,
    counts,
    get,
    hybridapi,
    inventory,
    own_subnets,
    ready_for_generation,
    secret,
    vpc_links_v2,
    wait_ready,
    wait_until,
)
from tests.e2e.test_mutual_tls_verify import Load

pytestmark = pytest.mark.e2e
NAME = "switch"


def _switch_to(cluster: Any, namespace: str, version: str) -> None:
    cluster.kubectl("patch", "-n", namespace, "hybridapi", NAME, "--type=merge",
                    "-p", json.dumps({"spec": {"network": {"vpcLink": {"version": version}}}}))


LAST_SEEN: list[str] = []  # why the last _settled said no (shown when a wait times out)


def _settled(cluster: Any, namespace: str, endpoint_url: str, account: Any, version: str) -> bool:
    """The new side serves, and the old one is gone: nothing retiring, exactly the chain of `version`."""
    obj = get(cluster, namespace, "hybridapi", NAME)
    status = obj.get("status") or {}
    LAST_SEEN[:] = [json.dumps({k: status.get(k) for k in ("vpcLinkVersion", "retiring", "conditions")})]
    if status.get("vpcLinkVersion") != version or not ready_for_generation(cluster, namespace, NAME):
        return False
    if any((status.get("retiring") or {}).values()):
        return False
    found = counts(inventory(endpoint_url, obj["metadata"]["uid"], account.hosted_zone_id,
                             obj["spec"]["frontDoor"]["hostname"]))
    LAST_SEEN.append(json.dumps(found))
    return found == (ONE_OF_EACH_V2 if version == "V2" else ONE_OF_EACH)


def _wait_settled(cluster: Any, namespace: str, endpoint_url: str, account: Any, version: str) -> None:
    try:
        wait_until(lambda: _settled(cluster, namespace, endpoint_url, account, version), timeout=180, interval=1.0)
    except AssertionError as exc:
        raise AssertionError(f"{version} not settled: {LAST_SEEN}") from exc


def test_switching_v1_to_v2_and_back_under_load_fails_no_request(
    cluster, namespace, account, emulator, control, onprem, start_operator
) -> None:
    start_operator(namespace)
    obj = hybridapi(NAME, account, link_version="V1", driftCheckInterval="1s")
    subnets = own_subnets(emulator.endpoint_url, account)
    obj["spec"]["network"]["subnetIds"] = subnets
    apply(cluster, namespace, secret(f"{NAME}-gw", {"token": "switch-secret"}), obj)
    wait_ready(cluster, namespace, NAME)
    before = get(cluster, namespace, "hybridapi", NAME)["status"]["resources"]

    with Load(control, before["restApiId"]) as load:
        time.sleep(2.0)
        _switch_to(cluster, namespace, "V2")
        _wait_settled(cluster, namespace, emulator.endpoint_url, account, "V2")
        on_v2 = get(cluster, namespace, "hybridapi", NAME)["status"]["resources"]
        sent_on_switch = load.sent
        time.sleep(2.0)
        _switch_to(cluster, namespace, "V1")
        _wait_settled(cluster, namespace, emulator.endpoint_url, account, "V1")
        time.sleep(2.0)
    after = get(cluster, namespace, "hybridapi", NAME)["status"]["resources"]

    print(f"\nV1 -> V2 -> V1 under load: {load.sent} requests at {load.rate:.1f}/s ({sent_on_switch} by the end of "
          f"the first switch), {len(load.failed)} failed")
    assert load.sent >= 100, (load.sent, load.rate)  # a count, not a rate: the rate depends on the machine
    assert load.failed == [], load.failed[:5]
    # The load balancers that stay are the same; the link side was replaced each time.
    assert on_v2["albArn"] == before["albArn"] == after["albArn"]
    assert on_v2["restApiId"] == before["restApiId"] == after["restApiId"]
    assert on_v2.get("vpcLinkV2Id") and not on_v2.get("nlbArn") and not on_v2.get("vpcLinkId")
    assert after["nlbArn"] != before["nlbArn"] and after["vpcLinkId"] != before["vpcLinkId"]
    assert not after.get("vpcLinkV2Id")
    # Its V2 link had no other user: gone with the switch back (its security group once AWS let it go).
    wait_until(lambda: not [x for x in vpc_links_v2(emulator.endpoint_url)
                            if x["VpcLinkId"] == on_v2["vpcLinkV2Id"]], timeout=60, what="the V2 link deleted")
