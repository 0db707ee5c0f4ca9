"""Issue 12: reads shared across objects (aws/shared_reads.py). A pass that asks AWS also asks for what the
other passes running now will read; they take that answer instead of asking again, but only an answer asked
after they began, and only for their first read of an id."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from hybrid_gateway.aws.shared_reads import SharedKind, SharedReads

REGION = "eu-west-1"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0  # every reading is later than the one before
        return self.now


class Describe:
    """A Describe by ids against a fixed set of resources; records each call's ids."""

    def __init__(self, existing: set[str], gate: threading.Event | None = None) -> None:
        self.existing = existing
        self.calls: list[list[str]] = []
        self.gate = gate
        self.failures: list[Exception] = []  # what the next calls raise, in order

    def __call__(self, clients: Any, ids: list[str]) -> Mapping[str, Any]:
        self.calls.append(list(ids))
        failure = self.failures.pop(0) if self.failures else None
        if self.gate is not None:
            self.gate.wait(5)
        if failure is not None:
            raise failure
        return {i: ({"id": i} if i in self.existing else None) for i in ids}


def previous_pass(reads: SharedReads, owner: str, kind: SharedKind, ids: set[str]) -> None:
    """A pass of `owner` that read `ids`: what its next pass will want."""
    with reads.pass_scope(owner, REGION) as shared:
        shared.read(None, kind, ids)  # type: ignore[arg-type]


def learnt(owners: str, existing: set[str] | None = None, gate: threading.Event | None = None, most: int = 100,
           clock: Clock | None = None) -> tuple[Describe, SharedKind, SharedReads]:
    """A Describe of `existing` (default: "<owner>1" of each owner) and shared reads after one pass of each
    owner that read "<owner>1"; the calls so far forgotten. With `gate`, the calls after it wait for it."""
    describe = Describe({f"{o}1" for o in owners} if existing is None else existing)
    kind = SharedKind("test:Describe", describe, most=most)
    reads = SharedReads(clock or Clock())
    for owner in owners:
        previous_pass(reads, owner, kind, {f"{owner}1"})
    describe.calls.clear()
    describe.gate = gate
    return describe, kind, reads


def while_on_its_way(describe: Describe, gate: threading.Event, fetch: Callable[[], Any],
                     wait: Callable[[], Any]) -> bool:
    """`fetch` in a thread until its call is on its way (held by `gate`), then `wait` in another; True when
    `wait` was still waiting 0.1 s later. Then the call goes on, and both end."""
    fetching = threading.Thread(target=fetch)
    fetching.start()
    while not describe.calls:
        threading.Event().wait(0.01)
    waiting = threading.Thread(target=wait)
    waiting.start()
    threading.Event().wait(0.1)
    waited = waiting.is_alive()
    gate.set()
    fetching.join(5)
    waiting.join(5)
    return waited


def test_a_pass_alone_asks_for_its_own_ids_only() -> None:
    describe = Describe({"a1", "a2"})
    kind = SharedKind("test:Describe", describe)
    reads = SharedReads(Clock())
    previous_pass(reads, "b", kind, {"b1"})  # b is not running now: nothing is asked for it
    describe.calls.clear()
    with reads.pass_scope("a", REGION) as a:
        assert a.read(None, kind, {"a1", "a2"}) == {"a1": {"id": "a1"}, "a2": {"id": "a2"}}  # type: ignore[arg-type]
    assert describe.calls == [["a1", "a2"]]


def test_one_call_answers_the_other_running_passes_and_they_do_not_ask_again() -> None:
    describe, kind, reads = learnt("abc")
    with reads.pass_scope("a", REGION) as a, reads.pass_scope("b", REGION) as b, \
            reads.pass_scope("c", REGION) as c:
        assert a.read(None, kind, {"a1"}) == {"a1": {"id": "a1"}}  # type: ignore[arg-type]
        assert describe.calls == [["a1", "b1", "c1"]]
        assert b.read(None, kind, {"b1"}) == {"b1": {"id": "b1"}}  # type: ignore[arg-type]
        assert c.read(None, kind, {"c1"}) == {"c1": {"id": "c1"}}  # type: ignore[arg-type]
    assert describe.calls == [["a1", "b1", "c1"]]


def test_a_missing_resource_is_shared_as_missing() -> None:
    describe, kind, reads = learnt("ab", existing={"a1"})  # b1 was deleted out of band
    with reads.pass_scope("a", REGION) as a, reads.pass_scope("b", REGION) as b:
        a.read(None, kind, {"a1"})  # type: ignore[arg-type]
        assert b.read(None, kind, {"b1"}) == {"b1": None}  # type: ignore[arg-type]
    assert len(describe.calls) == 1


def test_an_answer_asked_before_a_pass_began_is_not_given_to_it() -> None:
    describe, kind, reads = learnt("ab")
    with reads.pass_scope("a", REGION) as a:
        a.read(None, kind, {"a1"})  # type: ignore[arg-type]
        with reads.pass_scope("b", REGION) as b:  # began after that call: its answer is too old for b
            b.read(None, kind, {"b1"})  # type: ignore[arg-type]
    assert describe.calls == [["a1"], ["b1"]]


def test_a_second_read_of_an_id_in_a_pass_asks_aws_itself() -> None:
    """After a write the pass reads the resource again: a shared answer from before would hide the write."""
    describe, kind, reads = learnt("ab")
    with reads.pass_scope("a", REGION) as a, reads.pass_scope("b", REGION) as b:
        a.read(None, kind, {"a1"})  # type: ignore[arg-type]
        b.read(None, kind, {"b1"})  # type: ignore[arg-type]
        b.read(None, kind, {"b1"})  # type: ignore[arg-type]
    assert describe.calls == [["a1", "b1"], ["b1"]]


def test_other_regions_and_other_kinds_are_not_asked_for() -> None:
    describe, other = Describe({"a1", "b1"}), Describe({"b2"})
    kind, other_kind = SharedKind("test:Describe", describe), SharedKind("test:Other", other)
    reads = SharedReads(Clock())
    previous_pass(reads, "a", kind, {"a1"})
    previous_pass(reads, "b", other_kind, {"b2"})
    describe.calls.clear()
    with reads.pass_scope("a", REGION) as a, reads.pass_scope("b", REGION), reads.pass_scope("x", "us-east-1"):
        a.read(None, kind, {"a1"})  # type: ignore[arg-type]
    assert describe.calls == [["a1"]]


def test_most_caps_the_ids_one_call_asks_for() -> None:
    describe, kind, reads = learnt("abcde", most=3)
    with reads.pass_scope("a", REGION) as a, reads.pass_scope("b", REGION), reads.pass_scope("c", REGION), \
            reads.pass_scope("d", REGION), reads.pass_scope("e", REGION):
        a.read(None, kind, {"a1"})  # type: ignore[arg-type]
    assert len(describe.calls[0]) == 3 and "a1" in describe.calls[0]


def test_a_pass_waits_for_an_answer_on_its_way_instead_of_asking_again() -> None:
    gate = threading.Event()
    describe, kind, reads = learnt("ab", gate=gate)
    answers: dict[str, Any] = {}
    with reads.pass_scope("a", REGION) as a, reads.pass_scope("b", REGION) as b:
        assert while_on_its_way(describe, gate,  # b waits for a's call, which has b1 in it
                                lambda: answers.update(a.read(None, kind, {"a1"})),  # type: ignore[arg-type]
                                lambda: answers.update(b.read(None, kind, {"b1"})))  # type: ignore[arg-type]
    assert answers == {"a1": {"id": "a1"}, "b1": {"id": "b1"}}
    assert describe.calls == [["a1", "b1"]]


def test_when_the_call_on_its_way_fails_the_waiting_pass_asks_for_itself() -> None:
    gate = threading.Event()
    describe, kind, reads = learnt("ab", gate=gate)
    describe.failures = [RuntimeError("AccessDenied")]  # a's call fails; b's own call then succeeds
    errors: list[Exception] = []
    answers: dict[str, Any] = {}

    def a_reads() -> None:
        try:
            a.read(None, kind, {"a1"})  # type: ignore[arg-type]
        except RuntimeError as exc:
            errors.append(exc)

    with reads.pass_scope("a", REGION) as a, reads.pass_scope("b", REGION) as b:
        assert while_on_its_way(describe, gate, a_reads,
                                lambda: answers.update(b.read(None, kind, {"b1"})))  # type: ignore[arg-type]
    assert [str(e) for e in errors] == ["AccessDenied"]
    assert answers == {"b1": {"id": "b1"}}
    assert describe.calls == [["a1", "b1"], ["b1"]]


def test_an_id_the_call_leaves_unanswered_is_left_out() -> None:
    """A listing window that ends before an id answers nothing for it (not "missing")."""
    kind = SharedKind("test:Window", lambda clients, ids: {i: "window" for i in ids if i < "m"})
    reads = SharedReads(Clock())
    with reads.pass_scope("a", REGION) as a:
        assert a.read(None, kind, {"alpha", "zulu"}) == {"alpha": "window"}  # type: ignore[arg-type]


def test_answers_go_when_no_running_pass_can_take_them() -> None:
    _, kind, reads = learnt("ab")
    with reads.pass_scope("a", REGION) as a, reads.pass_scope("b", REGION):
        a.read(None, kind, {"a1"})  # type: ignore[arg-type]
        assert reads._answers  # b1 is kept for b
    assert reads._answers == {}
    reads.forget("a")
    assert "a" not in reads._last


@pytest.mark.parametrize("owners", [2, 20])
def test_a_round_of_passes_reads_each_kind_once_per_most_ids(owners: int) -> None:
    """Twenty passes of a round, each reading two ids of a kind: one call of 40 ids instead of 20 calls."""
    names = [f"o{n:02d}" for n in range(owners)]
    describe = Describe({f"{o}-{k}" for o in names for k in "xy"})
    kind = SharedKind("test:Describe", describe)
    reads = SharedReads(Clock())
    for o in names:
        previous_pass(reads, o, kind, {f"{o}-x", f"{o}-y"})
    describe.calls.clear()
    scopes = [reads.pass_scope(o, REGION) for o in names]
    passes = [s.__enter__() for s in scopes]
    for o, p in zip(names, passes, strict=True):
        assert p.read(None, kind, {f"{o}-x", f"{o}-y"}) == {  # type: ignore[arg-type]
            f"{o}-x": {"id": f"{o}-x"}, f"{o}-y": {"id": f"{o}-y"}}
    for s in scopes:
        s.__exit__(None, None, None)
    assert [len(c) for c in describe.calls] == [2 * owners]


def test_an_expected_pass_is_fetched_for_before_it_begins() -> None:
    """A round's timers fire together; the passes begin a little later, one after another. Expected at the
    timer, a pass's ids go with the first call of the round even if it begins after that call."""
    describe, kind, reads = learnt("ab")
    reads.expect("a")
    reads.expect("b")
    with reads.pass_scope("a", REGION) as a:
        a.read(None, kind, {"a1"})  # type: ignore[arg-type]
        with reads.pass_scope("b", REGION) as b:  # begins after a's call, but was expected before it
            assert b.read(None, kind, {"b1"}) == {"b1": {"id": "b1"}}  # type: ignore[arg-type]
    assert describe.calls == [["a1", "b1"]]


def test_an_expected_pass_whose_object_had_a_pass_since_starts_afresh() -> None:
    """Expected, then another pass of the same object ran (and may have written): what was fetched for the
    expected pass before that pass ended must not serve it."""
    describe, kind, reads = learnt("ab")
    reads.expect("b")
    with reads.pass_scope("a", REGION) as a:
        a.read(None, kind, {"a1"})  # fetches b1 for the expected pass
    previous_pass(reads, "b", kind, {"b1"})  # a handler's pass of b ran meanwhile (it takes that answer)
    with reads.pass_scope("b", REGION) as b:  # the daemon's pass: not the expected one any more
        b.read(None, kind, {"b1"})  # type: ignore[arg-type]
    assert describe.calls == [["a1", "b1"], ["b1"]]


def test_an_expected_pass_that_never_begins_is_dropped() -> None:
    clock = Clock()
    describe, kind, reads = learnt("ab", clock=clock)
    reads.expect("b")
    clock.now += 3600  # b's pass was skipped
    previous_pass(reads, "a", kind, {"a1"})
    describe.calls.clear()
    with reads.pass_scope("a", REGION) as a:
        a.read(None, kind, {"a1"})  # type: ignore[arg-type]
    assert describe.calls == [["a1"]] and reads._expected == {}
