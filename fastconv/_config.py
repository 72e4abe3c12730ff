"""Library-wide settings: the thread count the kernels use, and build facts."""

import operator
import os
import warnings

from fastconv._ext import _conv
from fastconv._version import __version__

_default_threads = max(1, _conv.max_threads())
_num_threads = _default_threads
# OpenMP's thread pool does not survive os.fork(): a child that starts a thread team hangs. A
# child (multiprocessing's default start method on Linux) therefore runs the kernels on one
# thread; the 'spawn' and 'forkserver' start methods give workers a pool of their own.
_forked_child = False


def _after_fork_in_child():
    global _forked_child
    _forked_child = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n=None):
    """Sets how many threads fastconv's kernels use.

    Args:
        n: an int >= 1, or 0 / None to restore the default (all cores, or
            `OMP_NUM_THREADS` when set).

    Raises:
        ValueError: if `n` is negative; TypeError if it is not an int.
    """
    global _num_threads
    if n is None:
        _num_threads = _default_threads
        return
    try:
        if isinstance(n, bool):
            raise TypeError
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads expects an int >= 1, 0 or None. Received: n={n!r}") from None
    if n == 0:
        _num_threads = _default_threads
        return
    if n < 0:
        raise ValueError(f"set_num_threads expects an int >= 1, 0 or None. Received: n={n}")
    if n > 1 and _forked_child:
        warnings.warn(
            f"set_num_threads({n}) in a process made by os.fork(): fastconv's kernels run on one "
            "thread here, since OpenMP's thread pool does not survive a fork. Start workers with "
            "multiprocessing's 'spawn' or 'forkserver' method to use several threads each.",
            RuntimeWarning, stacklevel=2)
    _num_threads = n


def get_num_threads():
    """Returns the number of threads fastconv's kernels use (1 in a process made by os.fork())."""
    return 1 if _forked_child else _num_threads


def show_config():
    """Returns the build and runtime configuration; prints nothing (see `print_config`).

    Returns:
        A dict with `version`, `simd` (the SIMD level in use: "avx512",
        "avx2", "neon" or "generic"), `simd_available` (every level this
        CPU and build can run), `threads`, `openmp` (whether the build has
        OpenMP), `FASTCONV_ISA` (the environment override, "" when unset) and
        `FASTCONV_WINOGRAD` ("0" keeps 3x3 convolutions off the Winograd
        kernels; "" when unset).

    Example:

    >>> import fastconv
    >>> config = fastconv.show_config()
    >>> config["threads"] == fastconv.get_num_threads()
    True
    """
    return {
        "version": __version__,
        "simd": _conv.simd_level(),
        "simd_available": _conv.simd_available(),
        "threads": _num_threads,
        "openmp": bool(_conv.openmp_enabled()),
        "FASTCONV_ISA": os.environ.get("FASTCONV_ISA", ""),
        "FASTCONV_WINOGRAD": os.environ.get("FASTCONV_WINOGRAD", ""),
    }


def print_config():
    """Prints `show_config()` as a table, one `name: value` line each (also `fastconv config`).

    Example:

    >>> import fastconv
    >>> fastconv.print_config()  # doctest: +ELLIPSIS
              version: ...
                 simd: ...
    """
    for key, value in show_config().items():
        print(f"{key:>17}: {value}")
