"""deploy/overlays/namespaced/: the operator limited to some namespaces, with Roles instead of the ClusterRole.

Static checks of the rendering (tests/e2e/test_namespaced_install.py runs the operator under it):
no cluster-scoped object, one Role + RoleBinding + KopfPeering per namespace the Deployment's args name
with --namespace, and Roles that hold exactly the ClusterRole's namespaced rules (KopfPeering for
ClusterKopfPeering), so the two install modes cannot drift apart.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from tests.test_deploy import DEPLOY, NAME, NAMESPACE, kustomize, only

OVERLAY = DEPLOY / "overlays" / "namespaced"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering", "CustomResourceDefinition"}


def grants(rules: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                found.setdefault((group, resource), set()).update(rule["verbs"])
    return found


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    rendered, _ = kustomize(OVERLAY)
    return rendered


def watched(docs: list[dict[str, Any]]) -> list[str]:
    args = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--all-namespaces" not in args
    return [args[i + 1] for i, arg in enumerate(args) if arg == "--namespace"]


TENANCY_READER = f"{NAME}-tenancy-reader"
WRITER_LEASE = f"{NAME}-writer-lease"


def test_renders_without_cluster_wide_grants_or_crds(docs: list[dict[str, Any]]) -> None:
    kinds = {d["kind"] for d in docs}
    # Cluster-scoped: the operator's own Namespace, and the read-only grant on TenancyPolicies (which are
    # cluster-scoped, so no Role can grant them).
    assert kinds & CLUSTER_SCOPED == {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    assert only(docs, "Namespace")["metadata"]["name"] == NAMESPACE
    role, binding = only(docs, "ClusterRole"), only(docs, "ClusterRoleBinding")
    assert role["metadata"]["name"] == binding["roleRef"]["name"] == TENANCY_READER
    assert grants(role["rules"]) == {("hybridgateway.io", "tenancypolicies"): {"get", "list"},
                                     ("", "namespaces"): {"get"}}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]


def test_each_watched_namespace_has_a_role_binding_and_peering(docs: list[dict[str, Any]]) -> None:
    namespaces = watched(docs)
    assert namespaces and len(set(namespaces)) == len(namespaces)
    args = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    peering = args[args.index("--peering") + 1]
    for kind in ("Role", "RoleBinding", "KopfPeering"):
        found = sorted(d["metadata"]["namespace"] for d in docs if d["kind"] == kind
                       and d["metadata"]["name"] != WRITER_LEASE)
        assert found == sorted(namespaces), kind
    lease_roles = [d["metadata"]["namespace"] for d in docs if d["metadata"]["name"] == WRITER_LEASE]
    assert lease_roles == [NAMESPACE, NAMESPACE], "the writer lease's Role and RoleBinding, as in the base"
    for binding in (d for d in docs if d["kind"] == "RoleBinding" and d["metadata"]["name"] != WRITER_LEASE):
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "KopfPeering"} == {peering}


def test_roles_hold_the_cluster_roles_namespaced_rules(docs: list[dict[str, Any]]) -> None:
    cluster_role = yaml.safe_load((DEPLOY / "cluster-role.yaml").read_text())
    expected = grants(cluster_role["rules"])
    expected[("kopf.dev", "kopfpeerings")] = expected.pop(("kopf.dev", "clusterkopfpeerings"))
    for cluster_scoped in (("apiextensions.k8s.io", "customresourcedefinitions"),
                           ("hybridgateway.io", "tenancypolicies"), ("", "namespaces")):
        expected.pop(cluster_scoped)  # not in a Role (tenancy-reader/ has the last two)
    for role in (d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] != WRITER_LEASE):
        assert grants(role["rules"]) == expected, role["metadata"]["namespace"]


def test_the_rest_is_the_base_install(docs: list[dict[str, Any]]) -> None:
    base, _ = kustomize(DEPLOY)
    for kind in ("ServiceAccount", "Service", "PodDisruptionBudget", "NetworkPolicy"):
        assert only(docs, kind) == only(base, kind)
    scope = [a for ns in watched(docs) for a in ("--namespace", ns)]
    ours, theirs = copy.deepcopy(only(docs, "Deployment")), only(base, "Deployment")
    ours_args = ours["spec"]["template"]["spec"]["containers"][0].pop("args")
    theirs_args = theirs["spec"]["template"]["spec"]["containers"][0].pop("args")
    assert ours == theirs
    assert ours_args == ["run", *scope, *theirs_args[theirs_args.index("--all-namespaces") + 1:]]
