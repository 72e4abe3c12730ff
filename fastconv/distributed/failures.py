"""Failures end the job instead of hanging it.

An exception on one rank of a plain `python train.py` launch leaves the other ranks waiting in
their next collective forever (measured with Open MPI and MPICH); `MPI.COMM_WORLD.Abort(1)` ends
every rank within a second or two. The stall timeout turns any other hang (a rank stuck in a loop,
ranks calling different collectives) into a non-zero exit.
"""

import math
import os
import sys
import threading
import time

TIMEOUT_VARIABLE = "FASTCONV_DIST_TIMEOUT"

_last_progress = time.monotonic()


def stall_timeout_from_environment():
    """The stall timeout in seconds from `FASTCONV_DIST_TIMEOUT`, or None when it is not set."""
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(
            f"The environment variable {TIMEOUT_VARIABLE} must be a positive number of seconds. "
            f"Received: {TIMEOUT_VARIABLE}={text!r}"
        )
    return seconds


# How long a failing rank waits between printing its traceback and aborting: the launcher reads
# the rank's output asynchronously, and an immediate Abort lost the message in 3 of 8 MPICH runs.
_FORWARD_OUTPUT_SECONDS = 0.5


def _abort(comm):
    sys.stderr.flush()
    sys.stdout.flush()
    time.sleep(_FORWARD_OUTPUT_SECONDS)
    comm.Abort(1)


def abort_on_exception(comm):
    """Makes an uncaught exception (main thread or any other) print its traceback, then abort."""
    print_exception = sys.excepthook

    def abort_after_main_thread_exception(kind, value, traceback):
        print_exception(kind, value, traceback)
        _abort(comm)

    print_thread_exception = threading.excepthook

    def abort_after_thread_exception(args):
        print_thread_exception(args)
        if args.exc_type is not SystemExit:  # a thread's sys.exit() ends only that thread
            _abort(comm)

    sys.excepthook = abort_after_main_thread_exception
    threading.excepthook = abort_after_thread_exception


def progress():
    """Records that a collective operation completed (the watchdog's heartbeat)."""
    global _last_progress
    _last_progress = time.monotonic()


def start_watchdog(comm, timeout):
    """Aborts the job when no collective completes on this rank for `timeout` seconds."""
    progress()
    rank = comm.Get_rank()

    def watch():
        while True:
            idle = time.monotonic() - _last_progress
            if idle >= timeout:
                print(f"fastconv.distributed: rank {rank}: no collective operation completed for "
                      f"{idle:.1f} s ({TIMEOUT_VARIABLE}={timeout:g}); aborting the job.",
                      file=sys.stderr)
                _abort(comm)
            time.sleep(timeout - idle)

    threading.Thread(target=watch, name="fastconv-distributed-watchdog", daemon=True).start()
