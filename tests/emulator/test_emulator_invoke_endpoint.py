"""The stages' default invoke endpoint on loopback: HTTPS with a public-CA certificate for
``<api-id>.execute-api.<region>.amazonaws.com``, routed by Host and ``/<stage>/...``, over the same
request path as TestInvokeMethod (catalogue: docs/aws-behaviour.md, "Data plane")."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from typing import Any

import pytest

from hybrid_gateway_devenv.emulator import EmulatorControl

from ..onprem_backend import OnPremBackend, onprem_backend  # noqa: F401 (fixture)
from .conftest import REGION
from .test_emulator_dataplane import TARGET, Chain, build_chain

pytestmark = pytest.mark.usefixtures("instant_aws")


def deployed(apigw: Any, elbv2: Any, ec2: Any, acm: Any, route53: Any, **chain_options: Any) -> Chain:
    chain = build_chain(apigw, elbv2, ec2, acm, route53, **chain_options)
    deployment = apigw.create_deployment(restApiId=chain.api_id)["id"]
    apigw.create_stage(restApiId=chain.api_id, stageName="prod", deploymentId=deployment)
    apigw.update_stage(restApiId=chain.api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/clientCertificateId", "value": chain.cert_id}])
    return chain


def call(ctl: EmulatorControl, api_id: str, target: str, method: str = "GET") -> tuple[int, str]:
    """``curl --resolve <api-id>.execute-api.<region>.amazonaws.com:PORT:127.0.0.1`` trusting the public CA."""
    endpoint = ctl.invoke_endpoint()
    host = f"{api_id}.execute-api.{REGION}.amazonaws.com"
    context = ssl.create_default_context(cadata=ctl.public_ca()["certificate"])
    raw = socket.create_connection((endpoint["host"], endpoint["port"]), timeout=10)
    connection = http.client.HTTPSConnection(host, endpoint["port"], context=context, timeout=10)
    connection.sock = context.wrap_socket(raw, server_hostname=host)  # TLS checks the real name
    try:
        connection.request(method, target, headers={"Host": host})
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_a_request_to_the_stage_url_reaches_the_backend(
    apigw: Any, elbv2: Any, ec2: Any, acm: Any, route53: Any, ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    chain = deployed(apigw, elbv2, ec2, acm, route53)
    onprem_backend.required_header = ("X-Gateway-Secret", "s3cret")
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    status, body = call(ctl, chain.api_id, "/prod/orders?page=2")
    assert status == 200, body
    assert json.loads(body)["path"] == "/orders?page=2"
    assert [r["path"] for r in onprem_backend.traffic()] == ["/orders?page=2"]


def test_a_request_to_the_stage_url_over_a_vpc_link_v2_reaches_the_backend(
    apigw: Any, elbv2: Any, ec2: Any, acm: Any, route53: Any, client: Any, ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    """The default endpoint follows a V2 integration (connectionId + integrationTarget) to the ALB
    (source: API Gateway guide "Private integrations for REST APIs", "Set up a private integration")."""
    chain = deployed(apigw, elbv2, ec2, acm, route53, link_version="V2", v2=client("apigatewayv2"))
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    status, body = call(ctl, chain.api_id, "/prod/orders")
    assert status == 200, body
    assert [r["path"] for r in onprem_backend.traffic()] == ["/orders"]


def test_failures_answer_like_api_gateway(
    apigw: Any, elbv2: Any, ec2: Any, acm: Any, route53: Any, s3: Any, ctl: EmulatorControl,
    onprem_backend: OnPremBackend,  # noqa: F811
) -> None:
    chain = deployed(apigw, elbv2, ec2, acm, route53)
    ctl.set_onprem_routes({f"{TARGET}:443": onprem_backend.address})
    assert call(ctl, chain.api_id, "/prod/orders", method="POST") == (403, '{"message":"Missing Authentication Token"}')
    assert call(ctl, chain.api_id, "/beta/orders") == (403, '{"message":"Forbidden"}')
    # The ALB refuses the stage's certificate (verify mode, a trust store without it): the TLS hop fails.
    s3.create_bucket(Bucket="bundles", CreateBucketConfiguration={"LocationConstraint": REGION})
    other = apigw.generate_client_certificate()["pemEncodedCertificate"]
    s3.put_object(Bucket="bundles", Key="other.pem", Body=other.encode())
    store = elbv2.create_trust_store(
        Name="ts", CaCertificatesBundleS3Bucket="bundles", CaCertificatesBundleS3Key="other.pem"
    )["TrustStores"][0]["TrustStoreArn"]
    elbv2.modify_listener(
        ListenerArn=chain.alb_listener, MutualAuthentication={"Mode": "verify", "TrustStoreArn": store}
    )
    status, body = call(ctl, chain.api_id, "/prod/orders")
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
    apigw.update_rest_api(restApiId=chain.api_id, patchOperations=[
        {"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "True"}])
    assert call(ctl, chain.api_id, "/prod/orders") == (403, '{"message":"Forbidden"}')
