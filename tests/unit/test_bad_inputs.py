"""Issue 11, item 5: every bad input ends as a clear Stalled before any AWS call.

The reconcilers here run with `aws=None`: any AWS call would raise (and show as Synced=False, not as
Stalled), so a Stalled status proves the pass stopped before reaching AWS. The same cases against the
real API server and the emulator's request log are in tests/e2e/test_hybridapi_stalled.py.
"""

from __future__ import annotations

import base64
import copy
from types import SimpleNamespace
from typing import Any

import pytest
from tests.fakes import FakeKube
from tests.unit.test_api_defaults import MINIMAL

from hybrid_gateway import kube as kube_module
from hybrid_gateway.kube import InvalidInput, Kube, decode_secret_value
from hybrid_gateway.parts import rest_api
from hybrid_gateway.reconcilers.base import Runtime
from hybrid_gateway.reconcilers.hybridapi import HybridApiReconciler

SECRET = "s3cr3t-value-never-shown"
# What cert-manager writes beside tls.crt and tls.key when asked for a PKCS#12 keystore: not UTF-8.
KEYSTORE_P12 = bytes([0x30, 0x82, 0x0A, 0xFF, 0xFE, 0x80, 0x81]) + bytes(range(128, 256))


def hybridapi_body(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = copy.deepcopy(MINIMAL["HybridApi"])
    base["api"]["gatewaySecretHeader"]["secretRef"]["name"] = "orders-gw"
    base.update(spec)
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "HybridApi",
            "metadata": {"name": "orders", "namespace": "team-a", "uid": "u-1", "generation": 1}, "spec": base}


def stalled_pass(body: dict[str, Any], kube: FakeKube, **runtime: Any) -> dict[str, Any]:
    """Run one HybridApi pass without AWS; its Stalled condition (which must be True)."""
    kube.add_object("hybridapis", body)
    reconciler = HybridApiReconciler(Runtime(aws=None, kube=kube, **runtime))  # type: ignore[arg-type]
    report = reconciler.run_pass(body)
    status = kube.status("hybridapis", "team-a", "orders")
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True", status["conditions"]
    assert report.requeue_after is None  # no retry loop: the drift timer looks again
    return stalled


# ---- the drift-check interval ------------------------------------------------------------------


def test_a_drift_interval_below_the_floor_stalls_before_any_aws_call() -> None:
    kube = FakeKube()
    kube.add_data("Secret", "team-a", "orders-gw", {"token": SECRET})
    stalled = stalled_pass(hybridapi_body(driftCheckInterval="1s"), kube)
    assert stalled["reason"] == "DriftCheckIntervalTooShort"
    assert "spec.driftCheckInterval 1s" in stalled["message"] and "30s" in stalled["message"]


# ---- the gateway secret header -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "value", "says"),
    [
        ("empty", "", "the value is empty"),
        ("a single quote ends API Gateway's literal", "it's-" + SECRET, "without '"),
        ("only a quote", "'", "without '"),
        ("a trailing newline", SECRET + "\n", "control character"),
        ("a carriage return", SECRET + "\r", "control character"),
    ],
)
def test_a_gateway_secret_api_gateway_cannot_send_stalls_before_any_aws_call(
        reason: str, value: str, says: str) -> None:
    kube = FakeKube()
    kube.add_data("Secret", "team-a", "orders-gw", {"token": value})
    stalled = stalled_pass(hybridapi_body(), kube)
    assert stalled["reason"] == "InvalidGatewaySecretHeader", reason
    assert says in stalled["message"], reason
    assert "Secret team-a/orders-gw key 'token'" in stalled["message"]
    assert SECRET not in stalled["message"]


@pytest.mark.parametrize("value", [SECRET, "a b", "tab\tinside", "ünïcode", "x" * 512, '"double"'])
def test_secret_header_values_api_gateway_can_send(value: str) -> None:
    assert rest_api.secret_header_problem("X-Gateway-Secret", value) is None


def test_a_bad_header_name_is_named() -> None:
    assert "valid HTTP header name" in str(rest_api.secret_header_problem("X Secret", SECRET))


# ---- Secrets with binary keys ------------------------------------------------------------------


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class SecretOnlyKube(Kube):
    """The real `Kube` over a stand-in CoreV1Api that serves one Secret (as the API server returns it:
    every value base64-encoded)."""

    def __init__(self, data: dict[str, bytes]) -> None:
        super().__init__(api_client=object())  # type: ignore[arg-type]
        secret = SimpleNamespace(data={k: b64(v) for k, v in data.items()})
        self._core = SimpleNamespace(read_namespaced_secret=lambda name, namespace: secret)

    @property
    def core(self) -> Any:
        return self._core


def test_only_the_named_keys_of_a_secret_are_decoded() -> None:
    """cert-manager's keystore.p12 beside tls.crt and tls.key: the certificate is read, the keystore is
    never decoded (today every key was decoded, and the pass failed every 10 s forever)."""
    kube = SecretOnlyKube({"tls.crt": b"PEM-CERT", "tls.key": b"PEM-KEY", "keystore.p12": KEYSTORE_P12})
    assert kube.secret_data("team-a", "api-tls", ("tls.crt", "tls.key", "ca.crt")) == {
        "tls.crt": "PEM-CERT", "tls.key": "PEM-KEY"}
    assert kube.secret_value("team-a", "api-tls", "tls.key") == "PEM-KEY"


def test_a_named_binary_key_is_invalid_input_naming_the_key() -> None:
    kube = SecretOnlyKube({"tls.crt": KEYSTORE_P12, "tls.key": b"PEM-KEY"})
    with pytest.raises(InvalidInput) as caught:
        kube.secret_data("team-a", "api-tls", ("tls.crt", "tls.key"))
    assert "Secret team-a/api-tls key 'tls.crt' is not UTF-8 text" in caught.value.what
    with pytest.raises(InvalidInput):
        kube.secret_value("team-a", "api-tls", "tls.crt")


def test_decode_secret_value_never_shows_the_value() -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_secret_value("team-a", "s", "k", b64(KEYSTORE_P12 + SECRET.encode()))
    assert SECRET not in caught.value.what and "'k'" in caught.value.what
    assert decode_secret_value("team-a", "s", "k", b64("ünïcode".encode())) == "ünïcode"


def test_a_binary_gateway_secret_stalls_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    kube = FakeKube()

    def binary(namespace: str, name: str, key: str) -> str:
        return kube_module.decode_secret_value(namespace, name, key, b64(KEYSTORE_P12))

    monkeypatch.setattr(kube, "secret_value", binary)
    stalled = stalled_pass(hybridapi_body(), kube)
    assert stalled["reason"] == "InvalidInput"
    assert "Secret team-a/orders-gw key 'token' is not UTF-8 text" in stalled["message"]
