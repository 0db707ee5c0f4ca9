"""A CA-signed ACM certificate on a stage (docs/aws-behaviour.md, "CA-signed client certificates from ACM on a
stage"): the stage takes an issued clientAuth certificate's ARN, refuses an ACM public one; ACM reports the
certificate's extended key usages and keeps the ARN and tags of a re-import."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.mtls_certs import client_certificate, make_ca

from .helpers import issued_certificate
from .test_emulator_apigateway import deployed, error_of

# Answer shapes and refusals, not timing (the ACM quota is AWS's, pinned in tests/aws_behaviour).
pytestmark = pytest.mark.usefixtures("instant_aws")

CA = make_ca("Backend Client CA")
TAGS = [{"Key": "owner", "Value": "team-a"}]


def imported_client_certificate(acm: Any, *, client_auth: bool = True, tags: list[dict[str, str]] = TAGS) -> str:
    cert, key = client_certificate(CA, "api-gateway-client", client_auth=client_auth)
    return str(acm.import_certificate(Certificate=cert.encode(), PrivateKey=key.encode(),
                                      CertificateChain=CA.pem.encode(), Tags=tags)["CertificateArn"])


def stage_certificate(apigw: Any, api: dict[str, str], value: str) -> dict[str, Any]:
    return dict(apigw.update_stage(restApiId=api["id"], stageName="prod", patchOperations=[
        {"op": "replace", "path": "/clientCertificateId", "value": value}]))


def test_a_stage_takes_an_imported_acm_certificate_arn(apigw: Any, acm: Any, api: dict[str, str]) -> None:
    deployed(apigw, api)
    arn = imported_client_certificate(acm)
    detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert [u["Name"] for u in detail["ExtendedKeyUsages"]] == ["TLS_WEB_CLIENT_AUTHENTICATION"]
    assert stage_certificate(apigw, api, arn)["clientCertificateId"] == arn
    assert apigw.get_stage(restApiId=api["id"], stageName="prod")["clientCertificateId"] == arn


def test_an_amazon_issued_certificate_is_refused(apigw: Any, acm: Any, route53: Any, api: dict[str, str]) -> None:
    deployed(apigw, api)
    public = issued_certificate(acm, route53, "client.example.com")
    with pytest.raises(ClientError) as refused:
        stage_certificate(apigw, api, public)
    assert error_of(refused) == ("BadRequestException", 400)
    assert "public certificates are not supported" in str(refused.value)
    assert "clientCertificateId" not in apigw.get_stage(restApiId=api["id"], stageName="prod")


def test_a_certificate_without_client_auth_or_of_another_region_is_refused(
        apigw: Any, acm: Any, api: dict[str, str]) -> None:
    deployed(apigw, api)
    for value in (imported_client_certificate(acm, client_auth=False),
                  imported_client_certificate(acm).replace(":ap-northeast-1:", ":eu-west-1:")):
        with pytest.raises(ClientError) as refused:
            stage_certificate(apigw, api, value)
        assert error_of(refused) == ("BadRequestException", 400), value


def test_reimport_keeps_arn_and_tags(acm: Any) -> None:
    arn = imported_client_certificate(acm)
    cert, key = client_certificate(CA, "api-gateway-client")
    again = acm.import_certificate(CertificateArn=arn, Certificate=cert.encode(), PrivateKey=key.encode(),
                                   CertificateChain=CA.pem.encode())["CertificateArn"]
    assert again == arn
    assert acm.get_certificate(CertificateArn=arn)["Certificate"].strip() == cert.strip()
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == TAGS
    with pytest.raises(ClientError) as tagged:
        acm.import_certificate(CertificateArn=arn, Certificate=cert.encode(), PrivateKey=key.encode(), Tags=TAGS)
    assert tagged.value.response["Error"]["Code"] == "ValidationException"
