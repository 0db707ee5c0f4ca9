"""Entry point of ``python -m hybrid_gateway_devenv`` (the same as ``hybrid-gateway-dev``)."""

from __future__ import annotations

import sys

from hybrid_gateway_devenv.cli import main

sys.exit(main())
