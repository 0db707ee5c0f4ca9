"""The mutual-TLS truststore in S3: a versioned bucket and the PEM bundle object in it.

API Gateway reads the truststore from ``s3://bucket/key`` at the version the domain name pins
(``truststoreVersion``), so the bucket must keep versions: a new upload then never changes what a
domain uses until the domain is moved to the new version, and an older version stays available to
go back to. A bucket without versioning is refused (Stalled), unless the operator created it, in
which case versioning is put back (drift).

The object is written only when its content changes: the sha256 of the bundle is stored as user
metadata (``x-amz-meta-sha256``) and compared by a HeadObject; an object written by someone else
without that metadata is compared by its ETag (the MD5 of a single-part upload). So a pass over an
unchanged truststore makes no write, and a changed one makes exactly one new version.

Buckets cannot be found by tags without listing the account's buckets, and the spec names the
bucket anyway: the bucket name and the object URI the desired state gives are the ids. Both parts
are `Ownership.SHARED`: the user may bring the bucket (and someone else may have written the key),
so either is used as found, but deleted only when ours: a bucket the operator created carries the
owner tags (and is deleted only when empty), an object it wrote carries its uid in the metadata.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import absent_is_fine, error_code, is_not_found
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts.base import Observed, Ownership, Part, PartContext

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import TagTypeDef

ENABLED: Literal["Enabled"] = "Enabled"
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
def _versioning(s3: Any, bucket: str) -> str | None:
    """The bucket's versioning status ("" when never enabled); None when the bucket is not there."""
    try:
        return str(s3.get_bucket_versioning(Bucket=bucket).get("Status") or "")
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


@dataclass(frozen=True)
class BucketDesired:
    name: str
    region: str
    create: bool = False  # spec.truststore.createBucket


@dataclass(frozen=True)
class BucketState:
    name: str
    versioning: str  # "Enabled", "Suspended" or "" (never enabled)
    region: str


def diff_bucket(desired: BucketDesired, state: BucketState) -> list[str]:
    """Pure. A bucket in another Region cannot be fixed in place (it is refused, not replaced)."""
    changes = []
    if state.region and state.region != desired.region:
        changes.append("region")
    if state.versioning != ENABLED:
        changes.append("versioning")
    return changes


class TruststoreBucket(Part[BucketDesired, BucketState]):
    """The S3 bucket of the truststore (id: the bucket name)."""

    name = "truststore-bucket"
    ownership: ClassVar[Ownership] = Ownership.SHARED

    def find(
        self, ctx: PartContext, desired: BucketDesired | None, known_id: str | None
    ) -> Observed[BucketState] | None:
        name = desired.name if desired is not None else known_id
        if not name:
            return None
        s3 = ctx.client("s3")
        if desired is not None and ctx.is_recorded(name) and _versioning(s3, name) == ENABLED:
            # A bucket this generation's passes already read (region checked, ownership read): while
            # it keeps versioning nothing differs, and its owner tags only matter when something
            # does (refuse) or when removing (finalize reads everything). One read, not four.
            return Observed(id=name, state=BucketState(name=name, versioning=ENABLED, region=desired.region))
        try:
            head = s3.head_bucket(Bucket=name)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            if error_code(exc) in ("403", "AccessDenied"):
                raise Stalled(
                    "TruststoreBucketForbidden",
                    f"S3 bucket {name} exists but the operator may not use it (another account's "
                    "bucket, or the IAM policy lacks it): choose another spec.truststore.bucket",
                ) from None
            raise
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status") or ""
        region = head.get("BucketRegion") or head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region", "")
        try:
            tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name).get("TagSet", [])}
        except ClientError as exc:
            if not _missing(exc):
                raise
            tags = {}
        state = BucketState(name=name, versioning=versioning, region=region)
        return Observed(id=name, state=state, owned=ctx.owner.owns(tags, self.name))

    def refuse(
        self, ctx: PartContext, desired: BucketDesired, observed: Observed[BucketState] | None, changes: list[str]
    ) -> Stalled | None:
        """A bucket that cannot be used as it is and is not ours to fix: missing without createBucket,
        in another Region, or without versioning."""
        if observed is None:
            if desired.create:
                return None
            return Stalled(
                "TruststoreBucketNotFound",
                f"S3 bucket {desired.name} does not exist: create it with versioning enabled, or set "
                "spec.truststore.createBucket: true",
            )
        if "region" in changes:
            return Stalled(
                "TruststoreBucketInOtherRegion",
                f"S3 bucket {desired.name} is in {observed.state.region}, not {desired.region}: "
                "use a bucket in the domain's Region",
            )
        if changes and not observed.owned:
            status = observed.state.versioning or "never enabled"
            return Stalled(
                "TruststoreBucketNotVersioned",
                f"S3 bucket {desired.name} has versioning {status}: the truststore needs a versioned bucket "
                f"(aws s3api put-bucket-versioning --bucket {desired.name} "
                "--versioning-configuration Status=Enabled)",
            )
        return None

    def create(self, ctx: PartContext, desired: BucketDesired) -> Observed[BucketState]:
        s3 = ctx.client("s3")
        params: dict[str, Any] = {"Bucket": desired.name}
        if desired.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": desired.region}
        try:
            s3.create_bucket(**params)
        except ClientError as exc:
            if error_code(exc) == "BucketAlreadyExists":
                raise Stalled(
                    "TruststoreBucketNameTaken",
                    f"S3 bucket name {desired.name} is taken by another account: choose another "
                    "spec.truststore.bucket",
                ) from None
            if error_code(exc) != "BucketAlreadyOwnedByYou":
                raise
        tag_set: list[TagTypeDef] = [{"Key": k, "Value": v} for k, v in sorted(ctx.owner.tags(self.name).items())]
        s3.put_bucket_tagging(Bucket=desired.name, Tagging={"TagSet": tag_set})
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
        return Observed(id=desired.name, state=BucketState(desired.name, ENABLED, desired.region))

    def diff(self, desired: BucketDesired, observed: Observed[BucketState]) -> list[str]:
        return diff_bucket(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: BucketDesired, observed: Observed[BucketState], changes: list[str]
    ) -> Observed[BucketState]:
        ctx.client("s3").put_bucket_versioning(Bucket=observed.id, VersioningConfiguration={"Status": ENABLED})
        return replace(observed, state=replace(observed.state, versioning=ENABLED))

    def delete(self, ctx: PartContext, observed: Observed[BucketState]) -> bool:
        """Only an empty bucket (it may hold other objects: shared); False when it was kept or gone."""
        try:
            ctx.client("s3").delete_bucket(Bucket=observed.id)
        except ClientError as exc:
            if error_code(exc) == "BucketNotEmpty" or is_not_found(exc):
                return False
            raise
        return True


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


# S3 asks to wait after enabling versioning before writing objects (PutBucketVersioning reference, up
# to 15 minutes; docs/aws-behaviour.md): an object written meanwhile gets no version id. It is written
# again at most this often until S3 versions it, and nothing pins it before.
REPUT_UNVERSIONED_SECONDS = 10.0


@dataclass(frozen=True)
class TruststoreObjectState:
    bucket: str
    key: str
    version_id: str  # what the domain name pins; "" or "null" while S3 does not version the object
    sha256: str  # our metadata ("" when someone else wrote the object)
    etag: str
    last_modified: datetime | None = None

    @property
    def versioned(self) -> bool:
        return self.version_id not in ("", "null")


def diff_object(desired: TruststoreObjectDesired, state: TruststoreObjectState, now: datetime) -> list[str]:
    """Pure: the stored sha256 metadata decides; without it, the ETag (MD5 of a single-part upload).
    An object S3 did not version is written again once it is REPUT_UNVERSIONED_SECONDS old."""
    if state.sha256:
        changes = [] if state.sha256 == desired.sha256 else ["content"]
    else:
        changes = [] if state.etag == desired.md5 else ["content"]
    written = state.last_modified or now
    if not changes and not state.versioned and (now - written).total_seconds() >= REPUT_UNVERSIONED_SECONDS:
        changes.append("version")
    return changes


def observe_object(uri: str, state: TruststoreObjectState, owned: bool = True) -> Observed[TruststoreObjectState]:
    if state.versioned:
        return Observed(id=uri, state=state, owned=owned)
    waiting = f"S3 has not versioned {uri} yet (versioning was enabled moments ago; S3 asks to wait)"
    return Observed(id=uri, state=state, ready=False, waiting_for=waiting, owned=owned)


class TruststoreObject(Part[TruststoreObjectDesired, TruststoreObjectState]):
    """The PEM bundle at ``s3://bucket/key`` (id: that URI); `state.version_id` is its version."""

    name = "truststore"
    # Written whoever wrote the key before; deleted only when the current version is ours.
    ownership: ClassVar[Ownership] = Ownership.SHARED

    def find(
        self, ctx: PartContext, desired: TruststoreObjectDesired | None, known_id: str | None
    ) -> Observed[TruststoreObjectState] | None:
        uri = desired.uri if desired is not None else known_id
        if not uri:
            return None
        bucket, key = parse_uri(uri)
        try:
            head = ctx.client("s3").head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        state = TruststoreObjectState(
            bucket=bucket,
            key=key,
            version_id=head.get("VersionId") or "",
            sha256=metadata.get(SHA256_METADATA, ""),
            etag=str(head.get("ETag", "")).strip('"'),
            last_modified=head.get("LastModified"),
        )
        return observe_object(uri, state, owned=metadata.get(UID_METADATA) == ctx.owner.uid)

    def _put(self, ctx: PartContext, desired: TruststoreObjectDesired) -> Observed[TruststoreObjectState]:
        answer = ctx.client("s3").put_object(
            Bucket=desired.bucket,
            Key=desired.key,
            Body=desired.pem.encode(),
            ContentType=CONTENT_TYPE,
            Metadata={SHA256_METADATA: desired.sha256, UID_METADATA: ctx.owner.uid, OWNER_METADATA: ctx.owner.ref},
        )
        state = TruststoreObjectState(
            bucket=desired.bucket,
            key=desired.key,
            version_id=answer.get("VersionId") or "",
            sha256=desired.sha256,
            etag=str(answer.get("ETag", "")).strip('"'),
            last_modified=datetime.now(UTC),
        )
        return observe_object(desired.uri, state)

    def create(self, ctx: PartContext, desired: TruststoreObjectDesired) -> Observed[TruststoreObjectState]:
        return self._put(ctx, desired)

    def diff(self, desired: TruststoreObjectDesired, observed: Observed[TruststoreObjectState]) -> list[str]:
        return diff_object(desired, observed.state, datetime.now(UTC))

    def update(
        self,
        ctx: PartContext,
        desired: TruststoreObjectDesired,
        observed: Observed[TruststoreObjectState],
        changes: list[str],
    ) -> Observed[TruststoreObjectState]:
        return self._put(ctx, desired)

    def delete(self, ctx: PartContext, observed: Observed[TruststoreObjectState]) -> None:
        """Every version (and delete marker) of the key (`remove` calls it only when the current one
        is ours)."""
        s3 = ctx.client("s3")
        bucket, key = observed.state.bucket, observed.state.key
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                if v.get("Key") == key
            ]
            for item in doomed:
                with absent_is_fine():
                    s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


__all__ = [
    "BucketDesired",
    "BucketState",
    "TruststoreBucket",
    "TruststoreObject",
    "TruststoreObjectDesired",
    "TruststoreObjectState",
    "diff_bucket",
    "diff_object",
    "parse_uri",
    "s3_uri",
]
