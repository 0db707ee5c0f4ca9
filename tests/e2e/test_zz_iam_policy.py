"""Issue 9, item 4: every AWS operation the operator called during the e2e suite is allowed by
deploy/iam-policy.json, on its documented resource type, checked offline against the IAM Service
Authorization Reference (tests/iam_check.py).

This module runs last (``zz``): it reads the session emulator's request log, which by then holds every
call of every operator process the other e2e modules started, plus the calls the tests made themselves
(seeding, inventories, injected drift). The log records no caller, so the tests' own calls are
subtracted: tests/conftest.py counts every attempt this pytest process sends to the session emulator
(``setup_aws_calls``), per (service, operation) as the emulator logs them; what remains is the
operator's. Run alone, with no operator calls to check, it skips.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests import iam_check as ic

pytestmark = pytest.mark.e2e
POLICY_PATH = Path(__file__).resolve().parents[2] / "deploy" / "iam-policy.json"


def operator_calls(log: list[dict[str, Any]], setup: Counter[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
    """(service, operation) -> regions of the calls the operator made: the log minus this process's calls."""
    logged = Counter((e["service"], e["operation"]) for e in log)
    remaining = logged - setup
    regions: dict[tuple[str, str], set[str]] = {}
    for entry in log:
        key = (entry["service"], entry["operation"])
        if key in remaining:
            regions.setdefault(key, set()).add(entry["region"])
    return regions


def test_every_aws_call_of_the_operator_is_allowed_by_the_iam_policy(control, setup_aws_calls) -> None:  # type: ignore[no-untyped-def]
    log = control.requests(0)
    if not log:
        pytest.skip("the session emulator saw no AWS call: run this module after the other tests/e2e modules")
    # The log keeps the newest 100,000 entries and nothing in tests/e2e clears it: a gap would make the
    # subtraction wrong (this process's counts would cover calls the log no longer has).
    assert log[0]["seq"] == 1 and log[-1]["seq"] == len(log), "the request log lost entries"
    calls = operator_calls(log, setup_aws_calls.counts())
    assert calls, "no call left after subtracting the tests' own: the operator made none, or attribution broke"
    policy = json.loads(POLICY_PATH.read_text())
    reference = ic.Reference.load()
    findings = [
        str(finding)
        for (service, operation), regions in sorted(calls.items())
        for region in sorted(regions)
        for finding in ic.check_operation(policy, reference, service, operation, region)
    ]
    checked = "\n".join(f"  {s}:{o}" for s, o in sorted(calls))
    assert findings == [], "\n".join(findings) + f"\n\noperator operations checked:\n{checked}"
