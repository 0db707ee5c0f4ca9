"""The Kubernetes writes of a ClientCertRotation against the real API server, as the operator's user.

The trust bundle key of a Secret or ConfigMap (created with an owner reference, updated key by
key, removed on deletion, released from garbage collection on Retain; an existing object that has no
owner reference to the ClientCertRotation is never written), and status patches that
clear fields (the status schema must keep every field the reconciler writes).
"""

from __future__ import annotations

import base64
from typing import Any

import kubernetes
import pytest

from hybrid_gateway.kube import Kube, NotOwned
from hybrid_gateway_devenv.cluster import LocalCluster
from tests.e2e.helpers import apply, get

pytestmark = pytest.mark.e2e

OWNER = {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "ClientCertRotation", "name": "cert",
         "uid": "8b0f3f0e-8c57-4b59-9d0b-5f1f3c3e7a11", "controller": True, "blockOwnerDeletion": True}


@pytest.fixture()
def kube(cluster: LocalCluster) -> Kube:
    return Kube(kubernetes.config.new_client_from_config(str(cluster.operator_kubeconfig)))


@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
def test_bundle_key_lifecycle(cluster: LocalCluster, namespace: str, kube: Kube, kind: str) -> None:
    name = f"trust-{kind.lower()}"
    assert kube.data_key(kind, namespace, name, "ca.pem") is None
    created = kube.upsert_data_key(kind, namespace, name, "ca.pem", "one\n", owner_reference=OWNER,
                                   labels={"app.kubernetes.io/managed-by": "hybrid-gateway-operator"},
                                   annotations={"hybridgateway.io/owner": "ClientCertRotation/ns/cert"})
    assert created == "Created"
    assert kube.upsert_data_key(kind, namespace, name, "ca.pem", "one\n", owner_reference=OWNER) is None
    assert kube.upsert_data_key(kind, namespace, name, "ca.pem", "two\n", owner_reference=OWNER) == "Updated"
    assert kube.data_key(kind, namespace, name, "ca.pem") == "two\n"

    obj = get(cluster, namespace, kind.lower(), name)
    raw = obj["data"]["ca.pem"]
    assert (base64.b64decode(raw).decode() if kind == "Secret" else raw) == "two\n"
    assert obj["metadata"]["ownerReferences"][0]["uid"] == OWNER["uid"]
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "hybrid-gateway-operator"
    if kind == "Secret":
        assert obj["type"] == "Opaque"

    assert kube.remove_data_key(kind, namespace, name, "ca.pem", owner_uid=OWNER["uid"])
    assert not kube.remove_data_key(kind, namespace, name, "ca.pem", owner_uid=OWNER["uid"])
    assert kube.data_key(kind, namespace, name, "ca.pem") is None
    assert kube.remove_owner_reference(kind, namespace, name, OWNER["uid"])
    assert not kube.remove_owner_reference(kind, namespace, name, OWNER["uid"])
    assert "ownerReferences" not in get(cluster, namespace, kind.lower(), name)["metadata"]
    # Released (deletionPolicy Retain): no longer ours to write.
    with pytest.raises(NotOwned):
        kube.upsert_data_key(kind, namespace, name, "ca.pem", "three\n", owner_reference=OWNER)


def _data_object(kind: str, name: str, data: dict[str, str]) -> dict[str, Any]:
    if kind == "Secret":
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
def test_an_existing_object_it_did_not_create_is_never_written(cluster: LocalCluster, namespace: str, kube: Kube,
                                                               kind: str) -> None:
    apply(cluster, namespace, _data_object(kind, "shared", {"other": "keep me"}))
    before = get(cluster, namespace, kind.lower(), "shared")
    with pytest.raises(NotOwned):
        kube.check_owned(kind, namespace, "shared", OWNER["uid"])
    with pytest.raises(NotOwned):
        kube.upsert_data_key(kind, namespace, "shared", "ca.pem", "pem\n", owner_reference=OWNER)
    with pytest.raises(NotOwned):
        kube.upsert_data_key(kind, namespace, "shared", "other", "overwritten", owner_reference=OWNER)
    assert not kube.remove_data_key(kind, namespace, "shared", "other", owner_uid=OWNER["uid"])
    after = get(cluster, namespace, kind.lower(), "shared")
    assert after["data"] == before["data"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
def test_an_object_an_earlier_release_created_is_written_and_labelled_once(cluster: LocalCluster, namespace: str,
                                                                          kube: Kube, kind: str) -> None:
    old = _data_object(kind, "old-trust", {"ca.pem": "one\n"})
    old["metadata"].update(ownerReferences=[OWNER], labels={"app.kubernetes.io/managed-by": "hybrid-gateway-operator"})
    apply(cluster, namespace, old)
    labels = {"app.kubernetes.io/managed-by": "hybrid-gateway-operator", "hybridgateway.io/uid": OWNER["uid"]}
    kube.check_owned(kind, namespace, "old-trust", OWNER["uid"])
    assert kube.upsert_data_key(kind, namespace, "old-trust", "ca.pem", "one\n", owner_reference=OWNER,
                                labels=labels) == "Labelled"
    assert get(cluster, namespace, kind.lower(), "old-trust")["metadata"]["labels"] == labels
    assert kube.upsert_data_key(kind, namespace, "old-trust", "ca.pem", "one\n", owner_reference=OWNER,
                                labels=labels) is None
    assert kube.upsert_data_key(kind, namespace, "old-trust", "ca.pem", "two\n", owner_reference=OWNER,
                                labels=labels) == "Updated"
    assert kube.data_key(kind, namespace, "old-trust", "ca.pem") == "two\n"


def test_status_schema_keeps_every_field_and_nulls_clear_them(cluster: LocalCluster, namespace: str,
                                                              kube: Kube) -> None:
    apply(cluster, namespace, {
        "apiVersion": "hybridgateway.io/v1alpha1", "kind": "ClientCertRotation", "metadata": {"name": "cert"},
        "spec": {"region": "ap-northeast-1", "stages": [{"hybridApiRef": {"name": "orders"}, "stage": "prod"}],
                 "backendTrust": {"secretRef": {"name": "t", "key": "ca.pem"}}},
    })
    cert = {"clientCertificateId": "abc123", "createdDate": "2026-01-01T00:00:00Z",
            "expirationDate": "2027-01-01T00:00:00Z", "pemSha256": "00" * 32}
    status: dict[str, Any] = {
        "phase": "Verifying", "current": cert, "pending": {**cert, "clientCertificateId": "def456"},
        "previous": cert, "trustBundleSha256": "11" * 32, "nextRotationTime": "2026-12-02T00:00:00Z",
        "lastRotationTime": "2026-01-01T00:00:00Z", "lastHandledRotateRequest": "2026-01-01T00:00:00Z",
        "rotation": {"reason": "Requested", "startedTime": "2026-01-01T00:00:00Z", "verificationAttempts": 2,
                     "nextVerificationTime": "2026-01-01T00:01:00Z", "lastVerification": "answered 403",
                     "switchedTime": "2026-01-01T00:02:00Z"},
        "stages": [{"hybridApi": "orders", "stage": "prod", "restApiId": "r1", "clientCertificateId": "abc123"}],
        "history": [{"from": "a", "to": "b", "startedTime": "2026-01-01T00:00:00Z",
                     "completedTime": "2026-01-01T00:05:00Z"}],
        "drift": {"lastCheckTime": "2026-01-01T00:00:00Z", "corrections": 1, "lastCorrected": ["stage: x"]},
    }
    kube.patch_status("clientcertrotations", namespace, "cert", status)
    assert get(cluster, namespace, "clientcertrotation", "cert")["status"] == status  # nothing pruned

    kube.patch_status_fields("clientcertrotations", namespace, "cert", {
        "pending": None, "previous": None, "rotation": {"nextVerificationTime": None, "reason": "Expiring"}})
    got = get(cluster, namespace, "clientcertrotation", "cert")["status"]
    assert "pending" not in got and "previous" not in got and got["current"] == cert
    assert got["rotation"]["reason"] == "Expiring" and "nextVerificationTime" not in got["rotation"]
    assert got["history"] == status["history"]
