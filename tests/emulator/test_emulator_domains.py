"""Domain names: mutual TLS truststore checks and warnings, ownership verification, UpdateDomainName."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes

from .helpers import call_raw, imported_certificate, issued_certificate, make_cert, output_problems, public_zone

# truststore checks and patch paths, not timing: instant AWS, no quotas.
pytestmark = pytest.mark.usefixtures("instant_aws")

BUCKET = "team-a-truststores"
KEY = "api.example.com/truststore.pem"
URI = f"s3://{BUCKET}/{KEY}"


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


@pytest.fixture()
def zone(route53: Any) -> str:
    return public_zone(route53, "example.com")


@pytest.fixture()
def server_cert(acm: Any, route53: Any, zone: str) -> str:
    return issued_certificate(acm, route53, "api.example.com", zone)


@pytest.fixture()
def bucket(s3: Any) -> str:
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return BUCKET


def put_truststore(s3: Any, *pems: str) -> str:
    return str(s3.put_object(Bucket=BUCKET, Key=KEY, Body="".join(pems).encode())["VersionId"])


def create_mtls_domain(apigw: Any, cert_arn: str, version: str | None = None, **extra: Any) -> dict[str, Any]:
    mtls = {"truststoreUri": URI}
    if version:
        mtls["truststoreVersion"] = version
    return dict(
        apigw.create_domain_name(
            domainName="api.example.com",
            regionalCertificateArn=cert_arn,
            endpointConfiguration={"types": ["REGIONAL"]},
            securityPolicy="TLS_1_2",
            mutualTlsAuthentication=mtls,
            **extra,
        )
    )


GOOD = make_cert("Partner A Root CA")
SHA1 = make_cert("Legacy SHA1 CA", algorithm=hashes.SHA1())
RSA1024 = make_cert("Small Key CA", key_size=1024)
EXPIRED = make_cert("Expired CA", not_before=datetime.now(UTC) - timedelta(days=400), days=30)
EC256 = make_cert("EC CA", elliptic=True)


def test_create_mtls_domain_with_a_clean_truststore(
    apigw: Any, acm: Any, s3: Any, bucket: str, server_cert: str
) -> None:
    version = put_truststore(s3, GOOD, EC256)
    parsed, raw = call_raw(
        apigw,
        "create_domain_name",
        domainName="api.example.com",
        regionalCertificateArn=server_cert,
        endpointConfiguration={"types": ["REGIONAL"]},
        securityPolicy="TLS_1_2",
        mutualTlsAuthentication={"truststoreUri": URI, "truststoreVersion": version},
        tags={"owner": "team-a"},
    )
    assert output_problems("apigateway", "CreateDomainName", raw) == []
    assert parsed["mutualTlsAuthentication"] == {
        "truststoreUri": URI,
        "truststoreVersion": version,
        "truststoreWarnings": [],
    }
    got, raw = call_raw(apigw, "get_domain_name", domainName="api.example.com")
    assert output_problems("apigateway", "GetDomainName", raw) == []
    assert got["mutualTlsAuthentication"]["truststoreVersion"] == version
    assert got["domainNameStatus"] == "AVAILABLE"
    assert got["regionalDomainName"].endswith(".execute-api.ap-northeast-1.amazonaws.com")
    assert got["regionalHostedZoneId"] == "Z1YSHQZHG15GKL"
    assert got["securityPolicy"] == "TLS_1_2"
    assert got["endpointConfiguration"]["types"] == ["REGIONAL"]
    assert got["tags"] == {"owner": "team-a"}
    assert got["domainNameArn"] == "arn:aws:apigateway:ap-northeast-1::/domainnames/api.example.com"
    assert "distributionDomainName" not in got
    listed, raw = call_raw(apigw, "get_domain_names")
    assert output_problems("apigateway", "GetDomainNames", raw) == []
    assert listed["items"][0]["mutualTlsAuthentication"]["truststoreUri"] == URI
    in_use_by = acm.describe_certificate(CertificateArn=server_cert)["Certificate"]["InUseBy"]
    assert in_use_by == ["arn:aws:apigateway:ap-northeast-1::/domainnames/api.example.com"]
    with pytest.raises(ClientError) as in_use:
        acm.delete_certificate(CertificateArn=server_cert)
    assert in_use.value.response["Error"]["Code"] == "ResourceInUseException"
    apigw.delete_domain_name(domainName="api.example.com")
    acm.delete_certificate(CertificateArn=server_cert)


def test_truststore_warnings_name_each_unusable_certificate(apigw: Any, s3: Any, bucket: str, server_cert: str) -> None:
    version = put_truststore(s3, GOOD, SHA1, RSA1024, EXPIRED)
    created = create_mtls_domain(apigw, server_cert, version)
    warnings = created["mutualTlsAuthentication"]["truststoreWarnings"]
    assert len(warnings) == 3
    assert any("Legacy SHA1 CA" in w and "SHA1" in w for w in warnings)
    assert any("Small Key CA" in w and "1024" in w for w in warnings)
    assert any("Expired CA" in w and "expired" in w for w in warnings)
    assert not any("Partner A Root CA" in w for w in warnings)
    stored = apigw.get_domain_name(domainName="api.example.com")["mutualTlsAuthentication"]["truststoreWarnings"]
    assert stored == warnings


def test_truststore_errors(apigw: Any, s3: Any, bucket: str, server_cert: str) -> None:
    with pytest.raises(ClientError) as missing_object:
        create_mtls_domain(apigw, server_cert)
    code, status, message = error_of(missing_object)
    assert (code, status) == ("BadRequestException", 400) and URI in message

    put_truststore(s3, GOOD)
    with pytest.raises(ClientError) as missing_version:
        create_mtls_domain(apigw, server_cert, version="no-such-version")
    assert error_of(missing_version)[:2] == ("BadRequestException", 400)

    put_truststore(s3, GOOD, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    with pytest.raises(ClientError) as unparsable:
        create_mtls_domain(apigw, server_cert)
    code, status, message = error_of(unparsable)
    assert (code, status) == ("BadRequestException", 400) and "Certificate 2" in message

    put_truststore(s3, "just text")
    with pytest.raises(ClientError) as empty:
        create_mtls_domain(apigw, server_cert)
    assert error_of(empty)[:2] == ("BadRequestException", 400)

    with pytest.raises(ClientError) as no_bucket:
        apigw.create_domain_name(
            domainName="api.example.com",
            regionalCertificateArn=server_cert,
            endpointConfiguration={"types": ["REGIONAL"]},
            securityPolicy="TLS_1_2",
            mutualTlsAuthentication={"truststoreUri": "s3://no-such-bucket/ts.pem"},
        )
    assert error_of(no_bucket)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as gone:
        apigw.get_domain_name(domainName="api.example.com")
    assert error_of(gone)[:2] == ("NotFoundException", 404)


def test_domain_name_certificate_rules(apigw: Any, acm: Any, route53: Any, s3: Any, bucket: str, zone: str) -> None:
    put_truststore(s3, GOOD)
    pending = acm.request_certificate(DomainName="api.example.com", ValidationMethod="DNS")["CertificateArn"]
    with pytest.raises(ClientError) as not_issued:
        create_mtls_domain(apigw, pending)
    assert error_of(not_issued)[:2] == ("BadRequestException", 400)

    imported = imported_certificate(acm, "api.example.com")
    with pytest.raises(ClientError) as needs_ownership:
        create_mtls_domain(apigw, imported)
    assert error_of(needs_ownership) == ("BadRequestException", 400, "Missing ownershipVerificationCertificate.")

    ownership = issued_certificate(acm, route53, "api.example.com", zone)
    created = create_mtls_domain(apigw, imported, ownershipVerificationCertificateArn=ownership)
    assert created["ownershipVerificationCertificateArn"] == ownership
    assert created["regionalCertificateArn"] == imported

    with pytest.raises(ClientError) as duplicate:
        create_mtls_domain(apigw, imported, ownershipVerificationCertificateArn=ownership)
    assert error_of(duplicate)[:2] == ("BadRequestException", 400)


def test_update_domain_name_patch_paths(apigw: Any, acm: Any, route53: Any, s3: Any, bucket: str, zone: str) -> None:
    first = put_truststore(s3, GOOD)
    cert = issued_certificate(acm, route53, "api.example.com", zone)
    create_mtls_domain(apigw, cert, first)
    second = put_truststore(s3, GOOD, SHA1)
    other_cert = issued_certificate(acm, route53, "api.example.com", zone)
    ownership = issued_certificate(acm, route53, "api.example.com", zone)

    _, raw = call_raw(
        apigw,
        "update_domain_name",
        domainName="api.example.com",
        patchOperations=[
            {"op": "replace", "path": "/mutualTlsAuthentication/truststoreVersion", "value": second},
            {"op": "replace", "path": "/regionalCertificateArn", "value": other_cert},
            {"op": "replace", "path": "/ownershipVerificationCertificateArn", "value": ownership},
        ],
    )
    assert output_problems("apigateway", "UpdateDomainName", raw) == []
    got = apigw.get_domain_name(domainName="api.example.com")
    assert got["mutualTlsAuthentication"]["truststoreVersion"] == second
    assert len(got["mutualTlsAuthentication"]["truststoreWarnings"]) == 1
    assert "Legacy SHA1 CA" in got["mutualTlsAuthentication"]["truststoreWarnings"][0]
    assert got["regionalCertificateArn"] == other_cert
    assert got["ownershipVerificationCertificateArn"] == ownership

    s3.put_object(Bucket=BUCKET, Key="other.pem", Body=GOOD.encode())
    apigw.update_domain_name(
        domainName="api.example.com",
        patchOperations=[
            {"op": "replace", "path": "/mutualTlsAuthentication/truststoreUri", "value": f"s3://{BUCKET}/other.pem"}
        ],
    )
    mtls = apigw.get_domain_name(domainName="api.example.com")["mutualTlsAuthentication"]
    assert mtls["truststoreUri"] == f"s3://{BUCKET}/other.pem"
    assert "truststoreVersion" not in mtls and mtls["truststoreWarnings"] == []

    with pytest.raises(ClientError) as weak_policy:
        apigw.update_domain_name(
            domainName="api.example.com",
            patchOperations=[{"op": "replace", "path": "/securityPolicy", "value": "TLS_1_0"}],
        )
    assert error_of(weak_policy)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as bad_version:
        apigw.update_domain_name(
            domainName="api.example.com",
            patchOperations=[{"op": "replace", "path": "/mutualTlsAuthentication/truststoreVersion", "value": "nope"}],
        )
    assert error_of(bad_version)[:2] == ("BadRequestException", 400)
    with pytest.raises(ClientError) as bad_path:
        apigw.update_domain_name(
            domainName="api.example.com", patchOperations=[{"op": "replace", "path": "/domainName", "value": "x"}]
        )
    assert error_of(bad_path)[:2] == ("BadRequestException", 400)
    assert apigw.get_domain_name(domainName="api.example.com")["securityPolicy"] == "TLS_1_2"

    apigw.update_domain_name(
        domainName="api.example.com",
        patchOperations=[{"op": "replace", "path": "/mutualTlsAuthentication/truststoreUri", "value": ""}],
    )
    assert "mutualTlsAuthentication" not in apigw.get_domain_name(domainName="api.example.com")
    apigw.update_domain_name(
        domainName="api.example.com",
        patchOperations=[{"op": "replace", "path": "/securityPolicy", "value": "TLS_1_0"}],
    )
    assert apigw.get_domain_name(domainName="api.example.com")["securityPolicy"] == "TLS_1_0"
    with pytest.raises(ClientError) as missing:
        apigw.update_domain_name(domainName="nope.example.com", patchOperations=[])
    assert error_of(missing)[:2] == ("NotFoundException", 404)
