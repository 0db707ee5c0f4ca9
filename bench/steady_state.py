"""AWS reads per drift check of one converged HybridApi, by operation (and the writes, which must be 0).

    .venv/bin/python bench/steady_state.py [--checks 20] [--interval 2s]

The object is tests/e2e/helpers.hybridapi (the example: requested certificate, two routes, secret
header). Reads per check are what limits how many objects one operator can check per minute under
the per-bucket rate limits (see `hybrid-gateway run --help`, --aws-rate-limit, docs/aws-budget.md).
"""

from __future__ import annotations

import argparse
import time

from _env import environment
from tests.e2e.helpers import (
    apply,
    format_reads,
    hybridapi,
    passes_since,
    secret,
    steady_state_calls,
    wait_ready,
    wait_until,
)

from hybrid_gateway.aws import quotas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=20)
    parser.add_argument("--interval", default="2s", help="spec.driftCheckInterval")
    args = parser.parse_args()

    with environment() as env:
        namespace = env.namespace("bench")
        operator = env.operator(namespace)
        started = time.monotonic()
        apply(env.cluster, namespace, secret("steady-gw", {"token": "bench"}),
              hybridapi("steady", env.account, driftCheckInterval=args.interval))
        wait_ready(env.cluster, namespace, "steady")
        to_ready = time.monotonic() - started
        since = env.control.last_seq()
        wait_until(lambda: len(passes_since(env.control, since)) >= 2, timeout=60, what="a check after Ready")
        calls = steady_state_calls(env.control, env.control.last_seq(), args.checks, timeout=args.checks * 10 + 60)
        operator.stop()

    print(f"time to Ready (no provisioning delay): {to_ready:.1f}s")
    print(format_reads(calls))
    if calls["writes"]:
        print(f"WRITES in steady state: {calls['writes']}")
    per_bucket: dict[str, float] = {}
    for op, per in calls["reads_per_check"].items():
        service, _, operation = op.partition(":")
        for bucket in quotas.buckets_for(service, operation):
            per_bucket[bucket] = per_bucket.get(bucket, 0.0) + per
    print("objects one operator can check per minute at the default rate limits, by bucket:")
    for bucket, per in sorted(per_bucket.items(), key=lambda kv: -kv[1]):
        rate = quotas.default_quota(bucket).rate
        print(f"  {bucket:32s} {per:5.1f} reads/check at {rate:g}/s -> {rate * 60 / per:6.0f} checks/min")


if __name__ == "__main__":
    main()
