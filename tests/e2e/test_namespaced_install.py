"""The namespaced install (deploy/overlays/namespaced/) is enough to run the operator, and it stays in its namespaces.

The overlay is rendered with `kubectl kustomize`, its per-namespace objects (Role, RoleBinding,
KopfPeering) are applied with the overlay's example namespaces mapped to this test's namespaces, and
the operator runs as the overlay's ServiceAccount (a TokenRequest token: only what those Roles grant
applies, none of the ClusterRole the session binds to the operator's user) with the Deployment's
--namespace and --peering arguments. In a watched namespace a HybridApi and a ClientCertRotation become
Ready and are deleted (finalizers, Secrets, status, Events: every verb of the Role); in a namespace the
overlay does not name, an object is ignored (no finalizer, no status) and the ServiceAccount cannot
touch Secrets or ConfigMaps there.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybrid_gateway_devenv.cluster import LocalCluster
from hybrid_gateway_devenv.operator_process import OperatorProcess
from tests.e2e.helpers import apply, get, hybridapi, secret, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "overlays" / "namespaced"
PER_NAMESPACE_KINDS = ("Role", "RoleBinding", "KopfPeering")


def render_overlay() -> list[dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(OVERLAY)], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def container_args(docs: list[dict[str, Any]]) -> list[str]:
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    return list(deployment["spec"]["template"]["spec"]["containers"][0]["args"])


def flag_values(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == flag]


def wait_condition(cluster: LocalCluster, namespace: str, kind: str, name: str, operator: OperatorProcess,
                   timeout: float = 180) -> None:
    waited = cluster.kubectl("wait", "-n", namespace, f"{kind}/{name}", "--for=condition=Ready",
                             f"--timeout={int(timeout)}s", check=False, timeout=timeout + 30)
    assert waited.returncode == 0, waited.stderr + "\n" + operator.logs()[-4000:]


def test_the_operator_runs_under_the_namespaced_roles_and_ignores_other_namespaces(
    cluster: LocalCluster, account: Any, emulator: Any, tmp_path: Path
) -> None:
    docs = render_overlay()
    args = container_args(docs)
    example_namespaces = flag_values(args, "--namespace")
    (peering,) = flag_values(args, "--peering")
    suffix = uuid.uuid4().hex[:6]
    mapped = {ns: f"w{i}-{suffix}" for i, ns in enumerate(example_namespaces)}
    unwatched = f"u-{suffix}"
    operator_ns = f"op-{suffix}"  # the ServiceAccount's namespace (hybrid-gateway-system in the overlay)

    # Cluster-scoped, the platform team's: the operator's CRDs (the session has them) and kopf's peering CRDs.
    peering_crds = ROOT / "deploy" / "kopf-peering-crds.yaml"
    cluster.kubectl("apply", "-f", str(peering_crds))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(peering_crds))
    (account_doc,) = [d for d in docs if d["kind"] == "ServiceAccount"]
    sa_name = account_doc["metadata"]["name"]
    for name in [*mapped.values(), unwatched, operator_ns]:
        cluster.kubectl("create", "namespace", name)
    cluster.kubectl("create", "serviceaccount", sa_name, "-n", operator_ns)
    (lease,) = flag_values(args, "--writer-lease")
    lease_ns, lease_name = lease.split("/")
    per_namespace, operator_own = [], []
    for doc in docs:
        for subject in doc.get("subjects") or []:
            subject["namespace"] = operator_ns
        if doc["kind"] in PER_NAMESPACE_KINDS and doc["metadata"]["namespace"] == lease_ns:
            doc["metadata"]["namespace"] = operator_ns  # the writer lease's Role, in the operator's namespace
            operator_own.append(doc)
        elif doc["kind"] in PER_NAMESPACE_KINDS:
            doc["metadata"]["namespace"] = mapped[doc["metadata"]["namespace"]]
            per_namespace.append(doc)
        elif doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            operator_own.append(doc)  # the read-only grant on TenancyPolicies
    assert sorted(d["kind"] for d in per_namespace) == sorted(PER_NAMESPACE_KINDS * len(mapped))
    assert sorted(d["kind"] for d in operator_own) == ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(per_namespace + operator_own))

    as_sa = f"system:serviceaccount:{operator_ns}:{sa_name}"
    watched = mapped[example_namespaces[0]]

    def can(verb: str, resource: str, namespace: str) -> bool:
        answer = cluster.kubectl("auth", "can-i", verb, resource, "-n", namespace, f"--as={as_sa}", check=False)
        return answer.stdout.strip() == "yes"

    assert can("patch", "secrets", watched) and can("create", "configmaps", watched)
    for namespace in (unwatched, "kube-system"):
        for verb, resource in (("patch", "secrets"), ("patch", "configmaps"), ("get", "secrets")):
            assert not can(verb, resource, namespace), f"{verb} {resource} in {namespace}"
    assert not can("list", "secrets", watched) and not can("update", "secrets", watched)

    kubeconfig = cluster.service_account_kubeconfig(operator_ns, sa_name, tmp_path / "sa.kubeconfig")
    operator = OperatorProcess(kubeconfig=kubeconfig, aws_endpoint_url=emulator.endpoint_url,
                               log_path=tmp_path / "operator.log", namespaces=list(mapped.values()),
                               extra_args=["--peering", peering, "--writer-lease",
                                           f"{operator_ns}/{lease_name}"]).start()
    try:
        apply(cluster, unwatched, secret("orders-gw", {"token": "s3cr3t-value"}), hybridapi("orders", account))
        apply(cluster, watched, secret("orders-gw", {"token": "s3cr3t-value"}), hybridapi("orders", account))
        wait_condition(cluster, watched, "hybridapi", "orders", operator)
        apply(cluster, watched, {
            "apiVersion": "hybridgateway.io/v1alpha1", "kind": "ClientCertRotation", "metadata": {"name": "cert"},
            "spec": {"region": account.region, "stages": [{"hybridApiRef": {"name": "orders"}, "stage": "prod"}],
                     "backendTrust": {"configMapRef": {"name": "orders-trust", "key": "ca.pem"}}},
        })
        wait_condition(cluster, watched, "clientcertrotation", "cert", operator, timeout=120)
        trust = get(cluster, watched, "configmap", "orders-trust")
        assert "BEGIN CERTIFICATE" in trust["data"]["ca.pem"]
        assert trust["metadata"]["ownerReferences"][0]["name"] == "cert"
        peer = get(cluster, watched, "kopfpeering", peering)
        assert (peer.get("status") or {}), "the operator keeps its keep-alive in the watched namespace's KopfPeering"

        ignored = get(cluster, unwatched, "hybridapi", "orders")
        assert not ignored["metadata"].get("finalizers") and "status" not in ignored, ignored
        assert "Forbidden" not in operator.logs() and "forbidden" not in operator.logs(), operator.logs()[-4000:]

        cluster.kubectl("delete", "-n", watched, "clientcertrotation", "cert", "--timeout=60s")
        cluster.kubectl("delete", "-n", watched, "hybridapi", "orders", "--wait=false")
        wait_until(lambda: cluster.kubectl("get", "-n", watched, "hybridapi", "orders", check=False).returncode != 0,
                   timeout=240, interval=1, what="HybridApi deleted by the operator")
        time.sleep(1)
        still = get(cluster, unwatched, "hybridapi", "orders")
        assert not still["metadata"].get("finalizers") and "status" not in still
    finally:
        operator.stop()
        # The unwatched HybridApi has no finalizer: deleting it needs no operator.
        cluster.kubectl("delete", "-n", unwatched, "hybridapi", "orders", "--wait=false", check=False)
