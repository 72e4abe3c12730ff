"""Reading the IDX format of MNIST-style datasets (gzip-compressed).

An IDX file is a big-endian header, `magic` (0x0000 then a type code and the
number of dimensions), one uint32 size per dimension, then the data in
row-major order. Reference: http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS").
"""

import gzip
import os
import struct
import zlib

import numpy as np

IMAGES_MAGIC = 2051  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # unsigned bytes, 1 dimension


def read_idx(path, magic, shape_tail=None):
    """Reads a gzip-compressed IDX file of unsigned bytes.

    Args:
        path: the `.gz` file.
        magic: the expected magic number (2051 for images, 2049 for labels).
        shape_tail: if given, the expected sizes of every dimension after the
            first (e.g. `(28, 28)` for images).

    Returns:
        A writable uint8 array of the file's shape.

    Raises:
        ValueError: naming the file, if it is not gzip, its magic number or
            dimensions are wrong, or its data is truncated or too long.
    """
    path = os.fspath(path)
    try:
        with gzip.open(path, "rb") as f:
            header = f.read(4)
            if len(header) < 4:
                raise ValueError(f"{path}: not an IDX file (only {len(header)} header bytes).")
            found = struct.unpack(">I", header)[0]
            if found != magic:
                raise ValueError(
                    f"{path}: wrong IDX magic number {found} (expected {magic}); the file is "
                    "corrupt or is not the expected one."
                )
            ndim = magic & 0xFF
            dims_bytes = f.read(4 * ndim)
            if len(dims_bytes) < 4 * ndim:
                raise ValueError(f"{path}: IDX header is truncated.")
            shape = struct.unpack(f">{ndim}I", dims_bytes)
            if shape_tail is not None and tuple(shape[1:]) != tuple(shape_tail):
                raise ValueError(
                    f"{path}: IDX dimensions {shape}, expected (n, {', '.join(map(str, shape_tail))})."
                )
            data = np.empty(shape, dtype=np.uint8)
            got = f.readinto(memoryview(data.reshape(-1)))
            if got != data.size:
                raise ValueError(
                    f"{path}: truncated IDX data: {got} of {data.size} bytes "
                    "(incomplete download? delete the file and retry)."
                )
            if f.read(1):
                raise ValueError(f"{path}: IDX file is longer than its header says ({shape}).")
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: corrupt or not a gzip-compressed IDX file ({exc}).") from exc
    return data


def read_images(path, rows=28, cols=28):
    """`(n, rows, cols)` uint8 images from an IDX image file."""
    return read_idx(path, IMAGES_MAGIC, (rows, cols))


def read_labels(path):
    """`(n,)` uint8 labels from an IDX label file."""
    return read_idx(path, LABELS_MAGIC)
