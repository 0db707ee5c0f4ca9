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
