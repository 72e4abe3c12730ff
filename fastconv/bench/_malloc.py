"""A caching allocator for the benchmark process: glibc's malloc told to keep freed memory.

By default glibc hands every block above its mmap threshold (at most 32 MiB) back to the kernel
when it is freed, so an op whose result is that large takes fresh pages, and a page fault per
4 KiB, on every call: PyTorch's tensors and fastconv's arrays alike (both come from malloc). A
training loop that reuses its buffers never pays that, and the kernels issue asks for both
libraries to be timed with a caching allocator. PyTorch's own CPU caching allocator is reachable
only from C++, so the benchmark sets glibc to serve every block from its heap (M_MMAP_MAX = 0)
and never to trim the heap's top (M_TRIM_THRESHOLD at its largest), then restores glibc's
defaults and returns what it kept.
"""

import contextlib
import ctypes
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_MAX = -4
DEFAULT_TRIM_THRESHOLD = 128 * 1024
DEFAULT_MMAP_MAX = 65536
KEEP_ALL = 2**31 - 1  # mallopt takes an int

DESCRIPTION = "glibc malloc keeping freed memory (mallopt M_MMAP_MAX=0, M_TRIM_THRESHOLD=2 GiB)"


def _libc():
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@contextlib.contextmanager
def caching_allocator():
    """Keeps freed memory in the process while the block runs; yields what was set, or None
    where the C library is not glibc (the system allocator is then timed as it is)."""
    libc = _libc()
    if libc is None:
        yield None
        return
    if not (libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, KEEP_ALL)):
        raise RuntimeError("glibc refused mallopt(M_MMAP_MAX / M_TRIM_THRESHOLD)")
    try:
        yield DESCRIPTION
    finally:
        libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
        libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
        libc.malloc_trim(0)  # what was kept goes back to the system
