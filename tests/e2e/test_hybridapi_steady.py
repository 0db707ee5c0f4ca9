"""Issue 3, "Done when" 3: on a converged object, drift checks only read. Twenty of them make no write
call and a bounded number of reads; the reads per check, by operation, are printed (see also
bench/steady_state.py)."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    apply,
    format_reads,
    get,
    hybridapi,
    passes_since,
    secret,
    steady_state_calls,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.e2e

CHECKS = 20
# What one check of this object needs at most: it reads each of the ~10 resources, some with a
# second call (tags, target health, deployment, VPC CIDRs). Far more would mean a listing per
# resource (find by tags instead of by id) or a part reading twice.
MAX_READS_PER_CHECK = 30


def test_twenty_drift_checks_on_a_converged_object_make_no_write(
    cluster, namespace, account, control, start_operator
) -> None:
    start_operator(namespace)
    apply(cluster, namespace, secret("steady-gw", {"token": "steady-secret"}),
          hybridapi("steady", account, driftCheckInterval="1s"))
    wait_ready(cluster, namespace, "steady")
    # Let one drift check pass after Ready, so the window holds only checks of a converged object.
    since = control.last_seq()
    wait_until(lambda: len(passes_since(control, since)) >= 2, timeout=30, what="a drift check after Ready")
    since = control.last_seq()
    corrections = get(cluster, namespace, "hybridapi", "steady")["status"]["drift"].get("corrections", 0)

    calls = steady_state_calls(control, since, CHECKS, timeout=CHECKS * 3 + 30)
    print("\n" + format_reads(calls))

    assert calls["writes"] == []
    assert control.count(write=True, since=since) == 0
    assert 0 < calls["reads"] / CHECKS <= MAX_READS_PER_CHECK
    obj = get(cluster, namespace, "hybridapi", "steady")
    assert obj["status"]["drift"].get("corrections", 0) == corrections
    assert obj["status"]["drift"]["lastCheckTime"]
