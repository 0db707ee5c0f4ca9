"""The operator, running as a process with only the shipped RBAC, writes status the way kstatus expects."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import apply, condition, events, get, hybridapi, secret, wait_until

pytestmark = pytest.mark.e2e


def test_stalled_input_is_reported_through_status_and_kubectl_wait(
    cluster, namespace, account, control, start_operator
) -> None:
    operator = start_operator(namespace)
    since = control.last_seq()
    # The gateway secret header's Secret does not exist yet: the operator must say so and write nothing.
    apply(cluster, namespace, hybridapi("orders", account))
    waited = cluster.kubectl(
        "wait", "-n", namespace, "hybridapi/orders", "--for=condition=Stalled", "--timeout=60s", check=False
    )
    assert waited.returncode == 0, waited.stderr + operator.logs()[-2000:]

    obj = get(cluster, namespace, "hybridapi", "orders")
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    stalled = condition(obj, "Stalled")
    assert stalled["reason"] == "MissingInput"
    assert f"Secret {namespace}/orders-gw does not exist" in stalled["message"]
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Reconciling")["status"] == "False"
    assert control.count(write=True, since=since) == 0
    assert any(e["reason"] == "Stalled" for e in events(cluster, namespace, "orders"))

    # Fixing the input un-stalls the object at the next drift check (2 s in this spec).
    apply(cluster, namespace, secret("orders-gw", {"token": "s3cr3t-value"}))
    wait_until(
        lambda: condition(get(cluster, namespace, "hybridapi", "orders"), "Stalled").get("status") == "False",
        timeout=60,
        what="Stalled=False after the Secret appeared",
    )


def test_printer_columns_and_category(cluster, namespace, account, start_operator) -> None:
    start_operator(namespace)
    apply(cluster, namespace, hybridapi("columns", account))
    cluster.kubectl("wait", "-n", namespace, "hybridapi/columns", "--for=condition=Stalled", "--timeout=60s")
    out = cluster.kubectl("get", "hybridgateway", "-n", namespace).stdout
    header = out.splitlines()[0]
    for column in ("NAME", "READY", "REASON", "AGE"):
        assert column in header
    assert "columns" in out and "False" in out


def test_clients_verify_the_api_servers_certificate(cluster, namespace, account, tmp_path, start_operator) -> None:
    """The kubeconfigs pin the cluster's CA: a kubeconfig pinned to another CA is refused, and the operator
    runs without urllib3's warnings about unverified HTTPS requests."""
    import base64

    import yaml

    from hybrid_gateway_devenv.cluster import serving_certificate

    config = yaml.safe_load(cluster.admin_kubeconfig.read_text())
    assert "insecure-skip-tls-verify" not in config["clusters"][0]["cluster"]
    other_ca, _, _ = serving_certificate(tmp_path)
    config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(other_ca.read_bytes()).decode()
    wrong = tmp_path / "wrong-ca.kubeconfig"
    wrong.write_text(yaml.safe_dump(config))
    refused = cluster.kubectl(f"--kubeconfig={wrong}", "get", "namespaces", check=False)
    assert refused.returncode != 0 and "certificate" in refused.stderr, refused.stderr

    operator = start_operator(namespace)
    apply(cluster, namespace, hybridapi("verified", account))
    cluster.kubectl("wait", "-n", namespace, "hybridapi/verified", "--for=condition=Stalled", "--timeout=60s")
    assert "Unverified HTTPS request" not in operator.logs()
    assert "InsecureRequestWarning" not in operator.logs()
