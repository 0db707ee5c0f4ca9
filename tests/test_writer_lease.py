"""The writer lease against the real API server (coordination.k8s.io Leases), with a clock the test moves."""

from __future__ import annotations

import threading
from collections.abc import Callable

import kubernetes
import pytest

from hybrid_gateway.kube import KubeLeases
from hybrid_gateway.writer_lease import NotWriter, WriterLease


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def make_lease(cluster, namespace) -> Callable[..., WriterLease]:  # type: ignore[no-untyped-def]
    api = kubernetes.config.new_client_from_config(config_file=str(cluster.admin_kubeconfig))

    def make(identity: str, clock: Clock, **kwargs: float) -> WriterLease:
        return WriterLease(KubeLeases(namespace, "writer", api), identity, clock=clock, **kwargs)  # type: ignore[arg-type]

    return make


def holder(cluster, namespace) -> str:  # type: ignore[no-untyped-def]
    out = cluster.kubectl("get", "lease", "writer", "-n", namespace, "-o", "jsonpath={.spec.holderIdentity}")
    return str(out.stdout)


def test_one_writer_at_a_time_and_the_idle_one_gives_way(cluster, namespace, make_lease) -> None:
    clock_a, clock_b = Clock(), Clock()
    a, b = make_lease("a", clock_a, duration_seconds=30, idle_release_seconds=10),\
        make_lease("b", clock_b, duration_seconds=30, idle_release_seconds=10)
    with a.writing():
        assert holder(cluster, namespace) == "a"
        with pytest.raises(NotWriter, match=r"\(a\)"), b.writing():
            pass
    # Idle, but not for long enough: a renews and keeps it.
    clock_a.now += 5
    a.tick()
    with pytest.raises(NotWriter), b.writing():
        pass
    # Idle for the release time: a gives it back at once, b needs no expiry to take it.
    clock_a.now += 10
    a.tick()
    assert holder(cluster, namespace) == ""
    with b.writing():
        assert holder(cluster, namespace) == "b"
    with pytest.raises(NotWriter, match=r"\(b\)"), a.writing():
        pass


def test_a_lease_held_through_a_long_pass_is_never_taken(cluster, namespace, make_lease) -> None:
    clock_a, clock_b = Clock(), Clock()
    a, b = make_lease("a", clock_a, duration_seconds=30), make_lease("b", clock_b, duration_seconds=30)
    with a.writing():
        for _ in range(6):  # three minutes of one pass, renewed every 10 s
            clock_a.now += 10
            clock_b.now += 10
            a.tick()
            with pytest.raises(NotWriter), b.writing():
                pass
        assert holder(cluster, namespace) == "a"


def test_a_crashed_holder_is_taken_over_after_the_lease_duration(cluster, namespace, make_lease) -> None:
    clock_a, clock_b = Clock(), Clock()
    a, b = make_lease("a", clock_a, duration_seconds=30), make_lease("b", clock_b, duration_seconds=30)
    with a.writing():
        pass  # then a dies: no more renewals
    with pytest.raises(NotWriter) as first, b.writing():
        pass
    assert 29 <= first.value.retry_in <= 30
    clock_b.now += 29
    with pytest.raises(NotWriter), b.writing():
        pass
    clock_b.now += 1  # unchanged for the whole duration, on b's own clock
    with b.writing():
        assert holder(cluster, namespace) == "b"
    transitions = cluster.kubectl("get", "lease", "writer", "-n", namespace, "-o",
                                  "jsonpath={.spec.leaseTransitions}").stdout
    assert transitions == "1"


def test_of_two_contenders_for_an_expired_lease_only_one_wins(cluster, namespace, make_lease) -> None:
    clock = Clock()
    a = make_lease("a", clock, duration_seconds=30)
    with a.writing():
        pass
    b, c = make_lease("b", clock), make_lease("c", clock)
    for contender in (b, c):  # both have seen the record...
        with pytest.raises(NotWriter), contender.writing():
            pass
    clock.now += 30  # ...and both find it expired; b writes first
    with b.writing():
        with pytest.raises(NotWriter), c.writing():
            pass
        assert holder(cluster, namespace) == "b"


def test_stopping_waits_for_the_pass_in_flight_then_releases(cluster, namespace, make_lease) -> None:
    clock = Clock()
    a = make_lease("a", clock)
    inside, finish = threading.Event(), threading.Event()

    def long_pass() -> None:
        with a.writing():
            inside.set()
            finish.wait(10)

    runner = threading.Thread(target=long_pass)
    runner.start()
    inside.wait(10)
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(a.stop(timeout=10)))
    stopper.start()
    stopper.join(0.5)
    assert stopper.is_alive() and holder(cluster, namespace) == "a", "released while a pass still runs"
    with pytest.raises(NotWriter), a.writing():  # no new pass once stopping
        pass
    finish.set()
    runner.join(10)
    stopper.join(10)
    assert stopped == [True]
    assert holder(cluster, namespace) == ""


def test_a_write_over_a_stale_record_is_a_conflict(cluster, namespace) -> None:
    """Takeover is safe because the API server refuses a write carrying an old resourceVersion."""
    from hybrid_gateway.writer_lease import LeaseConflict

    store = KubeLeases(namespace, "writer", kubernetes.config.new_client_from_config(
        config_file=str(cluster.admin_kubeconfig)))
    created = store.create("a", 30)
    store.write(created, "b", 1)
    with pytest.raises(LeaseConflict):
        store.write(created, "c", 1)  # c read the record before b took it
    with pytest.raises(LeaseConflict):
        store.create("d", 30)
    record = store.read()
    assert record is not None and record.holder == "b"
