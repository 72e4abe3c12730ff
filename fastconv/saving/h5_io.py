"""HDF5 access for Keras's file formats, through h5py (an optional dependency).

Reading treats the file as untrusted, as `archive.ArchiveReader` does for zips:
the file must start with the HDF5 signature and fit the size limits; only the
groups, datasets and attributes the format names are opened, by hard links
only (a soft or external link could point into another file); a dataset must
be a plain numeric array stored in the file itself (no external or virtual
storage, no objects or variable-length data), of a bounded size and no larger
than its stored bytes could decompress to, both checked before reading; every
problem is a `ModelFileError` naming the file.

Writing goes to a temporary file beside the target, renamed over it once
complete (as `archive.write_archive`), so an interrupted save keeps the old file.
"""

import contextlib
import io
import json
import os
import tempfile

import numpy as np

from fastconv.saving.archive import (
    DEFAULT_LIMITS, ModelFileError, _file_mode, _fsync_directory,
)

__all__ = ["HDF5_SIGNATURE", "require_h5py", "have_h5py", "is_hdf5", "H5Reader", "write_h5"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_NUMERIC_KINDS = "fiub"
_MAX_NDIM = 32
# What h5py raises on a damaged file, depending on where the HDF5 library notices (an
# OverflowError when a size read from the file does not fit its C types).
_H5_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, OverflowError)
_MAX_EXPANSION = 1100  # as for zip entries: deflate cannot expand data more than ~1032:1


def have_h5py():
    """Whether h5py can be imported."""
    try:
        import h5py  # noqa: F401
    except ImportError:
        return False
    return True


def require_h5py(action):
    """The h5py module, or an ImportError saying how to install it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"{action} needs h5py (Keras's .keras, .weights.h5 and .h5 files are HDF5). "
            "Install it with `pip install h5py` (or `pip install fastconv[h5]`)."
        ) from None
    return h5py


def is_hdf5(path):
    """Whether the file starts with the HDF5 signature."""
    with open(path, "rb") as handle:
        return handle.read(8) == HDF5_SIGNATURE


def write_h5(path, fill, overwrite=True):
    """Atomically writes an HDF5 file: `fill(h5py.File)` writes the content.

    Raises:
        FileExistsError: `overwrite=False` and the file exists.
        ImportError: h5py is not installed.
        OSError: the target cannot be written (a previous file is kept).
    """
    h5py = require_h5py("Saving an HDF5 file")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to {path!r}: it is an existing directory.")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"Cannot save to {path!r}: the file exists and overwrite=False.")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                                    suffix=".tmp")
    os.close(fd)
    try:
        with h5py.File(tmp_path, "w") as handle:
            fill(handle)
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp_path, _file_mode())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise
    _fsync_directory(directory)


def h5_bytes(fill):
    """The bytes of an in-memory HDF5 file whose content `fill(h5py.File)` writes."""
    h5py = require_h5py("Saving a .keras file")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        fill(handle)
    return buffer.getvalue()


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.bytes_):
        return bytes(value).decode("utf-8")
    return str(value)


class H5Reader:
    """Reads an HDF5 file (a path, or bytes from a .keras zip) within `limits`.

    Use as a context manager. Paths are '/'-separated names below the root.

    Raises:
        ImportError: h5py is not installed.
        ModelFileError: not an HDF5 file, too large, or unreadable.
    """

    def __init__(self, path, data=None, limits=None, what="file"):
        self.path = os.fspath(path)
        self.limits = limits or DEFAULT_LIMITS
        self._h5py = require_h5py(f"Loading {what} {self.path!r}")
        self._read_bytes = 0
        if data is None:
            size = os.path.getsize(self.path)
            with open(self.path, "rb") as handle:
                head = handle.read(8)
            source = self.path
        else:
            size, head, source = len(data), data[:8], io.BytesIO(data)
        if head != HDF5_SIGNATURE:
            raise ModelFileError(self.path, f"{what} is not an HDF5 file (no HDF5 signature)")
        if size > self.limits.max_total_bytes:
            raise ModelFileError(self.path, f"{what} has {size} bytes; the limit is "
                                            f"{self.limits.max_total_bytes}")
        try:
            self._file = self._h5py.File(source, "r")
        except _H5_ERRORS as error:
            raise ModelFileError(self.path, f"{what} is not a readable HDF5 file "
                                            f"({type(error).__name__}: {error})") from None

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def fail(self, problem):
        return ModelFileError(self.path, problem)

    # ------------------------------------------------------------- objects
    @contextlib.contextmanager
    def _reading(self, what):
        """Turns the HDF5 library's errors on a damaged file into a ModelFileError."""
        try:
            yield
        except ModelFileError:
            raise
        except _H5_ERRORS as error:
            raise self.fail(f"cannot read {what} ({type(error).__name__}: {error})") from None

    def _get(self, path, kind):
        node = self._file
        walked = ""
        with self._reading(repr(path)):
            for part in path.split("/"):
                walked = f"{walked}/{part}" if walked else part
                if not isinstance(node, self._h5py.Group):
                    raise self.fail(f"{walked!r} is not a group")
                link = node.get(part, getlink=True)
                if link is None:
                    return None
                if not isinstance(link, self._h5py.HardLink):
                    raise self.fail(f"{walked!r} is a {type(link).__name__}; only objects "
                                    "stored in the file itself are read")
                node = node[part]
        if not isinstance(node, kind):
            raise self.fail(f"{path!r} is not a {kind.__name__.lower()}")
        return node

    def group(self, path, required=True):
        """The group at `path` (None when absent and not `required`)."""
        group = self._get(path, self._h5py.Group) if path else self._file
        if group is None and required:
            raise self.fail(f"missing group {path!r}")
        if group is not None:
            with self._reading(f"group {path!r}"):
                entries = len(group)
            if entries > self.limits.max_entries:
                raise self.fail(f"group {path!r} holds {entries} entries; at most "
                                f"{self.limits.max_entries} are allowed")
        return group

    def keys(self, path):
        """The names in the group at `path` (empty when it is absent)."""
        group = self.group(path, required=False)
        if group is None:
            return []
        with self._reading(f"group {path!r}"):
            return list(group.keys())

    def has(self, path):
        try:
            return self._get(path, object) is not None
        except ModelFileError:
            return False

    def array(self, path):
        """The dataset at `path` as a plain numeric ndarray."""
        dataset = self._get(path, self._h5py.Dataset)
        if dataset is None:
            raise self.fail(f"missing dataset {path!r}")
        with self._reading(f"dataset {path!r}"):
            dtype = dataset.dtype
            if (dtype.hasobject or dtype.kind not in _NUMERIC_KINDS or dtype.fields
                    or dtype.subdtype):
                raise self.fail(f"dataset {path!r} holds {dtype}; only plain numeric arrays "
                                "are read")
            if dataset.is_virtual or dataset.external:
                raise self.fail(f"dataset {path!r} stores its data outside the file")
            shape = dataset.shape
            if shape is None or len(shape) > _MAX_NDIM:
                raise self.fail(f"dataset {path!r} has an unsupported shape {shape}")
            nbytes = int(np.prod(shape, dtype=object) if shape else 1) * dtype.itemsize
            if nbytes > self.limits.max_array_bytes:
                raise self.fail(f"dataset {path!r} declares {nbytes} bytes; the limit is "
                                f"{self.limits.max_array_bytes}")
            stored = dataset.id.get_storage_size()
            if nbytes > _MAX_EXPANSION * max(stored, 1):
                raise self.fail(f"dataset {path!r} declares {nbytes} bytes but stores {stored} "
                                "in the file (unwritten or beyond what compression can "
                                "produce)")
            self._read_bytes += nbytes
            if self._read_bytes > self.limits.max_total_bytes:
                raise self.fail(f"the datasets read exceed {self.limits.max_total_bytes} bytes")
            return np.asarray(dataset[()])

    # ---------------------------------------------------------- attributes
    def attribute(self, path, name, default=None):
        """An attribute of the object at `path` ("" = root), as stored (bounded in size)."""
        node = self._file if not path else self._get(path, object)
        if node is None:
            raise self.fail(f"missing {path!r}")
        with self._reading(f"attribute {name!r} of {path or '/'!r}"):
            if name not in node.attrs:
                return default
            info = node.attrs.get_id(name)
            if info.shape != (0,) and info.get_storage_size() > self.limits.max_json_bytes:
                raise self.fail(f"attribute {name!r} of {path or '/'!r} is larger than "
                                f"{self.limits.max_json_bytes} bytes")
            return node.attrs[name]

    def text_attribute(self, path, name):
        """A string attribute (None when absent)."""
        value = self.attribute(path, name)
        if value is None:
            return None
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        if not isinstance(value, (str, bytes, np.bytes_)):
            raise self.fail(f"attribute {name!r} of {path or '/'!r} is not a string")
        try:
            return _text(value)
        except UnicodeDecodeError:
            raise self.fail(f"attribute {name!r} of {path or '/'!r} is not UTF-8") from None

    def json_attribute(self, path, name):
        """A JSON string attribute, parsed (None when absent)."""
        text = self.text_attribute(path, name)
        if text is None:
            return None
        try:
            return json.loads(text)
        except RecursionError:
            raise self.fail(f"attribute {name!r} is nested too deeply") from None
        except ValueError as error:
            raise self.fail(f"attribute {name!r} is not valid JSON ({error})") from None

    def name_list(self, path, name):
        """A list-of-strings attribute (Keras's `layer_names` / `weight_names`, possibly
        split in chunks `name0`, `name1`, ...); [] when absent."""
        node = self._file if not path else self._get(path, object)
        if node is None:
            raise self.fail(f"missing {path!r}")
        values = []
        with self._reading(f"the attributes of {path or '/'!r}"):
            names = [name] if name in node.attrs else []
            chunked = not names and f"{name}0" in node.attrs
        chunk = 0
        while chunked:
            if chunk >= self.limits.max_entries:
                raise self.fail(f"too many {name} chunks in {path or '/'!r}")
            values.extend(self._strings(path, f"{name}{chunk}"))
            chunk += 1
            with self._reading(f"the attributes of {path or '/'!r}"):
                chunked = f"{name}{chunk}" in node.attrs
        for key in names:
            values.extend(self._strings(path, key))
        return values

    def _strings(self, path, name):
        array = np.asarray(self.attribute(path, name))
        if array.size == 0:  # Keras writes an empty list as an empty float array
            return []
        if array.ndim != 1 or array.size > self.limits.max_entries:
            raise self.fail(f"attribute {name!r} of {path or '/'!r} is not a list of names")
        result = []
        for item in array.tolist():
            if not isinstance(item, (str, bytes)):
                raise self.fail(f"attribute {name!r} of {path or '/'!r} holds a non-string")
            try:
                result.append(_text(item))
            except UnicodeDecodeError:
                raise self.fail(f"attribute {name!r} of {path or '/'!r} is not UTF-8") from None
        return result
