"""What every reconciler shares: the object view, results, Stalled, and the pass runner.

`run_pass()` is the only entry point the kopf layer uses: create, update, resume and the drift
timer all call it, so they all run the same observe -> diff -> act code.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, get_args

from pydantic import BaseModel, ValidationError, create_model

from hybrid_gateway import durations, metrics, tenancy
from hybrid_gateway.api.v1alpha1.common import MIN_DRIFT_SECONDS, SYNCED, DriftCheck, Model
from hybrid_gateway.aws.clients import AwsClients, BucketKey
from hybrid_gateway.aws.errors import AwsErrorKind, classify, error_code
from hybrid_gateway.aws.shared_reads import SharedReads
from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.drift_budget import DriftBudget
from hybrid_gateway.errors import RetryLater, Stalled
from hybrid_gateway.kube import InvalidInput, KubeApi, MissingInput
from hybrid_gateway.parts.base import Outcome
from hybrid_gateway.public_trust import PublicRoots
from hybrid_gateway.status import conditions as cond
from hybrid_gateway.status.conditions import Condition

log = logging.getLogger(__name__)

# How soon to look again while AWS is still provisioning something.
WAIT_REQUEUE_SECONDS = 3.0
# While AWS provisions something for minutes (an NLB, a VPC link), passes that change nothing back off
# so that waiting does not eat the service's API rate budget: QUICK_WAITS quick looks, then doubling.
QUICK_WAITS = 3
MAX_WAIT_REQUEUE_SECONDS = 30.0
ERROR_REQUEUE_SECONDS = 10.0
LAST_CORRECTED_KEEP = 10
# Changing this annotation asks for a pass (an MtlsDomain nudges its HybridApis; users may too). Not under
# hybridgateway.io/: kopf keeps its own state under that prefix and hides those keys from handlers.
RECONCILE_REQUEST_ANNOTATION = "reconcile.hybridgateway.io/requested-at"
SpecT = TypeVar("SpecT", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Event:
    reason: str  # Created, Updated, Deleted, DriftCorrected, Rotated, Stalled, ExpiringSoon
    message: str
    type: str = "Normal"


@dataclass
class Runtime:
    """Clients shared by every reconciler, built once at startup."""

    aws: AwsClients
    kube: KubeApi
    # The CAs API Gateway trusts at the front door (public_trust.py); loaded once.
    public_roots: PublicRoots = field(default_factory=PublicRoots.load)
    # --require-tenancy-policy: with no TenancyPolicy at all, deny instead of allowing everything.
    require_tenancy_policy: bool = False
    # The shortest spec.driftCheckInterval allowed (the operator's --min-drift-interval).
    min_drift_seconds: float = MIN_DRIFT_SECONDS
    # The fleet's drift budget (--drift-budget-share); None: every object checks at its own interval.
    drift_budget: DriftBudget | None = None
    # Reads shared across the passes of all objects running at the same time (aws/shared_reads.py).
    shared_reads: SharedReads = field(default_factory=SharedReads)


@dataclass
class KubeObject:
    """Read-only view of a custom resource body."""

    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def uid(self) -> str:
        return str(self.body["metadata"].get("uid", ""))

    @property
    def generation(self) -> int:
        return int(self.body["metadata"].get("generation", 0))

    @property
    def spec(self) -> dict[str, Any]:
        return dict(self.body.get("spec") or {})

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.body.get("status") or {})

    @property
    def owner(self) -> Owner:
        return Owner(self.kind, self.namespace, self.name, self.uid)

    @property
    def deleting(self) -> bool:
        return bool(self.body["metadata"].get("deletionTimestamp"))


def recorded_ids(resources: Mapping[str, Any], retiring: Mapping[str, Iterable[str]] | None = None) -> frozenset[str]:
    """The ids in status.resources and status.retiring: what this owner's own creates and adoptions
    recorded (`PartContext.recorded`). Trusted as ours only once a pass of the current generation
    wrote them (status.validatedGeneration): a former spec may have named a user's resource under
    the same key (an existing certificate before a requested one)."""
    ids = {str(v) for v in resources.values() if v}
    ids.update(str(i) for ids_ in (retiring or {}).values() for i in ids_ or () if i)
    return frozenset(ids)


def parse_spec(model: type[SpecT], obj: KubeObject) -> SpecT:
    """obj.spec parsed by its API model, with the CRD's defaults; a spec the model rejects is Stalled."""
    try:
        return model.model_validate(obj.spec)
    except ValidationError as exc:
        raise invalid_spec(exc) from None


def teardown_spec(model: type[SpecT], obj: KubeObject, fields: Iterable[str]) -> SpecT:
    """The spec as finalize reads it. Deletion is never blocked by a spec that no longer parses (an object
    stored before a model or schema tightening, a value only the model refuses): when the whole spec does
    not parse, only `fields` (dotted attribute paths: what finalize reads to find the AWS resources, beside
    the ids in status.resources) are parsed, each on its own, into a partial spec. Stalled only when one
    of those does not parse either: then the resources cannot be found, and the message says which field."""
    try:
        return model.model_validate(obj.spec)
    except ValidationError:
        pass
    try:
        return salvage(model, obj.spec, fields)
    except ValidationError as exc:
        raise invalid_spec(exc) from None


def salvage(model: type[M], data: Mapping[str, Any], fields: Iterable[str]) -> M:
    """A `model` built without its own validation from just `fields` of `data` (dotted attribute paths,
    e.g. `frontDoor.hostname` as `front_door.hostname`), each validated with its own type and rules;
    a field that is absent takes its default. Other attributes are left unset."""
    nested: dict[str, list[str]] = {}
    for path in fields:
        head, _, rest = path.partition(".")
        nested.setdefault(head, []).append(rest)
    values: dict[str, Any] = {}
    for name, rests in nested.items():
        field = model.model_fields[name]
        raw = data.get(field.alias or name)
        inner = _model_of(field.annotation)
        if all(rests) and inner is not None and isinstance(raw, Mapping):
            values[name] = salvage(inner, raw, rests)
        else:
            alone = _one_field_model(model, name)
            values[name] = getattr(alone.model_validate({} if raw is None else {field.alias or name: raw}), name)
    return model.model_construct(**values)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model in `X` or `X | None`, if it is one."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


@functools.cache
def _one_field_model(model: type[BaseModel], name: str) -> type[BaseModel]:
    field = model.model_fields[name]
    one: type[BaseModel] = create_model(f"{model.__name__}_{name}", __base__=Model,
                                        **{name: (field.annotation, field)})  # type: ignore[call-overload]
    return one


def check_drift_interval(obj: KubeObject, minimum: float) -> None:
    """Stalled, before any AWS call, when spec.driftCheckInterval is below `minimum` seconds (a floor that
    the operator sets, so the CRD schema cannot say it)."""
    try:
        problem = DriftCheck.model_validate(obj.spec).drift_too_short(minimum)
    except ValidationError:
        return  # a malformed interval: parse_spec reports it with every other problem
    if problem:
        raise Stalled("DriftCheckIntervalTooShort", problem)


def invalid_spec(exc: ValidationError, root: str = "spec") -> Stalled:
    """Stalled with the first problem's reason (a model's CamelCase reason, else InvalidSpec) and every
    problem prefixed with where it is, e.g. `spec.frontDoor.certificate: set exactly one of ...`."""
    problems = []
    for error in exc.errors():
        where = root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        problems.append(f"{where}: {error['msg']}" if error["loc"] else error["msg"])
    first = exc.errors()[0]["type"]
    return Stalled(first if first[:1].isupper() else "InvalidSpec", cond.summarize(problems))


@dataclass
class PassResult:
    """What one reconcile pass found and did."""

    hops: list[Condition] = field(default_factory=list)  # gate Ready
    info: list[Condition] = field(default_factory=list)  # reported, but do not gate Ready (BackendHealthy)
    # Gate Ready but are not waited for (no quick requeue): the drift timer looks again (TrafficFlows).
    gates: list[Condition] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def waiting(self) -> bool:
        return any(h.status is not True for h in self.hops)

    @property
    def changed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action]


@dataclass
class FinalizeResult:
    done: bool
    events: list[Event] = field(default_factory=list)
    waiting_for: str = ""


@dataclass
class PassReport:
    """What the kopf layer needs after a pass: the Events to emit and when to come back."""

    events: list[Event]
    requeue_after: float | None  # None: converged or stalled; the drift timer checks again


def wait_delay(idle_passes: int) -> float:
    """Seconds until the next look after `idle_passes` passes in a row that changed nothing."""
    if idle_passes <= QUICK_WAITS:
        return WAIT_REQUEUE_SECONDS
    return min(WAIT_REQUEUE_SECONDS * 2 ** (idle_passes - QUICK_WAITS), MAX_WAIT_REQUEUE_SECONDS)


def _essence(status: dict[str, Any]) -> Any:
    """What a pass reports, less its timestamps: equal essences mean the pass changed nothing."""
    conditions = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in status.get("conditions") or []]
    rest = {k: v for k, v in status.items() if k not in ("drift", "conditions") and v is not None}
    return rest, conditions


class Reconciler(ABC):
    kind: ClassVar[str]
    plural: ClassVar[str]

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._idle_passes: dict[str, int] = {}  # per object uid: waiting passes in a row that changed nothing

    def check_tenancy(self, obj: KubeObject, uses: Sequence[tenancy.Use]) -> None:
        """Stalled (NotAllowedByTenancyPolicy) when the TenancyPolicies do not allow what the spec names; called
        right after parse_spec, before any AWS call and before the object's Secrets are read."""
        tenancy.enforce(self.runtime.kube, obj.namespace, uses, require_policy=self.runtime.require_tenancy_policy)

    @abstractmethod
    def reconcile(self, obj: KubeObject) -> PassResult:
        """Observe, diff and act for every part in dependency order. May raise Stalled."""

    @abstractmethod
    def finalize(self, obj: KubeObject) -> FinalizeResult:
        """Remove owned resources in reverse order (or keep them with deletionPolicy Retain)."""

    def _recording(self, calls: Counter[BucketKey]) -> contextlib.AbstractContextManager[object]:
        """Count this pass's AWS calls per bucket into `calls`, when a drift budget wants them."""
        if self.runtime.drift_budget is None:
            return contextlib.nullcontext()
        return self.runtime.aws.recording(calls)

    def run_pass(self, body: dict[str, Any], drift_seconds: float | None = None) -> PassReport:
        """`drift_seconds`: the object's own drift interval (the kopf layer's), for the drift budget."""
        obj = KubeObject(body)
        calls: Counter[BucketKey] = Counter()
        started = time.monotonic()
        previous = obj.status
        same_generation = previous.get("observedGeneration") == obj.generation
        was_converged = same_generation and cond.is_true(previous.get("conditions"), cond.READY)
        # A repair that must wait for AWS between passes (a new VPC link PENDING, a domain UPDATING) leaves
        # the object not Ready meanwhile; what the following passes put back is still drift.
        repairing_drift = was_converged or (same_generation and bool((previous.get("drift") or {}).get("repairing")))
        stalled: Condition | None = None
        retry_after: float | None = None
        result = PassResult()
        try:
            check_drift_interval(obj, self.runtime.min_drift_seconds)
            with self._recording(calls):
                result = self.reconcile(obj)
            result.hops.append(Condition(SYNCED, True, "ReconcileSuccess", "The last pass reached AWS"))
        except Stalled as exc:
            stalled = Condition(cond.STALLED, True, exc.reason, exc.message)
            result.info.extend(exc.conditions)
        except MissingInput as exc:
            stalled = Condition(cond.STALLED, True, "MissingInput", f"{exc.what}: create it or fix the reference")
        except InvalidInput as exc:
            stalled = Condition(cond.STALLED, True, "InvalidInput", exc.what)
        except RetryLater as exc:
            retry_after = exc.delay
            result.hops.append(Condition(SYNCED, False, exc.reason, exc.message))
        except Exception as exc:
            kind = classify(exc)
            if kind is AwsErrorKind.TERMINAL:
                stalled = Condition(cond.STALLED, True, "AwsRejected", f"AWS rejected a request: {exc}")
            else:
                log.warning("%s %s/%s: pass failed: %s", self.kind, obj.namespace, obj.name, exc)
                result.hops.append(
                    Condition(SYNCED, False, error_code(exc) or type(exc).__name__, str(exc)[:500])
                )
        outcome = "stalled" if stalled else ("progressing" if result.waiting else "converged")
        metrics.RECONCILES.labels(self.kind, outcome).inc()
        metrics.RECONCILE_SECONDS.labels(self.kind, outcome).observe(time.monotonic() - started)

        events = list(result.events)
        drift = dict(previous.get("drift") or {})
        now = cond.now_rfc3339()
        drift["lastCheckTime"] = now
        if repairing_drift and stalled is None and (result.waiting or retry_after is not None):
            drift["repairing"] = True
        elif drift.get("repairing"):
            drift["repairing"] = False  # a merge patch cannot remove the key
        if drift_seconds is not None:
            budget = self.runtime.drift_budget
            if budget is not None and (stalled or not (result.waiting or result.changed)):
                # What a pass that found nothing to do (or stalled) cost is what each drift check will cost.
                budget.observe(obj.uid, drift_seconds, calls)
            effective = budget.interval(obj.uid, drift_seconds) if budget is not None else drift_seconds
            drift["effectiveInterval"] = durations.format_seconds(effective)
        if result.changed and repairing_drift:
            # The spec did not change but AWS did: that is drift, and it was put back.
            names = [o.part for o in result.changed]
            drift["lastCorrectionTime"] = now
            drift["corrections"] = int(drift.get("corrections", 0)) + len(names)
            drift["lastCorrected"] = ([f"{o.part}: {', '.join(o.changes) or o.action}" for o in result.changed]
                                      + list(drift.get("lastCorrected") or []))[:LAST_CORRECTED_KEEP]
            for o in result.changed:
                metrics.DRIFT_CORRECTIONS.labels(self.kind, o.part).inc()
                events.append(Event("DriftCorrected", f"Corrected drift on {o.message}", "Warning"))
        else:
            events.extend(Event(o.action or "Updated", o.message) for o in result.changed)
        previous_stalled = cond.get(previous.get("conditions"), cond.STALLED) or {}
        if stalled and (previous_stalled.get("status") != "True" or previous_stalled.get("message") != stalled.message):
            # One Event per new reason to stall, not one per drift check.
            events.append(Event("Stalled", stalled.message, "Warning"))

        summary = cond.summary(result.hops, stalled=stalled, gates=result.gates)
        status = dict(result.status)
        status["observedGeneration"] = obj.generation
        status["conditions"] = cond.merge(
            previous.get("conditions"), result.hops + result.gates + result.info + summary, obj.generation, now
        )
        status["drift"] = drift
        self.runtime.kube.patch_status(self.plural, obj.namespace, obj.name, status)

        if stalled or not result.waiting:
            self._idle_passes.pop(obj.uid, None)
            return PassReport(events, None)
        if any(h.type == SYNCED and h.status is False for h in result.hops):
            return PassReport(events, retry_after or ERROR_REQUEUE_SECONDS)
        idle = not result.changed and _essence(status) == _essence(previous)
        self._idle_passes[obj.uid] = self._idle_passes.get(obj.uid, 0) + 1 if idle else 0
        return PassReport(events, wait_delay(self._idle_passes[obj.uid]))

    def run_finalize(self, body: dict[str, Any]) -> FinalizeResult:
        obj = KubeObject(body)
        try:
            result = self.finalize(obj)
        except Stalled as exc:
            # Even the fields that locate the AWS resources do not parse: deleting would leave them behind.
            result = FinalizeResult(False, waiting_for=f"{exc.message}: fix it so that deletion can find the "
                                                       "AWS resources")
        if result.done:
            self._idle_passes.pop(obj.uid, None)
            if self.runtime.drift_budget is not None:
                self.runtime.drift_budget.forget(obj.uid)
            self.runtime.shared_reads.forget(obj.uid)
        if not result.done:
            status = {
                "conditions": cond.merge(
                    obj.status.get("conditions"),
                    [
                        Condition(cond.READY, False, "Deleting", result.waiting_for),
                        Condition(cond.RECONCILING, True, "Deleting", result.waiting_for),
                    ],
                    obj.generation,
                )
            }
            self.runtime.kube.patch_status(self.plural, obj.namespace, obj.name, status)
        return result
