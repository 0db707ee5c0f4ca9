"""Entry point of ``python -m hybrid_gateway_devenv.emulator``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
