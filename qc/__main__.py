"""Allow ``python -m qc``."""

import sys

from .cli import main

sys.exit(main())
