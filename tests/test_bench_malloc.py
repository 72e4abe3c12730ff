"""The benchmark's caching allocator: inside it a large block comes from glibc's heap and stays
there when freed (so the next one reuses its pages); outside it glibc's defaults are back."""

import ctypes
import platform

import numpy as np
import pytest

from fastconv.bench import _malloc

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")

BLOCK = 64 << 20  # above glibc's largest mmap threshold (32 MiB)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mallinfo():
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc older than 2.33 (no mallinfo2)")
    libc.mallinfo2.restype = _MallInfo2
    return libc.mallinfo2()


def _block_stats():
    """(bytes mmapped while a BLOCK-byte array lives, free bytes kept in the heap after it)."""
    array = np.ones(BLOCK // 4, np.float32)
    mapped = _mallinfo().hblkhd
    del array
    return mapped, _mallinfo().fordblks


def test_large_blocks_stay_in_the_heap_only_inside():
    mapped, _ = _block_stats()
    assert mapped >= BLOCK  # glibc's default: mmapped, unmapped again on free
    with _malloc.caching_allocator() as description:
        assert "M_MMAP_MAX=0" in description
        mapped, kept = _block_stats()
        assert mapped < BLOCK and kept >= BLOCK
    mapped, _ = _block_stats()
    assert mapped >= BLOCK
