"""Deletes AWS refuses while something uses the resource; reset of all emulated state."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from hybrid_gateway_devenv.emulator import EmulatorControl
from hybrid_gateway_devenv.emulator.delays import DEFAULTS

from .helpers import create_nlb, imported_certificate, network

# refusals, not timing: instant AWS, no quotas.
pytestmark = pytest.mark.usefixtures("instant_aws")


def test_load_balancer_used_by_a_vpc_link_cannot_be_deleted(apigw: Any, ec2: Any, elbv2: Any) -> None:
    arn = create_nlb(ec2, elbv2)
    link_id = apigw.create_vpc_link(name="l", targetArns=[arn])["id"]
    with pytest.raises(ClientError) as in_use:
        elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert in_use.value.response["Error"]["Code"] == "ResourceInUse"
    assert in_use.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1
    apigw.delete_vpc_link(vpcLinkId=link_id)
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def test_certificate_used_by_a_listener_cannot_be_deleted(acm: Any, ec2: Any, elbv2: Any) -> None:
    cert = imported_certificate(acm, "backend.example.com")
    vpc_id, subnets = network(ec2)
    alb = elbv2.create_load_balancer(Name="alb", Subnets=subnets, Scheme="internal")["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="tg", Protocol="HTTPS", Port=443, VpcId=vpc_id, TargetType="ip")
    listener = elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": cert}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroups"][0]["TargetGroupArn"]}],
    )["Listeners"][0]
    assert acm.describe_certificate(CertificateArn=cert)["Certificate"]["InUseBy"] == [alb["LoadBalancerArn"]]
    with pytest.raises(ClientError) as in_use:
        acm.delete_certificate(CertificateArn=cert)
    assert in_use.value.response["Error"]["Code"] == "ResourceInUseException"
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    acm.delete_certificate(CertificateArn=cert)
    assert acm.list_certificates()["CertificateSummaryList"] == []


def test_reset_forgets_everything(ctl: EmulatorControl, apigw: Any, acm: Any) -> None:
    apigw.create_rest_api(name="a")
    cert_id = apigw.generate_client_certificate()["clientCertificateId"]
    acm.request_certificate(DomainName="api.example.com", ValidationMethod="DNS")
    ctl.set_faults(latency_ms=1)
    ctl.set_provisioning_delay(30)
    ctl.set_quotas(time_scale=1)
    ctl.set_target_health("10.0.0.1", "unhealthy")
    ctl.set_test_invoke_response(418)
    assert ctl.count() == 3

    ctl.reset()
    assert ctl.requests() == []
    assert apigw.get_rest_apis()["items"] == []
    assert apigw.get_client_certificates()["items"] == []
    with pytest.raises(ClientError):
        apigw.get_client_certificate(clientCertificateId=cert_id)
    assert acm.list_certificates()["CertificateSummaryList"] == []
    assert ctl.delays() == DEFAULTS  # the 30 s delay is gone, and so is instant_aws
    assert (ctl.quotas()["enabled"], ctl.quotas()["timeScale"]) == (True, 10.0)
    assert ctl.target_health_rules() == []
    assert [e["fault"] for e in ctl.requests()] == [None] * 4


def test_load_balancer_and_target_group_creation_is_idempotent(ec2: Any, elbv2: Any) -> None:
    vpc_id, subnets = network(ec2)
    first = elbv2.create_load_balancer(Name="nlb", Subnets=subnets, Type="network", Scheme="internal")
    again = elbv2.create_load_balancer(Name="nlb", Subnets=subnets, Type="network", Scheme="internal")
    arn = first["LoadBalancers"][0]["LoadBalancerArn"]
    assert again["LoadBalancers"][0]["LoadBalancerArn"] == arn
    assert ":loadbalancer/net/nlb/" in arn
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1
    with pytest.raises(ClientError) as clash:
        elbv2.create_load_balancer(Name="nlb", Subnets=subnets, Scheme="internal")
    assert clash.value.response["Error"]["Code"] == "DuplicateLoadBalancerName"

    group = {"Name": "tg", "Protocol": "TCP", "Port": 443, "VpcId": vpc_id, "TargetType": "ip"}
    tg = elbv2.create_target_group(**group)["TargetGroups"][0]["TargetGroupArn"]
    assert elbv2.create_target_group(**group)["TargetGroups"][0]["TargetGroupArn"] == tg
    with pytest.raises(ClientError) as tg_clash:
        elbv2.create_target_group(**{**group, "Port": 8443})
    assert tg_clash.value.response["Error"]["Code"] == "DuplicateTargetGroupName"


def test_ip_targets_outside_the_vpc_need_availability_zone_all(ec2: Any, elbv2: Any) -> None:
    vpc_id, _ = network(ec2)
    tg = elbv2.create_target_group(Name="onprem", Protocol="TCP", Port=443, VpcId=vpc_id, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    with pytest.raises(ClientError) as no_zone:
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "192.168.10.5", "Port": 443}])
    assert no_zone.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as public_ip:
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "8.8.8.8", "Port": 443, "AvailabilityZone": "all"}])
    assert public_ip.value.response["Error"]["Code"] == "ValidationError"
    elbv2.register_targets(
        TargetGroupArn=tg,
        Targets=[{"Id": "192.168.10.5", "Port": 443, "AvailabilityZone": "all"}, {"Id": "10.30.1.9", "Port": 443}],
    )
    health = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    assert sorted((h["Target"]["Id"], h["Target"].get("AvailabilityZone")) for h in health) == [
        ("10.30.1.9", None),
        ("192.168.10.5", "all"),
    ]
