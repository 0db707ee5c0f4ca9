"""`hybrid-gateway`: run the operator."""

from __future__ import annotations

import argparse
import logging
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from hybrid_gateway.api.v1alpha1.common import MIN_DRIFT_SECONDS
from hybrid_gateway.aws import quotas

DESCRIPTION = "Kubernetes operator for Amazon API Gateway -> on-prem HTTPS backends."
# A pass waits for its quota tokens in its thread, so slow buckets (CreateLoadBalancer 0.2/s, CreateDeployment
# 1 per 5 s) hold threads while other buckets could serve other objects: at 32, 100 objects took 1.34x their
# quota floor, at 128 1.05x (docs/aws-budget.md). Idle threads cost little: the pool starts them on demand.
DEFAULT_WORKERS = 128


def _run(args: argparse.Namespace) -> int:
    import kopf

    from hybrid_gateway import handlers, kube, metrics
    from hybrid_gateway.aws.clients import AwsClients
    from hybrid_gateway.drift_budget import DriftBudget
    from hybrid_gateway.public_trust import PublicRoots
    from hybrid_gateway.reconcilers.base import Runtime
    from hybrid_gateway.writer_lease import WriterLease

    kopf.configure(
        verbose=args.verbose,
        log_format=kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.PLAIN,
    )
    # Even with --verbose: botocore's DEBUG logs print request bodies (the gateway secret header in
    # PutIntegration, the private key in ImportCertificate), and urllib3 logs every request line.
    for noisy in ("botocore", "boto3", "urllib3", "kubernetes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    kube.load_config()
    handlers.register()
    metrics.serve(args.metrics_port)
    identity = process_identity()
    writer: WriterLease | None = None
    keeper_stopped = threading.Event()
    if args.writer_lease:
        lease_namespace, lease_name = args.writer_lease
        writer = WriterLease(kube.KubeLeases(lease_namespace, lease_name), identity)
        threading.Thread(target=writer.keep, args=(keeper_stopped,), name="writer-lease", daemon=True).start()

    @kopf.on.startup()
    def startup(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
        handlers.configure_settings(settings, workers=args.workers, scan_cluster=needs_cluster_scan(args))
        aws = AwsClients(max_attempts=args.aws_max_attempts, rate_limits=dict(args.aws_rate_limit or []),
                         quota_share=args.aws_quota_share, quota_scale=args.aws_quota_scale, identity=identity)
        budget = (DriftBudget(lambda bucket: aws.quota(bucket).rate, share=args.drift_budget_share)
                  if args.drift_budget_share > 0 else None)
        runtime = Runtime(aws=aws, kube=kube.Kube(), public_roots=PublicRoots.load(args.public_ca_bundle or []),
                          require_tenancy_policy=args.require_tenancy_policy, min_drift_seconds=args.min_drift_interval,
                          drift_budget=budget)
        memo.state = handlers.OperatorState(runtime, default_drift_seconds=args.drift_interval, writer=writer,
                                            executor=settings.execution.executor)

    @kopf.on.cleanup()
    def cleanup(**_: Any) -> None:
        # kopf drops its peering keep-alive before handler threads end: keep the writer lease until the
        # passes in flight are over, so that the next replica never writes alongside them.
        if writer is not None:
            writer.stop(timeout=args.shutdown_grace)
        keeper_stopped.set()

    namespaces = args.namespace or []
    kopf.run(
        clusterwide=args.all_namespaces or not namespaces,
        namespaces=namespaces,
        standalone=args.peering is None,
        peering_name=args.peering,
        priority=args.priority if args.priority is not None else seniority_priority(),
        liveness_endpoint=f"http://0.0.0.0:{args.health_port}/healthz" if args.health_port else None,
        memo=kopf.Memo(),
    )
    return 0


def needs_cluster_scan(args: argparse.Namespace) -> bool:
    """Whether kopf must watch CustomResourceDefinitions and namespaces: cluster-wide, or with --namespace
    patterns (globs, `!` exclusions) that only a namespace listing resolves. With exact names only, the
    namespaced install's Roles suffice (cluster-scoped objects cannot be granted by a Role)."""
    namespaces = args.namespace or []
    return bool(args.all_namespaces or not namespaces or any(set(ns) & set("*?[]!") for ns in namespaces))


def seniority_priority() -> int:
    """The older replica wins: a replica that starts during a rolling update stays paused until the running
    one has gone, instead of taking over in the middle of its passes. Peers with equal priority all pause;
    microseconds of start time make a tie practically impossible."""
    return -int(time.time() * 1_000_000)


def process_identity() -> str:
    """Who this process is, in the writer lease and in the AWS user agent (CloudTrail shows it): the pod's
    name (its hostname) and the process id."""
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}-{os.getpid()}"


def lease_reference(text: str) -> tuple[str, str]:
    """`NAMESPACE/NAME` of the writer lease."""
    namespace, sep, name = text.partition("/")
    if not sep or not namespace or not name:
        raise argparse.ArgumentTypeError(f"expected NAMESPACE/NAME, not {text!r}")
    return namespace, name


def rate_limit(text: str) -> tuple[str, float]:
    """`elbv2=20` -> ("elbv2", 20.0): every bucket of a service; `elbv2:mutating=2`: one bucket; `*=100`:
    every bucket of every service."""
    key, sep, value = text.partition("=")
    key = key.strip()
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not sep or not key or rate <= 0 or key.startswith(":") or key.endswith(":"):
        raise argparse.ArgumentTypeError(f"expected SERVICE=RPS or SERVICE:BUCKET=RPS with RPS > 0 (e.g. elbv2=20, "
                                         f"elbv2:mutating=2), not {text!r}")
    return key, rate


def _number(text: str, fits: Callable[[float], bool], expected: str) -> float:
    """`text` as a finite number that `fits`, else an argparse error saying what was `expected`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and fits(value)):
        raise argparse.ArgumentTypeError(f"expected {expected}, not {text!r}")
    return value


def share(text: str) -> float:
    """A fraction in [0, 1] (`--drift-budget-share 0.5`; 0: no budget)."""
    return _number(text, lambda v: 0 <= v <= 1, "a fraction in [0, 1]")


def positive(text: str) -> float:
    """A number > 0 (`--aws-quota-scale 10`)."""
    return _number(text, lambda v: v > 0, "a number > 0")


def quota_share(text: str) -> float:
    """A fraction in (0, 1] (`--aws-quota-share 1`)."""
    value = share(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1], not {text!r}")
    return value


def seconds(text: str) -> float:
    """A positive number of seconds (`--drift-interval 60`)."""
    return _number(text, lambda v: v > 0, "a number of seconds > 0")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hybrid-gateway", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the operator")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("--all-namespaces", "-A", action="store_true", help="watch every namespace (default)")
    scope.add_argument("--namespace", "-n", action="append", help="watch only this namespace (repeatable; globs)")
    run.add_argument("--peering", default=None,
                     help="kopf peering name; with more than one replica only one is active (default: standalone)")
    run.add_argument("--priority", type=int, default=None,
                     help="peering priority; the highest live peer is active (default: the oldest process wins)")
    run.add_argument("--writer-lease", type=lease_reference, default=None, metavar="NAMESPACE/NAME",
                     help="a coordination.k8s.io Lease that a replica holds while it runs passes, so that two "
                          "replicas never write at once (use with --peering and more than one replica)")
    run.add_argument("--shutdown-grace", type=float, default=45.0,
                     help="seconds to let passes in flight finish on SIGTERM before the writer lease is given up")
    run.add_argument("--log-format", choices=["plain", "json"], default="plain")
    run.add_argument("--metrics-port", type=int, default=9090, help="Prometheus port (0 disables)")
    run.add_argument("--health-port", type=int, default=8080, help="liveness endpoint port (0 disables)")
    run.add_argument("--drift-interval", type=seconds, default=60.0,
                     help="seconds between drift checks of an object whose spec sets no driftCheckInterval "
                          "(at least --min-drift-interval)")
    run.add_argument("--min-drift-interval", type=seconds, default=MIN_DRIFT_SECONDS,
                     help="shortest spec.driftCheckInterval allowed, in seconds; an object that sets a shorter one "
                          f"is Stalled (default {MIN_DRIFT_SECONDS:g}: the AWS API rate limits are shared by every "
                          "object; lower it only against an emulator)")
    run.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                     help="reconcile passes that may run at once (handlers and drift checks share them; a pass holds "
                          f"one while it waits for an AWS quota token; default {DEFAULT_WORKERS})")
    run.add_argument("--aws-max-attempts", type=int, default=8, help="attempts per AWS call (throttling, 5xx)")
    run.add_argument(
        "--aws-rate-limit", action="append", type=rate_limit, metavar="SERVICE[:BUCKET]=RPS",
        help="requests per second of the client-side buckets, per region (repeatable): SERVICE:BUCKET=RPS sets one "
             "bucket (an AWS operation group, e.g. elbv2:mutating, elbv2:describe, apigateway:account, "
             "route53:account, ec2:DescribeSubnets), SERVICE=RPS every bucket of a service, '*=RPS' every bucket; "
             "the most specific wins. Defaults are half of each AWS quota (docs/aws-budget.md), e.g. "
             + ", ".join(f"{b}={quotas.default_quota(b).rate:g}"
                         for b in ("apigateway:account", "elbv2:describe", "elbv2:mutating", "route53:account")),
    )
    run.add_argument("--aws-quota-share", type=quota_share, default=quotas.DEFAULT_SHARE,
                     help="the share of each AWS quota (rate and burst) the client-side buckets take, where "
                          "--aws-rate-limit sets none (default 0.5: the other half stays for every other tool in the "
                          "account; 1: an account where the operator is alone)")
    run.add_argument("--aws-quota-scale", type=positive, default=1.0, metavar="FACTOR",
                     help="the account's API rate quotas are FACTOR times AWS's defaults (raised through Service "
                          "Quotas or AWS Support, or an emulator that compresses time): the default buckets are "
                          "--aws-quota-share of the scaled quotas; --aws-rate-limit still sets a bucket outright "
                          "(default 1)")
    run.add_argument("--drift-budget-share", type=share, default=0.5,
                     help="the share of each bucket's rate that the fleet's drift checks may use; drift intervals are "
                          "stretched to stay within it (status.drift.effectiveInterval; default 0.5; 0 turns the "
                          "budget off: every object checks at its own interval, e.g. against an emulator)")
    run.add_argument(
        "--public-ca-bundle", action="append", metavar="FILE",
        help="PEM file of more CAs that API Gateway trusts at the front door, besides the public ones (certifi's "
             "Mozilla list); repeatable. A front-door certificate that chains to none of them is Stalled",
    )
    run.add_argument(
        "--require-tenancy-policy", action="store_true",
        help="deny every HybridApi and MtlsDomain while no TenancyPolicy exists (by default no policy at all "
             "allows everything: a single-tenant install). Once any TenancyPolicy exists, a namespace that no "
             "policy selects is denied either way (docs/tenancy.md)",
    )
    run.add_argument("--verbose", "-v", action="store_true")
    run.set_defaults(func=_run)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run" and args.drift_interval < args.min_drift_interval:
        parser.error(f"--drift-interval {args.drift_interval:g} is below --min-drift-interval "
                     f"{args.min_drift_interval:g}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
