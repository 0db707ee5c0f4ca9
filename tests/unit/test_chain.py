"""The chain runner (reconcilers/chain.py) with in-memory parts: order, waiting, retiring, finalize."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from hybrid_gateway.aws import AwsClients
from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.errors import RetryLater
from hybrid_gateway.parts.base import Observed, Part, PartContext, Replacement
from hybrid_gateway.reconcilers.chain import Chain, Step


@dataclass(frozen=True)
class Want:
    kind: str


@dataclass
class Store:
    """What AWS holds: id -> kind, which ids are still provisioning, and every write in order."""

    items: dict[str, str] = field(default_factory=dict)
    provisioning: set[str] = field(default_factory=set)
    log: list[str] = field(default_factory=list)


class Thing(Part[Want, str]):
    """A resource whose kind cannot change in place; its id is `<name>-<kind>`."""

    replace_on: ClassVar[frozenset[str]] = frozenset({"kind"})
    replacement = Replacement.CREATE_FIRST_RETIRE_LATER

    def __init__(self, name: str, store: Store) -> None:
        self.name = name  # type: ignore[misc]  # one class serves every step here
        self.store = store

    def _observed(self, rid: str) -> Observed[str]:
        ready = rid not in self.store.provisioning
        return Observed(rid, self.store.items[rid], ready=ready, waiting_for="" if ready else f"{rid} provisioning")

    def find(self, ctx: PartContext, desired: Want | None, known_id: str | None) -> Observed[str] | None:
        for rid in (known_id, f"{self.name}-{desired.kind}" if desired else None):
            if rid in self.store.items:
                return self._observed(rid)
        return None

    def create(self, ctx: PartContext, desired: Want) -> Observed[str]:
        rid = f"{self.name}-{desired.kind}"
        self.store.items[rid] = desired.kind
        self.store.log.append(f"create {rid}")
        return self._observed(rid)

    def diff(self, desired: Want, observed: Observed[str]) -> list[str]:
        return [] if observed.state == desired.kind else ["kind"]

    def update(self, ctx: PartContext, desired: Want, observed: Observed[str], changes: list[str]) -> Observed[str]:
        raise AssertionError("kind is replaced, never updated")

    def delete(self, ctx: PartContext, observed: Observed[str]) -> None:
        self.store.log.append(f"delete {observed.id}")
        self.store.items.pop(observed.id, None)


def chain_of(store: Store) -> Chain[dict[str, str]]:
    """nlb -> listener (deleted with the nlb) -> link (needs the nlb ready)."""
    return Chain(
        [
            Step("nlb", lambda i, f: Thing("nlb", store), lambda i, f: Want(i["nlb"]), hop="LoadBalancersReady"),
            Step("listener", lambda i, f: Thing("listener", store), lambda i, f: Want(f.id("nlb")),
                 after=("nlb",), hop="LoadBalancersReady", removed_with="nlb"),
            Step("link", lambda i, f: Thing("link", store), lambda i, f: Want(f.id("nlb")),
                 ready=("nlb",), hop="VpcLinkReady"),
        ],
        ok={"LoadBalancersReady": "active", "VpcLinkReady": "available"},
    )


@pytest.fixture()
def ctx() -> PartContext:
    return PartContext(aws=AwsClients(), region="ap-northeast-1", owner=Owner("HybridApi", "n", "x", "u"))


def hops(run: Any) -> dict[str, bool | None]:
    return {h.type: h.status for h in run.hops}


def test_steps_run_in_order_and_a_second_pass_writes_nothing(ctx: PartContext) -> None:
    store = Store()
    chain = chain_of(store)
    run = chain.ensure(ctx, {"nlb": "a"}, {})
    assert store.log == ["create nlb-a", "create listener-nlb-a", "create link-nlb-a"]
    assert run.resources == {"nlb": "nlb-a", "listener": "listener-nlb-a", "link": "link-nlb-a"}
    assert hops(run) == {"LoadBalancersReady": True, "VpcLinkReady": True} and not run.waiting
    store.log.clear()
    again = chain.ensure(ctx, {"nlb": "a"}, run.resources, run.retiring)
    assert store.log == [] and not any(o.action for o in again.outcomes)


def test_a_step_waits_for_what_it_needs_ready_and_says_why(ctx: PartContext) -> None:
    store = Store(provisioning={"nlb-a"})
    run = chain_of(store).ensure(ctx, {"nlb": "a"}, {})
    assert "link" not in run.resources and "listener" in run.resources  # `after` needs existence only
    waiting = {h.type: h.message for h in run.hops if h.status is not True}
    assert waiting == {"LoadBalancersReady": "nlb-a provisioning", "VpcLinkReady": "link waits for nlb"}


def test_a_replaced_resource_retires_only_once_nothing_waits(ctx: PartContext) -> None:
    store = Store()
    chain = chain_of(store)
    first = chain.ensure(ctx, {"nlb": "a"}, {})
    store.provisioning.add("nlb-b")  # the replacement provisions: the link cannot move yet
    second = chain.ensure(ctx, {"nlb": "b"}, first.resources, first.retiring)
    assert second.resources["nlb"] == "nlb-b"
    assert second.retiring == {"nlb": ["nlb-a"], "listener": ["listener-nlb-a"]}
    assert "nlb-a" in store.items and second.resources["link"] == "link-nlb-a"  # still serving
    store.provisioning.clear()
    store.log.clear()
    third = chain.ensure(ctx, {"nlb": "b"}, second.resources, second.retiring)
    assert third.retiring == {} and "nlb-a" not in store.items and third.resources["link"] == "link-nlb-b"
    assert store.log.index("create link-nlb-b") < store.log.index("delete nlb-a")


def test_finalize_walks_backwards_skipping_what_goes_with_its_parent(ctx: PartContext) -> None:
    store = Store()
    chain = chain_of(store)
    run = chain.ensure(ctx, {"nlb": "a"}, {})
    store.log.clear()
    teardown = chain.finalize(ctx, {"nlb": "a"}, run.resources, {"nlb": ["nlb-old"]})
    assert teardown.done and store.log == ["delete link-nlb-a", "delete nlb-a"]
    assert teardown.deleted == ["link link-nlb-a", "nlb nlb-a"]


def test_a_step_may_only_require_steps_before_it() -> None:
    with pytest.raises(ValueError, match="link requires"):
        Chain([Step("link", lambda i, f: Thing("link", Store()), lambda i, f: Want("x"), ready=("nlb",))], ok={})


def test_retiring_goes_dependents_first_and_what_aws_still_holds_waits_for_a_later_pass(ctx: PartContext) -> None:
    """A link-version switch retires a whole side: the link before its NLB (reverse chain order), the listener
    with its NLB; an NLB AWS refuses to delete yet (its link is still deleting) stays retiring, and the pass
    that met the refusal still succeeds (the new side already serves)."""
    store = Store()
    chain = chain_of(store)
    held = {"nlb-old"}

    class Held(Thing):
        def delete(self, c: PartContext, observed: Observed[str]) -> None:
            if observed.id in held:
                raise RetryLater("DependencyInUse", f"{observed.id} in use")
            super().delete(c, observed)

    steps = [Step(s.key, (lambda i, f, k=s.key: Held(k, store)), s.desired, s.after, s.ready, s.hop,
                  removed_with=s.removed_with) for s in chain.steps]
    held_chain = Chain(steps, chain.ok)
    run = held_chain.ensure(ctx, {"nlb": "a"}, {})
    for rid, kind in (("nlb-old", "old"), ("listener-old", "old"), ("link-old", "old")):
        store.items[rid] = kind
    store.log.clear()
    retiring = {"nlb": ["nlb-old"], "listener": ["listener-old"], "link": ["link-old"]}
    switched = held_chain.ensure(ctx, {"nlb": "a"}, run.resources, retiring)
    assert store.log == ["delete link-old"], "the link first; the NLB refused; its listener goes with it"
    assert switched.retiring == {"nlb": ["nlb-old"]}
    held.clear()
    store.log.clear()
    later = held_chain.ensure(ctx, {"nlb": "a"}, switched.resources, switched.retiring)
    assert store.log == ["delete nlb-old"] and later.retiring == {}
