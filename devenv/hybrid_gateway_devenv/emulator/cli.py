"""The emulator's command line: ``hybrid-gateway-dev emulator`` or ``python -m hybrid_gateway_devenv.emulator``.

Runs the AWS emulator until SIGINT/SIGTERM. Defaults follow AWS, compressed in time: provisioning
and deletion delays on (``delays.DEFAULTS``), request-rate and resource-count quotas on at 10x AWS's
rates. ``--quota-time-scale 1`` gives AWS's own rates (benchmarks); ``--no-quotas`` and
``--instant`` switch quotas and delays off for a run that says so.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .delays import DEFAULTS, DELAYS
from .quotas import DEFAULT_TIME_SCALE, QUOTAS, RESOURCE_COUNTS
from .server import EmulatorServer

DELAYS_DEFAULT_PROVISIONING = DEFAULTS["provisioningSeconds"]
DESCRIPTION = "AWS emulator (moto server + hybrid-gateway extension) on one endpoint for all services."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on; 0 picks a free one (default 5000)")
    parser.add_argument(
        "--provisioning-seconds",
        type=float,
        default=None,
        help=f"provisioning delay for load balancers, VPC links and certificates "
        f"(default {DELAYS_DEFAULT_PROVISIONING:g})",
    )
    parser.add_argument(
        "--instant",
        action="store_true",
        help="no delays at all (provisioning, deletion, domain updates, health checks, S3 versioning)",
    )
    parser.add_argument(
        "--quota-time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help=f"AWS's request-rate quotas refill this many times faster (default {DEFAULT_TIME_SCALE:g}; "
        "1 = AWS's own rates)",
    )
    parser.add_argument("--no-quotas", action="store_true", help="no request-rate or resource-count quotas")
    parser.add_argument(
        "--resource-count", action="append", type=resource_count, default=[], metavar="NAME=N",
        help="raise (or lower) one resource-count quota, as a quota increase would, e.g. apigateway.vpcLinks=200 "
        f"(repeatable; names: {', '.join(sorted(RESOURCE_COUNTS))})",
    )


def resource_count(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or name not in RESOURCE_COUNTS or not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=N with NAME one of {sorted(RESOURCE_COUNTS)}, not {text!r}")
    return name, int(value)


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = EmulatorServer(host=args.host, port=args.port).start()
    try:
        if getattr(args, "instant", False):
            DELAYS.instant()
        if args.provisioning_seconds is not None:
            DELAYS.set_seconds(args.provisioning_seconds)
        RESOURCE_COUNTS.update(dict(getattr(args, "resource_count", None) or []))
        QUOTAS.configure(
            enabled=not getattr(args, "no_quotas", False),
            time_scale=getattr(args, "quota_time_scale", DEFAULT_TIME_SCALE),
        )
        # A POST /_emulator/reset goes back to these settings, not to the built-in defaults.
        DELAYS.keep_as_startup()
        QUOTAS.keep_as_startup()
        print(f"emulator listening on {server.endpoint_url}", flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("emulator stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hybrid_gateway_devenv.emulator", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
