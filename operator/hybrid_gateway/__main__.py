import sys

from hybrid_gateway.cli import main

sys.exit(main())
