"""Result arrays whose data starts on a cache line (64 bytes: one AVX-512 vector).

NumPy aligns large arrays to 16 bytes only, so a kernel writing 64-byte vectors into one splits
each store over two cache lines: a first-layer forward pass ran 5-15% slower into such an array
than into an aligned one (Emerald Rapids, 2026-12-02). Small arrays, where that cannot show,
come from np.empty as usual. `fastconv.ops.empty` and `zeros` (and their `_like` forms) use these,
so that `out=` buffers a user allocates with them are aligned too.
"""

import numpy as np

ALIGNMENT = 64
_SMALLEST = 1 << 14  # bytes: below this, np.empty's array


def empty(shape, dtype):
    """An uninitialized C-contiguous array like np.empty(shape, dtype) (shape a tuple of ints,
    dtype a numeric one), its data 64-byte aligned when it holds at least 16 KiB: then a view
    of a slightly larger byte buffer (owndata False, so `ndarray.resize` refuses it)."""
    return _allocate(shape, dtype, np.empty)


def zeros(shape, dtype):
    """`empty`, filled with zeros as np.zeros fills them (pages are zeroed as first touched)."""
    return _allocate(shape, dtype, np.zeros)


def _allocate(shape, dtype, allocate):
    dtype = np.dtype(dtype)
    shape = tuple(shape)
    size = dtype.itemsize
    for extent in shape:
        size *= extent
    if size < _SMALLEST or min(shape) < 0:  # a negative extent: NumPy's own error
        return allocate(shape, dtype)
    raw = allocate(size + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start:start + size].view(dtype).reshape(shape)
