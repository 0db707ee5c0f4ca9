"""One timer per object: while a handler's pass waits for AWS, kopf's retry of that handler is the object's
only timer and the drift daemon skips; otherwise the daemon looks again with the pass's backoff."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from types import SimpleNamespace
from typing import Any

import kopf
import pytest

from hybrid_gateway import handlers
from hybrid_gateway.reconcilers.base import PassReport, Runtime


class Meta(dict[str, Any]):
    @property
    def uid(self) -> str:
        return str(self["uid"])


class Body(dict[str, Any]):
    def __init__(self) -> None:
        super().__init__(metadata=Meta(name="orders", namespace="team-a", uid="uid-1"), spec={})
        self.metadata = self["metadata"]
        self.spec = self["spec"]


class Scripted:
    """A reconciler whose passes answer `requeue` in turn (seconds until the next look, None: done)."""

    def __init__(self, *requeue: float | None) -> None:
        self.requeue = list(requeue)
        self.passes = 0

    def run_pass(self, body: dict[str, Any], drift_seconds: float | None = None) -> PassReport:
        self.passes += 1
        return PassReport([], self.requeue.pop(0) if self.requeue else None)


class Wakes:
    """kopf.DaemonStopped stand-in: lets the daemon wake `n` times without waiting, then stops it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.waits: list[float] = []

    def __bool__(self) -> bool:
        return len(self.waits) > self.n

    async def wait(self, timeout: float) -> None:
        self.waits.append(timeout)


def setup(reconciler: Scripted) -> tuple[SimpleNamespace, Body]:
    state = handlers.OperatorState(Runtime(aws=None, kube=None, min_drift_seconds=1.0),  # type: ignore[arg-type]
                                   default_drift_seconds=60.0)
    state.reconcilers["hybridapis"] = reconciler  # type: ignore[assignment]
    return SimpleNamespace(state=state), Body()


def test_the_daemon_skips_while_a_handler_retry_waits_for_aws() -> None:
    reconciler = Scripted(3.0)
    memo, body = setup(reconciler)
    with pytest.raises(kopf.TemporaryError):
        handlers._on_change("hybridapis", body=body, memo=memo)  # type: ignore[arg-type]
    assert reconciler.passes == 1
    asyncio.run(handlers._drift_daemon("hybridapis", body, memo, Wakes(5)))  # type: ignore[arg-type]
    assert reconciler.passes == 1  # kopf's retry is the one timer: the daemon looked 0 times
    handlers._on_change("hybridapis", body=body, memo=memo)  # type: ignore[arg-type]  # the retry converges
    assert reconciler.passes == 2
    asyncio.run(handlers._drift_daemon("hybridapis", body, memo, Wakes(3)))  # type: ignore[arg-type]
    assert reconciler.passes == 5  # back to drift checks


def test_a_daemon_pass_that_waits_keeps_the_backoff() -> None:
    reconciler = Scripted(3.0, 3.0, 6.0, 12.0, None)
    memo, body = setup(reconciler)
    wakes = Wakes(5)
    asyncio.run(handlers._drift_daemon("hybridapis", body, memo, wakes))  # type: ignore[arg-type]
    assert reconciler.passes == 5
    assert wakes.waits[1:5] == [3.0, 3.0, 6.0, 12.0]  # the pass's own backoff, no drift-interval looks between


def test_a_handler_retry_that_never_comes_does_not_silence_the_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    reconciler = Scripted(3.0)
    memo, body = setup(reconciler)
    with pytest.raises(kopf.TemporaryError):
        handlers._on_change("hybridapis", body=body, memo=memo)  # type: ignore[arg-type]
    now = handlers.time.monotonic()
    monkeypatch.setattr(handlers.time, "monotonic", lambda: now + 2 * 3.0 + handlers.HANDLER_RETRY_SLACK + 1)
    asyncio.run(handlers._drift_daemon("hybridapis", body, memo, Wakes(1)))  # type: ignore[arg-type]
    assert reconciler.passes == 2


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


KOPF_CONTEXT: contextvars.ContextVar[str] = contextvars.ContextVar("kopf_context", default="")


class SeesContext(Scripted):
    def __init__(self) -> None:
        super().__init__(None, None)
        self.seen: list[str] = []

    def run_pass(self, body: dict[str, Any], drift_seconds: float | None = None) -> PassReport:
        self.seen.append(KOPF_CONTEXT.get())
        return super().run_pass(body, drift_seconds)


def test_drift_passes_run_in_the_operators_pass_pool_with_the_daemons_context() -> None:
    """The daemons' passes share kopf's pool (--workers), not asyncio's default one (6 threads on 2 CPUs),
    whose few threads, all waiting for a slow bucket's token, would stall every other drift check; and they
    run in the daemon's context, where kopf.event() finds kopf's event queue (else their Events are lost)."""
    reconciler = SeesContext()
    memo, body = setup(reconciler)
    pool = CountingExecutor()
    memo.state.executor = pool

    async def daemon() -> None:
        KOPF_CONTEXT.set("kopf's event queue")
        await handlers._drift_daemon("hybridapis", body, memo, Wakes(2))  # type: ignore[arg-type]

    asyncio.run(daemon())
    assert reconciler.passes == 2
    assert pool.submitted == 2
    assert reconciler.seen == ["kopf's event queue"] * 2
    pool.shutdown()
