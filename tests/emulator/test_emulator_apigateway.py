"""API Gateway extension: client certificates, stages, integrations, REST API, VPC links, TestInvokeMethod."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from hybrid_gateway_devenv.emulator import EmulatorControl

from .helpers import call_raw, create_nlb, output_problems

# API Gateway answer shapes and patch paths, not timing: instant AWS, no quotas.
pytestmark = pytest.mark.usefixtures("instant_aws")


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]



def http_integration(apigw: Any, api: dict[str, str], **extra: Any) -> dict[str, Any]:
    params = {
        "restApiId": api["id"],
        "resourceId": api["root"],
        "httpMethod": "GET",
        "type": "HTTP_PROXY",
        "integrationHttpMethod": "GET",
        "uri": "https://backend.example.com/api",
        **extra,
    }
    return dict(apigw.put_integration(**params))


# -- client certificates -----------------------------------------------------------------------------
def test_generate_client_certificate_shape_and_pem(apigw: Any) -> None:
    parsed, raw = call_raw(apigw, "generate_client_certificate", description="rotation 1", tags={"team": "a"})
    assert output_problems("apigateway", "GenerateClientCertificate", raw) == []
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 201
    cert_id = parsed["clientCertificateId"]
    assert isinstance(cert_id, str) and len(cert_id) == 6
    assert parsed["description"] == "rotation 1"
    assert parsed["tags"] == {"team": "a"}
    assert parsed["expirationDate"] - parsed["createdDate"] == timedelta(days=365)
    pem = x509.load_pem_x509_certificate(parsed["pemEncodedCertificate"].encode())
    assert pem.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cert_id
    key = pem.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    assert isinstance(pem.signature_hash_algorithm, hashes.SHA256)
    assert pem.not_valid_after_utc - pem.not_valid_before_utc == timedelta(days=365)
    assert "PRIVATE KEY" not in parsed["pemEncodedCertificate"]


def test_get_update_delete_client_certificate(apigw: Any) -> None:
    cert_id = apigw.generate_client_certificate(description="one")["clientCertificateId"]
    parsed, raw = call_raw(apigw, "get_client_certificate", clientCertificateId=cert_id)
    assert output_problems("apigateway", "GetClientCertificate", raw) == []
    assert parsed["description"] == "one"

    parsed, raw = call_raw(
        apigw,
        "update_client_certificate",
        clientCertificateId=cert_id,
        patchOperations=[{"op": "replace", "path": "/description", "value": "two"}],
    )
    assert output_problems("apigateway", "UpdateClientCertificate", raw) == []
    assert apigw.get_client_certificate(clientCertificateId=cert_id)["description"] == "two"

    with pytest.raises(ClientError) as bad_path:
        apigw.update_client_certificate(
            clientCertificateId=cert_id, patchOperations=[{"op": "replace", "path": "/tags", "value": "x"}]
        )
    assert error_of(bad_path) == ("BadRequestException", 400)

    deleted = apigw.delete_client_certificate(clientCertificateId=cert_id)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    for call in (
        lambda: apigw.get_client_certificate(clientCertificateId=cert_id),
        lambda: apigw.delete_client_certificate(clientCertificateId=cert_id),
        lambda: apigw.update_client_certificate(clientCertificateId=cert_id, patchOperations=[]),
    ):
        with pytest.raises(ClientError) as missing:
            call()
        assert error_of(missing) == ("NotFoundException", 404)


def test_get_client_certificates_paging(apigw: Any) -> None:
    ids = {apigw.generate_client_certificate(description=f"c{i}")["clientCertificateId"] for i in range(3)}
    parsed, raw = call_raw(apigw, "get_client_certificates", limit=2)
    assert output_problems("apigateway", "GetClientCertificates", raw) == []
    assert len(parsed["items"]) == 2
    rest = apigw.get_client_certificates(limit=2, position=parsed["position"])
    assert len(rest["items"]) == 1 and "position" not in rest
    assert {c["clientCertificateId"] for c in parsed["items"] + rest["items"]} == ids
    paginated = [
        c["clientCertificateId"]
        for page in apigw.get_paginator("get_client_certificates").paginate(PaginationConfig={"PageSize": 1})
        for c in page["items"]
    ]
    assert sorted(paginated) == sorted(ids)
    with pytest.raises(ClientError) as bad:
        apigw.get_client_certificates(position="nope")
    assert error_of(bad) == ("BadRequestException", 400)


# -- stages ----------------------------------------------------------------------------------------
def deployed(apigw: Any, api: dict[str, str]) -> str:
    http_integration(apigw, api)
    return str(apigw.create_deployment(restApiId=api["id"], stageName="prod")["id"])


def test_update_stage_client_certificate(apigw: Any, api: dict[str, str]) -> None:
    deployed(apigw, api)
    cert_id = apigw.generate_client_certificate()["clientCertificateId"]
    parsed, raw = call_raw(
        apigw,
        "update_stage",
        restApiId=api["id"],
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/clientCertificateId", "value": cert_id},
            {"op": "replace", "path": "/variables/color", "value": "blue"},
        ],
    )
    assert output_problems("apigateway", "UpdateStage", raw) == []
    assert parsed["clientCertificateId"] == cert_id
    assert apigw.get_stage(restApiId=api["id"], stageName="prod")["clientCertificateId"] == cert_id
    assert apigw.get_stage(restApiId=api["id"], stageName="prod")["variables"] == {"color": "blue"}
    stages = apigw.get_stages(restApiId=api["id"])["item"]
    assert [s["clientCertificateId"] for s in stages] == [cert_id]

    with pytest.raises(ClientError) as unknown:
        apigw.update_stage(
            restApiId=api["id"],
            stageName="prod",
            patchOperations=[{"op": "replace", "path": "/clientCertificateId", "value": "zzzzzz"}],
        )
    assert error_of(unknown) == ("BadRequestException", 400)
    assert apigw.get_stage(restApiId=api["id"], stageName="prod")["clientCertificateId"] == cert_id

    apigw.update_stage(
        restApiId=api["id"],
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/clientCertificateId", "value": ""}],
    )
    assert "clientCertificateId" not in apigw.get_stage(restApiId=api["id"], stageName="prod")


def test_create_stage_accepts_client_certificate_id(apigw: Any, api: dict[str, str]) -> None:
    """boto3 cannot send it (CreateStage has no such member), so add it to the signed JSON body."""
    deployment = deployed(apigw, api)
    cert_id = apigw.generate_client_certificate()["clientCertificateId"]

    def add_cert(request: Any, **kwargs: Any) -> None:
        body = json.loads(request.data)
        body["clientCertificateId"] = cert_id
        request.data = json.dumps(body).encode()

    apigw.meta.events.register("before-sign.apigateway.CreateStage", add_cert)
    created = apigw.create_stage(restApiId=api["id"], stageName="beta", deploymentId=deployment)
    assert created["clientCertificateId"] == cert_id
    assert apigw.get_stage(restApiId=api["id"], stageName="beta")["clientCertificateId"] == cert_id
    cert_id = "nosuch"
    with pytest.raises(ClientError) as unknown:
        apigw.create_stage(restApiId=api["id"], stageName="gamma", deploymentId=deployment)
    assert error_of(unknown) == ("BadRequestException", 400)


def test_redeploying_a_stage_keeps_its_settings(apigw: Any, api: dict[str, str]) -> None:
    first = deployed(apigw, api)
    cert_id = apigw.generate_client_certificate()["clientCertificateId"]
    apigw.update_stage(
        restApiId=api["id"],
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/clientCertificateId", "value": cert_id},
            {"op": "replace", "path": "/variables/color", "value": "blue"},
        ],
    )
    second = apigw.create_deployment(restApiId=api["id"], stageName="prod")["id"]
    stage = apigw.get_stage(restApiId=api["id"], stageName="prod")
    assert stage["deploymentId"] == second != first
    assert stage["clientCertificateId"] == cert_id
    assert stage["variables"] == {"color": "blue"}
    apigw.delete_deployment(restApiId=api["id"], deploymentId=first)  # no stage points at it any more
    with pytest.raises(ClientError) as active:
        apigw.delete_deployment(restApiId=api["id"], deploymentId=second)
    assert error_of(active) == ("BadRequestException", 400)


def test_deleting_a_client_certificate_in_use_is_allowed(apigw: Any, api: dict[str, str]) -> None:
    deployed(apigw, api)
    cert_id = apigw.generate_client_certificate()["clientCertificateId"]
    apigw.update_stage(
        restApiId=api["id"],
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/clientCertificateId", "value": cert_id}],
    )
    apigw.delete_client_certificate(clientCertificateId=cert_id)
    assert apigw.get_stage(restApiId=api["id"], stageName="prod")["clientCertificateId"] == cert_id
    with pytest.raises(ClientError) as dangling:
        apigw.test_invoke_method(
            restApiId=api["id"], resourceId=api["root"], httpMethod="GET", clientCertificateId=cert_id
        )
    assert error_of(dangling) == ("BadRequestException", 400)


# -- integrations ----------------------------------------------------------------------------------
@pytest.fixture()
def vpc_link(apigw: Any, ec2: Any, elbv2: Any) -> str:
    return str(apigw.create_vpc_link(name="link", targetArns=[create_nlb(ec2, elbv2)])["id"])


def test_put_and_get_integration_keep_connection_and_parameters(apigw: Any, api: dict[str, str], vpc_link: str) -> None:
    parsed, raw = call_raw(
        apigw,
        "put_integration",
        restApiId=api["id"],
        resourceId=api["root"],
        httpMethod="GET",
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri="https://backend.example.com/api",
        connectionType="VPC_LINK",
        connectionId=vpc_link,
        requestParameters={"integration.request.header.X-Gateway-Secret": "'s3cr3t'"},
        tlsConfig={"insecureSkipVerification": False},
    )
    assert output_problems("apigateway", "PutIntegration", raw) == []
    assert parsed["connectionId"] == vpc_link
    got, raw = call_raw(apigw, "get_integration", restApiId=api["id"], resourceId=api["root"], httpMethod="GET")
    assert output_problems("apigateway", "GetIntegration", raw) == []
    assert got["connectionType"] == "VPC_LINK"
    assert got["connectionId"] == vpc_link
    assert got["requestParameters"] == {"integration.request.header.X-Gateway-Secret": "'s3cr3t'"}
    assert got["timeoutInMillis"] == 29000
    assert got["tlsConfig"] == {"insecureSkipVerification": False}
    method = apigw.get_method(restApiId=api["id"], resourceId=api["root"], httpMethod="GET")
    assert method["methodIntegration"]["connectionId"] == vpc_link


def test_integration_errors(apigw: Any, api: dict[str, str]) -> None:
    with pytest.raises(ClientError) as none_yet:
        apigw.get_integration(restApiId=api["id"], resourceId=api["root"], httpMethod="GET")
    assert error_of(none_yet) == ("NotFoundException", 404)
    with pytest.raises(ClientError) as no_method:
        apigw.get_integration(restApiId=api["id"], resourceId=api["root"], httpMethod="POST")
    assert error_of(no_method) == ("NotFoundException", 404)
    with pytest.raises(ClientError) as no_link:
        http_integration(apigw, api, connectionType="VPC_LINK", connectionId="nolink")
    assert error_of(no_link) == ("BadRequestException", 400)
    with pytest.raises(ClientError) as no_id:
        http_integration(apigw, api, connectionType="VPC_LINK")
    assert error_of(no_id) == ("BadRequestException", 400)


def test_update_integration_patch_paths(apigw: Any, api: dict[str, str], vpc_link: str) -> None:
    http_integration(apigw, api, requestParameters={"integration.request.header.X-Old": "'1'"})
    _, raw = call_raw(
        apigw,
        "update_integration",
        restApiId=api["id"],
        resourceId=api["root"],
        httpMethod="GET",
        patchOperations=[
            {"op": "replace", "path": "/uri", "value": "https://other.example.com/v2"},
            {"op": "replace", "path": "/connectionType", "value": "VPC_LINK"},
            {"op": "replace", "path": "/connectionId", "value": vpc_link},
            {"op": "replace", "path": "/httpMethod", "value": "POST"},
            {"op": "add", "path": "/requestParameters/integration.request.header.X-Foo", "value": "'bar'"},
            {"op": "remove", "path": "/requestParameters/integration.request.header.X-Old"},
            {"op": "replace", "path": "/timeoutInMillis", "value": "10000"},
            {"op": "replace", "path": "/tlsConfig/insecureSkipVerification", "value": "true"},
        ],
    )
    assert output_problems("apigateway", "UpdateIntegration", raw) == []
    got = apigw.get_integration(restApiId=api["id"], resourceId=api["root"], httpMethod="GET")
    assert got["uri"] == "https://other.example.com/v2"
    assert (got["connectionType"], got["connectionId"]) == ("VPC_LINK", vpc_link)
    assert got["httpMethod"] == "POST"
    assert got["requestParameters"] == {"integration.request.header.X-Foo": "'bar'"}
    assert got["timeoutInMillis"] == 10000
    assert got["tlsConfig"] == {"insecureSkipVerification": True}

    apigw.update_integration(
        restApiId=api["id"],
        resourceId=api["root"],
        httpMethod="GET",
        patchOperations=[
            {"op": "replace", "path": "/requestParameters/integration.request.header.X-Foo", "value": "'baz'"},
            {"op": "replace", "path": "/connectionType", "value": "INTERNET"},
            {"op": "remove", "path": "/connectionId"},
        ],
    )
    got = apigw.get_integration(restApiId=api["id"], resourceId=api["root"], httpMethod="GET")
    assert got["requestParameters"] == {"integration.request.header.X-Foo": "'baz'"}
    assert got["connectionType"] == "INTERNET" and "connectionId" not in got

    for bad in (
        {"op": "replace", "path": "/timeoutInMillis", "value": "30001"},
        {"op": "replace", "path": "/nosuchfield", "value": "x"},
        {"op": "replace", "path": "/uri", "value": "not a url"},
        {"op": "replace", "path": "/connectionType", "value": "VPC_LINK"},
    ):
        with pytest.raises(ClientError) as rejected:
            apigw.update_integration(
                restApiId=api["id"], resourceId=api["root"], httpMethod="GET", patchOperations=[bad]
            )
        assert error_of(rejected) == ("BadRequestException", 400), bad
    assert (
        apigw.get_integration(restApiId=api["id"], resourceId=api["root"], httpMethod="GET")["timeoutInMillis"] == 10000
    )


def test_vpc_link_in_use_cannot_be_deleted(apigw: Any, api: dict[str, str], vpc_link: str) -> None:
    http_integration(apigw, api, connectionType="VPC_LINK", connectionId=vpc_link)
    with pytest.raises(ClientError) as in_use:
        apigw.delete_vpc_link(vpcLinkId=vpc_link)
    assert error_of(in_use) == ("BadRequestException", 400)
    assert f"{api['id']}/{api['root']}/GET" in in_use.value.response["Error"]["Message"]
    apigw.delete_integration(restApiId=api["id"], resourceId=api["root"], httpMethod="GET")
    assert apigw.delete_vpc_link(vpcLinkId=vpc_link)["ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(ClientError) as gone:
        apigw.delete_vpc_link(vpcLinkId=vpc_link)
    assert error_of(gone) == ("NotFoundException", 404)


def test_update_rest_api_disable_execute_api_endpoint(apigw: Any, api: dict[str, str]) -> None:
    def flip(value: str) -> bool:
        answer = apigw.update_rest_api(
            restApiId=api["id"],
            patchOperations=[{"op": "replace", "path": "/disableExecuteApiEndpoint", "value": value}],
        )
        assert (
            answer["disableExecuteApiEndpoint"] == apigw.get_rest_api(restApiId=api["id"])["disableExecuteApiEndpoint"]
        )
        return bool(answer["disableExecuteApiEndpoint"])

    assert flip("true") is True
    assert flip("false") is False
    assert flip("True") is True
    with pytest.raises(ClientError) as bad:
        flip("maybe")
    assert error_of(bad) == ("BadRequestException", 400)


# -- TestInvokeMethod --------------------------------------------------------------------------------
def test_test_invoke_method_answers_per_client_certificate(
    apigw: Any, api: dict[str, str], ctl: EmulatorControl
) -> None:
    http_integration(apigw, api)
    old = apigw.generate_client_certificate()["clientCertificateId"]
    new = apigw.generate_client_certificate()["clientCertificateId"]

    parsed, raw = call_raw(apigw, "test_invoke_method", restApiId=api["id"], resourceId=api["root"], httpMethod="GET")
    assert output_problems("apigateway", "TestInvokeMethod", raw) == []
    assert (parsed["status"], parsed["body"]) == (200, "{}")
    assert isinstance(parsed["latency"], int) and "Method completed with status: 200" in parsed["log"]

    ctl.set_test_invoke_response(403, body='{"message":"bad cert"}', headers={"X-Why": "old"})
    ctl.set_test_invoke_response(200, body='{"ok":true}', client_certificate_id=new)
    answer = apigw.test_invoke_method(
        restApiId=api["id"], resourceId=api["root"], httpMethod="GET", clientCertificateId=old, pathWithQueryString="/"
    )
    assert (answer["status"], answer["body"], answer["headers"]) == (403, '{"message":"bad cert"}', {"X-Why": "old"})
    assert answer["multiValueHeaders"] == {"X-Why": ["old"]}
    answer = apigw.test_invoke_method(
        restApiId=api["id"], resourceId=api["root"], httpMethod="GET", clientCertificateId=new
    )
    assert (answer["status"], answer["body"]) == (200, '{"ok":true}')

    ctl.clear_test_invoke_responses()
    answer = apigw.test_invoke_method(
        restApiId=api["id"], resourceId=api["root"], httpMethod="GET", clientCertificateId=new
    )
    assert (answer["status"], answer["body"]) == (200, "{}")


def test_test_invoke_method_errors(apigw: Any, api: dict[str, str]) -> None:
    answer = apigw.test_invoke_method(restApiId=api["id"], resourceId=api["root"], httpMethod="GET")
    assert answer["status"] == 500 and "No integration defined for method" in answer["log"]
    with pytest.raises(ClientError) as no_method:
        apigw.test_invoke_method(restApiId=api["id"], resourceId=api["root"], httpMethod="DELETE")
    assert error_of(no_method) == ("NotFoundException", 404)
    with pytest.raises(ClientError) as no_api:
        apigw.test_invoke_method(restApiId="nosuchapi", resourceId=api["root"], httpMethod="GET")
    assert error_of(no_api) == ("NotFoundException", 404)
    with pytest.raises(ClientError) as no_cert:
        apigw.test_invoke_method(
            restApiId=api["id"], resourceId=api["root"], httpMethod="GET", clientCertificateId="abcdef"
        )
    assert error_of(no_cert) == ("BadRequestException", 400)


def test_tags_on_api_gateway_resources(apigw: Any, api: dict[str, str], vpc_link: str) -> None:
    cert_id = apigw.generate_client_certificate(tags={"a": "1"})["clientCertificateId"]
    arns = {
        "restapi": f"arn:aws:apigateway:ap-northeast-1::/restapis/{api['id']}",
        "vpclink": f"arn:aws:apigateway:ap-northeast-1::/vpclinks/{vpc_link}",
        "cert": f"arn:aws:apigateway:ap-northeast-1::/clientcertificates/{cert_id}",
    }
    for arn in arns.values():
        apigw.tag_resource(resourceArn=arn, tags={"hybridgateway.io/uid": "u-1", "x": "y"})
        apigw.untag_resource(resourceArn=arn, tagKeys=["x"])
        assert apigw.get_tags(resourceArn=arn)["tags"].get("hybridgateway.io/uid") == "u-1"
        assert "x" not in apigw.get_tags(resourceArn=arn)["tags"]
    assert apigw.get_rest_api(restApiId=api["id"])["tags"] == {"hybridgateway.io/uid": "u-1"}
    assert apigw.get_client_certificate(clientCertificateId=cert_id)["tags"] == {
        "a": "1",
        "hybridgateway.io/uid": "u-1",
    }
    with pytest.raises(ClientError) as missing:
        apigw.get_tags(resourceArn="arn:aws:apigateway:ap-northeast-1::/restapis/nosuch")
    assert error_of(missing) == ("NotFoundException", 404)


def test_delete_rest_api(apigw: Any, api: dict[str, str]) -> None:
    assert apigw.delete_rest_api(restApiId=api["id"])["ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(ClientError) as gone:
        apigw.delete_rest_api(restApiId=api["id"])
    assert error_of(gone) == ("NotFoundException", 404)


def test_shape_checker_catches_what_botocore_would_drop() -> None:
    assert output_problems("apigateway", "GetClientCertificate", {"clientCertificateId": "abc"}) == []
    assert output_problems("apigateway", "GetClientCertificate", {"clientCertificateID": "abc"}) == [
        "$.clientCertificateID: not a member of ClientCertificate"
    ]
    assert output_problems("apigateway", "TestInvokeMethod", {"status": "200"}) == ["$.status: '200' is not a integer"]
    assert output_problems("apigateway", "GetDomainName", {"mutualTlsAuthentication": {"truststoreWarnings": "x"}}) == [
        "$.mutualTlsAuthentication.truststoreWarnings: 'x' is not a list"
    ]
