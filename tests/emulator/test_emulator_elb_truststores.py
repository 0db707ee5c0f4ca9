"""The emulator's ELB trust stores: what a CA bundle must hold, the bundle download, and reset
(catalogue: docs/aws-behaviour.md, "ELBv2 trust stores and mutual TLS")."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes

from hybrid_gateway_devenv.emulator import EmulatorControl

from .helpers import make_cert

pytestmark = pytest.mark.usefixtures("instant_aws")


def _create(s3: Any, elbv2: Any, body: bytes, name: str = "ts") -> dict[str, Any]:
    s3.create_bucket(Bucket="bundles", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket="bundles", Key=f"{name}.pem", Body=body)
    return dict(
        elbv2.create_trust_store(
            Name=name, CaCertificatesBundleS3Bucket="bundles", CaCertificatesBundleS3Key=f"{name}.pem"
        )["TrustStores"][0]
    )


@pytest.mark.parametrize(
    ("reason", "certificate"),
    [
        ("an RSA key under 2048 bits", lambda: make_cert("weak", key_size=1024)),
        ("a SHA-1 signature", lambda: make_cert("sha1", algorithm=hashes.SHA1())),
        (
            "a private key instead of a certificate",
            lambda: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ),
    ],
)
def test_a_bundle_breaking_the_certificate_requirements_is_invalid(
    s3: Any, elbv2: Any, reason: str, certificate: Any
) -> None:
    with pytest.raises(ClientError) as refused:
        _create(s3, elbv2, certificate().encode())
    assert refused.value.response["Error"]["Code"] == "InvalidCaCertificatesBundle", reason


def test_ecdsa_and_rsa_ca_certificates_are_accepted(s3: Any, elbv2: Any) -> None:
    bundle = (make_cert("rsa-ca") + make_cert("ec-ca", elliptic=True)).encode()
    assert _create(s3, elbv2, bundle)["NumberOfCaCertificates"] == 2


def test_the_bundle_location_serves_the_bundle_and_reset_forgets_trust_stores(
    s3: Any, elbv2: Any, ctl: EmulatorControl
) -> None:
    bundle = make_cert("ca").encode()
    arn = _create(s3, elbv2, bundle)["TrustStoreArn"]
    location = elbv2.get_trust_store_ca_certificates_bundle(TrustStoreArn=arn)["Location"]
    with urllib.request.urlopen(location, timeout=5) as answer:
        assert answer.read() == bundle
    ctl.reset()
    assert elbv2.describe_trust_stores()["TrustStores"] == []
