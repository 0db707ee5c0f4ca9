"""Refusals and idempotent creates the operator relies on (catalogue: docs/aws-behaviour.md,
"Refusals and idempotency")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import Aws, Cleanup, error_of, import_certificate, load_balancer, network, wait_active


def test_certificate_in_use_cannot_be_deleted__acm_api_reference_delete_certificate(aws: Aws, cleanup: Cleanup) -> None:
    """DeleteCertificate of a certificate an ALB listener uses is refused with
    ``ResourceInUseException`` (400), and DescribeCertificate lists the load balancer in ``InUseBy``.

    Source: ACM API reference, ``DeleteCertificate`` ("You cannot delete an ACM certificate that is
    being used by another AWS service"; error ResourceInUseException) and ``CertificateDetail``
    (``InUseBy``: "A list of ARNs for the AWS resources that are using the certificate").
    """
    net = network(aws, cleanup)
    cert = import_certificate(aws, cleanup, f"{aws.run}-inuse.example.com")
    alb = load_balancer(aws, cleanup, net, "application", "inuse")["LoadBalancerArn"]
    elbv2 = aws.client("elbv2")
    group = elbv2.create_target_group(
        Name=aws.name("tg"), Protocol="HTTPS", Port=443, VpcId=net.vpc_id, TargetType="ip", Tags=aws.tags()
    )["TargetGroups"][0]["TargetGroupArn"]
    cleanup.add("target group", lambda: elbv2.delete_target_group(TargetGroupArn=group))
    listener = elbv2.create_listener(
        LoadBalancerArn=alb,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": cert}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )["Listeners"][0]["ListenerArn"]
    cleanup.add("listener", lambda: elbv2.delete_listener(ListenerArn=listener))
    acm = aws.client("acm")
    aws.wait(
        lambda: acm.describe_certificate(CertificateArn=cert)["Certificate"]["InUseBy"] == [alb],
        emulated=5,
        real=300,
        what="InUseBy",
    )
    with pytest.raises(ClientError) as in_use:
        aws.client("acm", retries=False).delete_certificate(CertificateArn=cert)
    assert error_of(in_use)[:2] == ("ResourceInUseException", 400)


def test_ip_targets_outside_the_vpc_need_availability_zone_all__elb_api_reference_target_description(
    aws: Aws, cleanup: Cleanup
) -> None:
    """An IP target outside the target group's VPC must be registered with ``AvailabilityZone: all``
    and a private (RFC 1918 / RFC 6598) address; otherwise ``ValidationError`` (400).

    Source: ELB API reference, ``TargetDescription`` (AvailabilityZone: "If the IP address is outside
    the VPC, this parameter is required ... the only supported value is all") and ``RegisterTargets``
    ("specify IP addresses from the subnets of the virtual private cloud (VPC) for the target group,
    the RFC 1918 range ... and the RFC 6598 range (100.64.0.0/10). You can't specify publicly routable
    IP addresses").
    """
    net = network(aws, cleanup)
    elbv2 = aws.client("elbv2")
    group = elbv2.create_target_group(
        Name=aws.name("onprem"), Protocol="TCP", Port=443, VpcId=net.vpc_id, TargetType="ip", Tags=aws.tags()
    )["TargetGroups"][0]["TargetGroupArn"]
    cleanup.add("target group", lambda: elbv2.delete_target_group(TargetGroupArn=group))
    once = aws.client("elbv2", retries=False)
    with pytest.raises(ClientError) as no_zone:
        once.register_targets(TargetGroupArn=group, Targets=[{"Id": "192.168.10.5", "Port": 443}])
    assert error_of(no_zone)[:2] == ("ValidationError", 400)
    with pytest.raises(ClientError) as public:
        once.register_targets(TargetGroupArn=group, Targets=[{"Id": "8.8.8.8", "Port": 443, "AvailabilityZone": "all"}])
    assert error_of(public)[:2] == ("ValidationError", 400)
    elbv2.register_targets(
        TargetGroupArn=group, Targets=[{"Id": "192.168.10.5", "Port": 443, "AvailabilityZone": "all"}]
    )
    cleanup.add(
        "target", lambda: elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": "192.168.10.5", "Port": 443}])
    )
    [described] = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert described["Target"]["AvailabilityZone"] == "all"


def test_create_load_balancer_and_target_group_are_idempotent__elb_api_reference_create_load_balancer(
    aws: Aws, cleanup: Cleanup
) -> None:
    """CreateLoadBalancer / CreateTargetGroup with the name and settings of an existing one answer the
    existing one; the same name with other settings is ``DuplicateLoadBalancerName`` /
    ``DuplicateTargetGroupName``. NLB ARNs have the ``loadbalancer/net/`` segment.

    Source: ELB API reference, ``CreateLoadBalancer`` and ``CreateTargetGroup`` ("This operation is
    idempotent, which means that it completes at most one time. If you attempt to create multiple
    load balancers with the same settings, each call succeeds."; errors DuplicateLoadBalancerName,
    DuplicateTargetGroupName).
    """
    net = network(aws, cleanup)
    first = load_balancer(aws, cleanup, net, "network", "idem")
    elbv2 = aws.client("elbv2")
    again = elbv2.create_load_balancer(
        Name=first["LoadBalancerName"], Subnets=net.subnet_ids, Scheme="internal", Type="network", Tags=aws.tags()
    )["LoadBalancers"][0]
    assert again["LoadBalancerArn"] == first["LoadBalancerArn"]
    assert ":loadbalancer/net/" in first["LoadBalancerArn"]
    with pytest.raises(ClientError) as clash:
        aws.client("elbv2", retries=False).create_load_balancer(
            Name=first["LoadBalancerName"], Subnets=net.subnet_ids, Scheme="internal", Type="application"
        )
    assert error_of(clash)[0] == "DuplicateLoadBalancerName"
    settings = {"Name": aws.name("tg"), "Protocol": "TCP", "Port": 443, "VpcId": net.vpc_id, "TargetType": "ip"}
    group = elbv2.create_target_group(**settings)["TargetGroups"][0]["TargetGroupArn"]
    cleanup.add("target group", lambda: elbv2.delete_target_group(TargetGroupArn=group))
    assert elbv2.create_target_group(**settings)["TargetGroups"][0]["TargetGroupArn"] == group
    with pytest.raises(ClientError) as tg_clash:
        aws.client("elbv2", retries=False).create_target_group(**{**settings, "Port": 8443})
    assert error_of(tg_clash)[0] == "DuplicateTargetGroupName"
    wait_active(aws, first["LoadBalancerArn"])


def test_update_vpc_link_name_in_place_but_not_its_target__localstack_snapshot_apigateway_vpc_link_lifecycle(
    aws: Aws, cleanup: Cleanup
) -> None:
    """UpdateVpcLink ``replace /name`` answers 200 with the new name; a change of ``targetArns`` is
    refused (``BadRequestException`` "Target arns are not allowed to be changed/added.").

    Source: LocalStack snapshot ``apigateway/test_apigateway_api.snapshot.json``,
    ``TestApiGatewayVpcLink::test_vpc_link_lifecycle`` (``update_vpc_link`` patch ``/name`` -> 200);
    hashicorp/terraform-provider-aws PR #2512 (weaker: the targetArns refusal).
    """
    apigw = aws.client("apigateway")
    target = f"arn:aws:elasticloadbalancing:{aws.region}:123456789012:loadbalancer/net/nope/0123456789abcdef"
    if aws.real:
        net = network(aws, cleanup)
        target = load_balancer(aws, cleanup, net, "network", "upd")["LoadBalancerArn"]
    link = apigw.create_vpc_link(name=aws.name("old"), targetArns=[target])["id"]

    def delete() -> None:
        apigw.delete_vpc_link(vpcLinkId=link)

    cleanup.add("VPC link", delete)
    renamed = apigw.update_vpc_link(
        vpcLinkId=link, patchOperations=[{"op": "replace", "path": "/name", "value": "new"}]
    )
    assert renamed["name"] == "new"
    with pytest.raises(ClientError) as refused:
        aws.client("apigateway", retries=False).update_vpc_link(
            vpcLinkId=link, patchOperations=[{"op": "replace", "path": "/targetArns/0", "value": target}]
        )
    assert error_of(refused)[:2] == ("BadRequestException", 400)
