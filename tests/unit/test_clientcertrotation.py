"""ClientCertRotation: the pure pieces (spec, phase table, route matching, bundle, status patches)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hybrid_gateway.api.v1alpha1 import ClientCertRotationSpec
from hybrid_gateway.api.v1alpha1.clientcertrotation import StageRef
from hybrid_gateway.durations import parse_time
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts import trust_bundle as tb
from hybrid_gateway.parts.client_certificate import resolve_route, route_score
from hybrid_gateway.reconcilers.base import KubeObject, parse_spec
from hybrid_gateway.reconcilers.clientcertrotation import (
    DRAINING,
    GENERATING,
    IDLE,
    PUBLISHING,
    RETIRING,
    SWITCHING,
    VERIFYING,
    ClientCertRotationReconciler,
    State,
    merge_patch,
    stage_claimed_by,
    verify_backoff,
)

ARN = "arn:aws:acm:ap-northeast-1:111122223333:certificate/0a1b2c3d-1111-2222-3333-444455556666"
PEM_A = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
PEM_B = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"


def body(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "region": "ap-northeast-1",
        "stages": [{"hybridApiRef": {"name": "orders"}, "stage": "prod"}],
        "backendTrust": {"secretRef": {"name": "trust", "key": "ca.pem"}},
    }
    base.update(spec)
    return {
        "kind": "ClientCertRotation",
        "metadata": {"name": "cert", "namespace": "team-a", "uid": "u-1", "creationTimestamp": "2026-01-02T00:00:00Z"},
        "spec": base,
    }


# ---- spec ---------------------------------------------------------------------------------------


def stage_ref(hybrid_api: str, stage: str) -> StageRef:
    return StageRef.model_validate({"hybridApiRef": {"name": hybrid_api}, "stage": stage})


def parse(spec: dict[str, Any]) -> ClientCertRotationSpec:
    return parse_spec(ClientCertRotationSpec, KubeObject(spec))


def test_spec_defaults() -> None:
    spec = parse(body())
    assert spec.stages == (stage_ref("orders", "prod"),) and spec.stages[0].label == "orders/prod"
    assert spec.renew_before_seconds == 720 * 3600 and spec.grace_period_seconds == 600
    trust = spec.backend_trust
    assert trust.kind == "Secret" and trust.ref.name == "trust" and trust.ref.key == "ca.pem"
    assert trust.s3 is None and spec.verification is None
    assert spec.rotate_requested_at is None and not spec.retain


@pytest.mark.parametrize(("certificate", "origin"), [
    (None, "apiGateway"), ({}, "apiGateway"), ({"source": "secret", "secretRef": {"name": "tls"}}, "secret"),
    ({"source": "acm", "acmCertificateArn": ARN}, "acm"),
])
def test_certificate_source_defaults_to_api_gateway(certificate: dict[str, Any] | None, origin: str) -> None:
    spec = parse(body(**({} if certificate is None else {"certificate": certificate})))
    assert spec.origin == origin


def test_spec_full() -> None:
    spec = parse(body(
        renewBefore="30s", gracePeriod="1m30s", deletionPolicy="Retain", rotateRequestedAt="2026-05-01T09:00:00Z",
        backendTrust={"configMapRef": {"name": "t", "key": "k"}, "s3": {"bucket": "b-1", "key": "x/y.pem"}},
        verification={"hybridApiRef": {"name": "orders"}, "path": "/healthz", "method": "get",
                      "expectStatus": [200, 204]},
    ))
    assert (spec.renew_before_seconds, spec.grace_period_seconds, spec.retain) == (30, 90, True)
    trust = spec.backend_trust
    assert trust.s3 is not None
    assert (trust.kind, trust.s3.bucket, trust.s3.key) == ("ConfigMap", "b-1", "x/y.pem")
    assert spec.verification is not None
    assert (spec.verification.method, spec.verification.expect_status) == ("GET", (200, 204))


@pytest.mark.parametrize(
    ("reason", "spec", "expected"),
    [
        ("a stage named twice", {"stages": [{"hybridApiRef": {"name": "o"}, "stage": "p"}] * 2}, "DuplicateStage"),
        ("no stages", {"stages": []}, "InvalidStages"),
        ("both trust targets", {"backendTrust": {"secretRef": {"name": "a", "key": "b"},
                                                 "configMapRef": {"name": "a", "key": "b"}}}, "InvalidBackendTrust"),
        ("no trust target", {"backendTrust": {}}, "InvalidBackendTrust"),
        ("bad duration", {"renewBefore": "30d"}, "InvalidDuration"),
        ("bad request time", {"rotateRequestedAt": "yesterday"}, "InvalidRotateRequest"),
        ("request time without zone", {"rotateRequestedAt": "2026-05-01T09:00:00"}, "InvalidRotateRequest"),
        ("source secret without secretRef", {"certificate": {"source": "secret"}}, "InvalidCertificateSource"),
        ("source acm without an ARN", {"certificate": {"source": "acm"}}, "InvalidCertificateSource"),
        ("an ARN with source apiGateway", {"certificate": {"acmCertificateArn": ARN}}, "InvalidCertificateSource"),
        ("a secretRef with source acm", {"certificate": {"source": "acm", "acmCertificateArn": ARN,
                                                         "secretRef": {"name": "tls"}}}, "InvalidCertificateSource"),
    ],
)
def test_spec_errors_are_stalled(reason: str, spec: dict[str, Any], expected: str) -> None:
    with pytest.raises(Stalled) as info:
        parse(body(**spec))
    assert info.value.reason == expected, reason


def test_parse_time_accepts_rfc3339_forms() -> None:
    want = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
    assert parse_time("2026-05-01T09:00:00Z") == want
    assert parse_time("2026-05-01t18:00:00+09:00") == want
    assert parse_time("2026-05-01T09:00:00.250Z") == want + dt.timedelta(milliseconds=250)


@pytest.mark.parametrize(
    ("reason", "others", "expected"),
    [
        ("older object names the stage", [("a", "2026-01-01T00:00:00Z", "orders", "prod", False)], "a"),
        ("younger object does not count", [("a", "2026-01-03T00:00:00Z", "orders", "prod", False)], None),
        ("same time: the name breaks the tie", [("b", "2026-01-02T00:00:00Z", "orders", "prod", False),
                                               ("ca", "2026-01-02T00:00:00Z", "orders", "prod", False)], "b"),
        ("another stage", [("a", "2026-01-01T00:00:00Z", "orders", "dev", False)], None),
        ("object being deleted", [("a", "2026-01-01T00:00:00Z", "orders", "prod", True)], None),
    ],
)
def test_stage_claims(reason: str, others: list[tuple[str, str, str, str, bool]], expected: str | None) -> None:
    me = KubeObject(body())
    listed = [{
        "metadata": {"name": n, "uid": f"uid-{n}", "creationTimestamp": t,
                     **({"deletionTimestamp": t} if deleting else {})},
        "spec": {"stages": [{"hybridApiRef": {"name": api}, "stage": stage}]},
    } for n, t, api, stage, deleting in others] + [me.body]
    assert stage_claimed_by(me, listed, stage_ref("orders", "prod")) == expected, reason


# ---- the phase table: what is trusted and presented in each phase -----------------------------------


def state(phase: str) -> State:
    return State(phase=phase, current={"clientCertificateId": "cur"}, pending={"clientCertificateId": "new"},
                 previous={"clientCertificateId": "old"})


@pytest.mark.parametrize(
    ("phase", "trusted", "presented"),
    [
        (IDLE, ["cur"], "cur"),
        (GENERATING, ["cur"], "cur"),
        (PUBLISHING, ["cur", "new"], "cur"),
        (VERIFYING, ["cur", "new"], "cur"),
        (SWITCHING, ["cur", "new"], "new"),
        (DRAINING, ["old", "cur"], "cur"),
        (RETIRING, ["cur"], "cur"),
    ],
)
def test_every_phase_trusts_what_its_stages_present(phase: str, trusted: list[str], presented: str) -> None:
    st = state(phase)
    assert ClientCertRotationReconciler.bundle_ids(st) == trusted
    assert ClientCertRotationReconciler.stage_id(st) == presented
    assert presented in trusted


def test_first_certificate_phases_trust_only_what_exists() -> None:
    first = State(phase=PUBLISHING, pending={"clientCertificateId": "new"})
    assert ClientCertRotationReconciler.bundle_ids(first) == ["new"]
    assert ClientCertRotationReconciler.stage_id(first) == ""  # stages are left alone until the switch
    assert ClientCertRotationReconciler.bundle_ids(State(phase=GENERATING)) == []


def test_state_round_trip_ignores_unknown_phase_and_empty_refs() -> None:
    st = State.from_status({"phase": "Bogus", "current": {"clientCertificateId": ""}, "pending": {"x": 1}})
    assert (st.phase, st.current, st.pending) == (IDLE, None, None)


@pytest.mark.parametrize(("attempts", "seconds"), [(0, 3), (1, 3), (2, 6), (3, 12), (7, 192), (8, 300), (30, 300)])
def test_verify_backoff(attempts: int, seconds: float) -> None:
    assert verify_backoff(attempts) == seconds


# ---- status patches ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "stored", "fields", "expected"),
    [
        ("a cleared field becomes null", {"pending": {"clientCertificateId": "a"}}, {"pending": None},
         {"pending": None}),
        ("a field never set stays unset", {}, {"pending": None}, {}),
        ("fields not named are left alone", {"conditions": [1], "drift": {}}, {"phase": "Idle"}, {"phase": "Idle"}),
        ("keys gone from an object field become null",
         {"rotation": {"reason": "Requested", "nextVerificationTime": "t"}}, {"rotation": {"reason": "Expiring"}},
         {"rotation": {"reason": "Expiring", "nextVerificationTime": None}}),
        ("lists are replaced", {"history": [{"from": "a"}]}, {"history": []}, {"history": []}),
    ],
)
def test_merge_patch(reason: str, stored: dict[str, Any], fields: dict[str, Any], expected: dict[str, Any]) -> None:
    assert merge_patch(stored, fields) == expected, reason


# ---- trust bundle ----------------------------------------------------------------------------------


def test_bundle_is_deterministic_and_deduplicated() -> None:
    one = tb.compose([PEM_A, PEM_B, PEM_A + "\n\n"])
    assert one == tb.compose([PEM_A + "\r\n", PEM_B])
    assert one.count("BEGIN CERTIFICATE") == 2 and one.endswith("-----END CERTIFICATE-----\n")
    assert tb.certificates_in(one) == [tb.normalise(PEM_A), tb.normalise(PEM_B)]
    assert tb.contains(one, PEM_B) and not tb.contains(tb.compose([PEM_A]), PEM_B)
    assert tb.digest(one) == tb.digest(tb.compose([PEM_A, PEM_B])) != tb.digest(tb.compose([PEM_B, PEM_A]))
    assert tb.compose([]) == "" and tb.certificates_in("") == []


# ---- verification route ----------------------------------------------------------------------------

RESOURCES = [
    {"id": "r0", "path": "/", "resourceMethods": {"GET": {}}},
    {"id": "r1", "path": "/orders", "resourceMethods": {"GET": {}, "POST": {}}},
    {"id": "r2", "path": "/orders/{id}", "resourceMethods": {"GET": {}}},
    {"id": "r3", "path": "/{proxy+}", "resourceMethods": {"ANY": {}}},
    {"id": "r4", "path": "/orders/{id}/items"},
]


@pytest.mark.parametrize(
    ("reason", "method", "path", "expected"),
    [
        ("root", "GET", "/", ("r0", "/", "GET")),
        ("literal beats greedy", "POST", "/orders", ("r1", "/orders", "POST")),
        ("parameter", "GET", "/orders/42", ("r2", "/orders/{id}", "GET")),
        ("query string ignored", "GET", "/orders/42?x=1", ("r2", "/orders/{id}", "GET")),
        ("greedy catches the rest, with ANY", "GET", "/healthz", ("r3", "/{proxy+}", "ANY")),
        ("greedy matches several segments", "DELETE", "/a/b/c", ("r3", "/{proxy+}", "ANY")),
        ("best match has no such method", "PUT", "/orders", None),
        ("best match has no methods at all", "GET", "/orders/1/items", None),
    ],
)
def test_resolve_route(reason: str, method: str, path: str, expected: tuple[str, str, str] | None) -> None:
    assert resolve_route(RESOURCES, path, method) == expected, reason


@pytest.mark.parametrize(
    ("template", "path", "matches"),
    [("/", "/", True), ("/{proxy+}", "/", False), ("/a/{b}", "/a", False), ("/a", "/a/b", False),
     ("/a/{p+}", "/a/b/c", True), ("/a/{p+}", "/a", False)],
)
def test_route_score(template: str, path: str, matches: bool) -> None:
    assert (route_score(template, path) is not None) == matches
