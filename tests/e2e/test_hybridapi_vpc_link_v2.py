"""Issue 13, items 1 and 2: a HybridApi over a VPC link V2 straight to the ALB (the default for a new object),
and one V2 link shared by every HybridApi of the same VPC and subnets, deleted with its last user.

Each test puts its objects on subnets of their own (`own_subnets`), so the link key is the test's alone and
"the link is gone" is not affected by what other tests left behind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.helpers import (
    KEY_TAG,
    NOTHING,
    ONE_OF_EACH_V2,
    USER_TAG_PREFIX,
    apply,
    aws,
    condition,
    counts,
    get,
    hybridapi,
    inventory,
    own_subnets,
    secret,
    vpc_links_v2,
    wait_ready,
    wait_until,
    wait_until_nothing_left,
)

pytestmark = pytest.mark.e2e


def _delete(cluster, namespace: str, name: str, timeout: int = 180) -> None:  # type: ignore[no-untyped-def]
    cluster.kubectl("delete", "-n", namespace, f"hybridapi/{name}", f"--timeout={timeout}s", timeout=timeout + 30)


def _links_of(endpoint_url: str, key: str) -> list[dict[str, Any]]:
    return [link for link in vpc_links_v2(endpoint_url) if (link.get("Tags") or {}).get(KEY_TAG) == key]


def _group_exists(endpoint_url: str, group_id: str) -> bool:
    return bool(aws(endpoint_url, "ec2").describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroups"])


def _users(link: dict[str, Any]) -> set[str]:
    return {k.removeprefix(USER_TAG_PREFIX) for k in (link.get("Tags") or {}) if k.startswith(USER_TAG_PREFIX)}


def test_a_new_object_gets_v2_straight_to_the_alb_and_deletion_leaves_nothing(
    cluster, namespace, account, emulator, start_operator
) -> None:
    start_operator(namespace)
    obj = hybridapi("direct", account, link_version=None)  # the field left out: V2 for a new object
    obj["spec"]["network"]["subnetIds"] = own_subnets(emulator.endpoint_url, account)
    apply(cluster, namespace, secret("direct-gw", {"token": "direct-secret"}), obj)
    wait_ready(cluster, namespace, "direct")

    body = get(cluster, namespace, "hybridapi", "direct")
    status, uid = body["status"], body["metadata"]["uid"]
    hostname = body["spec"]["frontDoor"]["hostname"]
    res = status["resources"]
    print("\nV2 status.resources:", json.dumps(res, indent=1))
    assert status["vpcLinkVersion"] == "V2"
    assert not {"nlbArn", "nlbListenerArn", "albTargetGroupArn", "vpcLinkId"} & {k for k, v in res.items() if v}
    assert condition(body, "LoadBalancersReady")["message"] == "internal ALB (HTTPS) is active"
    assert condition(body, "VpcLinkReady")["message"] == "the VPC link V2 is AVAILABLE"
    assert condition(body, "DnsReady")["message"] == "the front-door hostname resolves to the ALB"
    columns = cluster.kubectl("get", "-n", namespace, "hybridapi/direct").stdout
    assert "LINK" in columns.splitlines()[0] and "V2" in columns.splitlines()[1]

    found = inventory(emulator.endpoint_url, uid, account.hosted_zone_id, hostname)
    assert counts(found) == ONE_OF_EACH_V2
    (link,) = found["vpc_links_v2"]
    (alb,) = found["albs"]
    assert link["VpcLinkId"] == res["vpcLinkV2Id"] and link["VpcLinkStatus"] == "AVAILABLE"
    assert link["SecurityGroupIds"] == [res["vpcLinkSecurityGroupId"]]
    assert sorted(link["SubnetIds"]) == sorted(obj["spec"]["network"]["subnetIds"])
    assert _users(link) == {uid}
    # Integrations: the V2 link and the ALB as integrationTarget, HTTPS to the front-door name.
    apigw = aws(emulator.endpoint_url, "apigateway")
    for item in apigw.get_resources(restApiId=res["restApiId"], embed=["methods"], limit=500)["items"]:
        for verb in item.get("resourceMethods") or {}:
            integration = apigw.get_integration(restApiId=res["restApiId"], resourceId=item["id"], httpMethod=verb)
            assert (integration["connectionType"], integration["connectionId"], integration["integrationTarget"]) == (
                "VPC_LINK", link["VpcLinkId"], alb["LoadBalancerArn"])
            assert integration["uri"].startswith(f"https://{hostname}/")
    # The ALB admits the link's security group on 443, and no VPC CIDR (there is no NLB).
    (group,) = found["security_groups"]
    ingress = [(p.get("FromPort"), [g["GroupId"] for g in p.get("UserIdGroupPairs", [])],
                [r["CidrIp"] for r in p.get("IpRanges", [])]) for p in group["IpPermissions"]]
    assert ingress == [(443, [res["vpcLinkSecurityGroupId"]], [])]
    (alias,) = found["alias_records"]
    assert alias["AliasTarget"]["DNSName"].rstrip(".").lower() == alb["DNSName"].lower()

    key = link["Tags"][KEY_TAG]
    _delete(cluster, namespace, "direct")
    assert wait_until_nothing_left(emulator.endpoint_url, uid, account.hosted_zone_id, hostname) == NOTHING
    # Its only user gone, the link and then its security group are deleted too.
    wait_until(lambda: not _links_of(emulator.endpoint_url, key), timeout=60, what="the V2 link deleted")
    wait_until(lambda: not _group_exists(emulator.endpoint_url, res["vpcLinkSecurityGroupId"]), timeout=60,
               what="the link's security group deleted")


def test_two_objects_share_one_link_deleting_one_keeps_it_deleting_both_removes_it(
    cluster, namespace, account, emulator, start_operator
) -> None:
    start_operator(namespace)
    subnets = own_subnets(emulator.endpoint_url, account)
    objects = []
    for name in ("shared-a", "shared-b"):
        obj = hybridapi(name, account, link_version="V2")
        obj["spec"]["network"]["subnetIds"] = list(reversed(subnets)) if name == "shared-b" else subnets
        objects += [secret(f"{name}-gw", {"token": f"{name}-secret"}), obj]
    apply(cluster, namespace, *objects)
    wait_ready(cluster, namespace, "shared-a")
    wait_ready(cluster, namespace, "shared-b")

    a, b = (get(cluster, namespace, "hybridapi", n) for n in ("shared-a", "shared-b"))
    link_id = a["status"]["resources"]["vpcLinkV2Id"]
    group_id = a["status"]["resources"]["vpcLinkSecurityGroupId"]
    assert b["status"]["resources"]["vpcLinkV2Id"] == link_id, "one link for the same VPC and subnets"
    assert b["status"]["resources"]["vpcLinkSecurityGroupId"] == group_id
    (link,) = [x for x in vpc_links_v2(emulator.endpoint_url) if x["VpcLinkId"] == link_id]
    key = link["Tags"][KEY_TAG]
    assert len(_links_of(emulator.endpoint_url, key)) == 1
    assert _users(link) == {a["metadata"]["uid"], b["metadata"]["uid"]}
    assert link["Tags"][USER_TAG_PREFIX + a["metadata"]["uid"]] == f"{namespace}/shared-a"

    _delete(cluster, namespace, "shared-a")
    (kept,) = _links_of(emulator.endpoint_url, key)
    assert kept["VpcLinkId"] == link_id and kept["VpcLinkStatus"] == "AVAILABLE"
    assert _users(kept) == {b["metadata"]["uid"]}
    assert _group_exists(emulator.endpoint_url, group_id)
    wait_ready(cluster, namespace, "shared-b")  # the other one is not disturbed

    _delete(cluster, namespace, "shared-b")
    wait_until(lambda: not _links_of(emulator.endpoint_url, key), timeout=60, what="the V2 link deleted")
    wait_until(lambda: not _group_exists(emulator.endpoint_url, group_id), timeout=60,
               what="the link's security group deleted")
    for body in (a, b):
        assert counts(inventory(emulator.endpoint_url, body["metadata"]["uid"], account.hosted_zone_id,
                                body["spec"]["frontDoor"]["hostname"])) == NOTHING
