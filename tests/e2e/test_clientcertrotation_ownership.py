"""A ClientCertRotation never writes a Secret or ConfigMap it did not create (the operator process, as the
shipped-RBAC user).

Whoever may create a ClientCertRotation must not be able to use the operator to overwrite keys of an object
they cannot edit themselves (on EKS, kube-system's aws-auth ConfigMap): a backendTrust target that exists
without an ownerReference to the ClientCertRotation stays byte for byte as it was (same resourceVersion),
the object reports Stalled with reason TrustBundleTargetNotOwned, and nothing is written in AWS.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from hybrid_gateway_devenv.cluster import LocalCluster
from tests.e2e.helpers import apply, condition, get, wait_until

pytestmark = pytest.mark.e2e

REGION = "ap-northeast-1"


def target(kind: str) -> dict[str, Any]:
    meta = {"name": "aws-auth"}
    if kind == "Secret":
        return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": {"mapRoles": "- rolearn: keep"}}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"mapRoles": "- rolearn: keep"}}


def rotation(kind: str) -> dict[str, Any]:
    ref = {"name": "aws-auth", "key": "mapRoles"}
    trust = {"secretRef": ref} if kind == "Secret" else {"configMapRef": ref}
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "ClientCertRotation", "metadata": {"name": "cert"},
            "spec": {"region": REGION, "stages": [{"hybridApiRef": {"name": "orders"}, "stage": "prod"}],
                     "backendTrust": trust, "driftCheckInterval": "2s"}}


@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
def test_an_existing_object_it_did_not_create_is_left_alone_and_reported(
    cluster: LocalCluster, namespace: str, control: Any, start_operator: Any, kind: str
) -> None:
    apply(cluster, namespace, target(kind))
    before = get(cluster, namespace, kind.lower(), "aws-auth")
    since = control.last_seq()
    operator = start_operator(namespace)
    apply(cluster, namespace, rotation(kind))

    def stalled() -> dict[str, Any] | None:
        found = condition(get(cluster, namespace, "clientcertrotation", "cert"), "Stalled")
        return found if found.get("status") == "True" else None

    try:
        found = wait_until(stalled, timeout=60, what="ClientCertRotation Stalled")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{operator.logs()[-3000:]}") from None
    assert found["reason"] == "TrustBundleTargetNotOwned"
    assert f"{kind} {namespace}/aws-auth" in found["message"]
    assert "not created by this ClientCertRotation" in found["message"]
    assert "Delete that" in found["message"] and "name another one in spec.backendTrust" in found["message"]
    ready = condition(get(cluster, namespace, "clientcertrotation", "cert"), "Ready")
    assert ready["status"] == "False"

    time.sleep(5)  # a few drift checks (every 2s): still nothing written
    after = get(cluster, namespace, kind.lower(), "aws-auth")
    assert after["data"] == before["data"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert "ownerReferences" not in after["metadata"]
    assert control.write_calls(since) == []

    # Deleting the ClientCertRotation leaves the key alone as well.
    cluster.kubectl("delete", "-n", namespace, "clientcertrotation", "cert", "--timeout=60s")
    final = get(cluster, namespace, kind.lower(), "aws-auth")
    assert final["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
