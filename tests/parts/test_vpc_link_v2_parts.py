"""The shared VPC link V2 and its security group (parts/vpc_link_v2.py), against the in-process emulator.

Each test uses its own VPC and subnets, so its link key is its own: links of other tests never count.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from tests.parts.conftest import REGION
from tests.parts.contract import Recorder

from hybrid_gateway.aws import AwsClients
from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.errors import RetryLater
from hybrid_gateway.parts.base import Observed, PartContext
from hybrid_gateway.parts.vpc_link import DELETING, FAILED
from hybrid_gateway.parts.vpc_link_v2 import (
    KEY_TAG,
    STATUS_FAILED,
    LinkSecurityGroup,
    LinkSecurityGroupDesired,
    VpcLinkV2Desired,
    VpcLinkV2Part,
    VpcLinkV2State,
    diff,
    index_of,
    link_key,
    link_name,
    user_tag,
)

AWS = AwsClients(max_attempts=2, rate_limits={"apigateway": 1000.0, "apigatewayv2": 1000.0, "ec2": 1000.0})


def test_link_key_ignores_subnet_order_and_names_carry_the_index() -> None:
    assert link_key("vpc-1", ("subnet-b", "subnet-a")) == link_key("vpc-1", ("subnet-a", "subnet-b"))
    assert link_key("vpc-1", ("subnet-a",)) != link_key("vpc-2", ("subnet-a",))
    key = link_key("vpc-1", ("subnet-a",))
    assert [index_of(link_name(key, i), key) for i in (1, 2, 3)] == [1, 2, 3]
    assert index_of("someone-else", key) == 0


def _state(**changes: Any) -> Observed[VpcLinkV2State]:
    base: dict[str, Any] = dict(name="n", key=link_key("vpc-1", ("s1", "s2")), status="AVAILABLE", status_message="",
                                subnet_ids=("s1", "s2"), security_group_ids=("sg-1",), users={user_tag("u1"): "a/b"})
    return Observed(id="l1", state=VpcLinkV2State(**{**base, **changes}))


@pytest.mark.parametrize(
    ("reason", "observed", "expected"),
    [
        ("a link this HybridApi uses, of its key: nothing", _state(), []),
        ("not joined yet: its user tag", _state(users={}), ["user"]),
        ("another key (subnets changed): another link", _state(key="other"), ["key"]),
        ("another security group: another link", _state(security_group_ids=("sg-2",)), ["key"]),
        ("FAILED never recovers: another link", _state(status=FAILED), [STATUS_FAILED]),
    ],
)
def test_vpc_link_v2_diff(reason: str, observed: Observed[VpcLinkV2State], expected: list[str]) -> None:
    assert diff(VpcLinkV2Desired("vpc-1", ("s2", "s1"), "sg-1", "u1", "a/b"), observed) == expected, reason


@pytest.fixture()
def network(emulator_endpoint: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = tuple(ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{REGION}{z}")
                    ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "c")))
    yield vpc, subnets


def _ctx(name: str) -> PartContext:
    return PartContext(aws=AWS, region=REGION, owner=Owner("HybridApi", "team-a", name, uid=str(uuid.uuid4())))


def _desired(ctx: PartContext, vpc: str, subnets: tuple[str, ...], group: str, **kw: Any) -> VpcLinkV2Desired:
    return VpcLinkV2Desired(vpc, subnets, group, ctx.owner.uid, f"{ctx.owner.namespace}/{ctx.owner.name}", **kw)


def _raw() -> Any:
    return boto3.client("apigatewayv2", region_name=REGION)


def test_two_users_share_one_link_the_last_one_deletes_it_and_then_its_security_group(
        network: tuple[str, tuple[str, ...]]) -> None:
    vpc, subnets = network
    a, b = _ctx("orders"), _ctx("billing")
    sg_part, link = LinkSecurityGroup(), VpcLinkV2Part()
    rec = Recorder().attach(a, "ec2", "apigatewayv2")

    group = sg_part.ensure(a, LinkSecurityGroupDesired(vpc, subnets), None)
    assert group.action == "Created" and rec.writes() == ["CreateSecurityGroup"]
    made = link.ensure(a, _desired(a, vpc, subnets, group.observed.id), None)
    assert made.action == "Created" and rec.writes()[-1] == "CreateVpcLink"
    created = rec.params("CreateVpcLink")[0]
    assert created["SecurityGroupIds"] == [group.observed.id] and sorted(created["SubnetIds"]) == sorted(subnets)
    assert created["Tags"][KEY_TAG] == link_key(vpc, subnets)
    assert created["Tags"][user_tag(a.owner.uid)] == "team-a/orders"
    assert created["Name"] == link_name(link_key(vpc, subnets), 1)

    # The second HybridApi of the same VPC and subnets finds the group and the link (by key, not by owner) and
    # joins with one TagResource; the subnets in another order are the same key.
    rec_b = Recorder().attach(b, "ec2", "apigatewayv2")
    same_group = sg_part.ensure(b, LinkSecurityGroupDesired(vpc, tuple(reversed(subnets))), None)
    joined = link.ensure(b, _desired(b, vpc, tuple(reversed(subnets)), same_group.observed.id), None)
    assert same_group.observed.id == group.observed.id and same_group.action is None
    assert joined.observed.id == made.observed.id and joined.action == "Updated" and joined.changes == ["user"]
    assert rec_b.writes() == ["TagResource"]
    assert set(joined.observed.state.users) == {user_tag(a.owner.uid), user_tag(b.owner.uid)}

    # Steady: no write.
    rec_b.clear()
    again = link.ensure(b, _desired(b, vpc, subnets, group.observed.id), joined.observed.id)
    assert again.action is None and rec_b.writes() == []

    # The first leaves: untagged, the link stays for the second; its security group stays too.
    rec.clear()
    assert link.remove(a, made.observed.id) is None  # kept: not deleted
    assert sg_part.remove(a, group.observed.id) is None
    assert rec.writes() == ["UntagResource"]
    left = _raw().get_vpc_link(VpcLinkId=made.observed.id)
    assert user_tag(a.owner.uid) not in left["Tags"] and user_tag(b.owner.uid) in left["Tags"]

    # The second leaves: it was the last user, the link goes; the group waits for it to be gone.
    rec_b.clear()
    assert link.remove(b, made.observed.id) == made.observed.id
    assert rec_b.writes() == ["UntagResource", "DeleteVpcLink"]
    remaining = [x for x in _raw().get_vpc_links()["Items"] if x["VpcLinkId"] == made.observed.id]
    if remaining:  # the emulator keeps a deleted link DELETING for a while (docs/aws-behaviour.md)
        assert remaining[0]["VpcLinkStatus"] == DELETING
        with pytest.raises(RetryLater):
            sg_part.remove(b, group.observed.id)
        _wait_gone(made.observed.id)
    assert sg_part.remove(b, group.observed.id) == group.observed.id
    assert not boto3.client("ec2", region_name=REGION).describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [group.observed.id]}])["SecurityGroups"]


def _wait_gone(link_id: str) -> None:
    import time  # the emulator's deletion delay (instant here, but the contract allows one)
    for _ in range(100):
        if not any(x["VpcLinkId"] == link_id for x in _raw().get_vpc_links()["Items"]):
            return
        time.sleep(0.1)
    raise AssertionError(f"VPC link {link_id} still listed")


def test_a_full_link_opens_a_second_one_of_the_same_key(network: tuple[str, tuple[str, ...]]) -> None:
    vpc, subnets = network
    users = [_ctx(f"api-{n}") for n in range(3)]
    group = LinkSecurityGroup().ensure(users[0], LinkSecurityGroupDesired(vpc, subnets), None).observed.id
    link = VpcLinkV2Part()
    first = link.ensure(users[0], _desired(users[0], vpc, subnets, group, max_users=2), None).observed
    second = link.ensure(users[1], _desired(users[1], vpc, subnets, group, max_users=2), None).observed
    third = link.ensure(users[2], _desired(users[2], vpc, subnets, group, max_users=2), None).observed
    assert second.id == first.id and third.id != first.id
    key = link_key(vpc, subnets)
    assert third.state.name == link_name(key, 2) and set(third.state.users) == {user_tag(users[2].owner.uid)}


def test_a_deleting_link_is_not_joined(network: tuple[str, tuple[str, ...]]) -> None:
    vpc, subnets = network
    a, b = _ctx("orders"), _ctx("billing")
    group = LinkSecurityGroup().ensure(a, LinkSecurityGroupDesired(vpc, subnets), None).observed.id
    link = VpcLinkV2Part()
    old = link.ensure(a, _desired(a, vpc, subnets, group), None).observed
    _raw().delete_vpc_link(VpcLinkId=old.id)  # out of band: AWS is deleting it (or it is gone)
    fresh = link.ensure(b, _desired(b, vpc, subnets, group), None)
    assert fresh.action == "Created" and fresh.observed.id != old.id
    listed = {x["VpcLinkId"]: x for x in _raw().get_vpc_links()["Items"]}
    if old.id in listed:  # still DELETING: the new one took the next index
        assert fresh.observed.state.name == link_name(link_key(vpc, subnets), 2)
    # The first HybridApi's link is gone for it too: it joins the new one rather than keep the old id.
    moved = link.ensure(a, _desired(a, vpc, subnets, group), old.id)
    assert moved.observed.id == fresh.observed.id and moved.changes == ["user"]
