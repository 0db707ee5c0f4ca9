"""S3 versioning: the propagation window after versioning is first enabled, and unversioned answers
(catalogue: docs/aws-behaviour.md, "S3")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import Aws, Cleanup, error_of


def bucket(aws: Aws, cleanup: Cleanup, what: str) -> str:
    s3 = aws.client("s3")
    name = aws.name(what).lower()
    params: dict[str, object] = {"Bucket": name}
    if aws.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    s3.create_bucket(**params)

    def empty_and_delete() -> None:
        versions = s3.list_object_versions(Bucket=name)
        for item in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
        s3.delete_bucket(Bucket=name)

    cleanup.add(f"bucket {name}", empty_and_delete)
    return name


def test_unversioned_put_object_has_no_version_id__localstack_snapshot_s3_unversioned_bucket(
    aws: Aws, cleanup: Cleanup
) -> None:
    """PutObject on a bucket that never had versioning answers no ``VersionId``; GetObject with
    ``VersionId="null"`` works, any other id is ``InvalidArgument`` (400).

    Source: LocalStack snapshot ``tests/aws/services/s3/test_s3_api.snapshot.json``,
    ``TestS3ObjectCRUD::test_get_object_with_version_unversioned_bucket`` (recorded 21-02-2026).
    """
    s3 = aws.client("s3")
    name = bucket(aws, cleanup, "plain")
    put = s3.put_object(Bucket=name, Key="k", Body=b"x")
    assert "VersionId" not in put
    assert s3.get_object(Bucket=name, Key="k", VersionId="null")["Body"].read() == b"x"
    with pytest.raises(ClientError) as invalid:
        s3.get_object(Bucket=name, Key="k", VersionId="not-a-version")
    assert error_of(invalid)[:2] == ("InvalidArgument", 400)


def test_versions_may_not_be_returned_right_after_enabling_versioning__s3_api_reference_put_bucket_versioning(
    aws: Aws, cleanup: Cleanup
) -> None:
    """After versioning is enabled for the first time, writes may still be unversioned for a while
    (PutObject answers no ``VersionId``); later every PutObject answers one.

    Source: S3 API reference, ``PutBucketVersioning``: "When you enable versioning on a bucket for the
    first time, it might take a short amount of time for the change to be fully propagated. ... We
    recommend that you wait for 15 minutes after enabling versioning before issuing write operations
    (PUT or DELETE) on objects in the bucket."; S3 User Guide, "Enabling versioning on buckets"
    ("Write operations issued before this conversion is complete may apply to unversioned objects").
    The emulator models the window as unversioned writes (``versioningSeconds``); the intermittent
    404s the reference also mentions are not modelled.
    """
    s3 = aws.client("s3")
    name = bucket(aws, cleanup, "ver")
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled"
    early = s3.put_object(Bucket=name, Key="k", Body=b"early")
    if not aws.real:  # the emulator's versioning delay is on by default
        assert "VersionId" not in early

    def versioned() -> str | None:
        answer = s3.put_object(Bucket=name, Key="k", Body=b"later")
        return answer.get("VersionId")

    version = aws.wait(versioned, emulated=15, real=1200, interval=None if aws.real else 0.5, what="VersionId")
    assert version and version != "null"
    assert s3.get_object(Bucket=name, Key="k", VersionId=version)["Body"].read() == b"later"
