"""Reads shared across objects: one call answers for the passes of many objects (issue 12).

Drift checks run in rounds (handlers: an object checks on the multiples of its interval), so the passes
of a fleet read the same kinds at about the same time. A pass that must ask AWS for ids of a kind asks, in
the same call, for the ids of that kind that the other passes running now read in their previous pass and
have no answer to yet (a Describe takes lists of ARNs; a listing answers for every id of a Region); they
take that answer when they get there, or wait for it while it is on its way.

Two rules keep a shared answer as good as a read of the pass's own:
- it serves a pass only if it was asked after that pass began, never one from before;
- it serves only the pass's first read of an id: a read after a write (the same id again) asks AWS itself.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import is_not_found

if TYPE_CHECKING:
    from hybrid_gateway.aws.clients import RegionalClients

# How long a pass waits for an answer another pass is fetching for it before asking AWS itself (the
# fetching pass may be paced by a slow bucket; a wait longer than this is not worth the read it saves).
WAIT_SECONDS = 30.0
# An expected pass (`SharedReads.expect`) that has not begun within this long is dropped: its object's
# pass was skipped, or waits behind another pass of the object.
EXPECT_SECONDS = 30.0


@dataclass(frozen=True)
class SharedKind:
    """One read that answers many ids at once. `fetch(clients, ids)` maps each id to its answer (None: it
    does not exist); an id left out was not answered (a listing window that ended before it). `most` caps
    the ids one pass asks for at once, its own and others'."""

    name: str  # unique per kind and, where it matters, per scope ("route53:ListResourceRecordSets:<zone id>")
    fetch: Callable[[RegionalClients, list[str]], Mapping[str, Any]]
    most: int = 100


@dataclass
class _Answer:
    value: Any
    asked_at: float


@dataclass
class _InFlight:
    asked_at: float
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class _LastPass:
    region: str
    ended: float
    read: Mapping[str, frozenset[str]]  # kind -> ids


@dataclass
class SharedPass:
    """One pass's side of the shared reads: when it began, what it read, what its previous pass read."""

    reads: SharedReads
    owner: str
    region: str
    started: float
    wants: Mapping[str, frozenset[str]]  # kind -> ids the owner's previous pass read
    asked: dict[str, set[str]] = field(default_factory=dict)

    def read(self, clients: RegionalClients, kind: SharedKind, ids: Iterable[str]) -> dict[str, Any]:
        """The answers to `ids` (an id left out was not answered): shared when fresh for this pass, else
        asked for (with other passes' ids of the kind)."""
        return self.reads.read(self, clients, kind, set(ids))


class SharedReads:
    """The answers and the passes of one operator process (one per `Runtime`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str, str], _Answer] = {}
        self._in_flight: dict[tuple[str, str, str], _InFlight] = {}
        self._active: dict[int, SharedPass] = {}
        self._expected: dict[str, SharedPass] = {}  # owner -> its pass about to run
        self._last: dict[str, _LastPass] = {}  # owner -> its last pass

    def expect(self, owner: str) -> None:
        """A pass of `owner` is about to run (its drift timer fired): it begins now, as far as the other
        passes are concerned, so that they fetch for it from now on. A round's timers all fire at its
        start, while the passes themselves begin over the following tenths of a second (each reads
        Kubernetes first): without this, the first of them to ask AWS would ask only for those begun."""
        with self._lock:
            last = self._last.get(owner)
            if last is None or owner in self._expected:
                return
            shared = SharedPass(self, owner, last.region, self._clock(), last.read)
            self._expected[owner] = shared
            self._active[id(shared)] = shared

    @contextlib.contextmanager
    def pass_scope(self, owner: str, region: str) -> Iterator[SharedPass]:
        """A pass of `owner` in `region`: while it runs, other passes fetch for it what its previous pass
        read; when it ends, what it read is what the next one will want. An expected pass is taken over
        unless the owner's last pass ended after it was expected (then what was fetched for it may predate
        that pass's writes)."""
        with self._lock:
            shared = self._expected.pop(owner, None)
            last = self._last.get(owner)
            if shared is not None and (shared.region != region or (last is not None and last.ended > shared.started)):
                del self._active[id(shared)]
                shared = None
            if shared is None:
                shared = SharedPass(self, owner, region, self._clock(), last.read if last else {})
                self._active[id(shared)] = shared
        try:
            yield shared
        finally:
            with self._lock:
                del self._active[id(shared)]
                self._last[owner] = _LastPass(region, self._clock(),
                                              {kind: frozenset(ids) for kind, ids in shared.asked.items()})
                self._prune()

    def forget(self, owner: str) -> None:
        """The owner is gone (deleted): nobody will want its ids again."""
        with self._lock:
            self._last.pop(owner, None)
            expected = self._expected.pop(owner, None)
            if expected is not None:
                del self._active[id(expected)]

    def read(self, shared: SharedPass, clients: RegionalClients, kind: SharedKind, ids: set[str]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        waits: list[tuple[str, _InFlight]] = []
        with self._lock:  # other passes read `asked` (what this pass has read) under it
            asked = shared.asked.setdefault(kind.name, set())
            first, again = ids - asked, ids & asked
            asked |= ids
            for i in sorted(first):
                key = (shared.region, kind.name, i)
                answer, flight = self._answers.get(key), self._in_flight.get(key)
                if answer is not None and answer.asked_at >= shared.started:
                    result[i] = answer.value
                elif flight is not None and flight.asked_at >= shared.started:
                    waits.append((i, flight))
            own = (first - result.keys() - {i for i, _ in waits}) | again
            extra = self._wanted_by_others(shared, kind, kind.most - len(own)) - own if own else set()
            flight = self._send(shared.region, kind, own | extra)
        if own:
            result.update({i: v for i, v in self._fetch(clients, shared.region, kind, own | extra, flight).items()
                           if i in own})
        for i, other in waits:
            other.done.wait(WAIT_SECONDS)
            with self._lock:
                answer = self._answers.get((shared.region, kind.name, i))
            if answer is not None and answer.asked_at >= shared.started:
                result[i] = answer.value
            else:  # that fetch failed, or ended before it reached this id: ask AWS for it alone
                with self._lock:
                    retry = self._send(shared.region, kind, {i})
                result.update(self._fetch(clients, shared.region, kind, {i}, retry))
        return result

    def _wanted_by_others(self, shared: SharedPass, kind: SharedKind, room: int) -> set[str]:
        """Up to `room` ids of `kind` that other passes running now will read and have no fresh answer to
        (nor one on its way). Called under the lock."""
        extra: set[str] = set()
        for other in self._active.values():
            if other is shared or other.region != shared.region:
                continue
            done = other.asked.get(kind.name, set())
            for i in sorted(other.wants.get(kind.name, ())):
                if len(extra) >= room:
                    return extra
                key = (other.region, kind.name, i)
                answer, flight = self._answers.get(key), self._in_flight.get(key)
                if i in done or (answer is not None and answer.asked_at >= other.started) or (
                        flight is not None and flight.asked_at >= other.started):
                    continue
                extra.add(i)
        return extra

    def _send(self, region: str, kind: SharedKind, ids: set[str]) -> _InFlight:
        """Mark `ids` as on their way. Called under the lock."""
        flight = _InFlight(self._clock())
        for i in ids:
            self._in_flight[(region, kind.name, i)] = flight
        return flight

    def _fetch(self, clients: RegionalClients, region: str, kind: SharedKind, ids: set[str],
               flight: _InFlight) -> Mapping[str, Any]:
        answers: Mapping[str, Any] = {}
        try:
            answers = kind.fetch(clients, sorted(ids))
            return answers
        finally:
            with self._lock:
                for i in ids:
                    key = (region, kind.name, i)
                    if self._in_flight.get(key) is flight:
                        del self._in_flight[key]
                    if i in answers:
                        self._answers[key] = _Answer(answers[i], flight.asked_at)
            flight.done.set()

    def _prune(self) -> None:
        """Drop the expected passes that never began, and the answers no running pass can take (asked
        before the oldest one began). Under the lock."""
        now = self._clock()
        for owner, shared in list(self._expected.items()):
            if now - shared.started > EXPECT_SECONDS:
                del self._expected[owner], self._active[id(shared)]
        oldest = min((p.started for p in self._active.values()), default=None)
        if oldest is None:
            self._answers.clear()
            return
        for key in [k for k, a in self._answers.items() if a.asked_at < oldest]:
            del self._answers[key]


def describe_ids(call: Callable[[list[str]], Iterable[Mapping[str, Any]]], id_key: str, ids: Iterable[str],
                 size: int) -> dict[str, dict[str, Any] | None]:
    """Each of `ids` described (None: it does not exist) by `call(batch)`, one call per `size` ids.

    A Describe by a list of ids fails whole when one of them does not exist (ELB's LoadBalancerNotFound,
    TargetGroupNotFound, ListenerNotFound; EC2's InvalidGroup.NotFound: docs/aws-behaviour.md): that batch
    is then asked one id at a time."""
    wanted = sorted(set(ids))
    result: dict[str, dict[str, Any] | None] = {}
    for start in range(0, len(wanted), size):
        batch = wanted[start:start + size]
        try:
            found = {str(item[id_key]): dict(item) for item in call(batch)}
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            if len(batch) == 1:
                result[batch[0]] = None
            else:
                for one in batch:
                    result.update(describe_ids(call, id_key, [one], 1))
            continue
        result.update({i: found.get(i) for i in batch})
    return result
