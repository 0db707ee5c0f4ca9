"""AWS reads per drift check of converged HybridApis, by operation (and the writes, which must be 0): one
object alone, then a fleet of `--objects` checked in the same rounds, whose passes share their reads
(aws/shared_reads.py: one Describe by many ARNs, one listing for the Region or the zone).

    .venv/bin/python bench/steady_state.py [--objects 20] [--rounds 3] [--interval 60s] [--link-version V1]

The objects are tests/e2e/helpers.hybridapi (the example: requested certificate, two routes, secret
header), on the VPC link version given. The emulator enforces AWS's request-rate quotas at 1x, and the
operator paces itself by its defaults (half of each quota). Reads per check are what limits how many
objects one operator can check per minute (see docs/aws-budget.md).
"""

from __future__ import annotations

import argparse
import time

from _env import Env, environment
from tests.e2e.helpers import apply, format_reads, hybridapi, round_calls, secret, wait_ready

from hybrid_gateway.aws import quotas

# Resource-count quotas the fleet needs raised (20 VPC links and 50 load balancers of a kind per Region by
# default; the single object comes on top), as after a quota increase.
PER_OBJECT_RESOURCES = ("apigateway.vpcLinks", "elbv2.applicationLoadBalancers", "elbv2.networkLoadBalancers")


def measure(env: Env, namespace: str, objects: int, interval: str, link_version: str, rounds: int) -> dict:
    operator = env.operator(env.namespace(namespace))
    names = [f"{namespace}-{i:02d}" for i in range(objects)]
    started = time.monotonic()
    for name in names:
        apply(env.cluster, namespace, secret(f"{name}-gw", {"token": "bench"}),
              hybridapi(name, env.account, link_version=link_version, driftCheckInterval=interval))
    for name in names:
        wait_ready(env.cluster, namespace, name, timeout=1800)
    to_ready = time.monotonic() - started
    seconds = float(interval.rstrip("s"))
    round_calls(env.control, objects, 2, timeout=seconds * 3 + 120)  # every object has been checked once
    calls = round_calls(env.control, objects, rounds, timeout=seconds * (rounds + 2) + 120)
    operator.stop()
    calls["to_ready"] = to_ready
    return calls


def report(title: str, calls: dict, objects: int) -> None:
    print(f"\n{title}: {objects} HybridApi(s), all Ready after {calls['to_ready']:.0f}s; "
          f"{calls['rounds']:g} rounds of checks")
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
        print(f"  {bucket:32s} {per:5.2f} reads/check at {rate:g}/s -> {rate * 60 / per:6.0f} checks/min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=20, help="the fleet (after one object alone)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of checks measured")
    parser.add_argument("--interval", default="60s", help="the fleet's spec.driftCheckInterval (whole seconds)")
    parser.add_argument("--link-version", default="V1", choices=["V1", "V2"])
    args = parser.parse_args()

    counts = {name: args.objects + 1 for name in PER_OBJECT_RESOURCES}
    with environment(counts) as env:
        env.control.set_quotas(enabled=True, time_scale=1.0)
        alone = measure(env, "alone", 1, "2s", args.link_version, rounds=20)
        fleet = measure(env, "fleet", args.objects, args.interval, args.link_version, rounds=args.rounds)

    print(f"VPC link {args.link_version}; emulator at AWS's request-rate quotas (1x); operator at its defaults")
    report("One object alone", alone, 1)
    report("A fleet checked in the same rounds", fleet, args.objects)
    print(f"\nreads per HybridApi per check: alone {alone['reads'] / alone['checks']:.2f}, "
          f"in a fleet of {args.objects} {fleet['reads'] / fleet['checks']:.2f}")


if __name__ == "__main__":
    main()
