"""Entry point of ``python -m hybrid_gateway.devenv.emulator``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
