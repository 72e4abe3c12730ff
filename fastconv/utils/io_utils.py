"""Messages the training loop and callbacks print."""

import sys


def print_msg(message):
    """Writes `message` and a newline to the current stdout, flushed (notebooks and pipes)."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()
