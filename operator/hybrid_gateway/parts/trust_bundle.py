"""The backend trust bundle: the PEMs of the client certificates the on-prem backend must accept.

The bundle is published where the backend (or whatever configures it) reads it: one key of a
Secret or ConfigMap in the ClientCertRotation's namespace (written by the reconciler through
``kube.py``: parts never talk to Kubernetes), and optionally one S3 object (`TrustBundleObject`).
Composition is pure and deterministic, so the same certificates always give the same bytes and
the same sha256, and "already published" is a plain comparison (no write when nothing differs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import absent_is_fine, error_code, is_not_found
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts._apigateway import sha256_hex
from hybrid_gateway.parts.base import Observed, Part, PartContext
from hybrid_gateway.parts.truststore_object import parse_uri, s3_uri

PART = "trust-bundle"
CONTENT_TYPE = "application/x-pem-file"
_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def normalise(pem: str) -> str:
    return pem.strip().replace("\r\n", "\n") + "\n"


def compose(pems: Iterable[str]) -> str:
    """One PEM file holding each certificate once, in the order given."""
    seen: list[str] = []
    for pem in pems:
        block = normalise(pem)
        if block.strip() and block not in seen:
            seen.append(block)
    return "".join(seen)


def digest(bundle: str) -> str:
    return sha256_hex(bundle)


def certificates_in(bundle: str) -> list[str]:
    """The PEM blocks of a bundle, normalised (to check what a published bundle trusts)."""
    return [normalise(m.group(0)) for m in _PEM_BLOCK.finditer(bundle or "")]


def contains(bundle: str, pem: str) -> bool:
    return normalise(pem) in certificates_in(bundle)


@dataclass(frozen=True)
class TrustBundleDesired:
    """The optional S3 copy of the bundle (bucket in the same Region, owned by the user)."""

    bucket: str
    key: str
    bundle: str = field(repr=False)  # public certificates only, but long

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)


@dataclass(frozen=True)
class TrustBundleState:
    bucket: str
    key: str
    sha256: str  # of the object's content


class TrustBundleObject(Part[TrustBundleDesired, TrustBundleState]):
    """The bundle's S3 copy at ``s3://bucket/key`` (id: that URI).

    The object is not tagged (that would need s3:PutObjectTagging as well): its key is the user's
    choice in the spec, so it needs no owner tags to be found again, and what is there is ours.
    """

    name = PART

    def find(
        self, ctx: PartContext, desired: TrustBundleDesired | None, known_id: str | None
    ) -> Observed[TrustBundleState] | None:
        """The object the desired state names (else `known_id`); None when it, or its bucket, is missing."""
        uri = desired.uri if desired is not None else known_id
        if not uri:
            return None
        bucket, key = parse_uri(uri)
        try:
            body = ctx.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if is_not_found(exc):  # NoSuchKey, and NoSuchBucket: create() says which
                return None
            raise
        return Observed(id=uri, state=TrustBundleState(bucket, key, digest(bytes(body).decode("utf-8", "replace"))))

    def create(self, ctx: PartContext, desired: TrustBundleDesired) -> Observed[TrustBundleState]:
        try:
            ctx.client("s3").put_object(
                Bucket=desired.bucket, Key=desired.key, Body=desired.bundle.encode(), ContentType=CONTENT_TYPE
            )
        except ClientError as exc:
            if error_code(exc) == "NoSuchBucket":
                raise Stalled(
                    "BucketNotFound",
                    f"spec.backendTrust.s3.bucket {desired.bucket} does not exist in this Region: "
                    "create it or fix the name",
                ) from None
            raise
        return Observed(id=desired.uri, state=TrustBundleState(desired.bucket, desired.key, digest(desired.bundle)))

    def diff(self, desired: TrustBundleDesired, observed: Observed[TrustBundleState]) -> list[str]:
        return [] if observed.state.sha256 == digest(desired.bundle) else ["content"]

    def update(
        self, ctx: PartContext, desired: TrustBundleDesired, observed: Observed[TrustBundleState], changes: list[str]
    ) -> Observed[TrustBundleState]:
        return self.create(ctx, desired)

    def delete(self, ctx: PartContext, observed: Observed[TrustBundleState]) -> None:
        with absent_is_fine():
            ctx.client("s3").delete_object(Bucket=observed.state.bucket, Key=observed.state.key)
