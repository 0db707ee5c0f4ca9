"""`hybrid-gateway`: run the operator."""

from __future__ import annotations

import argparse
import logging
import random
import sys
from typing import Any

from hybrid_gateway.api.v1alpha1.common import MIN_DRIFT_SECONDS
from hybrid_gateway.aws.clients import DEFAULT_RATE_LIMITS

DESCRIPTION = "Kubernetes operator for Amazon API Gateway -> on-prem HTTPS backends."


def _run(args: argparse.Namespace) -> int:
    import kopf

    from hybrid_gateway import handlers, kube, metrics
    from hybrid_gateway.aws.clients import AwsClients
    from hybrid_gateway.public_trust import PublicRoots
    from hybrid_gateway.reconcilers.base import Runtime

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

    @kopf.on.startup()
    def startup(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
        handlers.configure_settings(settings, workers=args.workers)
        aws = AwsClients(max_attempts=args.aws_max_attempts, rate_limits=dict(args.aws_rate_limit or []))
        runtime = Runtime(aws=aws, kube=kube.Kube(), public_roots=PublicRoots.load(args.public_ca_bundle or []),
                          min_drift_seconds=args.min_drift_interval)
        memo.state = handlers.OperatorState(runtime, default_drift_seconds=args.drift_interval)

    namespaces = args.namespace or []
    kopf.run(
        clusterwide=args.all_namespaces or not namespaces,
        namespaces=namespaces,
        standalone=args.peering is None,
        peering_name=args.peering,
        # Peers with equal priority all pause; a random one per replica keeps exactly one active.
        priority=args.priority if args.priority is not None else random.randint(1, 2**31 - 1),
        liveness_endpoint=f"http://0.0.0.0:{args.health_port}/healthz" if args.health_port else None,
        memo=kopf.Memo(),
    )
    return 0


def rate_limit(text: str) -> tuple[str, float]:
    """`elbv2=20` -> ("elbv2", 20.0); `*=100` sets every service."""
    service, sep, value = text.partition("=")
    service = service.strip()
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not sep or not service or rate <= 0:
        raise argparse.ArgumentTypeError(f"expected SERVICE=RPS with RPS > 0 (e.g. elbv2=20), not {text!r}")
    return service, rate


def seconds(text: str) -> float:
    """A positive number of seconds (`--drift-interval 60`)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, not {text!r}")
    return value


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
                     help="peering priority; the highest live peer is active (default: random per process)")
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
    run.add_argument("--workers", type=int, default=32, help="reconcile passes that may run at once")
    run.add_argument("--aws-max-attempts", type=int, default=8, help="attempts per AWS call (throttling, 5xx)")
    run.add_argument(
        "--aws-rate-limit", action="append", type=rate_limit, metavar="SERVICE=RPS",
        help="requests per second to one AWS service, per region (repeatable; '*=RPS' sets every service). "
             "Defaults stay below AWS's API limits: "
             + ", ".join(f"{k}={v:g}" for k, v in sorted(DEFAULT_RATE_LIMITS.items())),
    )
    run.add_argument(
        "--public-ca-bundle", action="append", metavar="FILE",
        help="PEM file of more CAs that API Gateway trusts at the front door, besides the public ones (certifi's "
             "Mozilla list); repeatable. A front-door certificate that chains to none of them is Stalled",
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
