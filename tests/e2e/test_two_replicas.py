"""Two replicas as the Deployment runs them (kopf peering + the writer lease): one writes, the other
takes over when the first is killed, and a replica that takes over never writes alongside passes that
are still in flight. Who wrote what comes from the request log's user agent, where each replica names
itself (`replica/<host>-<pid>`)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybrid_gateway_devenv.cluster import OPERATOR_USER
from tests.e2e.helpers import ONE_OF_EACH, apply, counts, hybridapi, inventory, secret, wait_ready, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PEERING = "replicas"
LEASE = "hybrid-gateway-operator"  # the name the shipped Role grants


def _install_peering_and_lease_role(cluster: Any, namespace: str) -> None:
    """kopf's peering CRDs and a KopfPeering (the operator watches one namespace here, so kopf peers
    in it), and the shipped Roles (the namespaced install's, the writer lease's) bound to the operator's
    user in that namespace."""
    crds = ROOT / "deploy" / "kopf-peering-crds.yaml"
    cluster.kubectl("apply", "-f", str(crds))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(crds))
    docs = []
    for doc in yaml.safe_load_all((ROOT / "deploy" / "operator" / "writer-lease-role.yaml").read_text()):
        doc["metadata"]["namespace"] = namespace
        if doc["kind"] == "RoleBinding":
            doc["subjects"] = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": OPERATOR_USER}]
        docs.append(doc)
    # The operator watches this one namespace, as the namespaced install runs it: that install's Role there
    # (KopfPeering is namespaced; the session's ClusterRole grants ClusterKopfPeering only).
    role = yaml.safe_load((ROOT / "deploy" / "overlays" / "namespaced" / "watched-namespace" / "role.yaml").read_text())
    role["metadata"] = {"name": "two-replicas", "namespace": namespace}
    docs.append(role)
    docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": "two-replicas", "namespace": namespace},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "two-replicas"},
                 "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": OPERATOR_USER}]})
    docs.append({"apiVersion": "kopf.dev/v1", "kind": "KopfPeering",
                 "metadata": {"name": PEERING, "namespace": namespace}})
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def _replica_args(namespace: str, *extra: str) -> list[str]:
    return ["--peering", PEERING, "--writer-lease", f"{namespace}/{LEASE}", *extra]


def _identity(process: Any) -> str:
    return f"replica/{socket.gethostname()}-{process.proc.pid}"


def _writes_by(control: Any, since: int, identity: str) -> list[int]:
    return [e["seq"] for e in control.write_calls(since) if identity in e.get("userAgent", "")]


def _calls_by(control: Any, since: int, identity: str) -> list[int]:
    return [e["seq"] for e in control.requests(since) if identity in e.get("userAgent", "")]


def test_one_replica_writes_and_the_other_takes_over_when_it_is_killed(
    cluster, namespace, account, control, emulator, start_operator
) -> None:
    _install_peering_and_lease_role(cluster, namespace)
    since = control.last_seq()
    first = start_operator(namespace, extra_args=_replica_args(namespace))
    first.wait_log("peering", timeout=60)
    second = start_operator(namespace, extra_args=_replica_args(namespace))  # younger: it waits
    apply(cluster, namespace, secret("two-gw", {"token": "two"}), hybridapi("two", account))
    wait_ready(cluster, namespace, "two")

    one, other = _identity(first), _identity(second)
    assert _writes_by(control, since, one), "the older replica did the work"
    assert _calls_by(control, since, other) == [], "the younger replica stayed paused"

    first.kill()  # SIGKILL: its peering keep-alive and its lease both have to expire
    killed = control.last_seq()
    cluster.kubectl("patch", "-n", namespace, "hybridapi/two", "--type=merge", "-p",
                    '{"spec":{"api":{"stage":{"name":"prod","throttling":{"rateLimit":7,"burstLimit":14}}}}}')
    wait_until(lambda: _writes_by(control, killed, other), timeout=180, interval=1.0,
               what="the second replica taking over (peering keep-alive and writer lease expired)")
    wait_ready(cluster, namespace, "two")
    obj = cluster.kubectl("get", "-n", namespace, "hybridapi/two", "-o", "yaml").stdout
    uid = yaml.safe_load(obj)["metadata"]["uid"]
    found = inventory(emulator.endpoint_url, uid, account.hosted_zone_id, yaml.safe_load(obj)["spec"]["frontDoor"]
                      ["hostname"])
    assert counts(found) == ONE_OF_EACH, "no twins across the handover"
    for operation in ("CreateRestApi", "CreateVpcLink", "RequestCertificate", "CreateSecurityGroup"):
        assert control.count(operation=operation, since=since) == 1, operation


def test_a_replica_that_takes_over_waits_for_the_passes_in_flight(
    cluster, namespace, account, control, emulator, start_operator
) -> None:
    """kopf pauses a replica the moment a peer with a higher priority appears, but a pass it had begun goes
    on: the newcomer must not write (nor even start a pass) until that pass is over."""
    _install_peering_and_lease_role(cluster, namespace)
    since = control.last_seq()
    old = start_operator(namespace, extra_args=_replica_args(namespace))
    # Slow API Gateway answers make the old replica's REST API pass long enough to be overtaken.
    control.set_faults(answer_latency_ms=700, services=["apigateway"])
    try:
        apply(cluster, namespace, secret("race-gw", {"token": "race"}), hybridapi("race", account))
        wait_until(lambda: control.count(operation="CreateRestApi", since=since) > 0, timeout=120, interval=0.1,
                   what="the old replica inside its REST API pass")
        new = start_operator(namespace, extra_args=_replica_args(namespace, "--priority", str(2**62)))
        new.wait_log("holds the writer lease", timeout=60)
    finally:
        control.clear_faults()
    # The old replica's pass finishes the object; the new one runs its first pass once the old one has been
    # idle long enough to give the lease back.
    wait_ready(cluster, namespace, "race", timeout=240)
    new_calls = wait_until(lambda: _calls_by(control, since, _identity(new)), timeout=120, interval=1.0,
                           what="the new replica's first pass")
    old_writes = _writes_by(control, since, _identity(old))
    assert old_writes
    assert max(old_writes) < min(new_calls), "the new replica called AWS while the old one's pass still wrote"
    obj = yaml.safe_load(cluster.kubectl("get", "-n", namespace, "hybridapi/race", "-o", "yaml").stdout)
    found = inventory(emulator.endpoint_url, obj["metadata"]["uid"], account.hosted_zone_id,
                      obj["spec"]["frontDoor"]["hostname"])
    assert counts(found) == ONE_OF_EACH
