"""ClientCertRotation: the API Gateway client certificate of HybridApi stages, renewed without downtime.

Seed 003's renewal (generate new; add it to the backend trust next to the old one; switch the
stage; remove the old one from the trust; delete the old certificate) as a resumable state machine
whose phase lives in status:

    Idle -> Generating -> PublishingTrust -> [Verifying] -> Switching -> Draining -> Retiring -> Idle

Every pass first converges the world the persisted phase calls for (the trust bundle holds exactly
the phase's certificates, every stage presents the phase's certificate: this is also the drift
check), then takes at most one step to the next phase, and the step is written to status at the
end of the pass before the next step can run. So an operator killed at any moment resumes from
the last recorded phase and redoes at most one idempotent step; a certificate generated just before
a crash is found again by its owner tags. At every moment each target stage presents a certificate
that is in the published bundle: the bundle gains the new certificate before any stage switches to
it, and loses the old one only after every stage left it (and the grace period passed).

While a rotation is under way a hop condition is False, so `run_pass` comes back in a few seconds;
a grace period longer than SHORT_GRACE_SECONDS is waited for by the drift timer instead (the object
reports Ready meanwhile: every stage uses a certificate the backend trusts).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from hybrid_gateway import GROUP, VERSION, metrics
from hybrid_gateway.api.v1alpha1.clientcertrotation import (
    CLIENT_CERT_ROTATION,
    CertificateOrigin,
    ClientCertRotationSpec,
    ConditionType,
    Phase,
    StageRef,
)
from hybrid_gateway.api.v1alpha1.hybridapi import HYBRID_API, HybridApiSpec, Resource
from hybrid_gateway.aws.errors import error_code
from hybrid_gateway.aws.tags import MANAGED_BY, MANAGED_BY_TAG, OWNER_TAG, UID_TAG
from hybrid_gateway.durations import format_time, parse_time
from hybrid_gateway.errors import PassError, Stalled
from hybrid_gateway.kube import NotOwned
from hybrid_gateway.parts import acm_client_certificate as acm
from hybrid_gateway.parts import client_certificate as cc
from hybrid_gateway.parts import trust_bundle as tb
from hybrid_gateway.parts.base import Observed, Outcome, PartContext
from hybrid_gateway.parts.client_certificate import ClientCert
from hybrid_gateway.reconcilers.base import (
    RECONCILE_REQUEST_ANNOTATION,
    Event,
    FinalizeResult,
    KubeObject,
    PassResult,
    Reconciler,
    parse_spec,
    teardown_spec,
)
from hybrid_gateway.status.conditions import Condition

log = logging.getLogger(__name__)

IDLE, GENERATING, PUBLISHING, VERIFYING = Phase.IDLE, Phase.GENERATING, Phase.PUBLISHING, Phase.VERIFYING
SWITCHING, DRAINING, RETIRING = Phase.SWITCHING, Phase.DRAINING, Phase.RETIRING
PHASES = tuple(Phase)

ROTATING = ConditionType.ROTATING
TRUST_PUBLISHED = ConditionType.BACKEND_TRUST_PUBLISHED
STAGES_USING_CURRENT = ConditionType.STAGES_USING_CURRENT

HISTORY_KEEP = 10
VERIFY_BACKOFF_BASE = 3.0
VERIFY_BACKOFF_MAX = 300.0
# Grace periods up to this long are waited for with quick requeues (Ready=False); longer ones are
# completed by the first drift check after they end, without keeping a retry loop going.
SHORT_GRACE_SECONDS = 30.0

# Why a rotation started (status.rotation.reason).
INITIAL, REQUESTED, EXPIRING, DELETED = "Initial", "Requested", "Expiring", "CertificateDeleted"
CHANGED = "CertificateChanged"  # spec.certificate names another certificate (or its Secret one from another CA)

GENERATED, FROM_SECRET, FROM_ACM = (CertificateOrigin.API_GATEWAY.value, CertificateOrigin.SECRET.value,
                                    CertificateOrigin.ACM.value)
TLS_SECRET_KEYS = ("tls.crt", "tls.key", "ca.crt")


def not_owned(exc: NotOwned, obj: KubeObject) -> Stalled:
    """The Stalled for a trust bundle target that this ClientCertRotation did not create."""
    return Stalled("TrustBundleTargetNotOwned", (
        f"spec.backendTrust: {exc.kind} {exc.namespace}/{exc.name} already exists and was not created by this "
        f"ClientCertRotation (it has no ownerReference to {obj.kind} {obj.name}, uid {obj.uid}); the operator "
        f"writes only a {exc.kind} it created, so it changed nothing. Delete that {exc.kind} (the operator then "
        f"creates it) or name another one in spec.backendTrust"))


def secret_name(run: Run) -> str:
    ref = run.spec.certificate.secret_ref if run.spec.certificate else None
    return f"{run.obj.namespace}/{ref.name}" if ref else "?"


def verify_backoff(attempts: int) -> float:
    """Seconds before the next test-invoke after `attempts` failed ones (3, 6, 12, ... 300)."""
    return float(min(VERIFY_BACKOFF_BASE * 2 ** max(attempts - 1, 0), VERIFY_BACKOFF_MAX))


def merge_patch(stored: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch that sets status `fields` as given: a None field is removed, and inside an
    object field (current, rotation, ...) keys the new value lacks are removed too. Status fields not
    named in `fields` are left alone."""

    def replace(old: Any, new: Any) -> Any:
        if not isinstance(old, dict) or not isinstance(new, dict):
            return new
        patch = {k: replace(old.get(k), v) for k, v in new.items() if v is not None}
        patch.update({k: None for k in old if new.get(k) is None})
        return patch

    result: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            if stored.get(key) is not None:
                result[key] = None
        else:
            result[key] = replace(stored.get(key), value)
    return result


def stage_claimed_by(me: KubeObject, others: list[dict[str, Any]], ref: StageRef) -> str | None:
    """The name of an older ClientCertRotation that already names `ref` (one writer per stage), if any.

    Older means created earlier (the name breaks ties); objects being deleted do not count. Each entry of
    another object's spec.stages counts on its own, even when the rest of that spec is invalid.
    """
    mine = (str(me.body["metadata"].get("creationTimestamp") or ""), me.name)
    for other in others:
        meta = other.get("metadata") or {}
        if meta.get("uid") == me.uid or meta.get("deletionTimestamp"):
            continue
        theirs = (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))
        if theirs >= mine:
            continue
        for entry in (other.get("spec") or {}).get("stages") or ():
            try:
                if StageRef.model_validate(entry) == ref:
                    return str(meta.get("name"))
            except ValidationError:
                continue
    return None


def _has_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(v is None or _has_null(v) for v in value.values())
    return False


def _stage_name(hybrid_api: dict[str, Any]) -> str | None:
    """The stage a HybridApi body deploys (its spec.api.stage.name, with the default); None when its spec is
    invalid (it is stalled itself and deploys nothing until fixed)."""
    try:
        return HybridApiSpec.model_validate(hybrid_api.get("spec") or {}).api.stage.name
    except ValidationError:
        return None


def verifies(hybrid_api: dict[str, Any]) -> bool:
    """Whether a HybridApi body's ALB listener checks client certificates itself (frontDoor.mutualTls verify):
    then its ELB trust store, built from this rotation's S3 bundle, must hold a certificate before a stage
    presents it."""
    try:
        return HybridApiSpec.model_validate(hybrid_api.get("spec") or {}).front_door.mutual_tls.mode == "verify"
    except ValidationError:
        return False


@dataclass
class Target:
    """One stage named in spec.stages, as found in AWS this pass."""

    ref: StageRef
    rest_api_id: str
    certificate_id: str

    def status(self) -> dict[str, str]:
        return {"hybridApi": self.ref.hybrid_api, "stage": self.ref.stage, "restApiId": self.rest_api_id,
                "clientCertificateId": self.certificate_id}


@dataclass
class State:
    """The rotation state machine as kept in status."""

    phase: Phase = IDLE
    current: dict[str, Any] | None = None
    pending: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    rotation: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    last_handled: str = ""
    last_rotation_time: str | None = None
    trust_sha: str | None = None

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> State:
        phase = Phase(status["phase"]) if status.get("phase") in PHASES else IDLE
        return cls(
            phase=phase,
            current=_cert_ref(status.get("current")),
            pending=_cert_ref(status.get("pending")),
            previous=_cert_ref(status.get("previous")),
            rotation=dict(status.get("rotation") or {}),
            history=list(status.get("history") or []),
            last_handled=str(status.get("lastHandledRotateRequest") or ""),
            last_rotation_time=status.get("lastRotationTime"),
            trust_sha=status.get("trustBundleSha256"),
        )

    @staticmethod
    def id_of(ref: dict[str, Any] | None) -> str:
        return str((ref or {}).get("clientCertificateId") or "")

    @property
    def current_id(self) -> str:
        return self.id_of(self.current)

    @property
    def pending_id(self) -> str:
        return self.id_of(self.pending)

    @property
    def previous_id(self) -> str:
        return self.id_of(self.previous)


def _cert_ref(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) and value.get("clientCertificateId") else None


@dataclass
class Run:
    """One pass: inputs, the state being advanced, and what the pass did."""

    obj: KubeObject
    spec: ClientCertRotationSpec
    ctx: PartContext
    now: dt.datetime
    state: State
    targets: list[Target]
    certs: dict[str, ClientCert]
    events: list[Event] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)  # drift corrections only
    # The certificates the operator made (generated or imported), which it may delete; a user's ACM
    # certificate (source acm) is presented but never deleted.
    ours: set[str] = field(default_factory=set)
    secret: acm.SecretCertificate | None = None  # source secret: the Secret's certificate, checked
    bundle_ok: bool = True
    bundle_message: str = ""
    waiting: Condition | None = None  # why StagesUsingCurrent is not True this pass (rotation under way)

    def exists(self, cert_id: str) -> bool:
        return bool(cert_id) and cert_id in self.certs


# What finalize reads from the spec: the Region (certificates are found there by owner tags), the stages
# whose certificate it clears and the trust bundle it removes.
TEARDOWN_FIELDS = ("region", "deletion_policy", "stages", "backend_trust", "certificate")


class ClientCertRotationReconciler(Reconciler):
    kind = CLIENT_CERT_ROTATION.kind
    plural = CLIENT_CERT_ROTATION.plural

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gauged: dict[tuple[str, str], set[str]] = {}
        # (namespace, HybridApi) -> the bundle sha256 it was last asked to load into its trust store.
        self._nudged: dict[tuple[str, str], str] = {}

    @staticmethod
    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    # ---- the pass -------------------------------------------------------------------------------
    def reconcile(self, obj: KubeObject) -> PassResult:
        spec = parse_spec(ClientCertRotationSpec, obj)
        # Read status from the API server, not from the event body: the drift timer's body may not
        # show the status the previous pass wrote a moment ago, and the phase must never go back.
        fresh = self.runtime.kube.get_object(self.plural, obj.namespace, obj.name)
        stored = dict((fresh or obj.body).get("status") or {})
        self._check_claims(obj, spec)
        self._check_trust_target(obj, spec)
        ctx = PartContext(self.runtime.aws, spec.region, obj.owner)
        targets, waiting_for = self._targets(obj, spec, ctx)
        if waiting_for:
            hop = Condition(STAGES_USING_CURRENT, False, "WaitingForStages", waiting_for)
            return PassResult(hops=[hop], status={"stages": [t.status() for t in targets]})
        state = State.from_status(stored)
        secret = self._secret_certificate(obj, spec)  # checked before any AWS write
        certs, ours = self._known(ctx, spec, state)
        run = Run(obj, spec, ctx, self.now(), state, targets, certs, ours=ours, secret=secret)
        self._converge(run)
        self._step(run)
        status = self._status(run)
        patch = merge_patch(stored, status)
        if _has_null(patch):
            # run_pass's status patch drops None values, so a field to clear (pending, previous) is
            # cleared here, in one merge patch with every new value; run_pass then repeats the values.
            self.runtime.kube.patch_status_fields(self.plural, obj.namespace, obj.name, patch)
        self._expiry_metric(run)
        return PassResult(hops=self._hops(run), info=[self._rotating(run)], status=status,
                          outcomes=run.outcomes, events=run.events)

    # ---- inputs ---------------------------------------------------------------------------------
    def _check_claims(self, obj: KubeObject, spec: ClientCertRotationSpec) -> None:
        others = self.runtime.kube.list_objects(self.plural, obj.namespace)
        for ref in spec.stages:
            holder = stage_claimed_by(obj, others, ref)
            if holder:
                raise Stalled("StageClaimed", f"stage {ref.label} is already managed by ClientCertRotation "
                              f"{holder}: a stage may be named by one ClientCertRotation only")

    def _check_trust_target(self, obj: KubeObject, spec: ClientCertRotationSpec) -> None:
        """Refuse, before any write, a backend trust Secret/ConfigMap that exists and is not ours: whoever may
        create a ClientCertRotation must not be able to overwrite keys of objects they cannot edit."""
        trust = spec.backend_trust
        try:
            self.runtime.kube.check_owned(trust.kind, obj.namespace, trust.ref.name, obj.uid)
        except NotOwned as exc:
            raise not_owned(exc, obj) from None

    def _secret_certificate(self, obj: KubeObject, spec: ClientCertRotationSpec) -> acm.SecretCertificate | None:
        """Source secret: the TLS Secret's certificate, checked (Stalled with what to fix, no AWS call)."""
        if spec.origin != FROM_SECRET or spec.certificate is None or spec.certificate.secret_ref is None:
            return None
        name = spec.certificate.secret_ref.name
        where = f"{obj.namespace}/{name}"
        data = self.runtime.kube.secret_data(obj.namespace, name, TLS_SECRET_KEYS)
        if "tls.crt" not in data or "tls.key" not in data:
            raise Stalled("InvalidCertificateSecret", f"spec.certificate.secretRef: Secret {where} needs tls.crt "
                          "and tls.key (type kubernetes.io/tls)")
        return acm.SecretCertificate.from_secret(where, data["tls.crt"], data["tls.key"], data.get("ca.crt", ""))

    @classmethod
    def _known(cls, ctx: PartContext, spec: ClientCertRotationSpec,
               state: State) -> tuple[dict[str, ClientCert], set[str]]:
        """The certificates the rotation may present or trust (by id or ARN), and which are ours: those the
        operator made (`_owned`), plus with source acm the user's certificate, checked as API Gateway checks
        it (Stalled before any write), plus a user's certificate the status still records (during a drain)."""
        certs, ours = cls._owned(ctx, spec, state)
        recorded = [i for i in (state.current_id, state.pending_id, state.previous_id) if acm.is_acm_arn(i)]
        if spec.origin == FROM_ACM and spec.certificate and spec.certificate.acm_certificate_arn:
            arn = spec.certificate.acm_certificate_arn
            certs[arn] = acm.usable(ctx, arn, "spec.certificate.acmCertificateArn")
            ours.discard(arn)  # a user's certificate, even one the operator once imported
        for arn in recorded:  # a user's certificate still presented or trusted (previous, during a drain)
            if arn not in certs and (cert := acm.client_cert(ctx, arn)) is not None:
                certs[arn] = cert
        return certs, ours

    @staticmethod
    def _owned(ctx: PartContext, spec: ClientCertRotationSpec, state: State,
               search: bool = False) -> tuple[dict[str, ClientCert], set[str]]:
        """The certificates the operator made, by owner tags (deletion reads only these: it must not stall
        on the user's certificate). Generated ones are one listing; imported ones are searched for in the
        Region (a listing plus a tag read per imported certificate) only where an import may exist that the
        status does not record: with source secret while Generating (made just before a crash) or before the
        first import, and on deletion of a CA-signed object (`search`); otherwise the ARNs the status records
        are read (none for the default source: no ACM call)."""
        certs = cc.owned_certificates(ctx)
        recorded = [i for i in (state.current_id, state.pending_id, state.previous_id) if acm.is_acm_arn(i)]
        if search or (spec.origin == FROM_SECRET and (state.phase == GENERATING or not recorded)):
            certs.update(acm.owned_imports(ctx))
        elif recorded:
            certs.update(acm.owned_imports(ctx, recorded))
        return certs, set(certs)

    @staticmethod
    def _retire_certificate(run: Run, cert_id: str) -> bool:
        """Delete a certificate the operator made; a user's ACM certificate stays (False)."""
        if cert_id not in run.ours:
            return False
        return acm.delete(run.ctx, cert_id) if acm.is_acm_arn(cert_id) else cc.delete(run.ctx, cert_id)

    def _rest_api_id(self, obj: KubeObject, name: str, what: str) -> tuple[str, str, dict[str, Any]]:
        """(restApiId or "", why not, HybridApi body). Raises Stalled when the HybridApi does not exist."""
        api = self.runtime.kube.get_object(HYBRID_API.plural, obj.namespace, name)
        if api is None:
            raise Stalled("HybridApiNotFound",
                          f"HybridApi {obj.namespace}/{name} ({what}) does not exist: create it or fix the reference")
        if (api.get("metadata") or {}).get("deletionTimestamp"):
            return "", f"HybridApi {name} is being deleted", api
        rest_api_id = str(((api.get("status") or {}).get("resources") or {}).get(Resource.REST_API_ID) or "")
        return rest_api_id, "" if rest_api_id else f"HybridApi {name} has no REST API yet", api

    def _targets(
        self, obj: KubeObject, spec: ClientCertRotationSpec, ctx: PartContext
    ) -> tuple[list[Target], str]:
        targets: list[Target] = []
        waiting: list[str] = []
        for ref in spec.stages:
            rest_api_id, why, api = self._rest_api_id(obj, ref.hybrid_api, "spec.stages")
            if not rest_api_id:
                waiting.append(why)
                continue
            cert_id = cc.stage_certificate(ctx, rest_api_id, ref.stage)
            if cert_id is None:
                their_stage = _stage_name(api)
                if their_stage is None:
                    waiting.append(f"HybridApi {ref.hybrid_api} has an invalid spec (see its status)")
                    continue
                if their_stage != ref.stage:
                    raise Stalled("StageNotFound", f"spec.stages: HybridApi {ref.hybrid_api} has no stage "
                                  f"{ref.stage} (its stage is {their_stage})")
                waiting.append(f"stage {ref.stage} of HybridApi {ref.hybrid_api} does not exist yet")
                continue
            targets.append(Target(ref, rest_api_id, cert_id))
        return targets, "; ".join(waiting)

    # ---- what each phase calls for ----------------------------------------------------------------
    @staticmethod
    def bundle_ids(state: State) -> list[str]:
        """The certificates the backend must trust in `state.phase`."""
        if state.phase in (PUBLISHING, VERIFYING, SWITCHING):
            ids = [state.current_id, state.pending_id]
        elif state.phase == DRAINING:
            ids = [state.previous_id, state.current_id]
        else:  # Idle, Generating, Retiring
            ids = [state.current_id]
        return [i for i in ids if i]

    @staticmethod
    def stage_id(state: State) -> str:
        """The certificate every stage must present in `state.phase` ("" = leave the stages alone)."""
        return state.pending_id if state.phase == SWITCHING else state.current_id

    def _converge(self, run: Run) -> None:
        """Make the bundle and the stages what the recorded phase calls for (the drift check)."""
        state = run.state
        if state.phase in (PUBLISHING, VERIFYING, SWITCHING) and not run.exists(state.pending_id):
            # The new certificate vanished before the switch (deleted out of band): make another.
            if state.pending_id:
                run.events.append(Event("DriftCorrected", f"client certificate {state.pending_id} of the rotation "
                                        "under way was deleted outside the operator: generating another", "Warning"))
            state.pending = None
            state.phase = GENERATING
        step = state.phase in (PUBLISHING, RETIRING)
        desired = self.bundle_ids(state)
        # A certificate of ours that a stage presents stays trusted until the stage has moved off it
        # (only after an out-of-band change does a stage present one the phase does not call for).
        extra = [t.certificate_id for t in run.targets if run.exists(t.certificate_id)]
        first = desired + [i for i in dict.fromkeys(extra) if i not in desired]
        self._publish(run, first, step=step)
        want = self.stage_id(state)
        if want and run.exists(want):
            for target in run.targets:
                if target.certificate_id == want:
                    continue
                cc.set_stage_certificate(run.ctx, target.rest_api_id, target.ref.stage, want)
                what = f"stage {target.ref.label} (REST API {target.rest_api_id})"
                if state.phase == SWITCHING:
                    run.events.append(Event("Updated", f"Switched {what} to client certificate {want}"))
                else:
                    run.outcomes.append(Outcome(
                        "stage", Observed(f"{target.rest_api_id}/{target.ref.stage}", None), "Updated",
                        [f"clientCertificateId {target.certificate_id or '(none)'} -> {want}"],
                    ))
                target.certificate_id = want
        still = [t.certificate_id for t in run.targets if run.exists(t.certificate_id)]
        final = desired + [i for i in dict.fromkeys(still) if i not in desired]
        if final != first:
            self._publish(run, final, step=step)

    def _publish(self, run: Run, ids: list[str], *, step: bool) -> None:
        present = [run.certs[i] for i in ids if run.exists(i)]
        if not present:
            # Nothing that exists to trust (the only certificate was deleted out of band): keep what
            # is published until a new certificate exists.
            run.bundle_ok, run.bundle_message = True, "no client certificate exists yet"
            return
        present.sort(key=lambda c: (c.created, c.id))
        bundle = tb.compose(c.trust_pem for c in present)
        trust, obj = run.spec.backend_trust, run.obj
        try:
            written = self.runtime.kube.upsert_data_key(
                trust.kind, obj.namespace, trust.ref.name, trust.ref.key, bundle,
                owner_reference={"apiVersion": f"{GROUP}/{VERSION}", "kind": obj.kind, "name": obj.name,
                                 "uid": obj.uid, "controller": True, "blockOwnerDeletion": True},
                labels={MANAGED_BY_TAG: MANAGED_BY, UID_TAG: obj.uid},
                annotations={OWNER_TAG: obj.owner.ref},
            )
        except NotOwned as exc:  # made by someone else since this pass's check
            raise not_owned(exc, obj) from None
        if written == "Labelled":  # owner labels added to an object an earlier release created
            written = None
        where = [trust.describe(obj.namespace)]
        s3_written = False
        if trust.s3 is not None:
            s3 = tb.TrustBundleDesired(trust.s3.bucket, trust.s3.key, bundle)
            s3_written = tb.TrustBundleObject().ensure(run.ctx, s3, None).action is not None
            where.append(s3.uri)
        run.state.trust_sha = tb.digest(bundle)
        names = ", ".join(c.id for c in present)
        run.bundle_ok = True
        run.bundle_message = f"{' and '.join(where)} trust {names} (sha256 {run.state.trust_sha[:12]})"
        if not (written or s3_written):
            return
        message = f"Published trust bundle {' and '.join(where)}: client certificates {names}"
        action = "Created" if written == "Created" else "Updated"
        if step:
            run.events.append(Event(action, message))
        else:
            run.outcomes.append(Outcome(tb.PART, Observed(where[0], None), action, [f"certificates {names}"]))

    # ---- one step per pass ------------------------------------------------------------------------
    def _step(self, run: Run) -> None:
        {
            IDLE: self._idle,
            GENERATING: self._generate,
            PUBLISHING: self._published,
            VERIFYING: self._verify,
            SWITCHING: self._switched,
            DRAINING: self._drain,
            RETIRING: self._retire,
        }[run.state.phase](run)

    def _start(self, run: Run, reason: str) -> None:
        state = run.state
        state.phase = GENERATING
        state.rotation = {"reason": reason, "startedTime": format_time(run.now), "verificationAttempts": 0}
        if reason in (REQUESTED, INITIAL):
            # A request older than the first certificate (a manifest applied with one) is satisfied by it.
            state.last_handled = run.spec.rotate_requested_at or ""

    def _idle(self, run: Run) -> None:
        state, spec = run.state, run.spec
        if not state.current_id:
            self._start(run, INITIAL)
            return
        if not run.exists(state.current_id):
            run.events.append(Event("DriftCorrected", f"client certificate {state.current_id} was deleted outside "
                                    "the operator: rotating to a new one", "Warning"))
            self._start(run, DELETED)
            return
        # Leftovers (a certificate of an interrupted rotation whose status was lost): nothing uses them.
        in_use = {t.certificate_id for t in run.targets}
        for cert_id in list(run.certs):
            if cert_id != state.current_id and cert_id not in in_use and self._retire_certificate(run, cert_id):
                run.outcomes.append(Outcome(cc.PART, Observed(cert_id, None), "Deleted", ["not in use"]))
                del run.certs[cert_id]
        current = run.certs[state.current_id]
        if change := self._source_change(run, current):
            run.events.append(Event("Updated", f"spec.certificate: {change}: rotating from {current.id}"))
            self._start(run, CHANGED)
        elif spec.rotate_requested_at and spec.rotate_requested_at != state.last_handled and spec.origin != GENERATED:
            # A CA-signed certificate is renewed by its issuer; there is nothing for the operator to make.
            run.events.append(Event("Updated", f"spec.rotateRequestedAt {spec.rotate_requested_at}: the certificate "
                                    f"comes from source {spec.origin}; renew it there (nothing to rotate)"))
            state.last_handled = spec.rotate_requested_at
        elif spec.rotate_requested_at and spec.rotate_requested_at != state.last_handled:
            run.events.append(Event("Updated", f"Rotation of client certificate {current.id} requested "
                                    f"(spec.rotateRequestedAt {spec.rotate_requested_at})"))
            self._start(run, REQUESTED)
        elif spec.origin == GENERATED and run.now >= current.expires - dt.timedelta(seconds=spec.renew_before_seconds):
            run.events.append(Event("ExpiringSoon", f"client certificate {current.id} expires at "
                                    f"{format_time(current.expires)}: rotating"))
            self._start(run, EXPIRING)

    def _generate(self, run: Run) -> None:
        state = run.state
        keep = {state.current_id, state.previous_id}
        # A certificate made by a pass that crashed before writing status: adopt, don't twin.
        found = [c for c in run.certs.values() if c.id not in keep and self._is_wanted(run, c)]
        if found:
            cert = found[-1]
            made = "named in spec.certificate" if run.spec.origin == FROM_ACM else "made before a restart"
            run.events.append(Event("Created", f"Adopted client certificate {cert.id} {made}"))
        elif run.secret is not None:
            cert = acm.import_secret(run.ctx, run.secret)
            run.events.append(Event("Created", f"Imported the certificate of Secret {secret_name(run)} into ACM as "
                                    f"{cert.id} (expires {format_time(cert.expires)})"))
        elif run.spec.origin == FROM_ACM:
            raise Stalled("ClientCertificateNotFound", "spec.certificate.acmCertificateArn names no certificate")
        else:
            cert = cc.generate(run.ctx)
            run.events.append(Event("Created", f"Generated client certificate {cert.id} "
                                    f"(expires {format_time(cert.expires)})"))
        if cert.id not in run.certs:
            run.certs[cert.id] = cert
            run.ours.add(cert.id)
        state.pending = cert.status()
        state.phase = PUBLISHING

    @staticmethod
    def _is_wanted(run: Run, cert: ClientCert) -> bool:
        """Whether `cert` is what spec.certificate asks the stages to present."""
        if run.spec.origin == FROM_ACM:
            return run.spec.certificate is not None and cert.id == run.spec.certificate.acm_certificate_arn
        if run.secret is not None:
            return acm.is_acm_arn(cert.id) and acm.fingerprint(cert) == run.secret.fingerprint
        return not acm.is_acm_arn(cert.id)

    def _source_change(self, run: Run, current: ClientCert) -> str:
        """Idle: what makes the current certificate not the one spec.certificate asks for ("" = nothing). A
        Secret renewed by the same CA is re-imported in place here (same ARN, no trust change: the stages keep
        presenting it and API Gateway propagates the re-import); anything else is rotated to."""
        if self._is_wanted(run, current):
            return ""
        secret = run.secret
        if secret is None:
            return f"source {run.spec.origin} asks for another certificate than {current.id}"
        trusted = set(tb.certificates_in(current.trust_pem)) if acm.is_acm_arn(current.id) else set()
        same_ca = bool(trusted) and set(tb.certificates_in(secret.trust_pem)) <= trusted
        if same_ca and current.id in run.ours and secret.key_algorithm == acm.key_algorithm(current):
            renewed = acm.import_secret(run.ctx, secret, current.id)
            run.certs[current.id] = renewed
            run.state.current = renewed.status()
            run.events.append(Event("Updated", f"Re-imported the renewed certificate of Secret {secret_name(run)} "
                                    f"into {current.id} (same CA; expires {format_time(renewed.expires)})"))
            return ""
        return f"Secret {secret_name(run)} holds a certificate from another CA (or key type) than {current.id}"

    def _trust_stores_behind(self, run: Run) -> str:
        """Which verify-mode HybridApis of the targets have not loaded the published bundle into their ALB trust
        store yet ("" when none): their stages must not present the new certificate before. Each is asked to
        reconcile (once per bundle) so that it loads it now rather than at its next drift check."""
        behind: list[str] = []
        published = run.state.trust_sha or ""
        for name in dict.fromkeys(t.ref.hybrid_api for t in run.targets):
            api = self.runtime.kube.get_object(HYBRID_API.plural, run.obj.namespace, name)
            if api is None or not verifies(api):
                continue
            loaded = str(((api.get("status") or {}).get("trustStore") or {}).get("bundleSha256") or "")
            if loaded == published:
                continue
            behind.append(name)
            key = (run.obj.namespace, name)
            if self._nudged.get(key) != published:
                stamp = format_time(run.now)
                self.runtime.kube.annotate(HYBRID_API.plural, run.obj.namespace, name,
                                           {RECONCILE_REQUEST_ANNOTATION: stamp})
                self._nudged[key] = published
        if not behind:
            return ""
        return (f"the ALB trust store of HybridApi {', '.join(behind)} (frontDoor.mutualTls verify) does not hold the "
                f"published bundle (sha256 {published[:12]}) yet; stages stay on "
                f"{run.state.current_id or 'their certificate'}")

    def _published(self, run: Run) -> None:
        # _converge published [current, pending] for this phase; the backend may now be offered both.
        if run.bundle_ok and (behind := self._trust_stores_behind(run)):
            run.waiting = Condition(STAGES_USING_CURRENT, False, "WaitingForTrustStore", behind)
            return
        if run.bundle_ok:
            initial = not run.state.current_id  # the first certificate: steps 1, 2 and 4 only
            run.state.phase = VERIFYING if run.spec.verification and not initial else SWITCHING

    def _verify(self, run: Run) -> None:
        state, spec = run.state, run.spec
        check = spec.verification
        if check is None:
            state.phase = SWITCHING
            return
        rotation = state.rotation
        due = rotation.get("nextVerificationTime")
        if due and run.now < parse_time(str(due)):
            run.waiting = Condition(STAGES_USING_CURRENT, False, "VerificationFailed",
                                    f"{rotation.get('lastVerification', '')}; next attempt at {due}")
            return
        rest_api_id, why, _ = self._rest_api_id(run.obj, check.hybrid_api, "spec.verification")
        if not rest_api_id:
            run.waiting = Condition(STAGES_USING_CURRENT, False, "Verifying", why)
            return
        what = f"test-invoke {check.method} {check.path} with certificate {state.pending_id}"
        try:
            answer, _route = cc.invoke_with_certificate(run.ctx, rest_api_id, check.path, check.method,
                                                       state.pending_id)
            result = f"answered {answer.status}"
            passed = answer.status in check.expect_status
        except ClientError as exc:
            if error_code(exc) != "BadRequestException":
                raise
            result, passed = f"failed: {exc.response.get('Error', {}).get('Message') or error_code(exc)}", False
        rotation["lastVerification"] = f"{what} {result}"
        if passed:
            rotation.pop("nextVerificationTime", None)
            run.events.append(Event("Updated", f"Verified client certificate {state.pending_id}: {what} {result}"))
            state.phase = SWITCHING
            return
        attempts = int(rotation.get("verificationAttempts") or 0) + 1
        rotation["verificationAttempts"] = attempts
        rotation["nextVerificationTime"] = format_time(run.now + dt.timedelta(seconds=verify_backoff(attempts)))
        expected = ", ".join(str(s) for s in check.expect_status)
        message = f"{what} {result} (expected {expected}); stages stay on {state.current_id or 'their certificate'}"
        run.waiting = Condition(STAGES_USING_CURRENT, False, "VerificationFailed",
                                f"{message}; next attempt at {rotation['nextVerificationTime']}")
        run.events.append(Event("VerificationFailed", message, "Warning"))

    def _switched(self, run: Run) -> None:
        # _converge pointed every stage at the pending certificate.
        state = run.state
        if any(t.certificate_id != state.pending_id for t in run.targets):
            return
        # A current certificate deleted out of band still becomes `previous`, for the history.
        state.previous, state.current, state.pending = state.current, state.pending, None
        state.rotation["switchedTime"] = format_time(run.now)
        if state.previous is None:
            state.phase = IDLE  # the first certificate: nothing to drain or retire
            run.events.append(Event("Created", f"Client certificate {state.current_id} is in use by "
                                    f"{len(run.targets)} stage(s)"))
        else:
            state.phase = DRAINING

    def _grace_ends(self, run: Run) -> dt.datetime:
        switched = run.state.rotation.get("switchedTime")
        start = parse_time(str(switched)) if switched else run.now
        return start + dt.timedelta(seconds=run.spec.grace_period_seconds)

    def _drain(self, run: Run) -> None:
        state = run.state
        if not run.exists(state.previous_id) or run.now >= self._grace_ends(run):
            state.phase = RETIRING

    def _retire(self, run: Run) -> None:
        # _converge published [current] only; now the old certificate can go.
        state = run.state
        old = state.previous_id
        if old and self._retire_certificate(run, old):
            run.certs.pop(old, None)
            run.events.append(Event("Deleted", f"Deleted client certificate {old}"))
        completed = format_time(run.now)
        entry = {"from": old, "to": state.current_id, "startedTime": state.rotation.get("startedTime"),
                 "completedTime": completed}
        if not any(h.get("from") == old and h.get("to") == state.current_id for h in state.history):
            state.history = [*state.history, {k: v for k, v in entry.items() if v}][-HISTORY_KEEP:]
            run.events.append(Event("Rotated", f"Rotated client certificate {old or '(none)'} -> {state.current_id} "
                                    f"(reason {state.rotation.get('reason', '?')}, started "
                                    f"{state.rotation.get('startedTime', '?')})"))
        state.last_rotation_time = completed
        state.previous = None
        state.phase = IDLE

    # ---- status -------------------------------------------------------------------------------------
    def _status(self, run: Run) -> dict[str, Any]:
        state = run.state
        current = run.certs.get(state.current_id)
        next_rotation = None
        if current is not None:
            next_rotation = format_time(current.expires - dt.timedelta(seconds=run.spec.renew_before_seconds))
        return {
            "phase": state.phase,
            "current": state.current,
            "pending": state.pending,
            "previous": state.previous,
            "trustBundleSha256": state.trust_sha,
            "nextRotationTime": next_rotation,
            "lastRotationTime": state.last_rotation_time,
            "lastHandledRotateRequest": state.last_handled or None,
            "rotation": state.rotation or None,
            "history": state.history,
            "stages": [t.status() for t in run.targets],
        }

    def _hops(self, run: Run) -> list[Condition]:
        state = run.state
        # BackendTrustPublished: the bundle holds exactly the phase's certificates, and that is the
        # settled state (not so while the old certificate drains or is being removed).
        if not run.bundle_ok:
            trust = Condition(TRUST_PUBLISHED, False, "Waiting", run.bundle_message)
        elif state.phase == DRAINING:
            until = format_time(self._grace_ends(run))
            message = f"{run.bundle_message}; {state.previous_id} is removed after the grace period, at {until}"
            long_grace = run.spec.grace_period_seconds > SHORT_GRACE_SECONDS
            trust = Condition(TRUST_PUBLISHED, long_grace, "Draining", message)
        elif state.phase == RETIRING:
            trust = Condition(TRUST_PUBLISHED, False, "Retiring", f"removing {state.previous_id}")
        else:
            trust = Condition(TRUST_PUBLISHED, True, "Published", run.bundle_message)
        # StagesUsingCurrent: every stage presents the newest certificate (False until the switch).
        if run.waiting is not None:
            stages = run.waiting
        elif state.phase == GENERATING:
            stages = Condition(STAGES_USING_CURRENT, False, "Generating", "generating a new client certificate")
        elif state.phase in (PUBLISHING, VERIFYING, SWITCHING):
            on = state.current_id or "no certificate"
            when = {PUBLISHING: "the trust bundle holds it", VERIFYING: "verification", SWITCHING: "this step"}
            stages = Condition(STAGES_USING_CURRENT, False, state.phase,
                               f"stages present {on}; they switch to {state.pending_id} after {when[state.phase]}")
        else:
            labels = ", ".join(t.ref.label for t in run.targets)
            stages = Condition(STAGES_USING_CURRENT, True, "UsingCurrent", f"{labels} present {state.current_id}")
        return [trust, stages]

    def _rotating(self, run: Run) -> Condition:
        state = run.state
        if state.phase == IDLE:
            current = run.certs.get(state.current_id)
            renew = dt.timedelta(seconds=run.spec.renew_before_seconds)
            when = format_time(current.expires - renew) if current else "?"
            return Condition(ROTATING, False, IDLE, f"next rotation at {when}")
        reason = str(state.rotation.get("reason") or "")
        if run.waiting is not None:
            return Condition(ROTATING, True, run.waiting.reason, run.waiting.message)
        detail = {
            GENERATING: "generating a new client certificate",
            PUBLISHING: f"publishing {state.pending_id} to the backend trust",
            VERIFYING: f"verifying {state.pending_id}",
            SWITCHING: f"switching the stages to {state.pending_id}",
            DRAINING: f"stages use {state.current_id}; {state.previous_id} stays trusted until "
                      f"{format_time(self._grace_ends(run))}",
            RETIRING: f"retiring {state.previous_id}",
        }[state.phase]
        return Condition(ROTATING, True, state.phase, f"{detail} (reason {reason})" if reason else detail)

    def _expiry_metric(self, run: Run) -> None:
        key = (run.obj.namespace, run.obj.name)
        live = {i for i in (run.state.current_id, run.state.pending_id, run.state.previous_id) if run.exists(i)}
        for gone in self._gauged.get(key, set()) - live:
            self._forget_gauge(run.obj, gone)
        for cert_id in live:
            cert = run.certs[cert_id]
            labels = (run.obj.kind, run.obj.namespace, run.obj.name, cert_id, "client")
            metrics.CERTIFICATE_EXPIRY_TIMESTAMP.labels(*labels).set(cert.expires.timestamp())
            metrics.CERTIFICATE_EXPIRY_DAYS.labels(*labels).set((cert.expires - run.now).total_seconds() / 86400)
        self._gauged[key] = live

    def _forget_gauge(self, obj: KubeObject, cert_id: str) -> None:
        labels = (obj.kind, obj.namespace, obj.name, cert_id, "client")
        for gauge in (metrics.CERTIFICATE_EXPIRY_TIMESTAMP, metrics.CERTIFICATE_EXPIRY_DAYS):
            with contextlib.suppress(KeyError):
                gauge.remove(*labels)

    # ---- deletion -------------------------------------------------------------------------------------
    def finalize(self, obj: KubeObject) -> FinalizeResult:
        # A spec that no longer parses may have been valid when the certificates were made: they are
        # found by owner tags in the Region, the stages and the trust bundle from these fields.
        spec = teardown_spec(ClientCertRotationSpec, obj, TEARDOWN_FIELDS)
        for cert_id in self._gauged.pop((obj.namespace, obj.name), set()):
            self._forget_gauge(obj, cert_id)
        kube, trust = self.runtime.kube, spec.backend_trust
        if spec.retain:
            kube.remove_owner_reference(trust.kind, obj.namespace, trust.ref.name, obj.uid)
            kept = f"client certificates, stage settings and the trust bundle in {trust.describe(obj.namespace)}"
            return FinalizeResult(True, [Event("Deleted", f"deletionPolicy Retain: {kept} kept")])
        ctx = PartContext(self.runtime.aws, spec.region, obj.owner)
        events: list[Event] = []
        try:
            state = State.from_status(obj.status)
            certs, deletable = self._owned(ctx, spec, state, search=spec.origin != GENERATED)
            # What the stages present that the operator put there: its own certificates and the user's ACM
            # certificate it attached (cleared from the stages, never deleted).
            ours = set(certs) | {i for i in (state.current_id, state.pending_id, state.previous_id) if i}
            user = ours - deletable - {i for i in ours if not acm.is_acm_arn(i)}
            for ref in spec.stages:
                api = kube.get_object(HYBRID_API.plural, obj.namespace, ref.hybrid_api)
                resources = ((api or {}).get("status") or {}).get("resources") or {}
                rest_api_id = str(resources.get(Resource.REST_API_ID) or "")
                if not rest_api_id:
                    continue
                using = cc.stage_certificate(ctx, rest_api_id, ref.stage)
                if using and using in ours:
                    cc.set_stage_certificate(ctx, rest_api_id, ref.stage, "")
                    events.append(Event("Updated", f"Cleared client certificate {using} from stage {ref.label}"))
            for cert_id in sorted(ours - user):
                gone = acm.delete(ctx, cert_id) if acm.is_acm_arn(cert_id) else cc.delete(ctx, cert_id)
                if gone:
                    events.append(Event("Deleted", f"Deleted client certificate {cert_id}"))
            if trust.s3 is not None:
                deleted = tb.TrustBundleObject().remove(ctx, tb.s3_uri(trust.s3.bucket, trust.s3.key))
                if deleted:
                    events.append(Event("Deleted", f"Deleted trust bundle {deleted}"))
        except (ClientError, PassError) as exc:
            code = exc.reason if isinstance(exc, PassError) else error_code(exc)
            return FinalizeResult(False, events, f"{code or type(exc).__name__}, retrying")
        if kube.remove_data_key(trust.kind, obj.namespace, trust.ref.name, trust.ref.key, owner_uid=obj.uid):
            events.append(Event("Deleted", f"Removed the trust bundle from {trust.describe(obj.namespace)}"))
        return FinalizeResult(True, events)
