"""Issue 11, item 1: the operator writes a Route 53 name only where it may (docs/dns-ownership.md).

A name someone else holds (a record made outside the operator, or another HybridApi's) is reported as
`Stalled` with reason `HostnameInUse` and a message naming the holder, with no AWS write for it; the
holder's record never changes; deleting the refused object leaves it; deleting the owner removes the
alias and its ownership TXT together.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.helpers import (
    NOTHING,
    alias_records,
    apply,
    aws,
    condition,
    events,
    get,
    hybridapi,
    inventory,
    ownership_records,
    secret,
    txt_values,
    wait_ready,
    wait_until_nothing_left,
)

pytestmark = pytest.mark.e2e


def _stalled(cluster: Any, namespace: str, name: str) -> dict[str, Any]:
    waited = cluster.kubectl("wait", "-n", namespace, f"hybridapi/{name}", "--for=condition=Stalled",
                             "--timeout=90s", check=False, timeout=120)
    assert waited.returncode == 0, waited.stderr
    obj = get(cluster, namespace, "hybridapi", name)
    stalled = condition(obj, "Stalled")
    assert stalled["reason"] == "HostnameInUse", stalled
    assert condition(obj, "Ready")["status"] == "False" and condition(obj, "Ready")["message"] == stalled["message"]
    assert [e["message"] for e in events(cluster, namespace, name) if e["reason"] == "Stalled"] == [stalled["message"]]
    return obj


def _delete(cluster: Any, namespace: str, name: str) -> None:
    cluster.kubectl("delete", "-n", namespace, f"hybridapi/{name}", "--timeout=120s", timeout=150)
    gone = cluster.kubectl("get", "-n", namespace, f"hybridapi/{name}", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr, gone.stdout


def _name_records(endpoint_url: str, zone_id: str, hostname: str) -> list[dict[str, Any]]:
    """Every record set of the name: its alias and the ownership TXT beside it."""
    return alias_records(endpoint_url, zone_id, hostname) + ownership_records(endpoint_url, zone_id, hostname)


def _route53_writes(control: Any, since: int) -> list[dict[str, Any]]:
    return [c for c in control.write_calls(since) if c.get("service") == "route53"]


def test_a_record_made_outside_the_operator_is_not_taken(
    cluster, namespace, account, emulator, control, start_operator,  # type: ignore[no-untyped-def]
) -> None:
    name = "www"
    hostname = f"www-{uuid.uuid4().hex[:6]}.{account.zone_name}"
    r53 = aws(emulator.endpoint_url, "route53")
    r53.change_resource_record_sets(HostedZoneId=account.hosted_zone_id, ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {"Name": hostname, "Type": "A", "AliasTarget": {
            "DNSName": "www-site.s3-website-ap-northeast-1.amazonaws.com", "HostedZoneId": "Z2M4EHUR26P7ZW",
            "EvaluateTargetHealth": False}}}]})
    before = _name_records(emulator.endpoint_url, account.hosted_zone_id, hostname)
    start_operator(namespace)
    since = control.last_seq()
    obj = hybridapi(name, account)
    obj["spec"]["frontDoor"]["hostname"] = hostname
    apply(cluster, namespace, secret(f"{name}-gw", {"token": "t"}), obj)

    stalled = condition(_stalled(cluster, namespace, name), "Stalled")["message"]
    for fragment in (hostname, "no ownership record", "outside the operator", "www-site.s3-website",
                     "Use another hostname"):
        assert fragment in stalled, (fragment, stalled)
    # Refused before the chain's first write: nothing at all was made for it, Route 53 least of all.
    assert control.write_calls(since) == []
    assert _name_records(emulator.endpoint_url, account.hosted_zone_id, hostname) == before

    _delete(cluster, namespace, name)
    assert control.write_calls(since) == []
    assert _name_records(emulator.endpoint_url, account.hosted_zone_id, hostname) == before


def test_two_hybridapis_with_one_hostname_the_second_is_refused_and_the_first_keeps_it(
    cluster, account, emulator, control, start_operator,  # type: ignore[no-untyped-def]
) -> None:
    first_ns, second_ns = (f"t-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for ns in (first_ns, second_ns):
        cluster.kubectl("create", "namespace", ns)
    start_operator(first_ns, second_ns)
    name = "shared"  # the same name in both namespaces: only namespace and uid tell them apart
    hostname = f"shared-{uuid.uuid4().hex[:6]}.{account.zone_name}"

    def manifest() -> dict[str, Any]:
        obj = hybridapi(name, account)
        obj["spec"]["frontDoor"]["hostname"] = hostname
        return obj

    apply(cluster, first_ns, secret(f"{name}-gw", {"token": "first"}), manifest())
    wait_ready(cluster, first_ns, name)
    first_uid = get(cluster, first_ns, "hybridapi", name)["metadata"]["uid"]
    owned = _name_records(emulator.endpoint_url, account.hosted_zone_id, hostname)
    (alias,) = alias_records(emulator.endpoint_url, account.hosted_zone_id, hostname)
    (txt,) = ownership_records(emulator.endpoint_url, account.hosted_zone_id, hostname)
    assert txt_values(txt) == [f'"heritage=hybrid-gateway-operator,hybridgateway.io/owner=HybridApi/{first_ns}/'
                               f'{name},hybridgateway.io/uid={first_uid}"']

    since = control.last_seq()
    apply(cluster, second_ns, secret(f"{name}-gw", {"token": "second"}), manifest())
    stalled = condition(_stalled(cluster, second_ns, name), "Stalled")["message"]
    for fragment in (hostname, f"owned by HybridApi {first_ns}/{name}", first_uid, "use another hostname"):
        assert fragment in stalled, (fragment, stalled)
    second_uid = get(cluster, second_ns, "hybridapi", name)["metadata"]["uid"]
    assert _route53_writes(control, since) == []
    assert all(v == 0 for v in _counts_without_dns(inventory(
        emulator.endpoint_url, second_uid, account.hosted_zone_id, hostname)).values())
    assert _name_records(emulator.endpoint_url, account.hosted_zone_id, hostname) == owned

    _delete(cluster, second_ns, name)
    assert _route53_writes(control, since) == []
    assert _name_records(emulator.endpoint_url, account.hosted_zone_id, hostname) == owned
    assert condition(get(cluster, first_ns, "hybridapi", name), "Ready")["status"] == "True"
    assert alias_records(emulator.endpoint_url, account.hosted_zone_id, hostname) == [alias]

    # (c) Deleting the owner removes its alias and the ownership TXT beside it, in one change batch.
    since = control.last_seq()
    _delete(cluster, first_ns, name)
    assert wait_until_nothing_left(emulator.endpoint_url, first_uid, account.hosted_zone_id, hostname) == NOTHING
    assert _name_records(emulator.endpoint_url, account.hosted_zone_id, hostname) == []
    changes = [c for c in _route53_writes(control, since)
               if c.get("operation") == "ChangeResourceRecordSets" and c.get("status") == 200]
    assert len(changes) == 2, changes  # the alias with its TXT in one batch; the validation CNAME


def _counts_without_dns(found: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """What `uid` owns by tags; the records of a shared name are counted by name, not by owner."""
    return {kind: len(items) for kind, items in found.items() if kind != "alias_records"}
