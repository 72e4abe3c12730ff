"""The fastconv file container: a zip of JSON documents and `.npy` arrays.

Writing is atomic (a temporary file in the target's directory, flushed,
fsync'ed, then `os.replace`d onto the target). Reading treats the file as
untrusted: every size is checked against limits from the zip's directory
before anything is decompressed, entry names are checked against the fixed
set the format allows, arrays are loaded with `allow_pickle=False` after
their header has been validated, and every problem is a `ModelFileError`
(a `ValueError`) naming the file. Reading never writes anything.
"""

import collections
import io
import json
import os
import re
import struct
import tempfile
import zipfile

import numpy as np

__all__ = ["ModelFileError", "Limits", "write_archive", "ArchiveReader"]

FORMAT_NAME = "fastconv-model"
FORMAT_VERSION = 1

# Entry names a fastconv file may hold; anything else is refused.
_JSON_ENTRIES = ("metadata.json", "config.json", "weights.json")
_ARRAY_ENTRY = re.compile(r"\A(weights|optimizer)/[0-9]{5}\.npy\Z")
# A Keras 3 .keras zip (fastconv writes and reads no assets).
KERAS_ENTRIES = ("metadata.json", "config.json", "model.weights.h5")
_ARRAY_KINDS = "fiub"  # float, signed/unsigned int, bool: nothing that can hold objects
_DEFLATE_MAX_RATIO = 1100  # deflate cannot expand data more than ~1032:1


class ModelFileError(ValueError):
    """A file that is not a valid fastconv model/weights file (or is damaged)."""

    def __init__(self, path, problem):
        self.path = os.fspath(path) if path is not None else None
        self.problem = problem
        super().__init__(f"Cannot load {self.path!r}: {problem}")


class Limits:
    """Bounds a loader enforces before reading anything.

    Args:
        max_entries: the most zip entries.
        max_json_bytes: the largest JSON document (uncompressed).
        max_array_bytes: the largest single array entry (uncompressed).
        max_total_bytes: the most bytes all entries may decompress to.
    """

    def __init__(self, max_entries=100_000, max_json_bytes=16 << 20,
                 max_array_bytes=4 << 30, max_total_bytes=16 << 30):
        self.max_entries = int(max_entries)
        self.max_json_bytes = int(max_json_bytes)
        self.max_array_bytes = int(max_array_bytes)
        self.max_total_bytes = int(max_total_bytes)


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------- writing
def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a value of type {type(value).__name__} cannot be stored in a fastconv "
                    f"file's JSON config: {value!r}")


def dump_json(document):
    """UTF-8 JSON bytes (tuples become lists; NumPy scalars and arrays become numbers/lists)."""
    return json.dumps(document, indent=1, sort_keys=False, default=_json_default,
                      allow_nan=True).encode("utf-8")


def _array_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _file_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_archive(path, documents, arrays, overwrite=True, blobs=None):
    """Atomically writes a fastconv file (or, with `blobs`, a Keras .keras zip).

    Args:
        path: the target path (any name or extension).
        documents: `{entry name: JSON-able object}` in writing order.
        arrays: `{entry name: ndarray}` in writing order.
        overwrite: if False and `path` exists, raise FileExistsError.
        blobs: `{entry name: bytes}` written after the arrays, stored.

    Raises:
        FileExistsError: `overwrite=False` and the file exists.
        OSError: the directory does not exist or is not writable. On any
            failure the previous file (if any) is left intact and the
            temporary file is removed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to {path!r}: it is an existing directory.")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"Cannot save to {path!r}: the file exists and overwrite=False.")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                                    suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w") as archive:
                for name, document in documents.items():
                    archive.writestr(name, dump_json(document), compress_type=zipfile.ZIP_DEFLATED)
                for name, array in arrays.items():
                    # Stored, not deflated: arrays barely compress and stay readable in place.
                    archive.writestr(name, _array_bytes(array), compress_type=zipfile.ZIP_STORED)
                for name, data in (blobs or {}).items():
                    archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
            handle.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), _file_mode())
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Makes the rename durable where the platform allows it (POSIX)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- reading
def _end_of_central_directory(path, handle, size, limits):
    """Checks the entry count and directory size the zip declares before zipfile parses it."""
    tail_size = min(size, 22 + 0xFFFF)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    position = tail.rfind(b"PK\x05\x06")
    if position < 0 or len(tail) - position < 22:
        raise ModelFileError(path, "not a fastconv file (no zip end-of-archive record; the file "
                                   "is not a zip archive or is truncated)")
    (_, _, _, entries, total, cd_size, cd_offset, _) = struct.unpack(
        "<4sHHHHIIH", tail[position:position + 22])
    if entries == 0xFFFF or total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        locator = tail[position - 20:position] if position >= 20 else b""
        if len(locator) != 20 or locator[:4] != b"PK\x06\x07":
            raise ModelFileError(path, "damaged zip64 end-of-archive record")
        (record_offset,) = struct.unpack("<Q", locator[8:16])
        if record_offset > size - 56:
            raise ModelFileError(path, "zip64 end-of-archive record points outside the file "
                                       "(truncated?)")
        handle.seek(record_offset)
        record = handle.read(56)
        if len(record) != 56 or record[:4] != b"PK\x06\x06":
            raise ModelFileError(path, "damaged zip64 end-of-archive record")
        total, cd_size = struct.unpack("<QQ", record[32:48])
    if total > limits.max_entries:
        raise ModelFileError(path, f"the zip declares {total} entries; at most "
                                   f"{limits.max_entries} are allowed")
    if cd_size > min(size, 64 * limits.max_entries + (1 << 20)):
        raise ModelFileError(path, f"the zip directory declares {cd_size} bytes, more than the "
                                   f"file ({size} bytes) can hold")


def _check_entry_name(path, name):
    if "\x00" in name or "\\" in name or name.startswith("/") or re.match(r"\A[A-Za-z]:", name):
        raise ModelFileError(path, f"zip entry {name!r} has an absolute or unsafe path")
    if ".." in name.split("/"):
        raise ModelFileError(path, f"zip entry {name!r} contains '..'")
    if name not in _JSON_ENTRIES and name not in KERAS_ENTRIES and not _ARRAY_ENTRY.match(name):
        raise ModelFileError(path, f"unexpected zip entry {name!r} (a fastconv file holds only "
                                   "metadata.json, config.json, weights.json, weights/NNNNN.npy "
                                   "and optimizer/NNNNN.npy; a Keras .keras file metadata.json, "
                                   "config.json and model.weights.h5)")


def _duplicates(names):
    """The names given more than once, sorted, counted in one pass (a crafted file may hold
    tens of thousands of repeats: the check must stay linear in the input)."""
    return sorted(name for name, count in collections.Counter(names).items() if count > 1)


def _listing(names, most=10):
    shown = ", ".join(repr(name) for name in names[:most])
    return f"[{shown}]" if len(names) <= most else f"[{shown}, ...] ({len(names)} in all)"


def _json_key_check(pairs):
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError(f"duplicate keys {_listing(_duplicates(key for key, _ in pairs))}")
    return document


class ArchiveReader:
    """Reads a fastconv file safely; use as a context manager.

    Args:
        path: the file to read.
        limits: a `Limits` (default: `DEFAULT_LIMITS`).

    Raises:
        ModelFileError: on opening, for anything that is not a well-formed,
            bounded fastconv zip.
        OSError: the file cannot be opened (missing, a directory, no permission).
    """

    def __init__(self, path, limits=None):
        self.path = os.fspath(path)
        self.limits = limits or DEFAULT_LIMITS
        self._handle = open(self.path, "rb")
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self):
        path, handle = self.path, self._handle
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(8)
        if head.startswith(b"\x89HDF\r\n\x1a\n"):
            raise ModelFileError(path, "this is an HDF5 file, not a zip archive")
        if size < 22:
            raise ModelFileError(path, f"not a fastconv file: {size} bytes is too short to be a "
                                       "zip archive (empty or truncated)")
        _end_of_central_directory(path, handle, size, self.limits)
        handle.seek(0)
        try:
            self._zip = zipfile.ZipFile(handle, "r")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, struct.error,
                UnicodeDecodeError, NotImplementedError, ValueError, OSError) as error:
            raise ModelFileError(path, f"not a valid zip archive ({error})") from None
        infos = self._zip.infolist()
        names = [info.filename for info in infos]
        for name in names:
            _check_entry_name(path, name)
        if len(set(names)) != len(names):
            raise ModelFileError(path, f"duplicate zip entries {_listing(_duplicates(names))}")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise ModelFileError(path, f"zip entry {info.filename!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ModelFileError(path, f"zip entry {info.filename!r} uses compression method "
                                           f"{info.compress_type}; only stored and deflated are "
                                           "allowed")
            limit = (self.limits.max_json_bytes if info.filename.endswith(".json")
                     else self.limits.max_array_bytes)
            if info.file_size > limit:
                raise ModelFileError(path, f"zip entry {info.filename!r} declares "
                                           f"{info.file_size} bytes uncompressed; the limit is "
                                           f"{limit}")
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise ModelFileError(path, f"zip entry {info.filename!r} is stored uncompressed "
                                           f"but declares {info.file_size} bytes of data in "
                                           f"{info.compress_size}")
            if info.file_size > _DEFLATE_MAX_RATIO * max(info.compress_size, 1):
                raise ModelFileError(path, f"zip entry {info.filename!r} declares a compression "
                                           f"ratio of {info.file_size}:{info.compress_size}, "
                                           "beyond what deflate can produce (a zip bomb?)")
            if info.header_offset + info.compress_size > size:
                raise ModelFileError(path, f"zip entry {info.filename!r} extends past the end of "
                                           "the file (truncated?)")
            total += info.file_size
        if total > self.limits.max_total_bytes:
            raise ModelFileError(path, f"the entries declare {total} bytes uncompressed; the limit "
                                       f"is {self.limits.max_total_bytes}")
        # Entries must not overlap (overlapping entries are how some zip bombs multiply data).
        spans = sorted((info.header_offset, info.header_offset + 30 + len(info.orig_filename)
                        + info.compress_size, info.filename) for info in infos)
        for (_, end, name), (start, _, next_name) in zip(spans, spans[1:]):
            if start < end:
                raise ModelFileError(path, f"zip entries {name!r} and {next_name!r} overlap")
        self.names = set(names)
        self.is_keras = "model.weights.h5" in self.names
        mixed = sorted(self.names - set(KERAS_ENTRIES))
        if self.is_keras and mixed:
            raise ModelFileError(path, f"unexpected zip entries {_listing(mixed)} in a "
                                       "Keras .keras file (it holds only metadata.json, "
                                       "config.json and model.weights.h5)")

    def close(self):
        zip_file = getattr(self, "_zip", None)
        if zip_file is not None:
            zip_file.close()
        self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def has(self, name):
        return name in self.names

    def entry_size(self, name):
        """The entry's declared (already bounded) uncompressed size."""
        return self._zip.getinfo(name).file_size

    def read_bytes(self, name):
        """The entry's bytes, never more than its declared (already bounded) size."""
        if name not in self.names:
            raise ModelFileError(self.path, f"missing zip entry {name!r}")
        info = self._zip.getinfo(name)
        chunks, remaining = [], info.file_size
        try:
            with self._zip.open(info) as stream:
                while remaining > 0:
                    chunk = stream.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    remaining -= len(chunk)
                if stream.read(1):
                    raise ModelFileError(self.path, f"zip entry {name!r} holds more data than "
                                                    "it declares")
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, struct.error,
                NotImplementedError, UnicodeDecodeError) as error:
            # zlib.error is a subclass of Exception only; caught below.
            raise ModelFileError(self.path, f"zip entry {name!r} is corrupt ({error})") from None
        except Exception as error:  # zlib.error
            raise ModelFileError(self.path, f"zip entry {name!r} is corrupt "
                                            f"({type(error).__name__}: {error})") from None
        if remaining:
            raise ModelFileError(self.path, f"zip entry {name!r} is shorter than it declares "
                                            "(truncated?)")
        return b"".join(chunks)

    def read_json(self, name):
        """The entry parsed as JSON (UTF-8, no duplicate keys)."""
        data = self.read_bytes(name)
        try:
            return json.loads(data.decode("utf-8"), object_pairs_hook=_json_key_check)
        except RecursionError:
            raise ModelFileError(self.path, f"{name} is nested too deeply") from None
        except (UnicodeDecodeError, ValueError) as error:
            raise ModelFileError(self.path, f"{name} is not valid JSON ({error})") from None

    def read_array(self, name):
        """The `.npy` entry as an array of a plain numeric dtype, loaded without pickle."""
        data = self.read_bytes(name)
        stream = io.BytesIO(data)
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version in ((2, 0), (3, 0)):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except Exception as error:  # NumPy's header parser also raises tokenize.TokenError, ...
            raise ModelFileError(self.path, f"{name} is not a valid .npy array "
                                            f"({type(error).__name__}: {error})") from None
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields or dtype.subdtype:
            raise ModelFileError(self.path, f"{name} holds dtype {dtype}; only plain numeric "
                                            "arrays are allowed (no objects, no pickle)")
        count = 1
        for dim in shape:
            count *= dim
        expected = count * dtype.itemsize
        if expected != len(data) - stream.tell():
            raise ModelFileError(self.path, f"{name} declares shape {shape} of {dtype} "
                                            f"({expected} bytes) but holds "
                                            f"{len(data) - stream.tell()} bytes")
        stream.seek(0)
        try:
            array = np.load(stream, allow_pickle=False)
        except Exception as error:  # the header was validated; anything left is damage
            raise ModelFileError(self.path, f"{name} cannot be read "
                                            f"({type(error).__name__}: {error})") from None
        if not isinstance(array, np.ndarray):
            raise ModelFileError(self.path, f"{name} is not a single .npy array")
        del fortran_order
        return array
