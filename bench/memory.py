"""Resident memory of one operator watching N HybridApis (default 1,000) once they have settled.

    .venv/bin/python bench/memory.py [--objects 1000]

1,000 real chains cannot be made on one machine in a bench's time (2,000 load balancers at AWS's 0.2
CreateLoadBalancer/s are almost three hours, and far over the default resource-count quotas), so the
objects here are complete HybridApis whose gateway-header Secret does not exist: each is parsed,
validated and Stalled before any AWS call, and keeps its drift timer, its kopf state and its status like
any other object. What a real chain adds per object (its status, its pass's reads) is measured by
bench/many_objects.py ("resident memory after they settled") and added by hand: see the printed
extrapolation.
"""

from __future__ import annotations

import argparse
import json
import time

from _env import environment, resident_mib
from tests.e2e.helpers import apply, hybridapi


def stalled(item: dict[str, object]) -> bool:
    conditions = (item.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
    return any(c["type"] == "Stalled" and c["status"] == "True" for c in conditions)  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="objects per `kubectl apply`")
    args = parser.parse_args()

    with environment() as env:
        namespace = env.namespace("bench")
        operator = env.operator(namespace)
        operator.wait_log("Starting Kopf", timeout=30)
        time.sleep(10)
        assert operator.proc is not None
        idle, _ = resident_mib(operator.proc.pid)
        since = env.control.last_seq()
        started = time.monotonic()
        for first in range(0, args.objects, args.batch):
            apply(env.cluster, namespace, *(hybridapi(f"mem-{i:04d}", env.account, driftCheckInterval="60s")
                                            for i in range(first, min(first + args.batch, args.objects))))
        done = 0
        while time.monotonic() - started < 1800:
            items = json.loads(env.cluster.kubectl("get", "hybridapis", "-n", namespace, "-o", "json",
                                                   timeout=120).stdout)["items"]
            done = sum(1 for item in items if stalled(item))
            if done >= args.objects:
                break
            time.sleep(5)
        to_stalled = time.monotonic() - started
        time.sleep(30)  # settled: every object on its drift timer
        rss, peak = resident_mib(operator.proc.pid)
        aws_calls = len(env.control.requests(since))
        operator.stop()

    print(f"{done}/{args.objects} HybridApis Stalled (no Secret) in {to_stalled:.0f}s; "
          f"{aws_calls} AWS calls by the operator")
    print(f"operator resident memory: idle {idle:.0f} MiB; with {args.objects} objects {rss:.0f} MiB "
          f"(peak {peak:.0f} MiB): {(rss - idle) * 1024 / max(args.objects, 1):.0f} KiB per object")


if __name__ == "__main__":
    main()
