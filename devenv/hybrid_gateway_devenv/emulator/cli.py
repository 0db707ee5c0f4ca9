"""The emulator's command line: ``hybrid-gateway-dev emulator`` or ``python -m hybrid_gateway_devenv.emulator``.

Runs the AWS emulator until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .delays import DELAYS
from .server import EmulatorServer

DESCRIPTION = "AWS emulator (moto server + hybrid-gateway extension) on one endpoint for all services."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on; 0 picks a free one (default 5000)")
    parser.add_argument(
        "--provisioning-seconds",
        type=float,
        default=0.0,
        help="provisioning delay for load balancers, VPC links and certificates (default 0)",
    )


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = EmulatorServer(host=args.host, port=args.port).start()
    try:
        if args.provisioning_seconds:
            DELAYS.set_seconds(args.provisioning_seconds)
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
