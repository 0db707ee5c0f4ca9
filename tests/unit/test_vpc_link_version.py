"""spec.network.vpcLink.version: the effective version, the switch's retiring ids, and what the V2 chain's
desired states look like (reconcilers/hybridapi.py, parts/rest_api.py)."""

from __future__ import annotations

from typing import Any

import pytest

from hybrid_gateway.api.v1alpha1.hybridapi import HybridApiSpec, Resource
from hybrid_gateway.parts import rest_api
from hybrid_gateway.parts.base import Observed
from hybrid_gateway.reconcilers.chain import Found
from hybrid_gateway.reconcilers.hybridapi import (
    CHAIN,
    Inputs,
    _alb_security_group_desired,
    _rest_api_desired,
    effective_link_version,
    switch_retiring,
)


def _spec(version: str | None = None) -> HybridApiSpec:
    network: dict[str, Any] = {"vpcId": "vpc-0123456789abcdef0",
                               "subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]}
    if version:
        network["vpcLink"] = {"version": version}
    return HybridApiSpec.model_validate({
        "region": "ap-northeast-1", "network": network,
        "backend": {"targets": [{"ip": "192.168.10.5", "port": 443}]},
        "frontDoor": {"hostname": "orders.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ",
                      "certificate": {"acmCertificateArn":
                                      "arn:aws:acm:ap-northeast-1:111122223333:certificate/abc"}},
        "api": {"routes": [{"path": "/orders"}]},
    })


@pytest.mark.parametrize(
    ("reason", "version", "status", "expected"),
    [
        ("a new object without the field: V2", None, {}, "V2"),
        ("an object an older operator made (V1 link recorded): V1, never replaced by an upgrade", None,
         {"resources": {"vpcLinkId": "vl1"}}, "V1"),
        ("an older object whose link is not made yet but its NLB is: V1", None, {"resources": {"nlbArn": "arn"}},
         "V1"),
        ("the version status recorded stands while the field stays absent", None,
         {"vpcLinkVersion": "V1", "resources": {}}, "V1"),
        ("the field wins over a V1 chain: a switch", "V2", {"resources": {"vpcLinkId": "vl1"}}, "V2"),
        ("the field wins for a new object", "V1", {}, "V1"),
    ],
)
def test_effective_link_version(reason: str, version: str | None, status: dict[str, Any], expected: str) -> None:
    assert effective_link_version(_spec(version), status) == expected, reason


def test_a_switch_to_v2_retires_every_v1_id_and_drops_it_from_resources() -> None:
    known: dict[str, Any] = {Resource.NLB_ARN: "nlb", Resource.NLB_LISTENER_ARN: "l", Resource.ALB_TARGET_GROUP_ARN:
                             "tg", Resource.VPC_LINK_ID: "vl1", Resource.ALB_ARN: "alb"}
    retiring = switch_retiring("V2", known, {Resource.ALB_ARN: ["old-alb"]})
    assert retiring == {Resource.ALB_ARN: ["old-alb"], Resource.NLB_ARN: ["nlb"], Resource.NLB_LISTENER_ARN: ["l"],
                        Resource.ALB_TARGET_GROUP_ARN: ["tg"], Resource.VPC_LINK_ID: ["vl1"]}
    # "", not absent: the status merge patch must overwrite them (it cannot drop a key).
    assert known[Resource.NLB_ARN] == "" and known[Resource.VPC_LINK_ID] == "" and known[Resource.ALB_ARN] == "alb"
    assert switch_retiring("V2", known, retiring) == retiring  # the next pass moves nothing again


def test_a_switch_to_v1_retires_this_objects_v2_link_and_its_group() -> None:
    known: dict[str, Any] = {Resource.VPC_LINK_V2_ID: "v2", Resource.VPC_LINK_SECURITY_GROUP_ID: "sg-l"}
    assert switch_retiring("V1", known, None) == {Resource.VPC_LINK_V2_ID: ["v2"],
                                                   Resource.VPC_LINK_SECURITY_GROUP_ID: ["sg-l"]}


def _found(**ids: str) -> Found:
    found = Found({})
    for key, value in ids.items():
        found.observed[key] = Observed(id=value, state=None)
    return found


@pytest.mark.parametrize(
    ("reason", "versions", "retiring", "cidrs", "groups"),
    [
        ("V1: the VPC's CIDRs (the NLB's nodes), no group", {"V1"}, {}, None, ()),
        ("V2: only the link's group", {"V2"}, {}, (), ("sg-link",)),
        ("V1 -> V2 switch: both until the NLB is retired", {"V2"}, {"retiring_v1": True}, None, ("sg-link",)),
        ("V2 -> V1 switch: both until the V2 link is retired", {"V1"},
         {"retiring_link_security_group": "sg-old"}, None, ("sg-old",)),
    ],
)
def test_the_alb_security_group_admits_what_serves(reason: str, versions: set[str], retiring: dict[str, Any],
                                                   cidrs: tuple[str, ...] | None, groups: tuple[str, ...]) -> None:
    inputs = Inputs(_spec(), api_name="x", link_versions=frozenset(versions), **retiring)
    desired = _alb_security_group_desired(inputs, _found(**{Resource.VPC_LINK_SECURITY_GROUP_ID: "sg-link"}))
    assert (desired.ingress_cidrs, desired.ingress_groups) == (cidrs, groups), reason


def test_v2_integrations_name_the_v2_link_and_the_alb_and_v1_ones_no_target() -> None:
    found = _found(**{Resource.VPC_LINK_V2_ID: "v2", Resource.VPC_LINK_ID: "v1", Resource.ALB_ARN: "arn:alb"})
    v2 = _rest_api_desired(Inputs(_spec(), api_name="x", link_versions=frozenset({"V2"})), found)
    v1 = _rest_api_desired(Inputs(_spec(), api_name="x", link_versions=frozenset({"V1"})), found)
    assert (v2.vpc_link_id, v2.integration_target) == ("v2", "arn:alb")
    assert (v1.vpc_link_id, v1.integration_target) == ("v1", "")
    view = rest_api.desired_methods(v2)["ANY /orders"].view()["integration"]
    assert view["connectionId"] == "v2" and view["integrationTarget"] == "arn:alb"
    assert view["uri"] == "https://orders.example.com/orders"


@pytest.mark.parametrize(
    ("reason", "target", "have", "ops"),
    [
        ("V1 -> V2: link and target move together", "arn:alb", {},
         [("replace", "/connectionType", "VPC_LINK"), ("replace", "/connectionId", "l"),
          ("replace", "/integrationTarget", "arn:alb")]),
        ("V2 -> V1: the target goes", "", {"integrationTarget": "arn:alb"},
         [("replace", "/connectionType", "VPC_LINK"), ("replace", "/connectionId", "l"),
          ("remove", "/integrationTarget", None)]),
    ],
)
def test_the_connection_patch(reason: str, target: str, have: dict[str, Any], ops: list[Any]) -> None:
    desired = rest_api.RestApiDesired(name="x", hostname="h.example.com", vpc_link_id="l",
                                      routes=(rest_api.Route("/orders", ("ANY",)),), integration_target=target)
    spec = rest_api.desired_methods(desired)["ANY /orders"]
    patch = rest_api.integration_patch(spec, have, {"connection"})
    assert [(p["op"], p["path"], p.get("value")) for p in patch] == ops, reason


def test_the_chain_steps_of_each_version() -> None:
    def keys(version: str) -> list[str]:
        inputs = Inputs(_spec(), api_name="x", link_versions=frozenset({version}))
        return [s.key for s in CHAIN.steps if s.when(inputs)]
    v1_only = {Resource.ALB_TARGET_GROUP_ARN, Resource.NLB_ARN, Resource.NLB_LISTENER_ARN, Resource.VPC_LINK_ID}
    v2_only = {Resource.VPC_LINK_SECURITY_GROUP_ID, Resource.VPC_LINK_V2_ID}
    assert v1_only <= set(keys("V1")) and not v2_only & set(keys("V1"))
    assert v2_only <= set(keys("V2")) and not v1_only & set(keys("V2"))
