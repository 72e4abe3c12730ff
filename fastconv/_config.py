"""Library-wide settings: the thread count the kernels use, and build facts."""

import operator
import os

from fastconv._ext import _conv
from fastconv._version import __version__

_default_threads = max(1, _conv.max_threads())
_num_threads = _default_threads


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
    _num_threads = n


def get_num_threads():
    """Returns the number of threads fastconv's kernels use."""
    return _num_threads


def show_config():
    """Returns the build and runtime configuration; prints nothing (see `print_config`).

    Returns:
        A dict with `version`, `simd` (the SIMD level in use: "avx512",
        "avx2", "neon" or "generic"), `simd_available` (every level this
        CPU and build can run), `threads`, `openmp` (whether the build has
        OpenMP) and `FASTCONV_ISA` (the environment override, "" when unset).

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
        print(f"{key:>15}: {value}")
