"""One writer at a time across replicas: a `coordination.k8s.io` Lease held while passes run.

kopf's peering picks the replica that handles events, but it does not wait for passes in flight: a
replica that pauses (a peer with a higher priority appeared) or shuts down (its keep-alive is dropped
first, its handler threads finish after) may still be writing to AWS while the next replica starts, and
two passes over one object can create twins (CreateRestApi, CreateVpcLink and ImportCertificate are not
idempotent). The lease closes that gap: a pass starts only while this process holds it, the holder
keeps it while any pass runs, and gives it back once it has been idle for a while (so that a paused
replica does not block the active one) or when it stops, after its last pass ended.

Expiry is judged as client-go's leader election does it: by how long the record has gone unchanged on
this process's own clock, never by comparing the holder's timestamps with ours (clocks of two nodes
differ). Takeover writes with the record's resourceVersion, so of two contenders only one wins.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseRecord:
    holder: str  # "" when released
    duration_seconds: int
    transitions: int
    resource_version: str


class LeaseConflict(Exception):
    """Someone else wrote the Lease since we read it (resourceVersion mismatch, or it already exists)."""


class LeaseStore(Protocol):
    """Reads and writes one Lease object; `kube.KubeLeases` does it against the API server."""

    def read(self) -> LeaseRecord | None: ...
    def create(self, holder: str, duration_seconds: int) -> LeaseRecord: ...
    def write(self, current: LeaseRecord, holder: str, transitions: int) -> LeaseRecord: ...


class NotWriter(Exception):
    """Another replica holds the writer lease: try again in `retry_in` seconds."""

    def __init__(self, holder: str, retry_in: float) -> None:
        super().__init__(f"another replica ({holder}) holds the writer lease")
        self.holder = holder
        self.retry_in = retry_in


def now_micro() -> str:
    """A Lease MicroTime (RFC 3339 with microseconds)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WriterLease:
    def __init__(self, store: LeaseStore, identity: str, *, duration_seconds: int = 30,
                 idle_release_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self.identity = identity
        self.duration_seconds = duration_seconds
        self.idle_release_seconds = idle_release_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._record: LeaseRecord | None = None  # ours, while held
        self._held_until = 0.0  # our clock: a renewal is due well before this
        self._in_flight = 0
        self._last_pass_end = 0.0
        self._stopping = False
        # Another holder's record as last seen, and when (our clock) it last changed.
        self._seen: tuple[str, str] | None = None
        self._seen_changed_at = 0.0

    # -- passes -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Run one pass as the writer; raises NotWriter when another replica holds the lease."""
        with self._lock:
            if self._stopping:
                raise NotWriter(self.identity + " (stopping)", self.duration_seconds)
            if not self._holds():
                self._acquire()
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last_pass_end = self._clock()
                self._drained.notify_all()

    def holds(self) -> bool:
        with self._lock:
            return self._holds()

    def _holds(self) -> bool:
        return self._record is not None and self._clock() < self._held_until

    def _acquire(self) -> None:
        record = self._store.read()
        if record is None:
            try:
                self._took(self._store.create(self.identity, self.duration_seconds))
                return
            except LeaseConflict:
                record = self._store.read()
        if record is None:
            raise NotWriter("unknown", 1.0)
        if record.holder and record.holder != self.identity and not self._expired(record):
            raise NotWriter(record.holder, max(1.0, self._seen_changed_at + record.duration_seconds - self._clock()))
        transitions = record.transitions + (0 if record.holder == self.identity else 1)
        try:
            self._took(self._store.write(record, self.identity, transitions))
        except LeaseConflict:
            raise NotWriter(record.holder or "a contender", 1.0) from None
        if record.holder and record.holder != self.identity:
            log.warning("took over the writer lease from %s (not renewed for %ss)", record.holder,
                        record.duration_seconds)

    def _expired(self, record: LeaseRecord) -> bool:
        seen = (record.holder, record.resource_version)
        now = self._clock()
        if seen != self._seen:
            self._seen, self._seen_changed_at = seen, now
            return False
        return now - self._seen_changed_at >= record.duration_seconds

    def _took(self, record: LeaseRecord) -> None:
        self._record = record
        # Renewals come every third of the duration; stop counting on a lease we could not renew in time.
        self._held_until = self._clock() + self.duration_seconds * 2 / 3

    # -- the keeper thread ------------------------------------------------------------------------
    def tick(self) -> None:
        """Renew while passes run or ran recently; give the lease back once idle (called periodically)."""
        with self._lock:
            if self._record is None:
                return
            idle = self._in_flight == 0 and self._clock() - self._last_pass_end >= self.idle_release_seconds
            try:
                if idle or (self._stopping and self._in_flight == 0):
                    self._release()
                else:
                    self._took(self._store.write(self._record, self.identity, self._record.transitions))
            except LeaseConflict:
                log.warning("the writer lease was taken by another replica; no new pass starts until it is back")
                self._record = None
            except Exception:
                log.exception("could not renew the writer lease")

    def _release(self) -> None:
        record, self._record = self._record, None
        if record is not None:
            with contextlib.suppress(LeaseConflict):
                self._store.write(record, "", record.transitions)

    def keep(self, stopped: threading.Event) -> None:
        """The keeper loop, until `stopped` is set."""
        while not stopped.wait(self.duration_seconds / 3):
            self.tick()

    def stop(self, timeout: float) -> bool:
        """Start no new pass, wait for those in flight (up to `timeout` seconds), then give the lease back.
        Returns False when passes were still running at the timeout (the lease then expires on its own)."""
        with self._lock:
            self._stopping = True
            drained = self._drained.wait_for(lambda: self._in_flight == 0, timeout)
            if drained:
                self._release()
            return drained
