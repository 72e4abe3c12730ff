"""`python -m fastconv train ...`: the same as the `fastconv` command."""

import sys

from fastconv.cli import main

sys.exit(main())
