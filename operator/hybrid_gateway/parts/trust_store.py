"""The ELB trust store of a HybridApi's ALB listener in mutual-TLS `verify` mode.

Its CA bundle is the trust bundle that the ClientCertRotation naming the HybridApi's stage publishes to
S3 (`spec.backendTrust.s3`): the API Gateway client certificates the stage may present, each its own
self-signed trust anchor (docs/mutual-tls.md says why ELB can hold them). The ClientCertRotation
writes the bundle object; this part is the only writer of the trust store (CreateTrustStore,
ModifyTrustStore); the listener part is the only writer of the listener's `MutualAuthentication`.

AWS does not say which bundle a trust store was loaded from (DescribeTrustStores answers its name,
status and `NumberOfCaCertificates`), so the sha256 of the bundle last loaded is kept in the owner's
status and handed back (`TrustStore(recorded)`): a bundle whose sha256 differs, or a certificate
count that differs (a ModifyTrustStore made outside the operator), is loaded again. Loading reads the
object first (GetObject) so that what is recorded is exactly what was loaded, by version when the
bucket is versioned. Only creates and updates read the object: a drift check describes the trust
store (one call) and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hybrid_gateway.aws.errors import absent_is_fine
from hybrid_gateway.aws.tags import as_list
from hybrid_gateway.errors import RetryLater
from hybrid_gateway.parts._elbv2 import ElbKind, elb_name, find_elb_resource
from hybrid_gateway.parts.base import Observed, Part, PartContext, differing
from hybrid_gateway.parts.trust_bundle import certificates_in, digest

TRUST_STORES = ElbKind("describe_trust_stores", "TrustStores", "TrustStoreArn", ":truststore/")


@dataclass(frozen=True)
class TrustStoreDesired:
    bucket: str
    key: str
    bundle_sha256: str  # of the bundle the ClientCertRotation published (its status.trustBundleSha256)


@dataclass(frozen=True)
class TrustStoreState:
    name: str
    status: str  # ACTIVE | CREATING
    certificates: int  # NumberOfCaCertificates
    bundle_sha256: str  # of the bundle last loaded, as recorded ("" when not known)
    loaded_certificates: int = -1  # how many certificates that bundle held (-1: not known)


def diff_trust_store(desired: TrustStoreDesired, state: TrustStoreState) -> list[str]:
    """Pure: a different bundle, or a count that no longer matches what was loaded (changed out of band)."""
    changes = differing(("bundle", state.bundle_sha256, desired.bundle_sha256))
    if not changes and state.loaded_certificates >= 0 and state.certificates != state.loaded_certificates:
        changes.append("bundle")
    return changes


@dataclass(frozen=True)
class Loaded:
    """What status records of the bundle a trust store was loaded from."""

    arn: str
    bundle_sha256: str
    certificates: int


class TrustStore(Part[TrustStoreDesired, TrustStoreState]):
    """The ALB listener's trust store (status: `trustStoreArn`, and `trustStore` with the bundle loaded)."""

    name = "trust-store"

    def __init__(self, recorded: Loaded | None = None) -> None:
        self.recorded = recorded

    def _observe(self, item: Mapping[str, Any]) -> Observed[TrustStoreState]:
        arn = str(item["TrustStoreArn"])
        known = self.recorded if self.recorded is not None and self.recorded.arn == arn else None
        status = str(item.get("Status") or "ACTIVE")
        state = TrustStoreState(
            name=str(item.get("Name") or ""), status=status, certificates=int(item.get("NumberOfCaCertificates") or 0),
            bundle_sha256=known.bundle_sha256 if known else "",
            loaded_certificates=known.certificates if known else -1)
        return Observed(arn, state, ready=status == "ACTIVE", waiting_for=f"trust store {arn} is {status}")

    def _loaded(self, item: Mapping[str, Any], loaded: Loaded) -> Observed[TrustStoreState]:
        # What this part loaded counts as recorded for the rest of its life (the pass; status keeps it after).
        self.recorded = loaded
        return self._observe(item)

    def find(self, ctx: PartContext, desired: TrustStoreDesired | None,
             known_id: str | None) -> Observed[TrustStoreState] | None:
        found = find_elb_resource(ctx, TRUST_STORES, self.name, known_id, self.store_name(ctx),
                                  pick=lambda items: items[0])
        if found is None:
            return None
        observed = self._observe(found.item)
        observed.owned = found.owned
        return observed

    @staticmethod
    def store_name(ctx: PartContext) -> str:
        # Deterministic: found again after a crash between create and status write. Nothing in it changes.
        return elb_name(ctx.owner, "ts")

    @staticmethod
    def _bundle(ctx: PartContext, desired: TrustStoreDesired) -> tuple[dict[str, str], Loaded]:
        """The bundle object as it is now: its location for ELB (by version when versioned) and what it holds."""
        body = ctx.client("s3").get_object(Bucket=desired.bucket, Key=desired.key)
        text = body["Body"].read().decode("utf-8", errors="replace")
        sha = digest(text)
        if sha != desired.bundle_sha256:
            # The ClientCertRotation has not written what its status says yet (or is writing a newer one).
            raise RetryLater("TrustBundleChanging", f"s3://{desired.bucket}/{desired.key} does not hold the bundle "
                             f"the ClientCertRotation published (sha256 {desired.bundle_sha256[:12]}) yet", 3.0)
        where = {"CaCertificatesBundleS3Bucket": desired.bucket, "CaCertificatesBundleS3Key": desired.key}
        version = body.get("VersionId")
        if version and version != "null":
            where["CaCertificatesBundleS3ObjectVersion"] = str(version)
        return where, Loaded("", sha, len(certificates_in(text)))

    def create(self, ctx: PartContext, desired: TrustStoreDesired) -> Observed[TrustStoreState]:
        where, loaded = self._bundle(ctx, desired)
        item = ctx.client("elbv2").create_trust_store(
            Name=self.store_name(ctx), Tags=as_list(ctx.owner.tags(self.name)), **where)["TrustStores"][0]
        return self._loaded(item, Loaded(item["TrustStoreArn"], loaded.bundle_sha256, loaded.certificates))

    def diff(self, desired: TrustStoreDesired, observed: Observed[TrustStoreState]) -> list[str]:
        return diff_trust_store(desired, observed.state)

    def update(self, ctx: PartContext, desired: TrustStoreDesired, observed: Observed[TrustStoreState],
               changes: list[str]) -> Observed[TrustStoreState]:
        where, loaded = self._bundle(ctx, desired)
        item = ctx.client("elbv2").modify_trust_store(TrustStoreArn=observed.id, **where)["TrustStores"][0]
        return self._loaded(item, Loaded(observed.id, loaded.bundle_sha256, loaded.certificates))

    def delete(self, ctx: PartContext, observed: Observed[TrustStoreState]) -> None:
        # TrustStoreInUse while a listener still names it: the HybridApi's chain has the trust store before the
        # ALB, so finalize deletes the ALB (and its listener) first.
        with absent_is_fine():
            ctx.client("elbv2").delete_trust_store(TrustStoreArn=observed.id)


__all__ = ["TRUST_STORES", "Loaded", "TrustStore", "TrustStoreDesired", "TrustStoreState", "diff_trust_store"]
