"""Resident memory of one operator watching N HybridApis (default 1,000) once they have settled.

    .venv/bin/python bench/memory.py [--objects 1000] [--chains] [--quota-scale 20]

Two kinds of objects:

- by default, complete HybridApis whose gateway-header Secret does not exist: each is parsed, validated and
  Stalled before any AWS call, and keeps its drift timer, its kopf state and its status like any other
  object (what the operator holds per object, without a chain's status);
- `--chains`: real chains (VPC link V2, the default for new objects), each Ready with its whole status.
  1,000 chains at AWS's own rates take hours (1,000 load balancers at 0.2 CreateLoadBalancer/s are 83 min,
  1,000 CreateDeployment at 1 per 5 s are 83 min), so the emulator's quotas run `--quota-scale` times
  faster and the operator is told so (`--aws-quota-scale`, the same share of the faster quotas), and the
  resource-count quotas are raised as a quota increase would. Memory is about what the operator holds,
  not about how fast AWS let it build.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from _env import environment, resident_mib
from tests.e2e.helpers import apply, hybridapi, secret


def condition(item: dict[str, object], kind: str) -> bool:
    conditions = (item.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="objects per `kubectl apply`")
    parser.add_argument("--chains", action="store_true", help="real chains (Ready), not Stalled objects")
    parser.add_argument("--quota-scale", type=float, default=20.0, help="with --chains: the quotas' time scale")
    parser.add_argument("--interval", default="300s", help="the objects' spec.driftCheckInterval")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for them all")
    parser.add_argument("--malloc-arena-max", type=int, default=0,
                        help="the operator's MALLOC_ARENA_MAX (glibc's malloc arenas; 0: glibc's default, 8 per CPU)")
    args = parser.parse_args()
    if args.malloc_arena_max:
        os.environ["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)  # inherited by the operator process
    wanted = "Ready" if args.chains else "Stalled"

    counts = None
    if args.chains:  # one ALB and REST API each, a V2 link per 40 objects (as after quota increases)
        counts = {"elbv2.applicationLoadBalancers": args.objects + 10, "apigateway.regionalRestApis": args.objects + 10,
                  "apigatewayv2.vpcLinks": args.objects // 40 + 10}
    with environment(counts) as env:
        namespace = env.namespace("bench")
        extra: list[str] = []
        if args.chains:
            env.control.set_provisioning_delay(1.0)
            env.control.set_quotas(enabled=True, time_scale=args.quota_scale)
            extra = ["--aws-quota-scale", f"{args.quota_scale:g}"]
        operator = env.operator(namespace, *extra)
        operator.wait_log("Starting Kopf", timeout=30)
        time.sleep(10)
        assert operator.proc is not None
        idle, _ = resident_mib(operator.proc.pid)
        since = env.control.last_seq()
        started = time.monotonic()
        for first in range(0, args.objects, args.batch):
            names = [f"mem-{i:04d}" for i in range(first, min(first + args.batch, args.objects))]
            manifests = [hybridapi(n, env.account, link_version="V2" if args.chains else "V1",
                                   driftCheckInterval=args.interval) for n in names]
            if args.chains:
                manifests = [secret(f"{n}-gw", {"token": "bench"}) for n in names] + manifests
            apply(env.cluster, namespace, *manifests)
        done = 0
        while time.monotonic() - started < args.timeout:
            items = json.loads(env.cluster.kubectl("get", "hybridapis", "-n", namespace, "-o", "json",
                                                   timeout=120).stdout)["items"]
            done = sum(1 for item in items if condition(item, wanted))
            if done >= args.objects:
                break
            time.sleep(10)
        to_done = time.monotonic() - started
        time.sleep(60)  # settled: every object on its drift timer
        rss, peak = resident_mib(operator.proc.pid)
        aws_calls = len(env.control.requests(since))
        status_bytes = sum(len(json.dumps(item.get("status") or {})) for item in items) / max(len(items), 1)
        operator.stop()

    what = "Ready (real V2 chains)" if args.chains else "Stalled (no Secret)"
    arenas = os.environ.get("MALLOC_ARENA_MAX", "glibc's default")
    print(f"{done}/{args.objects} HybridApis {what} in {to_done:.0f}s; {aws_calls} AWS calls by the operator; "
          f"mean status {status_bytes / 1024:.1f} KiB of JSON; MALLOC_ARENA_MAX {arenas}")
    print(f"operator resident memory: idle {idle:.0f} MiB; with {args.objects} objects {rss:.0f} MiB "
          f"(peak {peak:.0f} MiB): {(rss - idle) * 1024 / max(args.objects, 1):.0f} KiB per object")


if __name__ == "__main__":
    main()
