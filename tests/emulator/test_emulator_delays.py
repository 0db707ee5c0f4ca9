"""The delay settings (control API) and what waits for them; ACM validation by DNS.

The behaviours themselves, with their AWS sources, are pinned in ``tests/aws_behaviour``."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hybrid_gateway_devenv.emulator import EmulatorControl
from hybrid_gateway_devenv.emulator.delays import DEFAULTS

from .helpers import create_nlb, public_zone, upsert_validation_record, validation_record, wait_for

DELAY = 1.0


def lb_state(elbv2: Any, arn: str) -> str:
    return str(elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"])


def cert_status(acm: Any, arn: str) -> str:
    return str(acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"])


def test_delays_are_on_by_default_and_said_off_explicitly(ctl: EmulatorControl) -> None:
    defaults = ctl.delays()
    assert defaults == DEFAULTS
    assert all(value > 0 for value in defaults.values())
    changed = ctl.set_delays(deletion=0.5, health_check=0.25)
    assert changed == {**DEFAULTS, "deletionSeconds": 0.5, "healthCheckSeconds": 0.25}
    ctl.set_provisioning_delay(7)
    assert ctl.delays()["provisioningSeconds"] == 7
    ctl.set_instant_aws()
    assert set(ctl.delays().values()) == {0.0}
    ctl.restore_delays()
    assert ctl.delays() == DEFAULTS
    ctl.set_instant_aws()
    ctl.reset()
    assert ctl.delays() == DEFAULTS


@pytest.mark.parametrize(
    "payload", [{}, {"provisioningSeconds": -1}, {"meteorSeconds": 1}, {"healthCheckSeconds": "soon"}]
)
def test_invalid_delay_settings_are_refused(emulator_server: Any, payload: dict[str, Any]) -> None:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{emulator_server.endpoint_url}/_emulator/delays",
        data=json.dumps(payload).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400


def test_instant_aws_makes_resources_ready_at_once(ctl: EmulatorControl, apigw: Any, ec2: Any, elbv2: Any) -> None:
    ctl.set_instant_aws()
    arn = create_nlb(ec2, elbv2)
    assert lb_state(elbv2, arn) == "active"
    link = apigw.create_vpc_link(name="l", targetArns=[arn])
    assert link["status"] == "AVAILABLE"
    assert apigw.get_vpc_link(vpcLinkId=link["id"])["status"] == "AVAILABLE"
    apigw.delete_vpc_link(vpcLinkId=link["id"])
    with pytest.raises(ClientError):
        apigw.get_vpc_link(vpcLinkId=link["id"])
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def test_provisioning_delay_setting_is_what_resources_wait(
    ctl: EmulatorControl, apigw: Any, ec2: Any, elbv2: Any
) -> None:
    ctl.set_provisioning_delay(DELAY)
    started = time.monotonic()
    arn = create_nlb(ec2, elbv2)
    assert lb_state(elbv2, arn) == "provisioning"
    assert elbv2.describe_load_balancers()["LoadBalancers"][0]["State"]["Code"] == "provisioning"
    wait_for(lambda: lb_state(elbv2, arn) == "active", timeout=5)
    assert time.monotonic() - started >= DELAY - 0.05
    link_id = apigw.create_vpc_link(name="l", targetArns=[arn])["id"]
    assert apigw.get_vpc_link(vpcLinkId=link_id)["status"] == "PENDING"
    assert [v["status"] for v in apigw.get_vpc_links()["items"]] == ["PENDING"]
    wait_for(lambda: apigw.get_vpc_link(vpcLinkId=link_id)["status"] == "AVAILABLE", timeout=5)


def test_vpc_link_to_a_missing_load_balancer_fails(ctl: EmulatorControl, apigw: Any) -> None:
    ctl.set_provisioning_delay(0.2)
    arn = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/net/nope/0123456789abcdef"
    link = apigw.create_vpc_link(name="bad", targetArns=[arn])
    assert link["status"] == "PENDING"
    wait_for(lambda: apigw.get_vpc_link(vpcLinkId=link["id"])["status"] == "FAILED", timeout=5)
    assert arn in apigw.get_vpc_link(vpcLinkId=link["id"])["statusMessage"]


def test_certificate_waits_for_its_dns_record(ctl: EmulatorControl, acm: Any, route53: Any) -> None:
    arn = acm.request_certificate(
        DomainName="api.example.com", SubjectAlternativeNames=["api.example.com"], ValidationMethod="DNS"
    )["CertificateArn"]
    described = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert described["Status"] == "PENDING_VALIDATION"
    assert "NotAfter" not in described and "IssuedAt" not in described
    [option] = described["DomainValidationOptions"]
    assert option["ValidationStatus"] == "PENDING_VALIDATION"
    record = option["ResourceRecord"]
    assert record["Type"] == "CNAME" and record["Name"].endswith("api.example.com.") and record["Value"]

    # A record in a private zone, or a different value, does not validate.
    private = route53.create_hosted_zone(
        Name="example.com",
        CallerReference="private",
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": "ap-northeast-1", "VPCId": "vpc-12345678"},
    )["HostedZone"]["Id"].split("/")[-1]
    upsert_validation_record(route53, private, record)
    zone = public_zone(route53)
    upsert_validation_record(route53, zone, {**record, "Value": "_wrong.acm-validations.aws."})
    assert cert_status(acm, arn) == "PENDING_VALIDATION"

    ctl.set_provisioning_delay(DELAY)
    upsert_validation_record(route53, zone, record)
    appeared = time.monotonic()
    assert cert_status(acm, arn) == "PENDING_VALIDATION"
    wait_for(lambda: cert_status(acm, arn) == "ISSUED", timeout=5)
    assert time.monotonic() - appeared >= DELAY - 0.05
    issued = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert issued["DomainValidationOptions"][0]["ValidationStatus"] == "SUCCESS"
    assert issued["NotAfter"] > issued["NotBefore"]
    assert [
        c["CertificateArn"] for c in acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]
    ] == [arn]


def test_certificate_never_issues_without_its_record(ctl: EmulatorControl, acm: Any, route53: Any) -> None:
    ctl.set_provisioning_delay(0.2)
    arn = acm.request_certificate(DomainName="www.example.org", ValidationMethod="DNS")["CertificateArn"]
    public_zone(route53, "example.org")
    time.sleep(0.4)
    assert cert_status(acm, arn) == "PENDING_VALIDATION"


def test_certificate_issues_at_once_with_instant_aws(ctl: EmulatorControl, acm: Any, route53: Any) -> None:
    ctl.set_instant_aws()
    arn = acm.request_certificate(DomainName="api.example.com", ValidationMethod="DNS")["CertificateArn"]
    zone = public_zone(route53)
    assert cert_status(acm, arn) == "PENDING_VALIDATION"
    upsert_validation_record(route53, zone, validation_record(acm, arn))
    assert cert_status(acm, arn) == "ISSUED"
