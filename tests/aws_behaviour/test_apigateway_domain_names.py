"""API Gateway custom domain names: statuses, updates in progress, base path mappings
(catalogue: docs/aws-behaviour.md, "API Gateway domain names").

On real AWS these tests need a name in a public hosted zone of the account
(``--real-aws-domain`` and ``--real-aws-zone-id``): they request DNS-validated ACM certificates for
names under it. Without them they are skipped there.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import Aws, Cleanup, error_of, import_certificate

SLASH_MESSAGE = (
    "API Gateway V1 doesn't support the slash character (/) in base path mappings. "
    "To create a multi-level base path mapping, use API Gateway V2."
)


@pytest.fixture()
def zone(aws: Aws, cleanup: Cleanup) -> tuple[str, str]:
    """(hosted zone id, parent name) for the domain names of the test."""
    if aws.real:
        if not (aws.domain and aws.zone_id):
            pytest.skip("needs --real-aws-domain and --real-aws-zone-id on real AWS")
        return aws.zone_id, aws.domain
    route53 = aws.client("route53")
    parent = f"{aws.run}.behaviour.example"
    zone_id = route53.create_hosted_zone(Name=parent, CallerReference=aws.name("zone"))["HostedZone"]["Id"]
    cleanup.add(f"zone {zone_id}", lambda: route53.delete_hosted_zone(Id=zone_id))
    return str(zone_id).split("/")[-1], parent


def upsert(aws: Aws, zone_id: str, record: dict[str, str], action: str = "UPSERT") -> None:
    aws.client("route53").change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": action,
                    "ResourceRecordSet": {
                        "Name": record["Name"],
                        "Type": record["Type"],
                        "TTL": 300,
                        "ResourceRecords": [{"Value": record["Value"]}],
                    },
                }
            ]
        },
    )


def issued_certificate(aws: Aws, cleanup: Cleanup, zone: tuple[str, str], label: str, wait: bool = True) -> str:
    """A DNS-validated public ACM certificate for ``<label>.<zone name>`` (its record in the zone)."""
    acm = aws.client("acm")
    zone_id, parent = zone
    arn = str(
        acm.request_certificate(DomainName=f"{label}.{parent}", ValidationMethod="DNS", Tags=aws.tags())[
            "CertificateArn"
        ]
    )
    cleanup.add(f"certificate {arn}", lambda: acm.delete_certificate(CertificateArn=arn))

    def record() -> dict[str, str] | None:
        options = acm.describe_certificate(CertificateArn=arn)["Certificate"].get("DomainValidationOptions") or []
        found = options[0].get("ResourceRecord") if options else None
        return dict(found) if found else None

    rr = aws.wait(record, emulated=10, real=300, what="validation record")
    upsert(aws, zone_id, rr)
    cleanup.add("validation record", lambda: upsert(aws, zone_id, rr, "DELETE"))
    if wait:
        aws.wait(
            lambda: acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED",
            emulated=20,
            real=1800,
            what=f"{arn} ISSUED",
        )
    return arn


def domain_name(aws: Aws, cleanup: Cleanup, name: str, certificate: str, **extra: Any) -> dict[str, Any]:
    apigw = aws.client("apigateway")
    created = apigw.create_domain_name(
        domainName=name,
        regionalCertificateArn=certificate,
        endpointConfiguration={"types": ["REGIONAL"]},
        securityPolicy="TLS_1_2",
        tags={"hybrid-gateway-behaviour-test": aws.run},
        **extra,
    )
    cleanup.add(f"domain name {name}", lambda: apigw.delete_domain_name(domainName=name))
    return dict(created)


def status(aws: Aws, name: str) -> str:
    return str(aws.client("apigateway").get_domain_name(domainName=name)["domainNameStatus"])


def test_new_domain_name_updating_then_available__terraform_provider_aws_apigatewayv2_domain_name_waiter(
    aws: Aws, cleanup: Cleanup, zone: tuple[str, str]
) -> None:
    """A new regional domain name is ``UPDATING`` for a while, then ``AVAILABLE``.

    Source: API Gateway API reference, ``DomainName`` (``domainNameStatus``: "If the status is
    UPDATING, the domain cannot be modified further until the existing operation is complete. If it
    is AVAILABLE, the domain can be updated."); weaker for *when*: hashicorp/terraform-provider-aws,
    ``internal/service/apigatewayv2`` ``waitDomainNameAvailable`` (pending UPDATING, target
    AVAILABLE) after create and update.
    """
    name = f"{aws.run}-new.{zone[1]}"
    created = domain_name(aws, cleanup, name, issued_certificate(aws, cleanup, zone, f"{aws.run}-new"))
    assert created["domainNameStatus"] in ("UPDATING", "PENDING", "AVAILABLE")
    if not aws.real:  # the emulator's domain-name delay is on by default
        assert created["domainNameStatus"] == "UPDATING"
    aws.wait(lambda: status(aws, name) == "AVAILABLE", emulated=20, real=1800, what="AVAILABLE")


def test_update_while_updating_conflicts__chalice_1986(aws: Aws, cleanup: Cleanup, zone: tuple[str, str]) -> None:
    """UpdateDomainName makes the domain ``UPDATING``; another UpdateDomainName meanwhile is refused
    with ``ConflictException`` (409) "There is already an update in progress".

    Source (weaker: one real report, consistent with the DomainName reference quoted above):
    aws/chalice #1986 "ConflictException UpdateDomainName operation: There is already an update in
    progress"; hashicorp/terraform-provider-aws ``internal/service/apigateway/domain_name.go``
    ``waitDomainNameUpdated`` (UPDATING -> AVAILABLE after UpdateDomainName). UpdateDomainName is
    also limited to one request every 30 s (throttled with TooManyRequestsException, retried here by
    botocore) — see the quota tests.
    """
    name = f"{aws.run}-upd.{zone[1]}"
    domain_name(aws, cleanup, name, issued_certificate(aws, cleanup, zone, f"{aws.run}-upd"))
    aws.wait(lambda: status(aws, name) == "AVAILABLE", emulated=20, real=1800, what="AVAILABLE")
    apigw = aws.client("apigateway")
    updated = apigw.update_domain_name(
        domainName=name, patchOperations=[{"op": "replace", "path": "/securityPolicy", "value": "TLS_1_0"}]
    )
    assert updated["domainNameStatus"] in ("UPDATING", "AVAILABLE")
    if updated["domainNameStatus"] == "AVAILABLE" and aws.real:
        pytest.skip("the update finished before a second one could be sent")
    once = aws.client("apigateway", retries=False)

    def second_update() -> ClientError | None:
        try:
            once.update_domain_name(
                domainName=name, patchOperations=[{"op": "replace", "path": "/securityPolicy", "value": "TLS_1_2"}]
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "TooManyRequestsException":  # 1 every 30 s: wait for it
                return None
            return err
        raise AssertionError("the second UpdateDomainName succeeded while the first was in progress")

    conflict = aws.wait(second_update, emulated=10, real=120, interval=0.2 if not aws.real else 2, what="answer")
    answer = conflict.response
    assert (answer["Error"]["Code"], answer["ResponseMetadata"]["HTTPStatusCode"], answer["Error"]["Message"]) == (
        "ConflictException",
        409,
        "There is already an update in progress",
    )
    aws.wait(lambda: status(aws, name) == "AVAILABLE", emulated=20, real=1800, what="AVAILABLE again")


def test_base_path_with_a_slash_refused_by_v1__terraform_provider_aws_21986(
    aws: Aws, cleanup: Cleanup, zone: tuple[str, str]
) -> None:
    """API Gateway v1 CreateBasePathMapping with ``orders/v2`` is refused: ``BadRequestException`` (400)
    "API Gateway V1 doesn't support the slash character (/) in base path mappings. To create a
    multi-level base path mapping, use API Gateway V2."

    Source: API Gateway Developer Guide, "Working with API mappings for REST APIs" (multi-level
    mappings only through apigatewayv2); verbatim message in hashicorp/terraform-provider-aws #21986,
    aws/chalice #1897, aws/aws-cdk #14822 (weaker, real 400s).
    """
    name = f"{aws.run}-bpm.{zone[1]}"
    domain_name(aws, cleanup, name, issued_certificate(aws, cleanup, zone, f"{aws.run}-bpm"))
    apigw = aws.client("apigateway")
    api = apigw.create_rest_api(name=aws.name("api"), endpointConfiguration={"types": ["REGIONAL"]})["id"]
    cleanup.add(f"REST API {api}", lambda: apigw.delete_rest_api(restApiId=api))
    with pytest.raises(ClientError) as refused:
        apigw.create_base_path_mapping(domainName=name, basePath="orders/v2", restApiId=api)
    assert error_of(refused) == ("BadRequestException", 400, SLASH_MESSAGE)


def test_pending_ownership_verification_until_the_ownership_certificate_is_issued__api_reference_domain_name(
    aws: Aws, cleanup: Cleanup, zone: tuple[str, str]
) -> None:
    """A mutual-TLS domain name with an imported regional certificate and an ownership verification
    certificate that ACM has not issued yet is ``PENDING_OWNERSHIP_VERIFICATION``; once the ownership
    certificate is ISSUED the domain becomes ``AVAILABLE``.

    Source: API Gateway API reference, ``DomainName`` (``domainNameStatus`` enum with
    ``PENDING_OWNERSHIP_VERIFICATION``; ``ownershipVerificationCertificateArn``: "Only required when
    configuring mutual TLS and using an ACM imported or private CA certificate ARN as the
    regionalCertificateArn"). *When* the status is shown is assumed (docs/aws-behaviour.md).
    """
    s3 = aws.client("s3")
    bucket = f"{aws.run}-truststore-{int(time.time())}"
    params: dict[str, Any] = {"Bucket": bucket}
    if aws.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    s3.create_bucket(**params)
    cleanup.add(f"bucket {bucket}", lambda: s3.delete_bucket(Bucket=bucket))
    from .helpers import self_signed

    ca, _ = self_signed("Behaviour Test Client CA", days=30)
    s3.put_object(Bucket=bucket, Key="truststore.pem", Body=ca)
    cleanup.add("truststore", lambda: s3.delete_object(Bucket=bucket, Key="truststore.pem"))
    name = f"{aws.run}-own.{zone[1]}"
    imported = import_certificate(aws, cleanup, name)
    ownership = issued_certificate(aws, cleanup, zone, f"{aws.run}-own", wait=False)
    created = domain_name(
        aws,
        cleanup,
        name,
        imported,
        mutualTlsAuthentication={"truststoreUri": f"s3://{bucket}/truststore.pem"},
        ownershipVerificationCertificateArn=ownership,
    )
    acm = aws.client("acm")
    if acm.describe_certificate(CertificateArn=ownership)["Certificate"]["Status"] != "ISSUED":
        assert created["domainNameStatus"] == "PENDING_OWNERSHIP_VERIFICATION"
    aws.wait(lambda: status(aws, name) == "AVAILABLE", emulated=30, real=1800, what="AVAILABLE")
