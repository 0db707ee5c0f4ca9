"""How long N HybridApis applied together (one `kubectl apply`) take to become Ready while every load
balancer, VPC link and certificate takes `--delay` seconds to provision.

    .venv/bin/python bench/many_objects.py [--objects 20] [--delay 5] [--quota-share 1] [-- <extra run args>]

Prints the time to all Ready, when each object became Ready, the AWS calls by service, and the floor
that AWS's own quotas put under the same calls: the emulator enforces AWS's per-operation quotas at
`--quota-time-scale` (1 = AWS's rates, the default here; the test suite runs at 10), and for every
quota bucket the calls it saw need at least (calls - burst) / rate seconds.

The operator runs with `--aws-quota-share` (`--quota-share`, by default 0.97: an account where the
operator is alone; its own default is 0.5), so that the floor and the run are paced alike. Not 1: at
exactly AWS's rate, a call that reaches AWS a few milliseconds sooner after the one before it than it
left the operator finds AWS's bucket empty (at share 1: 5 throttled answers per run, on the burst-1
buckets and CreateLoadBalancer's 0.2/s), and every throttle halves the operator's bucket (AIMD); 3% of
a 5 s token is 150 ms of slack, and burst-1 buckets get 0.1 s more per interval (docs/aws-budget.md).
The limits used are printed, and so is the floor of the same calls at the default pacing (half of each
quota): what an operator started without options needs.
"""

from __future__ import annotations

import argparse
import json
import time

from _env import by_service, environment, resident_mib
from tests.e2e.helpers import apply, hybridapi, secret

from hybrid_gateway.aws import quotas
from hybrid_gateway_devenv.emulator.quotas import buckets_for
from hybrid_gateway_devenv.emulator.routing import AwsCall

# Provisioning waits that must still follow the last call of a bucket, whatever the order of the calls:
# the last load balancer created is at best an NLB (an ALB's NLB would need one more token after it),
# which provisions, and then the VPC link on it provisions. The quota floor adds them (x --delay).
WAITS_AFTER_LAST_CALL = {"elbv2:create-load-balancer": 2}
# AWS's resource-count quotas that N objects need raised (one VPC link, ALB and NLB each; the
# defaults, 20 VPC links and 50 load balancers of a kind per Region, are adjustable on AWS).
PER_OBJECT_RESOURCES = ("apigateway.vpcLinks", "elbv2.applicationLoadBalancers", "elbv2.networkLoadBalancers")


def quota_floor(calls: list[dict[str, object]], time_scale: float, share: float = 1.0) -> tuple[float, str]:
    """The least time the quota table allows for `calls` (the busiest bucket), and that bucket; with
    `share` < 1, at that share of each quota's rate and burst (the operator's pacing)."""
    counts: dict[str, int] = {}
    rates: dict[str, tuple[float, float]] = {}
    regional = b'{"endpointConfiguration": {"types": ["REGIONAL"]}}'  # the log keeps no bodies; ours are regional
    for c in calls:
        if int(str(c.get("status") or 200)) >= 400:  # a throttled or refused attempt did no work
            continue
        call = AwsCall("POST", "/", "/", {}, {}, regional, service=str(c["service"]), operation=str(c["operation"]))
        for name, bucket in buckets_for(call):
            counts[name] = counts.get(name, 0) + 1
            rates[name] = (max(1.0, bucket.capacity * share), bucket.refill * time_scale * share)
    floors = {name: max(0.0, (n - rates[name][0]) / rates[name][1]) for name, n in counts.items()}
    busiest = max(floors, key=lambda name: floors[name], default="")
    return floors.get(busiest, 0.0), busiest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--delay", type=float, default=5.0, help="provisioning delay in seconds")
    parser.add_argument("--quota-time-scale", type=float, default=1.0,
                        help="the emulator's quota time scale (1 = AWS's rates)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for all Ready")
    parser.add_argument("--quota-share", type=float, default=0.97,
                        help="the operator's --aws-quota-share (1 = AWS's quotas; the operator's default is 0.5)")
    parser.add_argument("operator_args", nargs="*", help="extra arguments for `hybrid-gateway run`")
    args = parser.parse_args()
    operator_args = ["--aws-quota-share", f"{args.quota_share:g}", *args.operator_args]

    counts = {name: args.objects for name in PER_OBJECT_RESOURCES} if args.objects > 20 else None
    with environment(counts) as env:
        env.control.set_provisioning_delay(args.delay)
        env.control.set_quotas(enabled=True, time_scale=args.quota_time_scale)
        namespace = env.namespace("bench")
        operator = env.operator(namespace, *operator_args)
        operator.wait_log("Starting Kopf", timeout=30)
        manifests = []
        for i in range(args.objects):
            name = f"many-{i:02d}"
            manifests += [secret(f"{name}-gw", {"token": f"token-{i}"}),
                          hybridapi(name, env.account, driftCheckInterval="60s")]
        since = env.control.last_seq()
        started = time.monotonic()
        apply(env.cluster, namespace, *manifests)
        ready_at: dict[str, float] = {}
        while len(ready_at) < args.objects and time.monotonic() - started < args.timeout:
            items = json.loads(env.cluster.kubectl("get", "hybridapis", "-n", namespace, "-o", "json").stdout)["items"]
            for item in items:
                conds = {c["type"]: c["status"] for c in (item.get("status") or {}).get("conditions") or []}
                if conds.get("Ready") == "True" and item["metadata"]["name"] not in ready_at:
                    ready_at[item["metadata"]["name"]] = time.monotonic() - started
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        calls = env.control.requests(since)
        time.sleep(20)  # settled: every object back on its drift timer
        assert operator.proc is not None
        rss, peak = resident_mib(operator.proc.pid)
        operator.stop()

    times = sorted(ready_at.values())
    print(f"{len(times)}/{args.objects} HybridApis Ready in {elapsed:.1f}s "
          f"with {args.delay:g}s provisioning delays (operator args: {' '.join(operator_args)})")
    print(f"  operator pacing: {args.quota_share:g} of each AWS quota, e.g. "
          + ", ".join(f"{b}={quotas.default_quota(b, args.quota_share).rate:g}/s burst "
                      f"{quotas.default_quota(b, args.quota_share).burst:g}"
                      for b in ("elbv2:create-load-balancer", "apigateway:account", "apigateway:CreateDeployment",
                                "elbv2:describe", "route53:account")))
    if times:
        print(f"  first Ready {times[0]:.1f}s, median {times[len(times) // 2]:.1f}s, last {times[-1]:.1f}s")
    span = max(1e-9, (calls[-1]["time"] - calls[0]["time"]) if calls else 1e-9)
    print(f"  {len(calls)} AWS calls ({sum(1 for c in calls if c['write'])} writes) over {span:.1f}s:")
    for service, n in by_service(calls).items():
        print(f"    {service:12s} {n:5d} calls  {n / span:5.1f}/s")
    floor, bucket = quota_floor(calls, args.quota_time_scale)
    last = times[-1] if times else elapsed
    if counts:
        print(f"  emulator resource-count quotas raised (as after a quota increase): {counts}")
    throttled: dict[str, int] = {}
    for c in calls:
        if c.get("fault") == "quota":  # the emulator's throttling answers
            key = f"{c['service']}:{c['operation']}"
            throttled[key] = throttled.get(key, 0) + 1
    print(f"  throttled answers: {sum(throttled.values())} {throttled or ''}")
    waits = WAITS_AFTER_LAST_CALL.get(bucket, 0) * args.delay
    print(f"  AWS quota floor for these calls at {args.quota_time_scale:g}x: {floor:.1f}s (bucket {bucket}) "
          f"+ {waits:g}s of provisioning that must follow its last call = {floor + waits:.1f}s; "
          f"all Ready / floor = {last / max(floor + waits, 1e-9):.2f}")
    print(f"  operator resident memory after they settled: {rss:.0f} MiB (peak {peak:.0f} MiB)")
    default_floor, default_bucket = quota_floor(calls, args.quota_time_scale, quotas.DEFAULT_SHARE)
    print(f"  the same calls at the default pacing ({quotas.DEFAULT_SHARE:g} of each quota) need at least "
          f"{default_floor:.1f}s (bucket {default_bucket})")


if __name__ == "__main__":
    main()
