"""The backend trust bundle: the PEMs of the client certificates the on-prem backend must accept.

The bundle is published where the backend (or whatever configures it) reads it: one key of a
Secret or ConfigMap in the ClientCertRotation's namespace (written by the reconciler through
``kube.py``: parts never talk to Kubernetes), and optionally one S3 object (this module).
Composition is pure and deterministic, so the same certificates always give the same bytes and
the same sha256, and "already published" is a plain comparison (no write when nothing differs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import error_code, is_not_found
from hybrid_gateway.parts._apigateway import PartError, sha256_hex
from hybrid_gateway.parts.base import PartContext

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


class BucketNotFound(PartError):
    """The S3 bucket named in spec.backendTrust.s3 does not exist: the user must create or fix it."""


@dataclass(frozen=True)
class S3Object:
    """The optional S3 copy of the bundle (bucket in the same Region, owned by the user).

    The object is not tagged (that would need s3:PutObjectTagging as well): its key is the user's
    choice in the spec, so it needs no owner tags to be found again.
    """

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def read(self, ctx: PartContext) -> str | None:
        try:
            body = ctx.client("s3").get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) == "NoSuchBucket":
                raise self._no_bucket() from None
            if is_not_found(exc):
                return None
            raise
        return bytes(body).decode("utf-8", "replace")

    def ensure(self, ctx: PartContext, bundle: str) -> bool:
        """Write the bundle unless the object already holds exactly it; True when written."""
        if self.read(ctx) == bundle:
            return False
        try:
            ctx.client("s3").put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=bundle.encode(),
                ContentType=CONTENT_TYPE,
            )
        except ClientError as exc:
            if error_code(exc) == "NoSuchBucket":
                raise self._no_bucket() from None
            raise
        return True

    def delete(self, ctx: PartContext) -> bool:
        """Delete the object; False when there was nothing (or no bucket) to delete."""
        try:
            if self.read(ctx) is None:
                return False
            ctx.client("s3").delete_object(Bucket=self.bucket, Key=self.key)
        except BucketNotFound:
            return False
        except ClientError as exc:
            if is_not_found(exc):
                return False
            raise
        return True

    def _no_bucket(self) -> BucketNotFound:
        return BucketNotFound(
            PART, self.uri, "BucketNotFound",
            f"spec.backendTrust.s3.bucket {self.bucket} does not exist in this Region: create it or fix the name",
        )
