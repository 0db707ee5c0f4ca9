"""The thin kopf layer: wires Kubernetes events, the drift timer and finalizers to reconcilers.

Nothing here decides anything about AWS: every trigger calls the same `Reconciler.run_pass()`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

import kopf
from pydantic import ValidationError

from hybrid_gateway import GROUP, VERSION
from hybrid_gateway.api.v1alpha1.common import MIN_DRIFT_SECONDS, DriftCheck
from hybrid_gateway.reconcilers.base import RECONCILE_REQUEST_ANNOTATION, Event, Reconciler, Runtime
from hybrid_gateway.reconcilers.registry import RECONCILERS
from hybrid_gateway.writer_lease import NotWriter, WriterLease

log = logging.getLogger(__name__)
FINALIZER = "hybridgateway.io/finalizer"
DEFAULT_DRIFT_SECONDS = 60.0
REQUEST_FIELD = ("metadata", "annotations", RECONCILE_REQUEST_ANNOTATION)
HANDLER_RETRY_SLACK = 10.0


class OperatorState:
    """Built once at startup and kept on kopf's memo."""

    def __init__(self, runtime: Runtime, default_drift_seconds: float = DEFAULT_DRIFT_SECONDS,
                 writer: WriterLease | None = None,
                 executor: concurrent.futures.Executor | None = None) -> None:
        self.default_drift_seconds = default_drift_seconds
        # The pool the drift daemons' passes run in: kopf's handler pool (--workers), so that every pass has
        # the same pool; None: asyncio's default pool, min(32, CPUs + 4) threads (6 on a 2-CPU node).
        self.executor = executor
        self.writer = writer  # None: a standalone process, the only writer there is
        self.min_drift_seconds = runtime.min_drift_seconds
        self.budget = runtime.drift_budget
        self.shared_reads = runtime.shared_reads
        self.reconcilers: dict[str, Reconciler] = {cls.plural: cls(runtime) for cls in RECONCILERS}
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()
        # uid -> monotonic time by which kopf's retry of a handler that is waiting for AWS should have run.
        self._handler_retries: dict[str, float] = {}

    def handler_retry(self, uid: str, delay: float | None) -> None:
        """A handler's pass is waiting for AWS and kopf retries it in `delay` seconds (None: it is done).
        While it does, that retry is the object's only timer: the drift daemon skips its checks."""
        with self._guard:
            if delay is None:
                self._handler_retries.pop(uid, None)
            else:
                # Slack for kopf's own scheduling; if the retry never comes, the daemon takes over after it.
                self._handler_retries[uid] = time.monotonic() + 2 * delay + HANDLER_RETRY_SLACK

    def handler_retrying(self, uid: str) -> bool:
        with self._guard:
            deadline = self._handler_retries.get(uid)
            if deadline is not None and deadline < time.monotonic():
                del self._handler_retries[uid]
                return False
            return deadline is not None

    def drift_seconds(self, spec: Mapping[str, Any]) -> float:
        """The object's own drift interval (spec, else --drift-interval; at least --min-drift-interval)."""
        return drift_interval(spec, self.default_drift_seconds, self.min_drift_seconds)

    def effective_drift_seconds(self, uid: str, spec: Mapping[str, Any]) -> float:
        """The object's drift interval, stretched by the fleet's drift budget."""
        own = self.drift_seconds(spec)
        return self.budget.interval(uid, own) if self.budget is not None else own

    def lock(self, uid: str) -> threading.Lock:
        # Handlers and the drift daemon of one object never run a pass at the same time.
        with self._guard:
            return self._locks[uid]

    @contextlib.contextmanager
    def pass_of(self, uid: str) -> Iterator[None]:
        """One pass over one object: as the replicas' only writer, and never two passes of one object."""
        with self.writer.writing() if self.writer else contextlib.nullcontext(), self.lock(uid):
            yield


def _post(body: kopf.Body, events: list[Event]) -> None:
    for event in events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def _state(memo: Any) -> OperatorState:
    state: OperatorState = memo.state
    return state


def reconcile(plural: str, body: kopf.Body, memo: Any) -> float | None:
    """One pass; returns seconds until the next look when AWS is still working, else None."""
    state = _state(memo)
    with state.pass_of(body.metadata.uid or ""):
        report = state.reconcilers[plural].run_pass(dict(body), drift_seconds=state.drift_seconds(body.spec))
    _post(body, report.events)
    return report.requeue_after


def _on_change(plural: str, body: kopf.Body, memo: Any, **_: Any) -> None:
    try:
        delay = reconcile(plural, body, memo)
    except NotWriter as err:
        raise kopf.TemporaryError(str(err), delay=err.retry_in) from None
    # While AWS works, kopf's retry of this handler (with the pass's backoff) is the object's one timer.
    _state(memo).handler_retry(body.metadata.uid or "", delay)
    if delay is not None:
        raise kopf.TemporaryError("waiting for AWS", delay=delay)


def _on_delete(plural: str, body: kopf.Body, memo: Any, **_: Any) -> None:
    state = _state(memo)
    try:
        with state.pass_of(body.metadata.uid or ""):
            result = state.reconcilers[plural].run_finalize(dict(body))
    except NotWriter as err:
        raise kopf.TemporaryError(str(err), delay=err.retry_in) from None
    _post(body, result.events)
    if not result.done:
        raise kopf.TemporaryError(f"deleting: {result.waiting_for}", delay=3)


def drift_interval(spec: Mapping[str, Any], default: float, minimum: float = MIN_DRIFT_SECONDS) -> float:
    """Seconds between drift checks of an object: its spec.driftCheckInterval, or `default` (the operator's
    --drift-interval) when the spec sets none (or one that does not parse; such an object is Stalled).
    Never below `minimum` (--min-drift-interval): an object whose interval is shorter is Stalled, and its
    checks run at the floor, so that it cannot drain the AWS rate limits every object shares."""
    try:
        seconds = DriftCheck.model_validate(dict(spec)).drift_seconds(default)
    except ValidationError:
        seconds = default
    return max(seconds, minimum)


def next_round(interval: float, now: float, checked_at: float | None = None) -> float:
    """Seconds to the object's next check: the next multiple of its interval on the wall clock after the
    round of its last check (`checked_at`: the round nearest to it, so that a timer that fired a little
    early does not check twice in one round). Objects of one interval check in the same rounds, so that
    their passes share their reads (aws/shared_reads.py: a Describe by many ARNs, one listing for the
    Region); the buckets pace each round's calls. The first check (`checked_at` None: the daemon has just
    started, beside the create or resume handler's pass) is the first round at least one interval away: a
    check right after that pass would still see the object without the status it wrote."""
    last = math.ceil(now / interval) if checked_at is None else round(checked_at / interval)
    return max(0.0, (last + 1) * interval - now)


async def _drift_daemon(plural: str, body: kopf.Body, memo: Any, stopped: kopf.DaemonStopped, **_: Any) -> None:
    """Per-object drift check: the same pass as create/update, every `spec.driftCheckInterval` (by default
    the operator's --drift-interval), stretched by the fleet's drift budget. While a pass of this daemon
    waits for AWS, the daemon looks again with the pass's backoff; while a handler's pass waits, kopf's retry
    of that handler does, and the daemon skips."""
    next_in: float | None = None
    checked_at: float | None = None
    uid = body.metadata.get("uid") or ""
    while not stopped:
        state = _state(memo)
        interval = state.effective_drift_seconds(uid, body.spec)
        wait = next_in if next_in is not None else next_round(interval, time.time(), checked_at)
        await stopped.wait(wait)
        if stopped or body.metadata.get("deletionTimestamp"):
            break
        checked_at = time.time()  # this round is done, checked or skipped
        if state.handler_retrying(uid):
            next_in = None
            continue
        state.shared_reads.expect(uid)  # the round begins now for this object (aws/shared_reads.py)
        try:
            # In a copy of this task's context, as asyncio.to_thread does: kopf.event() finds kopf's event queue
            # through context variables (without them the pass's Events are lost).
            pass_in_context = functools.partial(contextvars.copy_context().run, reconcile, plural, body, memo)
            next_in = await asyncio.get_running_loop().run_in_executor(state.executor, pass_in_context)
        except NotWriter as err:
            next_in = err.retry_in
        except Exception:
            log.exception("drift check of %s %s/%s failed", plural, body.metadata.namespace, body.metadata.name)
            next_in = None


def register(registry: kopf.OperatorRegistry | None = None) -> None:
    """Register the handlers of every reconciler in RECONCILERS."""
    reg = registry or kopf.get_default_registry()
    for cls in RECONCILERS:
        plural = cls.plural
        resource = (GROUP, VERSION, plural)

        def on_change(plural: str = plural, **kwargs: Any) -> None:
            _on_change(plural, **kwargs)

        def on_delete(plural: str = plural, **kwargs: Any) -> None:
            _on_delete(plural, **kwargs)

        async def drift(plural: str = plural, **kwargs: Any) -> None:
            await _drift_daemon(plural, **kwargs)

        kopf.on.resume(*resource, id="resume", registry=reg)(on_change)
        kopf.on.create(*resource, id="create", registry=reg)(on_change)
        kopf.on.update(*resource, id="update", field="spec", registry=reg)(on_change)
        # A pass on request: an MtlsDomain (or a user) changes this annotation, e.g. when an MtlsDomain's
        # mappings change what the HybridApi's default execute-api endpoint setting must be.
        kopf.on.update(*resource, id="reconcile-requested", field=REQUEST_FIELD, registry=reg)(on_change)
        kopf.on.delete(*resource, id="finalize", registry=reg)(on_delete)
        kopf.daemon(*resource, id="drift", cancellation_timeout=5.0, registry=reg)(drift)


def configure_settings(settings: kopf.OperatorSettings, *, workers: int, scan_cluster: bool = True) -> None:
    """`scan_cluster=False`: do not watch CustomResourceDefinitions and namespaces (an operator limited to
    exact namespace names, with Roles only: kopf scans the served resources once at start-up instead)."""
    settings.scanning.disabled = not scan_cluster
    settings.persistence.finalizer = FINALIZER
    # Handler progress lives in annotations: status belongs to us and its schema prunes unknown fields.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.execution.max_workers = workers
    settings.posting.reporting_component = "hybrid-gateway-operator"
    settings.posting.loggers = False  # only the Events we post on purpose
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.error_backoffs = [1, 2, 5, 10]
