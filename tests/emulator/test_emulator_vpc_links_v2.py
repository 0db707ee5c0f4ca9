"""VPC links V2 (apigatewayv2) and REST integrations over them (``integrationTarget``): answer shapes,
paging, tags, quotas, the refusals of PutIntegration / UpdateIntegration / DeleteVpcLink
(catalogue: docs/aws-behaviour.md, "API Gateway VPC links V2 (REST)")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hybrid_gateway_devenv.emulator import EmulatorControl

from .helpers import REGION, call_raw, network, output_problems, wait_for

ALB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/app/front/0123456789abcdef"
NLB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/net/nlb/0123456789abcdef"


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


@pytest.fixture()
def v2(client: Callable[..., Any]) -> Any:
    return client("apigatewayv2")


def link_network(ec2: Any) -> tuple[str, list[str], str]:
    vpc, subnets = network(ec2)
    group = ec2.create_security_group(GroupName="link", Description="VPC link V2", VpcId=vpc)["GroupId"]
    return vpc, subnets, group


def rest_method(apigw: Any) -> dict[str, str]:
    created = apigw.create_rest_api(name="orders", endpointConfiguration={"types": ["REGIONAL"]})
    root = created["rootResourceId"]
    apigw.put_method(restApiId=created["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
    return {"restApiId": created["id"], "resourceId": root, "httpMethod": "GET"}


def private_integration(apigw: Any, method: dict[str, str], **connection: Any) -> dict[str, Any]:
    return dict(
        apigw.put_integration(
            **method,
            type="HTTP_PROXY",
            integrationHttpMethod="GET",
            uri="https://api.example.com/",
            connectionType="VPC_LINK",
            **connection,
        )
    )


@pytest.mark.usefixtures("instant_aws")
def test_v2_link_answers_follow_the_model_and_page(v2: Any, ec2: Any) -> None:
    """Every answer matches botocore's apigatewayv2 output shapes (lowerCamel wire names, status,
    message, version V2); GetVpcLinks pages with maxResults / nextToken. Source: botocore
    apigatewayv2 model; API reference GetVpcLinks (MaxResults, NextToken)."""
    _, subnets, group = link_network(ec2)
    created, raw = call_raw(v2, "create_vpc_link", Name="a", SubnetIds=subnets, SecurityGroupIds=[group])
    assert output_problems("apigatewayv2", "CreateVpcLink", raw) == []
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert raw["vpcLinkStatus"] == "AVAILABLE" and raw["vpcLinkVersion"] == "V2"
    ids = [created["VpcLinkId"]] + [
        v2.create_vpc_link(Name=f"l{i}", SubnetIds=subnets, SecurityGroupIds=[group])["VpcLinkId"] for i in range(2)
    ]
    _, raw_get = call_raw(v2, "get_vpc_link", VpcLinkId=ids[0])
    assert output_problems("apigatewayv2", "GetVpcLink", raw_get) == []
    first = v2.get_vpc_links(MaxResults="2")
    second = v2.get_vpc_links(MaxResults="2", NextToken=first["NextToken"])
    assert [i["VpcLinkId"] for i in first["Items"] + second["Items"]] == ids and "NextToken" not in second
    with pytest.raises(ClientError) as missing:
        v2.get_vpc_link(VpcLinkId="nosuchid")
    assert error_of(missing)[:2] == ("NotFoundException", 404)


@pytest.mark.usefixtures("instant_aws")
def test_v2_link_validation_failure_and_tags(v2: Any, ec2: Any) -> None:
    """Name and subnets are required (BadRequestException); subnets or security groups that do not
    exist, or in two VPCs, make the link FAILED; tags on the link ARN
    ``arn:aws:apigateway:<region>::/vpclinks/<id>``. Source: botocore apigatewayv2 model (required
    Name, SubnetIds); API reference ``VpcLinkStatus``; API reference TagResource (resource ARN); FAILED
    messages assumed."""
    _, subnets, group = link_network(ec2)
    with pytest.raises(ClientError) as nameless:
        v2.create_vpc_link(Name=" ", SubnetIds=subnets)
    assert error_of(nameless)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as no_subnets:
        v2.create_vpc_link(Name="x", SubnetIds=[])
    assert error_of(no_subnets)[:2] == ("BadRequestException", 400)
    other_vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    foreign = ec2.create_security_group(GroupName="other", Description="other", VpcId=other_vpc)["GroupId"]
    cases = {
        "subnet-0123456789abcdef0": (["subnet-0123456789abcdef0"], [group]),
        "sg-0123456789abcdef0": (subnets, ["sg-0123456789abcdef0"]),
        "one VPC": (subnets, [foreign]),
    }
    for reason, (subnet_ids, group_ids) in cases.items():
        link = v2.create_vpc_link(Name="f", SubnetIds=subnet_ids, SecurityGroupIds=group_ids)
        assert link["VpcLinkStatus"] == "FAILED", reason
        assert reason in link["VpcLinkStatusMessage"], reason
    link_id = v2.create_vpc_link(Name="t", SubnetIds=subnets, SecurityGroupIds=[group], Tags={"a": "1"})["VpcLinkId"]
    arn = f"arn:aws:apigateway:{REGION}::/vpclinks/{link_id}"
    v2.tag_resource(ResourceArn=arn, Tags={"b": "2"})
    v2.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert v2.get_tags(ResourceArn=arn)["Tags"] == {"b": "2"}
    assert v2.get_vpc_link(VpcLinkId=link_id)["Tags"] == {"b": "2"}


def test_v2_link_count_and_rate_quotas(v2: Any, ec2: Any, ctl: EmulatorControl) -> None:
    """10 VPC links V2 per account and Region (LimitExceededException 429, as for the REST quota);
    CreateVpcLink (V2) 1 request every 15 s (TooManyRequestsException 429). Source: API Gateway
    guide "Quotas for configuring and running an HTTP API" ("VPC links per account per Region: 10");
    "Amazon API Gateway quotas" ("CreateVpcLink (V2): 1 request every 15 seconds per account")."""
    ctl.set_instant_aws()
    _, subnets, group = link_network(ec2)
    v2.create_vpc_link(Name="first", SubnetIds=subnets, SecurityGroupIds=[group])
    with pytest.raises(ClientError) as throttled:
        v2.create_vpc_link(Name="second", SubnetIds=subnets, SecurityGroupIds=[group])
    assert error_of(throttled)[:2] == ("TooManyRequestsException", 429)
    ctl.set_quotas(time_scale=100000)  # the rate quota out of the way, the count quota still on
    for index in range(9):
        wait_for(lambda i=index: _created(v2, f"l{i}", subnets, group))
    with pytest.raises(ClientError) as limit:
        wait_for(lambda: _created(v2, "eleventh", subnets, group, retry_on=("TooManyRequestsException",)))
    assert error_of(limit)[:2] == ("LimitExceededException", 429)


def _created(v2: Any, name: str, subnets: list[str], group: str, retry_on: tuple[str, ...] = ()) -> bool:
    try:
        v2.create_vpc_link(Name=name, SubnetIds=subnets, SecurityGroupIds=[group])
    except ClientError as err:
        if err.response["Error"]["Code"] in ("TooManyRequestsException", *retry_on):
            return False
        raise
    return True


@pytest.mark.usefixtures("instant_aws")
def test_integration_target_rules(apigw: Any, v2: Any, ec2: Any) -> None:
    """A V2 link needs ``integrationTarget`` (an ALB or NLB ARN); a V1 link refuses it; GetIntegration
    and GetMethod answer it; UpdateIntegration ``replace /integrationTarget``. Source: API Gateway
    guide "Set up a private integration" (put-integration with --connection-id of a VPC link V2 and
    --integration-target the load balancer ARN); botocore apigateway model (PutIntegrationRequest /
    Integration ``integrationTarget``). Error messages assumed."""
    _, subnets, group = link_network(ec2)
    link = v2.create_vpc_link(Name="v2", SubnetIds=subnets, SecurityGroupIds=[group])["VpcLinkId"]
    method = rest_method(apigw)
    refusals = {
        "no target": {"connectionId": link},
        "not a load balancer": {"connectionId": link, "integrationTarget": "arn:aws:s3:::bucket"},
        "unknown link": {"connectionId": "nosuch", "integrationTarget": ALB_ARN},
    }
    for reason, connection in refusals.items():
        with pytest.raises(ClientError) as refused:
            private_integration(apigw, method, **connection)
        assert error_of(refused)[:2] == ("BadRequestException", 400), reason
    put, raw = call_raw(
        apigw,
        "put_integration",
        **method,
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri="https://api.example.com/",
        connectionType="VPC_LINK",
        connectionId=link,
        integrationTarget=ALB_ARN,
    )
    assert output_problems("apigateway", "PutIntegration", raw) == []
    assert (put["connectionId"], put["integrationTarget"]) == (link, ALB_ARN)
    assert apigw.get_integration(**method)["integrationTarget"] == ALB_ARN
    assert apigw.get_method(**method)["methodIntegration"]["integrationTarget"] == ALB_ARN
    other = ALB_ARN.replace("front", "other")
    updated = apigw.update_integration(
        **method, patchOperations=[{"op": "replace", "path": "/integrationTarget", "value": other}]
    )
    assert updated["integrationTarget"] == other
    with pytest.raises(ClientError) as dropped:
        apigw.update_integration(**method, patchOperations=[{"op": "remove", "path": "/integrationTarget"}])
    assert error_of(dropped)[:2] == ("BadRequestException", 400)
    v1 = apigw.create_vpc_link(name="v1", targetArns=[NLB_ARN])["id"]
    with pytest.raises(ClientError) as v1_target:
        apigw.update_integration(**method, patchOperations=[{"op": "replace", "path": "/connectionId", "value": v1}])
    assert error_of(v1_target)[:2] == ("BadRequestException", 400)
    staged = private_integration(
        apigw, method, connectionId="${stageVariables.vpcLinkV2Id}", integrationTarget=ALB_ARN
    )
    assert staged["connectionId"] == "${stageVariables.vpcLinkV2Id}"


@pytest.mark.usefixtures("instant_aws")
def test_a_v2_link_in_use_cannot_be_deleted(apigw: Any, v2: Any, ec2: Any) -> None:
    """DeleteVpcLink (V2) of a link that REST integrations use: BadRequestException naming them, as
    for V1 (assumed for V2: AWS documents neither); after the integration moves, 202 and gone."""
    _, subnets, group = link_network(ec2)
    link = v2.create_vpc_link(Name="v2", SubnetIds=subnets, SecurityGroupIds=[group])["VpcLinkId"]
    method = rest_method(apigw)
    private_integration(apigw, method, connectionId=link, integrationTarget=ALB_ARN)
    with pytest.raises(ClientError) as in_use:
        v2.delete_vpc_link(VpcLinkId=link)
    code, status, message = error_of(in_use)
    assert (code, status) == ("BadRequestException", 400)
    assert f"{method['restApiId']}/{method['resourceId']}/GET" in message
    apigw.delete_integration(**method)
    assert v2.delete_vpc_link(VpcLinkId=link)["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert [i["VpcLinkId"] for i in v2.get_vpc_links()["Items"]] == []


@pytest.mark.usefixtures("instant_aws")
def test_a_v2_links_security_group_and_subnets_cannot_be_deleted_while_it_lives(v2: Any, ec2: Any) -> None:
    """The link's network interfaces hold its security groups and subnets; a group another group's
    rule references cannot go either: EC2 ``DependencyViolation`` (400) until the link is gone and the
    rule revoked. Source: EC2 API reference ``DeleteSecurityGroup`` ("If you attempt to delete a
    security group that is associated with an instance or network interface, is referenced by another
    security group in the same VPC ... the operation fails with DependencyViolation"); API Gateway guide
    "Set up VPC links V2" (API Gateway creates and manages network interfaces for the link); message
    "resource <id> has a dependent object" as widely reported (weaker)."""
    vpc, subnets, group = link_network(ec2)
    alb_sg = ec2.create_security_group(GroupName="alb", Description="ALB", VpcId=vpc)["GroupId"]
    rule = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": group}]}]
    ec2.authorize_security_group_ingress(GroupId=alb_sg, IpPermissions=rule)
    link = v2.create_vpc_link(Name="v2", SubnetIds=subnets, SecurityGroupIds=[group])["VpcLinkId"]
    for attempt in (
        lambda: ec2.delete_security_group(GroupId=group),
        lambda: ec2.delete_subnet(SubnetId=subnets[0]),
    ):
        with pytest.raises(ClientError) as held:
            attempt()
        assert error_of(held)[:2] == ("DependencyViolation", 400)
    v2.delete_vpc_link(VpcLinkId=link)
    ec2.delete_subnet(SubnetId=subnets[0])
    with pytest.raises(ClientError) as referenced:
        ec2.delete_security_group(GroupId=group)
    assert error_of(referenced)[:2] == ("DependencyViolation", 400)
    ec2.revoke_security_group_ingress(GroupId=alb_sg, IpPermissions=rule)
    ec2.delete_security_group(GroupId=group)


@pytest.mark.usefixtures("instant_aws")
def test_one_update_integration_moves_between_a_v1_and_a_v2_link(apigw: Any, v2: Any, ec2: Any) -> None:
    """UpdateIntegration applies its patch operations together, so one call moves an integration from
    a V1 link to a V2 link (``replace /connectionId`` + ``add /integrationTarget``) and back
    (``replace /connectionId`` + ``remove /integrationTarget``); the rules hold for the result.
    Source: API reference ``UpdateIntegration`` (patchOperations); "Set up a private integration"."""
    _, subnets, group = link_network(ec2)
    link_v2 = v2.create_vpc_link(Name="v2", SubnetIds=subnets, SecurityGroupIds=[group])["VpcLinkId"]
    link_v1 = apigw.create_vpc_link(name="v1", targetArns=[NLB_ARN])["id"]
    method = rest_method(apigw)
    private_integration(apigw, method, connectionId=link_v1)
    moved = apigw.update_integration(
        **method,
        patchOperations=[
            {"op": "replace", "path": "/connectionId", "value": link_v2},
            {"op": "add", "path": "/integrationTarget", "value": ALB_ARN},
        ],
    )
    assert (moved["connectionId"], moved["integrationTarget"]) == (link_v2, ALB_ARN)
    back = apigw.update_integration(
        **method,
        patchOperations=[
            {"op": "replace", "path": "/connectionId", "value": link_v1},
            {"op": "remove", "path": "/integrationTarget"},
        ],
    )
    assert back["connectionId"] == link_v1 and "integrationTarget" not in back
