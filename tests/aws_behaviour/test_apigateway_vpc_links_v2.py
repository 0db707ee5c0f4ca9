"""API Gateway VPC links V2 (apigatewayv2), as REST private integrations use them: PENDING ->
AVAILABLE / FAILED, asynchronous deletion, immutable subnets and security groups
(catalogue: docs/aws-behaviour.md, "API Gateway VPC links V2 (REST)")."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import TAG_KEY, Aws, Cleanup, Network, network

pytestmark = pytest.mark.slow_on_aws

PROVISIONING = "VPC link is provisioning ENIs"
READY = "VPC link is ready to route traffic"


def security_group(aws: Aws, cleanup: Cleanup, net: Network, what: str = "link") -> str:
    ec2 = aws.client("ec2")
    group_id = str(
        ec2.create_security_group(GroupName=aws.name(what), Description="VPC link V2 test", VpcId=net.vpc_id)[
            "GroupId"
        ]
    )
    cleanup.add(f"security group {group_id}", lambda: ec2.delete_security_group(GroupId=group_id))
    return group_id


def status(v2: Any, link_id: str) -> str:
    try:
        return str(v2.get_vpc_link(VpcLinkId=link_id)["VpcLinkStatus"])
    except ClientError as err:
        if err.response["Error"]["Code"] == "NotFoundException":
            return "gone"
        raise


def vpc_link_v2(aws: Aws, cleanup: Cleanup, subnets: list[str], groups: list[str]) -> dict[str, Any]:
    v2 = aws.client("apigatewayv2")
    answer = dict(
        v2.create_vpc_link(Name=aws.name("v2"), SubnetIds=subnets, SecurityGroupIds=groups, Tags={TAG_KEY: aws.run})
    )
    link_id = answer["VpcLinkId"]

    def delete() -> None:
        if status(v2, link_id) not in ("gone", "DELETING"):
            v2.delete_vpc_link(VpcLinkId=link_id)
        aws.wait(lambda: status(v2, link_id) == "gone", emulated=20, real=1200, what=f"VPC link {link_id} gone")

    cleanup.add(f"VPC link V2 {link_id}", delete)
    return answer


def test_v2_link_pending_then_available__aws_cli_examples_apigatewayv2_create_vpc_link(
    aws: Aws, cleanup: Cleanup
) -> None:
    """CreateVpcLink answers 201 ``PENDING`` "VPC link is provisioning ENIs", version ``V2``, the
    subnets, security groups and tags; GetVpcLink later answers ``AVAILABLE`` "VPC link is ready to
    route traffic"; GetVpcLinks lists it the same way.

    Source: AWS CLI examples ``awscli/examples/apigatewayv2/create-vpc-link.rst`` and
    ``update-vpc-link.rst`` (real output); API Gateway guide "Set up VPC links V2 in API Gateway"
    ("its state transitions from PENDING to AVAILABLE"); botocore apigatewayv2 model (CreateVpcLink
    responseCode 201).
    """
    net = network(aws, cleanup, "10.197")
    group = security_group(aws, cleanup, net)
    created = vpc_link_v2(aws, cleanup, net.subnet_ids, [group])
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (created["VpcLinkStatus"], created["VpcLinkStatusMessage"]) == ("PENDING", PROVISIONING)
    assert created["VpcLinkVersion"] == "V2"
    assert sorted(created["SubnetIds"]) == sorted(net.subnet_ids) and created["SecurityGroupIds"] == [group]
    assert created["Tags"] == {TAG_KEY: aws.run}
    v2 = aws.client("apigatewayv2")
    aws.wait(lambda: status(v2, created["VpcLinkId"]) != "PENDING", emulated=20, real=900, what="V2 link settled")
    link = v2.get_vpc_link(VpcLinkId=created["VpcLinkId"])
    assert (link["VpcLinkStatus"], link["VpcLinkStatusMessage"]) == ("AVAILABLE", READY)
    listed = {item["VpcLinkId"]: item for item in v2.get_vpc_links()["Items"]}
    assert listed[created["VpcLinkId"]]["VpcLinkStatus"] == "AVAILABLE"


def test_v2_link_deletion_takes_time__terraform_provider_aws_apigatewayv2_wait_vpc_link_deleted(
    aws: Aws, cleanup: Cleanup
) -> None:
    """DeleteVpcLink answers 202; the link is ``DELETING`` for a while, then GetVpcLink answers
    ``NotFoundException`` (404).

    Source: botocore apigatewayv2 model (DeleteVpcLink responseCode 202, NotFoundException);
    [WEAK] hashicorp/terraform-provider-aws ``internal/service/apigatewayv2/vpc_link.go``
    ``waitVPCLinkDeleted`` (pending ``DELETING``, target: gone).
    """
    net = network(aws, cleanup, "10.196")
    group = security_group(aws, cleanup, net)
    created = vpc_link_v2(aws, cleanup, net.subnet_ids, [group])
    v2 = aws.client("apigatewayv2")
    aws.wait(lambda: status(v2, created["VpcLinkId"]) == "AVAILABLE", emulated=20, real=900, what="V2 link up")
    answer = v2.delete_vpc_link(VpcLinkId=created["VpcLinkId"])
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert status(v2, created["VpcLinkId"]) in ("DELETING", "gone")
    aws.wait(lambda: status(v2, created["VpcLinkId"]) == "gone", emulated=20, real=1200, what="V2 link gone")
    with pytest.raises(ClientError) as caught:
        v2.get_vpc_link(VpcLinkId=created["VpcLinkId"])
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_v2_link_names_change_but_subnets_do_not__api_gateway_guide_vpc_links_v2_immutable(
    aws: Aws, cleanup: Cleanup
) -> None:
    """UpdateVpcLink changes the name; the request has no subnet or security group member at all
    ("VPC links V2 are immutable. After you create a VPC link V2, you can't change its subnets or
    security groups").

    Source: API Gateway guide "Set up VPC links V2 in API Gateway"; botocore apigatewayv2 model
    (UpdateVpcLinkRequest: Name, VpcLinkId); AWS CLI example ``update-vpc-link.rst``.
    """
    net = network(aws, cleanup, "10.195")
    group = security_group(aws, cleanup, net)
    created = vpc_link_v2(aws, cleanup, net.subnet_ids, [group])
    v2 = aws.client("apigatewayv2")
    new_name = aws.name("renamed")
    updated = v2.update_vpc_link(VpcLinkId=created["VpcLinkId"], Name=new_name)
    assert updated["Name"] == new_name
    assert updated["SubnetIds"] == created["SubnetIds"] and updated["SecurityGroupIds"] == [group]
    shape = v2.meta.service_model.operation_model("UpdateVpcLink").input_shape
    assert sorted(shape.members) == ["Name", "VpcLinkId"]


def test_v2_link_to_a_security_group_that_does_not_exist_fails__knowledge_center_api_gateway_500_error_vpc(
    aws: Aws, cleanup: Cleanup
) -> None:
    """A V2 link whose security group does not exist ends ``FAILED`` with a status message (the
    message is EC2's "The security group '<id>' does not exist": AWS's own is unpublished, see
    Assumed).

    Source: API reference ``VpcLinkStatus`` (``FAILED``); Knowledge Center "How do I resolve HTTP 500
    errors from API Gateway with VPC link integrations?" (a link in the Failed state must be
    recreated).
    """
    net = network(aws, cleanup, "10.194")
    missing = "sg-0123456789abcdef0"
    created = vpc_link_v2(aws, cleanup, net.subnet_ids, [missing])
    v2 = aws.client("apigatewayv2")
    aws.wait(lambda: status(v2, created["VpcLinkId"]) != "PENDING", emulated=20, real=900, what="V2 link settled")
    link = v2.get_vpc_link(VpcLinkId=created["VpcLinkId"])
    assert link["VpcLinkStatus"] == "FAILED"
    assert link.get("VpcLinkStatusMessage")
