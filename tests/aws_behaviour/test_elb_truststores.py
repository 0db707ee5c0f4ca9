"""ELBv2 trust stores and a listener's mutual-TLS setting (catalogue: docs/aws-behaviour.md,
"ELBv2 trust stores and mutual TLS")."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import Aws, Cleanup, error_of, import_certificate, load_balancer, network, self_signed, wait_active
from .test_s3 import bucket


def _bundle(aws: Aws, cleanup: Cleanup, body: bytes, key: str = "ca.pem") -> tuple[str, str]:
    name = bucket(aws, cleanup, "ts")
    aws.client("s3").put_object(Bucket=name, Key=key, Body=body)
    return name, key


def _trust_store(aws: Aws, cleanup: Cleanup, bucket_name: str, key: str, **extra: Any) -> dict[str, Any]:
    elbv2 = aws.client("elbv2")
    store = dict(
        elbv2.create_trust_store(
            Name=aws.name("ts"),
            CaCertificatesBundleS3Bucket=bucket_name,
            CaCertificatesBundleS3Key=key,
            Tags=aws.tags(),
            **extra,
        )["TrustStores"][0]
    )
    arn = store["TrustStoreArn"]
    cleanup.add(f"trust store {arn}", lambda: elbv2.delete_trust_store(TrustStoreArn=arn))
    return store


def test_trust_store_from_a_ca_bundle_in_s3__elb_api_reference_create_trust_store(aws: Aws, cleanup: Cleanup) -> None:
    """CreateTrustStore reads the PEM bundle from S3 and counts its CA certificates; the name is
    unique per Region (``DuplicateTrustStoreName``); DescribeTrustStores answers it by ARN and by name;
    tags are read with DescribeTags; ModifyTrustStore replaces the bundle.

    Source: ELB API reference ``CreateTrustStore``, ``ModifyTrustStore``, ``DescribeTrustStores``,
    ``TrustStore`` ("NumberOfCaCertificates"), ``AddTags`` (trust stores are taggable resources).
    """
    one, _ = self_signed("ca-one")
    two, _ = self_signed("ca-two")
    name, key = _bundle(aws, cleanup, one)
    store = _trust_store(aws, cleanup, name, key)
    assert store["NumberOfCaCertificates"] == 1
    assert ":truststore/" in store["TrustStoreArn"]
    elbv2 = aws.client("elbv2")
    by_name = elbv2.describe_trust_stores(Names=[store["Name"]])["TrustStores"]
    assert [s["TrustStoreArn"] for s in by_name] == [store["TrustStoreArn"]]
    tags = elbv2.describe_tags(ResourceArns=[store["TrustStoreArn"]])["TagDescriptions"][0]["Tags"]
    assert {"Key": aws.tags()[0]["Key"], "Value": aws.run} in tags
    with pytest.raises(ClientError) as duplicate:
        elbv2.create_trust_store(Name=store["Name"], CaCertificatesBundleS3Bucket=name, CaCertificatesBundleS3Key=key)
    assert error_of(duplicate)[:2] == ("DuplicateTrustStoreName", 400)
    aws.client("s3").put_object(Bucket=name, Key="two.pem", Body=one + two)
    modified = elbv2.modify_trust_store(
        TrustStoreArn=store["TrustStoreArn"], CaCertificatesBundleS3Bucket=name, CaCertificatesBundleS3Key="two.pem"
    )["TrustStores"][0]
    assert modified["NumberOfCaCertificates"] == 2


def test_missing_or_invalid_bundle_is_refused__elb_api_reference_create_trust_store_errors(
    aws: Aws, cleanup: Cleanup
) -> None:
    """A bundle object that does not exist is ``CaCertificatesBundleNotFound``; one that holds no
    certificate is ``InvalidCaCertificatesBundle`` (both 400); an unknown trust store ARN is
    ``TrustStoreNotFound``.

    Source: ELB API reference ``CreateTrustStore`` and ``DescribeTrustStores``, "Errors".
    """
    name, key = _bundle(aws, cleanup, b"not a certificate")
    elbv2 = aws.client("elbv2")
    with pytest.raises(ClientError) as missing:
        elbv2.create_trust_store(
            Name=aws.name("ts"), CaCertificatesBundleS3Bucket=name, CaCertificatesBundleS3Key="none"
        )
    assert error_of(missing)[:2] == ("CaCertificatesBundleNotFound", 400)
    with pytest.raises(ClientError) as invalid:
        elbv2.create_trust_store(Name=aws.name("ts"), CaCertificatesBundleS3Bucket=name, CaCertificatesBundleS3Key=key)
    assert error_of(invalid)[:2] == ("InvalidCaCertificatesBundle", 400)
    region, account = aws.region, "123456789012"
    if aws.real:
        account = aws.client("sts").get_caller_identity()["Account"]
    unknown = f"arn:aws:elasticloadbalancing:{region}:{account}:truststore/nothing/0123456789abcdef"
    with pytest.raises(ClientError) as not_found:
        elbv2.describe_trust_stores(TrustStoreArns=[unknown])
    assert error_of(not_found)[:2] == ("TrustStoreNotFound", 400)


@pytest.mark.slow_on_aws
def test_listener_mutual_authentication_modes_and_trust_store_in_use__elb_api_reference_mutual_authentication(
    aws: Aws, cleanup: Cleanup
) -> None:
    """An HTTPS listener's mutual TLS is off unless set; ModifyListener sets ``verify`` with a trust
    store (DescribeListeners answers mode and trust store) or ``passthrough``; passthrough refuses
    ``IgnoreClientCertificateExpiry``; a trust store a listener verifies with cannot be deleted
    (``TrustStoreInUse``), and can once the listener no longer uses it.

    Sources: ELB guide "Mutual authentication with TLS in Application Load Balancer" (off by
    default; passthrough; verify with a trust store); ELB API reference ``MutualAuthenticationAttributes``,
    ``DeleteTrustStore`` ("TrustStoreInUse"); [WEAK] terraform-provider-aws #34861 (the passthrough
    ``ValidationError``).
    """
    net = network(aws, cleanup, "10.198")
    alb = load_balancer(aws, cleanup, net, "application", "mtls")
    wait_active(aws, alb["LoadBalancerArn"])
    elbv2 = aws.client("elbv2")
    group = elbv2.create_target_group(
        Name=aws.name("tg"), Protocol="HTTPS", Port=443, VpcId=net.vpc_id, TargetType="ip", Tags=aws.tags()
    )["TargetGroups"][0]["TargetGroupArn"]
    cleanup.add(f"target group {group}", lambda: elbv2.delete_target_group(TargetGroupArn=group))
    certificate = import_certificate(aws, cleanup, "api.internal.example")
    listener = elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
        Tags=aws.tags(),
    )["Listeners"][0]
    arn = listener["ListenerArn"]
    cleanup.add(f"listener {arn}", lambda: elbv2.delete_listener(ListenerArn=arn))
    assert listener.get("MutualAuthentication", {}).get("Mode", "off") == "off"

    ca, _ = self_signed("gateway-client")
    name, key = _bundle(aws, cleanup, ca)
    store = _trust_store(aws, cleanup, name, key)["TrustStoreArn"]
    elbv2.modify_listener(ListenerArn=arn, MutualAuthentication={"Mode": "verify", "TrustStoreArn": store})
    described = elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["MutualAuthentication"]
    assert (described["Mode"], described["TrustStoreArn"]) == ("verify", store)
    with pytest.raises(ClientError) as in_use:
        elbv2.delete_trust_store(TrustStoreArn=store)
    assert error_of(in_use)[:2] == ("TrustStoreInUse", 400)

    with pytest.raises(ClientError) as expiry:
        elbv2.modify_listener(
            ListenerArn=arn, MutualAuthentication={"Mode": "passthrough", "IgnoreClientCertificateExpiry": True}
        )
    assert error_of(expiry)[:2] == ("ValidationError", 400)
    elbv2.modify_listener(ListenerArn=arn, MutualAuthentication={"Mode": "passthrough"})
    assert elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["MutualAuthentication"]["Mode"] == "passthrough"
    aws.wait(lambda: not _in_use(elbv2, store), emulated=5, real=300, what="trust store no longer associated")
    elbv2.delete_trust_store(TrustStoreArn=store)


def _in_use(elbv2: Any, store: str) -> bool:
    return bool(elbv2.describe_trust_store_associations(TrustStoreArn=store)["TrustStoreAssociations"])
