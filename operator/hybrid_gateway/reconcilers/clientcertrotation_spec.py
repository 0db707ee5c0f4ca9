"""ClientCertRotation spec as typed values, and the checks a schema cannot make (pure: no I/O)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from hybrid_gateway import durations
from hybrid_gateway.errors import Stalled
from hybrid_gateway.reconcilers.base import KubeObject

DEFAULT_RENEW_BEFORE = 720 * 3600.0  # 30 days of the 365-day life
DEFAULT_GRACE_PERIOD = 600.0
DEFAULT_EXPECT_STATUS = (200,)


@dataclass(frozen=True)
class StageRef:
    hybrid_api: str
    stage: str

    @property
    def label(self) -> str:
        return f"{self.hybrid_api}/{self.stage}"


@dataclass(frozen=True)
class TrustTarget:
    """Where the backend trust bundle is published: one Secret or ConfigMap key, plus optional S3."""

    kind: str  # "Secret" | "ConfigMap"
    name: str
    key: str
    s3_bucket: str | None = None
    s3_key: str | None = None

    def describe(self, namespace: str) -> str:
        return f"{self.kind} {namespace}/{self.name} key {self.key}"


@dataclass(frozen=True)
class Verification:
    hybrid_api: str
    path: str = "/"
    method: str = "GET"
    expect_status: tuple[int, ...] = DEFAULT_EXPECT_STATUS


@dataclass(frozen=True)
class RotationSpec:
    region: str
    stages: tuple[StageRef, ...]
    trust: TrustTarget
    renew_before: float = DEFAULT_RENEW_BEFORE  # seconds
    grace_period: float = DEFAULT_GRACE_PERIOD  # seconds
    verification: Verification | None = None
    rotate_requested_at: str = ""
    retain: bool = False

    @staticmethod
    def parse(obj: KubeObject) -> RotationSpec:
        spec = obj.spec
        stages = tuple(
            StageRef(str((s.get("hybridApiRef") or {}).get("name") or ""), str(s.get("stage") or ""))
            for s in spec.get("stages") or ()
        )
        if not stages or any(not s.hybrid_api or not s.stage for s in stages):
            raise Stalled("InvalidStages", "spec.stages: name at least one {hybridApiRef: {name}, stage}")
        seen: set[StageRef] = set()
        for ref in stages:
            if ref in seen:
                raise Stalled("DuplicateStage", f"spec.stages names stage {ref.label} twice: remove one")
            seen.add(ref)
        trust = spec.get("backendTrust") or {}
        secret_ref, cm_ref = trust.get("secretRef"), trust.get("configMapRef")
        if bool(secret_ref) == bool(cm_ref):
            raise Stalled("InvalidBackendTrust", "spec.backendTrust: set exactly one of secretRef and configMapRef")
        where: dict[str, Any] = dict(secret_ref or cm_ref or {})
        s3 = trust.get("s3") or {}
        target = TrustTarget(
            kind="Secret" if secret_ref else "ConfigMap",
            name=str(where["name"]),
            key=str(where["key"]),
            s3_bucket=s3.get("bucket") or None,
            s3_key=s3.get("key") or None,
        )
        verification = None
        v = spec.get("verification") or None
        if v:
            expect = tuple(int(x) for x in (v.get("expectStatus") or DEFAULT_EXPECT_STATUS))
            verification = Verification(
                hybrid_api=str((v.get("hybridApiRef") or {}).get("name") or ""),
                path=str(v.get("path") or "/"),
                method=str(v.get("method") or "GET").upper(),
                expect_status=expect,
            )
            if not verification.hybrid_api:
                raise Stalled("InvalidVerification", "spec.verification.hybridApiRef.name is required")
        renew_before = _duration(spec, "renewBefore", DEFAULT_RENEW_BEFORE)
        grace = _duration(spec, "gracePeriod", DEFAULT_GRACE_PERIOD)
        requested = str(spec.get("rotateRequestedAt") or "")
        if requested:
            try:
                parse_time(requested)
            except ValueError:
                raise Stalled(
                    "InvalidRotateRequest",
                    f"spec.rotateRequestedAt {requested!r} is not an RFC 3339 time like 2024-05-01T09:00:00Z",
                ) from None
        return RotationSpec(
            region=str(spec["region"]),
            stages=stages,
            trust=target,
            renew_before=renew_before,
            grace_period=grace,
            verification=verification,
            rotate_requested_at=requested,
            retain=spec.get("deletionPolicy") == "Retain",
        )


def _duration(spec: dict[str, Any], field: str, default: float) -> float:
    try:
        return durations.parse(spec.get(field), default)
    except ValueError as exc:
        raise Stalled("InvalidDuration", f"spec.{field}: {exc}") from None


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 time (``Z`` or an offset) as an aware datetime."""
    value = dt.datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return value


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def stage_claimed_by(me: KubeObject, others: list[dict[str, Any]], ref: StageRef) -> str | None:
    """The name of an older ClientCertRotation that already names `ref` (one writer per stage), if any.

    Older means created earlier (the name breaks ties); objects being deleted do not count.
    """
    mine = (str(me.body["metadata"].get("creationTimestamp") or ""), me.name)
    for other in others:
        meta = other.get("metadata") or {}
        if meta.get("uid") == me.uid or meta.get("deletionTimestamp"):
            continue
        theirs = (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))
        if theirs >= mine:
            continue
        for s in (other.get("spec") or {}).get("stages") or ():
            if (s.get("hybridApiRef") or {}).get("name") == ref.hybrid_api and s.get("stage") == ref.stage:
                return str(meta.get("name"))
    return None
