"""The emulated data plane: TestInvokeMethod carries a request over the VPC link, the NLB and the
ALB (real TLS) to an on-prem backend on loopback (catalogue: docs/aws-behaviour.md, "Data plane")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hybrid_gateway_devenv.emulator import EmulatorControl

from ..onprem_backend import OnPremBackend, onprem_backend  # noqa: F401 (fixture)
from .helpers import imported_certificate, issued_certificate, network, public_zone, wait_for

pytestmark = pytest.mark.usefixtures("instant_aws")
HOST = "api.example.com"
TARGET = "192.168.10.5"


@dataclass
class Chain:
    api_id: str
    resource_id: str
    alb_listener: str
    target_group: str
    cert_id: str
    client_pem: str


def build_chain(
    apigw: Any,
    elbv2: Any,
    ec2: Any,
    acm: Any,
    route53: Any,
    certificate: str | None = None,
    uri_host: str = HOST,
    link_version: str = "V1",
    admit_link: bool = True,
    v2: Any = None,
) -> Chain:
    """REST API -> VPC link -> ALB (HTTPS 443) -> ip target group -> TARGET:443.

    ``link_version`` V1: the seed chain, the link targets an NLB whose TCP listener forwards to an
    alb-type target group. V2: a VPC link V2 in the ALB's subnets with its own security group, the
    integration names the ALB with ``integrationTarget``; the ALB's security group admits the link's
    on 443 unless ``admit_link`` is false ("Set up a private integration"); ``v2`` is then an
    apigatewayv2 client."""
    vpc, subnets = network(ec2)
    alb_group_ids: list[str] = []
    link_group = ""
    if link_version == "V2":
        link_group = ec2.create_security_group(GroupName="link", Description="VPC link V2", VpcId=vpc)["GroupId"]
        alb_sg = ec2.create_security_group(GroupName="alb", Description="ALB", VpcId=vpc)["GroupId"]
        if admit_link:
            ec2.authorize_security_group_ingress(
                GroupId=alb_sg,
                IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": link_group}]}
                ],
            )
        alb_group_ids = [alb_sg]
    alb = elbv2.create_load_balancer(
        Name="alb", Subnets=subnets, Scheme="internal", Type="application", SecurityGroups=alb_group_ids
    )
    alb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"]
    ip_group = elbv2.create_target_group(
        Name="ip", Protocol="HTTPS", Port=443, VpcId=vpc, TargetType="ip", HealthCheckPath="/healthz"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=ip_group, Targets=[{"Id": TARGET, "Port": 443, "AvailabilityZone": "all"}])
    cert_arn = certificate or issued_certificate(acm, route53, HOST, public_zone(route53))
    listener = elbv2.create_listener(
        LoadBalancerArn=alb_arn,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": cert_arn}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": ip_group}],
    )
    connection: dict[str, str]
    if link_version == "V2":
        link = v2.create_vpc_link(Name="link", SubnetIds=subnets, SecurityGroupIds=[link_group])["VpcLinkId"]
        wait_for(lambda: v2.get_vpc_link(VpcLinkId=link)["VpcLinkStatus"] == "AVAILABLE")
        connection = {"connectionId": link, "integrationTarget": alb_arn}
    else:
        nlb_arn = elbv2.create_load_balancer(Name="nlb", Subnets=subnets, Scheme="internal", Type="network")[
            "LoadBalancers"
        ][0]["LoadBalancerArn"]
        alb_group = elbv2.create_target_group(Name="alb", Protocol="TCP", Port=443, VpcId=vpc, TargetType="alb")[
            "TargetGroups"
        ][0]["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=alb_group, Targets=[{"Id": alb_arn, "Port": 443}])
        elbv2.create_listener(
            LoadBalancerArn=nlb_arn,
            Protocol="TCP",
            Port=443,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": alb_group}],
        )
        link = apigw.create_vpc_link(name="link", targetArns=[nlb_arn])["id"]
        wait_for(lambda: apigw.get_vpc_link(vpcLinkId=link)["status"] == "AVAILABLE")
        connection = {"connectionId": link}
    api = apigw.create_rest_api(name="api")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    proxy = apigw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
    apigw.put_method(
        restApiId=api,
        resourceId=proxy,
        httpMethod="GET",
        authorizationType="NONE",
        requestParameters={"method.request.path.proxy": True},
    )
    apigw.put_integration(
        restApiId=api,
        resourceId=proxy,
        httpMethod="GET",
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri=f"https://{uri_host}/{{proxy}}",
        connectionType="VPC_LINK",
        requestParameters={
            "integration.request.header.X-Gateway-Secret": "'s3cret'",
            "integration.request.path.proxy": "method.request.path.proxy",
        },
        **connection,
    )
    cert = apigw.generate_client_certificate()
    return Chain(
        api,
        proxy,
        listener["Listeners"][0]["ListenerArn"],
        ip_group,
        cert["clientCertificateId"],
        cert["pemEncodedCertificate"],
    )


def invoke(apigw: Any, chain: Chain, path: str = "/orders") -> dict[str, Any]:
    return dict(
        apigw.test_invoke_method(
            restApiId=chain.api_id,
            resourceId=chain.resource_id,
            httpMethod="GET",
            pathWithQueryString=path,
            clientCertificateId=chain.cert_id,
        )
    )


@pytest.fixture()
def chain(apigw: Any, elbv2: Any, ec2: Any, acm: Any, route53: Any) -> Chain:
    return build_chain(apigw, elbv2, ec2, acm, route53)


def test_a_request_reaches_the_backend_with_the_secret_header(
    apigw: Any,
    chain: Chain,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    onprem_backend.required_header = ("X-Gateway-Secret", "s3cret")
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    answer = invoke(apigw, chain)
    assert answer["status"] == 200, answer["log"]
    assert '"path": "/orders"' in answer["body"]
    assert [r["path"] for r in onprem_backend.traffic()] == ["/orders"]
    assert "x-amzn-mtls-clientcert" not in onprem_backend.traffic()[0]["headers"]  # mode off


def test_passthrough_forwards_the_stage_certificate_and_the_backend_checks_it(
    apigw: Any,
    elbv2: Any,
    chain: Chain,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    elbv2.modify_listener(ListenerArn=chain.alb_listener, MutualAuthentication={"Mode": "passthrough"})
    onprem_backend.trusted_bundle = chain.client_pem
    assert invoke(apigw, chain)["status"] == 200
    other = apigw.generate_client_certificate()["pemEncodedCertificate"]
    onprem_backend.trusted_bundle = other  # the bundle lacks the stage's certificate
    assert invoke(apigw, chain)["status"] == 403


def test_verify_mode_requires_a_certificate_from_the_trust_store(
    apigw: Any,
    elbv2: Any,
    s3: Any,
    chain: Chain,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    s3.create_bucket(Bucket="bundles", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    other = apigw.generate_client_certificate()["pemEncodedCertificate"]
    s3.put_object(Bucket="bundles", Key="other.pem", Body=other.encode())
    s3.put_object(Bucket="bundles", Key="good.pem", Body=(other + chain.client_pem).encode())
    store = elbv2.create_trust_store(
        Name="ts", CaCertificatesBundleS3Bucket="bundles", CaCertificatesBundleS3Key="other.pem"
    )["TrustStores"][0]["TrustStoreArn"]
    elbv2.modify_listener(
        ListenerArn=chain.alb_listener, MutualAuthentication={"Mode": "verify", "TrustStoreArn": store}
    )
    refused = invoke(apigw, chain)
    assert refused["status"] == 500 and "General SSLEngine problem" in refused["log"], refused["log"]
    assert onprem_backend.traffic() == []
    elbv2.modify_trust_store(
        TrustStoreArn=store, CaCertificatesBundleS3Bucket="bundles", CaCertificatesBundleS3Key="good.pem"
    )
    assert invoke(apigw, chain)["status"] == 200


def test_an_imported_self_signed_front_door_is_not_trusted(
    apigw: Any,
    elbv2: Any,
    ec2: Any,
    acm: Any,
    route53: Any,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    chain = build_chain(apigw, elbv2, ec2, acm, route53, certificate=imported_certificate(acm, HOST))
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    answer = invoke(apigw, chain)
    assert answer["status"] == 500
    assert "Execution failed due to configuration error: General SSLEngine problem" in answer["log"]
    assert onprem_backend.traffic() == []


def test_a_hostname_the_certificate_does_not_cover_fails(
    apigw: Any,
    elbv2: Any,
    ec2: Any,
    acm: Any,
    route53: Any,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    chain = build_chain(apigw, elbv2, ec2, acm, route53, uri_host="other.example.com")
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    answer = invoke(apigw, chain)
    assert answer["status"] == 500
    assert "Host name 'other.example.com' does not match the certificate subject" in answer["log"]


def test_unmapped_target_times_out_and_a_stopped_backend_is_a_bad_gateway(
    apigw: Any,
    chain: Chain,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    assert invoke(apigw, chain)["status"] == 504  # not in the on-prem map: unreachable
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    onprem_backend.stop()
    assert invoke(apigw, chain)["status"] == 502


def test_a_vpc_link_that_is_not_available_fails(apigw: Any, chain: Chain, ctl: EmulatorControl) -> None:
    integration = apigw.get_integration(restApiId=chain.api_id, resourceId=chain.resource_id, httpMethod="GET")
    nlb = apigw.get_vpc_link(vpcLinkId=integration["connectionId"])["targetArns"]
    ctl.set_delays(provisioning=60)
    pending = apigw.create_vpc_link(name="pending", targetArns=nlb)["id"]
    apigw.put_integration(
        restApiId=chain.api_id,
        resourceId=chain.resource_id,
        httpMethod="GET",
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri=integration["uri"],
        connectionType="VPC_LINK",
        connectionId=pending,
        requestParameters=integration["requestParameters"],
    )
    answer = invoke(apigw, chain)
    assert answer["status"] == 500 and "configuration error" in answer["log"] and "PENDING" in answer["log"]


def test_an_injected_answer_still_wins(apigw: Any, chain: Chain, ctl: EmulatorControl) -> None:
    ctl.set_test_invoke_response(418, body="teapot")
    assert (invoke(apigw, chain)["status"], invoke(apigw, chain)["body"]) == (418, "teapot")


def test_the_integration_path_takes_the_method_path_parameters_and_the_query(
    apigw: Any,
    chain: Chain,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    link = apigw.get_integration(restApiId=chain.api_id, resourceId=chain.resource_id, httpMethod="GET")["connectionId"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=chain.api_id)["items"] if r["path"] == "/")
    items = apigw.create_resource(restApiId=chain.api_id, parentId=root, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=chain.api_id, parentId=items, pathPart="{id}")["id"]
    apigw.put_method(restApiId=chain.api_id, resourceId=item, httpMethod="GET", authorizationType="NONE",
                     requestParameters={"method.request.path.id": True})
    apigw.put_integration(
        restApiId=chain.api_id, resourceId=item, httpMethod="GET", type="HTTP_PROXY", integrationHttpMethod="GET",
        uri=f"https://{HOST}/api/items/{{id}}", connectionType="VPC_LINK", connectionId=link,
        requestParameters={"integration.request.path.id": "method.request.path.id"},
    )
    answer = apigw.test_invoke_method(restApiId=chain.api_id, resourceId=item, httpMethod="GET",
                                      pathWithQueryString="/items/42?expand=1", clientCertificateId=chain.cert_id)
    assert answer["status"] == 200, answer["log"]
    assert [r["path"] for r in onprem_backend.traffic()] == ["/api/items/42?expand=1"]


def test_an_any_method_proxies_with_a_concrete_method(
    apigw: Any,
    chain: Chain,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    integration = apigw.get_integration(restApiId=chain.api_id, resourceId=chain.resource_id, httpMethod="GET")
    apigw.delete_method(restApiId=chain.api_id, resourceId=chain.resource_id, httpMethod="GET")
    apigw.put_method(restApiId=chain.api_id, resourceId=chain.resource_id, httpMethod="ANY", authorizationType="NONE",
                     requestParameters={"method.request.path.proxy": True})
    apigw.put_integration(
        restApiId=chain.api_id, resourceId=chain.resource_id, httpMethod="ANY", type="HTTP_PROXY",
        integrationHttpMethod="ANY", uri=integration["uri"], connectionType="VPC_LINK",
        connectionId=integration["connectionId"], requestParameters=integration["requestParameters"],
    )
    answer = apigw.test_invoke_method(restApiId=chain.api_id, resourceId=chain.resource_id, httpMethod="ANY",
                                      pathWithQueryString="/healthz", clientCertificateId=chain.cert_id)
    assert answer["status"] == 200, answer["log"]
    assert [(r["method"], r["path"]) for r in onprem_backend.traffic()] == [("GET", "/healthz")]


# -- VPC link V2: the integration names the ALB (integrationTarget); no NLB -------------------------
@pytest.fixture()
def v2(client: Any) -> Any:
    return client("apigatewayv2")


def test_a_request_over_a_vpc_link_v2_reaches_the_backend_through_the_alb(
    apigw: Any,
    v2: Any,
    elbv2: Any,
    ec2: Any,
    acm: Any,
    route53: Any,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    """Source: API Gateway guide "Private integrations for REST APIs" (VPC links V2 connect a REST API
    to an ALB without an NLB), "Set up a private integration" (connectionId = the V2 link,
    integrationTarget = the ALB); the TLS hop and the listener's mutual TLS modes as for V1."""
    chain = build_chain(apigw, elbv2, ec2, acm, route53, link_version="V2", v2=v2)
    onprem_backend.required_header = ("X-Gateway-Secret", "s3cret")
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    answer = invoke(apigw, chain)
    assert answer["status"] == 200, answer["log"]
    assert [r["path"] for r in onprem_backend.traffic()] == ["/orders"]
    assert elbv2.describe_load_balancers()["LoadBalancers"][0]["Type"] == "application"  # no NLB at all
    elbv2.modify_listener(ListenerArn=chain.alb_listener, MutualAuthentication={"Mode": "passthrough"})
    onprem_backend.trusted_bundle = chain.client_pem  # the stage's certificate reaches the backend
    assert invoke(apigw, chain)["status"] == 200


def test_an_alb_security_group_that_does_not_admit_the_v2_link_fails(
    apigw: Any,
    v2: Any,
    elbv2: Any,
    ec2: Any,
    acm: Any,
    route53: Any,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    """The ALB's security group has no ingress rule for the link's security group (nor a CIDR that
    covers the link's subnets) on the listener's port: 500, "Execution failed due to configuration
    error: There was an internal error while executing your request", nothing reaches the backend; a
    CIDR rule covering the subnets admits it. Source: Knowledge Center "How do I resolve HTTP 500
    errors from API Gateway with VPC link integrations?" (cause: "Security groups don't allow traffic
    on specific ports"; the log line)."""
    chain = build_chain(apigw, elbv2, ec2, acm, route53, link_version="V2", admit_link=False, v2=v2)
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    refused = invoke(apigw, chain)
    assert refused["status"] == 500
    assert (
        "Execution failed due to configuration error: There was an internal error while executing your request"
        in refused["log"]
    )
    assert onprem_backend.traffic() == []
    alb_sg = elbv2.describe_load_balancers()["LoadBalancers"][0]["SecurityGroups"][0]
    vpc_cidr = [{"CidrIp": "10.30.0.0/16"}]  # helpers.network's VPC: covers both subnets of the link
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "IpRanges": vpc_cidr}]
    )
    assert invoke(apigw, chain)["status"] == 500  # another port admits nothing on 443
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": vpc_cidr}]
    )
    assert invoke(apigw, chain)["status"] == 200


def test_a_v2_link_not_available_or_a_target_in_another_vpc_fails(
    apigw: Any,
    v2: Any,
    elbv2: Any,
    ec2: Any,
    acm: Any,
    route53: Any,
    ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    """A V2 link that is not AVAILABLE, or an integrationTarget outside the link's VPC: 500
    configuration error (Knowledge Center "api-gateway-500-error-vpc": the link must be available, the
    load balancer must exist; wording of the not-available line assumed)."""
    chain = build_chain(apigw, elbv2, ec2, acm, route53, link_version="V2", v2=v2)
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    method = {"restApiId": chain.api_id, "resourceId": chain.resource_id, "httpMethod": "GET"}
    other_vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    other_subnets = [
        ec2.create_subnet(VpcId=other_vpc, CidrBlock=f"10.50.{i}.0/24", AvailabilityZone=f"ap-northeast-1{az}")[
            "Subnet"
        ]["SubnetId"]
        for i, az in ((1, "a"), (2, "c"))
    ]
    far = elbv2.create_load_balancer(Name="far", Subnets=other_subnets, Scheme="internal", Type="application")[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    target = apigw.get_integration(**method)["integrationTarget"]
    apigw.update_integration(**method, patchOperations=[{"op": "replace", "path": "/integrationTarget", "value": far}])
    elsewhere = invoke(apigw, chain)
    assert elsewhere["status"] == 500 and "There was an internal error" in elsewhere["log"]
    apigw.update_integration(
        **method, patchOperations=[{"op": "replace", "path": "/integrationTarget", "value": target}]
    )
    ctl.set_provisioning_delay(30)  # a new link stays PENDING for this test
    link = v2.get_vpc_link(VpcLinkId=apigw.get_integration(**method)["connectionId"])
    pending = v2.create_vpc_link(Name="young", SubnetIds=link["SubnetIds"], SecurityGroupIds=link["SecurityGroupIds"])[
        "VpcLinkId"
    ]
    apigw.update_integration(**method, patchOperations=[{"op": "replace", "path": "/connectionId", "value": pending}])
    young = invoke(apigw, chain)
    assert young["status"] == 500 and f"VPC link {pending} is not available (status PENDING)" in young["log"]
    assert onprem_backend.traffic() == []
