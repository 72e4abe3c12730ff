import sys

from fastconv.bench import main

sys.exit(main(prog="python -m fastconv.bench"))
