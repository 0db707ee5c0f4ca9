"""Issue 3, "Done when" 4: `kubectl delete` removes every owned AWS resource (or none with
`deletionPolicy: Retain`), and an operator killed in the middle of creation adopts what it made
(found by owner tags) instead of making twins."""

from __future__ import annotations

import time

import pytest

from tests.e2e.helpers import (
    NOTHING,
    ONE_OF_EACH,
    apply,
    aws,
    condition,
    counts,
    events,
    get,
    hybridapi,
    inventory,
    records,
    secret,
    wait_ready,
    wait_until,
    wait_until_nothing_left,
)

pytestmark = pytest.mark.e2e


def _delete(cluster, namespace: str, name: str, timeout: int = 120) -> None:  # type: ignore[no-untyped-def]
    # `kubectl delete` waits for the finalizer by default, as a user sees it.
    cluster.kubectl("delete", "-n", namespace, f"hybridapi/{name}", f"--timeout={timeout}s", timeout=timeout + 30)
    gone = cluster.kubectl("get", "-n", namespace, f"hybridapi/{name}", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr, gone.stdout


def _validation_records(endpoint_url: str, zone_id: str, hostname: str) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in records(endpoint_url, zone_id)
            if r["Type"] == "CNAME" and r["Name"].rstrip(".").lower().endswith("." + hostname)]


def test_delete_removes_every_owned_resource(cluster, namespace, account, emulator, start_operator) -> None:
    start_operator(namespace)
    apply(cluster, namespace, secret("gone-gw", {"token": "delete-me"}), hybridapi("gone", account))
    wait_ready(cluster, namespace, "gone")
    obj = get(cluster, namespace, "hybridapi", "gone")
    uid, hostname = obj["metadata"]["uid"], obj["spec"]["frontDoor"]["hostname"]
    assert counts(inventory(emulator.endpoint_url, uid, account.hosted_zone_id, hostname)) == ONE_OF_EACH
    assert _validation_records(emulator.endpoint_url, account.hosted_zone_id, hostname)

    _delete(cluster, namespace, "gone")

    assert wait_until_nothing_left(emulator.endpoint_url, uid, account.hosted_zone_id, hostname) == NOTHING
    assert _validation_records(emulator.endpoint_url, account.hosted_zone_id, hostname) == []
    # Nothing of ours left under the name either (a twin without tags would still be a leak).
    apigw = aws(emulator.endpoint_url, "apigateway")
    assert [a for a in apigw.get_rest_apis(limit=500)["items"] if a["name"] == f"{namespace}-gone"] == []


def test_retain_keeps_every_resource(cluster, namespace, account, emulator, start_operator) -> None:
    start_operator(namespace)
    kept = hybridapi("kept", account, deletionPolicy="Retain")
    apply(cluster, namespace, secret("kept-gw", {"token": "keep-me"}), kept)
    wait_ready(cluster, namespace, "kept")
    obj = get(cluster, namespace, "hybridapi", "kept")
    uid, hostname = obj["metadata"]["uid"], obj["spec"]["frontDoor"]["hostname"]
    before = inventory(emulator.endpoint_url, uid, account.hosted_zone_id, hostname)
    assert counts(before) == ONE_OF_EACH

    _delete(cluster, namespace, "kept")

    after = inventory(emulator.endpoint_url, uid, account.hosted_zone_id, hostname)
    assert counts(after) == ONE_OF_EACH
    assert after["rest_apis"][0]["id"] == before["rest_apis"][0]["id"]
    assert after["nlbs"][0]["LoadBalancerArn"] == before["nlbs"][0]["LoadBalancerArn"]
    assert after["alias_records"] == before["alias_records"]


# Each found again differently: ACM by listing + tags, ELB by DescribeTags, API Gateway by list tags.
# (CreateTargetGroup, CreateSecurityGroup, CreateDeployment and CreateStage were checked the same way.)
@pytest.mark.parametrize("kill_after", ["RequestCertificate", "CreateLoadBalancer", "CreateVpcLink", "CreateRestApi"])
def test_operator_killed_during_creation_adopts_what_it_made(
    cluster, namespace, account, emulator, control, start_operator, kill_after: str
) -> None:
    since = control.last_seq()
    # The create's answer comes late (it has taken effect and is logged at once), so the operator is killed
    # while it waits for the answer: a create that ends its pass (CreateVpcLink: the REST API waits for the
    # link to be AVAILABLE) would otherwise race its own status write.
    control.set_faults(answer_latency_ms=3000, operations=[kill_after])
    try:
        first = start_operator(namespace)
        # A front-door name per case: an earlier case's object keeps its own (docs/dns-ownership.md).
        crash = hybridapi("crash", account)
        crash["spec"]["frontDoor"]["hostname"] = f"crash-{kill_after.lower()}.{account.zone_name}"
        apply(cluster, namespace, secret("crash-gw", {"token": "crash-secret"}), crash)
        wait_until(lambda: control.count(operation=kill_after, since=since) > 0, timeout=60, interval=0.05,
                   what=f"the first {kill_after}")
        first.kill()  # SIGKILL: no status write, no cleanup
    finally:
        control.clear_faults()
    killed_at = control.last_seq()
    obj = get(cluster, namespace, "hybridapi", "crash")
    assert condition(obj, "Ready").get("status") != "True", "killed too late: the object was already Ready"
    # The id of what was just created never reached status: the restarted operator must find it by tags.
    recorded = (obj.get("status") or {}).get("resources") or {}
    key = {"RequestCertificate": "certificateArn", "CreateLoadBalancer": "albArn", "CreateVpcLink": "vpcLinkId",
           "CreateRestApi": "restApiId"}[kill_after]
    assert key not in recorded, recorded

    started = time.monotonic()
    second = start_operator(namespace)
    wait_ready(cluster, namespace, "crash")
    print(f"\nkilled after {kill_after} (log seq {killed_at}); Ready {time.monotonic() - started:.1f}s after restart")

    obj = get(cluster, namespace, "hybridapi", "crash")
    uid, hostname = obj["metadata"]["uid"], obj["spec"]["frontDoor"]["hostname"]
    found = inventory(emulator.endpoint_url, uid, account.hosted_zone_id, hostname)
    assert counts(found) == ONE_OF_EACH, second.logs()[-3000:]
    # Every create happened once across both processes: the second one adopted, it did not re-create.
    for operation, expected in (("CreateLoadBalancer", 2), ("CreateTargetGroup", 2), ("CreateRestApi", 1),
                                ("CreateVpcLink", 1), ("CreateSecurityGroup", 1), ("RequestCertificate", 1),
                                ("CreateListener", 2), ("CreateStage", 1)):
        assert control.count(operation=operation, since=since) == expected, operation
    resources = obj["status"]["resources"]
    assert resources["albArn"] == found["albs"][0]["LoadBalancerArn"]
    assert resources["nlbArn"] == found["nlbs"][0]["LoadBalancerArn"]
    assert resources["restApiId"] == found["rest_apis"][0]["id"]
    assert not [e for e in events(cluster, namespace, "crash") if e["reason"] == "DriftCorrected"]



def test_delete_after_a_crash_before_any_status_write_removes_everything(
    cluster, namespace, account, emulator, control, start_operator
) -> None:
    """Killed during its first pass (after the alias record was written), then deleted while no operator
    runs: the next operator finds every owned resource by tags (the alias by where it points) and
    removes it, with no ids in status to go by."""
    since = control.last_seq()
    # Route 53 answers slowly here, so that the first pass can be killed inside its UPSERT of the alias (the
    # last write of a first pass, as the VPC link waits for an active NLB): before any status write.
    control.set_faults(latency_ms=2000, services=["route53"], operations=["ChangeResourceRecordSets"])
    try:
        first = start_operator(namespace)
        apply(cluster, namespace, secret("wreck-gw", {"token": "wreck"}), hybridapi("wreck", account))
        obj = get(cluster, namespace, "hybridapi", "wreck")
        uid, hostname = obj["metadata"]["uid"], obj["spec"]["frontDoor"]["hostname"]
        wait_until(lambda: control.count(operation="CreateLoadBalancer", since=since) >= 2, timeout=60,
                   interval=0.05, what="the NLB made (the alias UPSERT comes next)")
        time.sleep(0.5)
        first.kill()
    finally:
        control.clear_faults()

    def alias_written() -> bool:
        return any(e["operation"] == "ChangeResourceRecordSets" for e in control.requests(since)) and bool(
            inventory(emulator.endpoint_url, uid, account.hosted_zone_id, hostname)["alias_records"])

    wait_until(alias_written, timeout=60, interval=0.05, what="the alias record")
    assert not (get(cluster, namespace, "hybridapi", "wreck").get("status") or {}).get("resources")
    left = counts(inventory(emulator.endpoint_url, uid, account.hosted_zone_id, hostname))
    assert left["nlbs"] == 1 and left["alias_records"] == 1, left

    cluster.kubectl("delete", "-n", namespace, "hybridapi/wreck", "--wait=false")
    start_operator(namespace)
    wait_until(lambda: cluster.kubectl("get", "-n", namespace, "hybridapi/wreck", check=False).returncode != 0,
               timeout=120, what="the object gone")
    assert wait_until_nothing_left(emulator.endpoint_url, uid, account.hosted_zone_id, hostname) == NOTHING
    assert _validation_records(emulator.endpoint_url, account.hosted_zone_id, hostname) == []
