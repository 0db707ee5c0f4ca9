"""`hybrid-gateway-dev`: the development environment's command line (`make sandbox` runs its `sandbox`)."""

from __future__ import annotations

import argparse
import sys

from hybrid_gateway_devenv import sandbox
from hybrid_gateway_devenv.emulator import cli as emulator_cli

DESCRIPTION = "hybrid-gateway-operator's development environment: the sandbox and the AWS emulator."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hybrid-gateway-dev", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    sandbox_parser = sub.add_parser(
        "sandbox", help="run a local API server, etcd, the AWS emulator and the operator, and apply examples/",
        description=sandbox.DESCRIPTION,
    )
    sandbox.add_arguments(sandbox_parser)
    sandbox_parser.set_defaults(func=sandbox.run)

    emulator = sub.add_parser(
        "emulator", help="run the AWS emulator until SIGINT/SIGTERM", description=emulator_cli.DESCRIPTION
    )
    emulator_cli.add_arguments(emulator)
    emulator.set_defaults(func=emulator_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
