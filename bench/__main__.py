"""``python -m bench [--quick]``: see bench/runner.py."""

import sys

from bench.runner import main

sys.exit(main())
