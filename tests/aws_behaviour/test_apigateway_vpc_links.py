"""API Gateway REST VPC links: PENDING -> AVAILABLE / FAILED, asynchronous deletion, validation
(catalogue: docs/aws-behaviour.md, "API Gateway VPC links")."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import TAG_KEY, Aws, Cleanup, error_of, load_balancer, network, wait_active

pytestmark = pytest.mark.slow_on_aws

READY = "Your vpc link is ready for use"
NLB_NOT_ACTIVE = (
    "NLB is not in active state. If you recently created this NLB, please wait for it to become active and try again."
)


def vpc_link(aws: Aws, cleanup: Cleanup, target: str) -> dict[str, Any]:
    apigw = aws.client("apigateway")
    answer = apigw.create_vpc_link(name=aws.name("link"), targetArns=[target], tags={TAG_KEY: aws.run})
    link_id = answer["id"]

    def delete() -> None:
        apigw.delete_vpc_link(vpcLinkId=link_id)
        aws.wait(lambda: status(apigw, link_id) == "gone", emulated=20, real=1200, what=f"VPC link {link_id} gone")

    cleanup.add(f"VPC link {link_id}", delete)
    return dict(answer)


def status(apigw: Any, link_id: str) -> str:
    try:
        return str(apigw.get_vpc_link(vpcLinkId=link_id)["status"])
    except ClientError as err:
        if err.response["Error"]["Code"] == "NotFoundException":
            return "gone"
        raise


def test_vpc_link_pending_then_available__localstack_snapshot_apigateway_vpc_link_lifecycle(
    aws: Aws, cleanup: Cleanup
) -> None:
    """CreateVpcLink to an active NLB answers 202 ``PENDING`` (no statusMessage); GetVpcLink later
    answers ``AVAILABLE`` with statusMessage "Your vpc link is ready for use".

    Source: LocalStack snapshot ``tests/aws/services/apigateway/test_apigateway_api.snapshot.json``,
    ``TestApiGatewayVpcLink::test_vpc_link_lifecycle`` (recorded against AWS, 15-12-2025); API
    Gateway API reference, ``VpcLink`` (status ``AVAILABLE | PENDING | DELETING | FAILED``).
    """
    net = network(aws, cleanup)
    nlb = load_balancer(aws, cleanup, net, "network", "vpcl")["LoadBalancerArn"]
    wait_active(aws, nlb)
    created = vpc_link(aws, cleanup, nlb)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["status"] == "PENDING" and "statusMessage" not in created
    assert created["targetArns"] == [nlb]
    apigw = aws.client("apigateway")
    aws.wait(lambda: status(apigw, created["id"]) != "PENDING", emulated=20, real=1200, what="VPC link settled")
    link = apigw.get_vpc_link(vpcLinkId=created["id"])
    assert (link["status"], link["statusMessage"]) == ("AVAILABLE", READY)
    listed = {item["id"]: item for item in apigw.get_vpc_links()["items"]}
    assert listed[created["id"]]["status"] == "AVAILABLE"


def test_vpc_link_to_an_nlb_not_yet_active_fails__cloudformation_coverage_roadmap_1951(
    aws: Aws, cleanup: Cleanup
) -> None:
    """A VPC link created while its NLB is still ``provisioning`` ends ``FAILED`` with statusMessage
    "NLB is not in active state. If you recently created this NLB, please wait for it to become
    active and try again."

    Source (weaker: AWS's message relayed by CloudFormation): aws-cloudformation/
    cloudformation-coverage-roadmap #1951; hashicorp/terraform-provider-aws #10405 ("unexpected state
    'FAILED', wanted target 'AVAILABLE'").
    """
    net = network(aws, cleanup)
    created_lb = load_balancer(aws, cleanup, net, "network", "young")
    assert created_lb["State"]["Code"] == "provisioning"
    link = vpc_link(aws, cleanup, created_lb["LoadBalancerArn"])
    assert link["status"] == "PENDING"
    apigw = aws.client("apigateway")
    aws.wait(lambda: status(apigw, link["id"]) != "PENDING", emulated=20, real=1200, what="VPC link settled")
    failed = apigw.get_vpc_link(vpcLinkId=link["id"])
    assert (failed["status"], failed["statusMessage"]) == ("FAILED", NLB_NOT_ACTIVE)


def test_vpc_link_to_an_alb_fails__terraform_provider_aws_30910(aws: Aws, cleanup: Cleanup) -> None:
    """A VPC link whose target is an Application Load Balancer ends ``FAILED`` "NLB ARN is malformed".

    Source (weaker): hashicorp/terraform-provider-aws #30910 ("waiting for completion: FAILED: NLB ARN
    is malformed").
    """
    net = network(aws, cleanup)
    alb = load_balancer(aws, cleanup, net, "application", "alb")["LoadBalancerArn"]
    wait_active(aws, alb)
    link = vpc_link(aws, cleanup, alb)
    apigw = aws.client("apigateway")
    aws.wait(lambda: status(apigw, link["id"]) != "PENDING", emulated=20, real=1200, what="VPC link settled")
    failed = apigw.get_vpc_link(vpcLinkId=link["id"])
    assert (failed["status"], failed["statusMessage"]) == ("FAILED", "NLB ARN is malformed")


def test_vpc_link_deletion_takes_time__localstack_snapshot_apigateway_vpc_link_lifecycle(
    aws: Aws, cleanup: Cleanup
) -> None:
    """DeleteVpcLink answers 202; the link is ``DELETING`` for a while (and still holds its NLB: the
    NLB cannot be deleted, ``ResourceInUse``), then GetVpcLink answers ``NotFoundException`` 404
    "Invalid Vpc Link identifier specified".

    Source: LocalStack snapshot ``apigateway/test_apigateway_api.snapshot.json``,
    ``TestApiGatewayVpcLink::test_vpc_link_lifecycle`` (delete 202) and ``test_get_vpc_link_invalid_id``
    (404 message); API reference ``VpcLink`` (``DELETING``). That a DELETING link still holds the NLB
    is weaker (LocalStack's test polls for the deletion before deleting the NLB; ELB DeleteLoadBalancer
    ``ResourceInUse``).
    """
    net = network(aws, cleanup)
    nlb = load_balancer(aws, cleanup, net, "network", "del")["LoadBalancerArn"]
    wait_active(aws, nlb)
    link = vpc_link(aws, cleanup, nlb)
    apigw = aws.client("apigateway")
    aws.wait(lambda: status(apigw, link["id"]) == "AVAILABLE", emulated=20, real=1200, what="AVAILABLE")
    deleted = apigw.delete_vpc_link(vpcLinkId=link["id"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    now = status(apigw, link["id"])
    assert now in ("DELETING", "gone")
    if not aws.real:  # the emulator's deletion delay is on by default
        assert now == "DELETING"
        with pytest.raises(ClientError) as in_use:
            aws.client("elbv2", retries=False).delete_load_balancer(LoadBalancerArn=nlb)
        assert error_of(in_use)[:2] == ("ResourceInUse", 400)
    aws.wait(lambda: status(apigw, link["id"]) == "gone", emulated=20, real=1200, what="VPC link gone")
    with pytest.raises(ClientError) as gone:
        apigw.get_vpc_link(vpcLinkId=link["id"])
    assert error_of(gone) == ("NotFoundException", 404, "Invalid Vpc Link identifier specified")


def test_create_vpc_link_validation__localstack_snapshot_apigateway_create_vpc_link_invalid_parameters(
    aws: Aws,
) -> None:
    """CreateVpcLink refuses a target that is not an ARN (``BadRequestException`` 400 "Invalid ARN. ARN
    is not well formed <arn>") and an empty name (400 "Name cannot be empty").

    Source: LocalStack snapshot ``apigateway/test_apigateway_api.snapshot.json``,
    ``TestApiGatewayVpcLink::test_create_vpc_link_invalid_parameters``.
    """
    apigw = aws.client("apigateway")
    with pytest.raises(ClientError) as bad_arn:
        apigw.create_vpc_link(name=aws.name("bad"), targetArns=["invalid-arn"])
    assert error_of(bad_arn) == ("BadRequestException", 400, "Invalid ARN. ARN is not well formed invalid-arn")
    with pytest.raises(ClientError) as no_name:
        apigw.create_vpc_link(name="", targetArns=["invalid-arn"])
    assert error_of(no_name)[:2] == ("BadRequestException", 400)
    assert "Name cannot be empty" in error_of(no_name)[2] or "Invalid ARN" in error_of(no_name)[2]
