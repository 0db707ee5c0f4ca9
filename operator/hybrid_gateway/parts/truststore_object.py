"""The mutual-TLS truststore in S3: a versioned bucket and the PEM bundle object in it.

API Gateway reads the truststore from ``s3://bucket/key`` at the version the domain name pins
(``truststoreVersion``), so the bucket must keep versions: a new upload then never changes what a
domain uses until the domain is moved to the new version, and an older version stays available to
go back to. A bucket without versioning is an input error (Stalled), unless the operator created
it, in which case versioning is put back (drift).

The object is written only when its content changes: the sha256 of the bundle is stored as user
metadata (``x-amz-meta-sha256``) and compared by a HeadObject; an object written by someone else
without that metadata is compared by its ETag (the MD5 of a single-part upload). So a pass over an
unchanged truststore makes no write, and a changed one makes exactly one new version.

Buckets cannot be found by tags without listing the account's buckets, and the spec names the
bucket anyway: the bucket name and the object URI are the ids. A bucket the operator created
carries the owner tags; only such a bucket is ever deleted, and only when it is empty.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import error_code, is_not_found
from hybrid_gateway.aws.tags import as_dict, as_list
from hybrid_gateway.parts._elbv2 import InputError
from hybrid_gateway.parts.base import Observed, Outcome, Part, PartContext

ENABLED = "Enabled"
CONTENT_TYPE = "application/x-pem-file"
SHA256_METADATA = "sha256"
UID_METADATA = "hybridgateway-uid"
OWNER_METADATA = "hybridgateway-owner"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def parse_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _missing(exc: ClientError) -> bool:
    return is_not_found(exc) or error_code(exc) in ("NoSuchTagSet", "NoSuchBucketPolicy")


# -- the bucket -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BucketDesired:
    name: str
    region: str
    create: bool = False  # spec.truststore.createBucket


def diff_bucket(desired: BucketDesired, state: dict[str, Any]) -> list[str]:
    """Pure. A bucket in another Region cannot be fixed in place (it is reported, not replaced)."""
    changes = []
    if state.get("region") and state["region"] != desired.region:
        changes.append("region")
    if state.get("versioning") != ENABLED:
        changes.append("versioning")
    return changes


class TruststoreBucket(Part[BucketDesired]):
    """The S3 bucket of the truststore (id: the bucket name)."""

    name = "truststore-bucket"

    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        if not known_id:
            return None
        s3 = ctx.client("s3")
        try:
            head = s3.head_bucket(Bucket=known_id)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            if error_code(exc) in ("403", "AccessDenied"):
                raise InputError(
                    "TruststoreBucketForbidden",
                    f"S3 bucket {known_id} exists but the operator may not use it (another account's "
                    "bucket, or the IAM policy lacks it): choose another spec.truststore.bucket",
                ) from None
            raise
        versioning = s3.get_bucket_versioning(Bucket=known_id).get("Status") or ""
        region = head.get("BucketRegion") or head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region", "")
        try:
            tags = as_dict(s3.get_bucket_tagging(Bucket=known_id).get("TagSet"))
        except ClientError as exc:
            if not _missing(exc):
                raise
            tags = {}
        state = {
            "name": known_id,
            "versioning": versioning,
            "region": region,
            "owned": ctx.owner.owns(tags, self.name),
        }
        return Observed(id=known_id, state=state)

    def check(self, ctx: PartContext, desired: BucketDesired) -> Observed | None:
        """Read only: the bucket (None when it is to be created), or `InputError` when it cannot be
        used as it is and is not ours to fix (missing without createBucket, other Region, unversioned)."""
        observed = self.find(ctx, desired.name)
        if observed is None:
            if not desired.create:
                raise InputError(
                    "TruststoreBucketNotFound",
                    f"S3 bucket {desired.name} does not exist: create it with versioning enabled, or set "
                    "spec.truststore.createBucket: true",
                )
            return None
        changes = self.diff(desired, observed)
        if "region" in changes:
            raise InputError(
                "TruststoreBucketInOtherRegion",
                f"S3 bucket {desired.name} is in {observed.state['region']}, not {desired.region}: "
                "use a bucket in the domain's Region",
            )
        if changes and not observed.state.get("owned"):
            status = observed.state.get("versioning") or "never enabled"
            raise InputError(
                "TruststoreBucketNotVersioned",
                f"S3 bucket {desired.name} has versioning {status}: the truststore needs a versioned bucket "
                f"(aws s3api put-bucket-versioning --bucket {desired.name} "
                "--versioning-configuration Status=Enabled)",
            )
        return observed

    def ensure(self, ctx: PartContext, desired: BucketDesired, known_id: str | None) -> Outcome:
        observed = self.check(ctx, desired)
        if observed is None:
            return Outcome(self.name, self.create(ctx, desired), "Created")
        changes = self.diff(desired, observed)
        if not changes:
            return Outcome(self.name, observed)
        return Outcome(self.name, self.update(ctx, desired, observed, changes), "Updated", changes)

    def create(self, ctx: PartContext, desired: BucketDesired) -> Observed:
        s3 = ctx.client("s3")
        params: dict[str, Any] = {"Bucket": desired.name}
        if desired.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": desired.region}
        try:
            s3.create_bucket(**params)
        except ClientError as exc:
            if error_code(exc) == "BucketAlreadyExists":
                raise InputError(
                    "TruststoreBucketNameTaken",
                    f"S3 bucket name {desired.name} is taken by another account: choose another "
                    "spec.truststore.bucket",
                ) from None
            if error_code(exc) != "BucketAlreadyOwnedByYou":
                raise
        s3.put_bucket_tagging(Bucket=desired.name, Tagging={"TagSet": as_list(ctx.owner.tags(self.name))})
        s3.put_public_access_block(
            Bucket=desired.name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_versioning(Bucket=desired.name, VersioningConfiguration={"Status": ENABLED})
        return Observed(
            id=desired.name,
            state={"name": desired.name, "versioning": ENABLED, "region": desired.region, "owned": True},
        )

    def diff(self, desired: BucketDesired, observed: Observed) -> list[str]:
        return diff_bucket(desired, observed.state)

    def update(self, ctx: PartContext, desired: BucketDesired, observed: Observed, changes: list[str]) -> Observed:
        ctx.client("s3").put_bucket_versioning(Bucket=observed.id, VersioningConfiguration={"Status": ENABLED})
        return Observed(id=observed.id, state={**observed.state, "versioning": ENABLED})

    def delete(self, ctx: PartContext, observed: Observed) -> None:
        ctx.client("s3").delete_bucket(Bucket=observed.id)

    def remove(self, ctx: PartContext, known_id: str | None) -> str | None:
        """Delete the bucket only if we created it and nothing else is in it (it may be shared)."""
        observed = self.find(ctx, known_id)
        if observed is None or not observed.state.get("owned"):
            return None
        try:
            self.delete(ctx, observed)
        except ClientError as exc:
            if error_code(exc) == "BucketNotEmpty":
                return None
            if is_not_found(exc):
                return None
            raise
        return observed.id


# -- the object ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TruststoreObjectDesired:
    bucket: str
    key: str
    pem: str = field(repr=False)
    sha256: str

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)

    @property
    def md5(self) -> str:
        return hashlib.md5(self.pem.encode(), usedforsecurity=False).hexdigest()


def diff_object(desired: TruststoreObjectDesired, state: dict[str, Any]) -> list[str]:
    """Pure: the stored sha256 metadata decides; without it, the ETag (MD5 of a single-part upload)."""
    if state.get("sha256"):
        return [] if state["sha256"] == desired.sha256 else ["content"]
    return [] if state.get("etag") == desired.md5 else ["content"]


class TruststoreObject(Part[TruststoreObjectDesired]):
    """The PEM bundle at ``s3://bucket/key`` (id: that URI); `state["versionId"]` is its version."""

    name = "truststore"

    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        if not known_id:
            return None
        bucket, key = parse_uri(known_id)
        try:
            head = ctx.client("s3").head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        state = {
            "bucket": bucket,
            "key": key,
            "versionId": head.get("VersionId") or "",
            "sha256": metadata.get(SHA256_METADATA, ""),
            "etag": str(head.get("ETag", "")).strip('"'),
            "owned": metadata.get(UID_METADATA) == ctx.owner.uid,
        }
        return Observed(id=known_id, state=state)

    def ensure(self, ctx: PartContext, desired: TruststoreObjectDesired, known_id: str | None) -> Outcome:
        return super().ensure(ctx, desired, desired.uri)

    def _put(self, ctx: PartContext, desired: TruststoreObjectDesired) -> Observed:
        answer = ctx.client("s3").put_object(
            Bucket=desired.bucket,
            Key=desired.key,
            Body=desired.pem.encode(),
            ContentType=CONTENT_TYPE,
            Metadata={SHA256_METADATA: desired.sha256, UID_METADATA: ctx.owner.uid, OWNER_METADATA: ctx.owner.ref},
        )
        version = answer.get("VersionId") or ""
        if not version or version == "null":
            raise InputError(
                "TruststoreBucketNotVersioned",
                f"S3 bucket {desired.bucket} did not version {desired.key}: enable versioning on the bucket",
            )
        state = {
            "bucket": desired.bucket,
            "key": desired.key,
            "versionId": version,
            "sha256": desired.sha256,
            "etag": str(answer.get("ETag", "")).strip('"'),
            "owned": True,
        }
        return Observed(id=desired.uri, state=state)

    def create(self, ctx: PartContext, desired: TruststoreObjectDesired) -> Observed:
        return self._put(ctx, desired)

    def diff(self, desired: TruststoreObjectDesired, observed: Observed) -> list[str]:
        return diff_object(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: TruststoreObjectDesired, observed: Observed, changes: list[str]
    ) -> Observed:
        return self._put(ctx, desired)

    def delete(self, ctx: PartContext, observed: Observed) -> None:
        """Every version (and delete marker) of the key, but only when the current one is ours."""
        if not observed.state.get("owned"):
            return
        s3 = ctx.client("s3")
        bucket, key = observed.state["bucket"], observed.state["key"]
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                if v.get("Key") == key
            ]
            for item in doomed:
                try:
                    s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
                except ClientError as exc:
                    if not is_not_found(exc):
                        raise

    def remove(self, ctx: PartContext, known_id: str | None) -> str | None:
        observed = self.find(ctx, known_id)
        if observed is None or not observed.state.get("owned"):
            return None
        self.delete(ctx, observed)
        return observed.id


__all__ = [
    "BucketDesired",
    "TruststoreBucket",
    "TruststoreObject",
    "TruststoreObjectDesired",
    "diff_bucket",
    "diff_object",
    "parse_uri",
    "s3_uri",
]
