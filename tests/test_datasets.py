"""Dataset loading: IDX parsing, lookup order, cache, verified download (no network)."""

import gzip
import hashlib
import os
import struct
import urllib.error

import numpy as np
import pytest

from fastconv.datasets import ChecksumError, DatasetNotFoundError, _files, _idx, fashion_mnist, mnist

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _real_data_root():
    root = os.environ.get("FASTCONV_DATA") or "/work/shared/data"
    return root if os.path.isfile(os.path.join(root, "mnist", FILES[0])) else None


REAL = _real_data_root()
needs_real_data = pytest.mark.skipif(REAL is None, reason="set FASTCONV_DATA to the MNIST files")


def _idx_bytes(array, magic):
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _tiny_dataset(n_train=6, n_test=4, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        FILES[0]: rng.integers(0, 256, (n_train, 28, 28)),
        FILES[1]: rng.integers(0, 10, n_train),
        FILES[2]: rng.integers(0, 256, (n_test, 28, 28)),
        FILES[3]: rng.integers(0, 10, n_test),
    }
    payloads = {name: _idx_bytes(a, 2051 if a.ndim == 3 else 2049) for name, a in arrays.items()}
    return arrays, payloads


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No FASTCONV_DATA, a fresh cache, and a fetch that fails loudly if called."""
    monkeypatch.delenv("FASTCONV_DATA", raising=False)
    monkeypatch.setenv("FASTCONV_HOME", str(tmp_path / "home"))

    def no_network(url, out):
        raise AssertionError(f"unexpected download of {url}")

    monkeypatch.setattr(_files, "fetch", no_network)
    return tmp_path


def _serve(monkeypatch, payloads, log=None, fail_hosts=()):
    def fake_fetch(url, out):
        if log is not None:
            log.append(url)
        if any(host in url for host in fail_hosts):
            raise urllib.error.URLError("connection refused")
        out.write(payloads[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(_files, "fetch", fake_fetch)


def _use_md5s(monkeypatch, module, payloads):
    monkeypatch.setattr(module, "MD5", {name: hashlib.md5(data).hexdigest() for name, data in payloads.items()})


# Real files ---------------------------------------------------------------------
@needs_real_data
def test_mnist_from_data_dir(monkeypatch):
    monkeypatch.setenv("FASTCONV_DATA", REAL)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.max() == 255 and x_train.min() == 0
    assert np.bincount(y_train).tolist()[:2] == [5923, 6742]
    assert x_train.flags.writeable


@needs_real_data
def test_fashion_mnist_from_data_dir(monkeypatch):
    monkeypatch.setenv("FASTCONV_DATA", REAL)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert list(y_train[:5]) == [9, 0, 0, 3, 0]
    assert list(y_test[:5]) == [9, 2, 1, 1, 6]
    assert np.all(np.bincount(y_train) == 6000)


@needs_real_data
def test_download_of_real_bytes_into_cache(isolated, monkeypatch):
    payloads = {}
    for name in FILES:
        with open(os.path.join(REAL, "mnist", name), "rb") as f:
            payloads[name] = f.read()
    log = []
    _serve(monkeypatch, payloads, log)
    (x_train, y_train), _ = mnist.load_data()
    assert len(log) == 4 and all(url.startswith(mnist.MIRRORS[0]) for url in log)
    cache = isolated / "home" / "datasets" / "mnist"
    assert sorted(os.listdir(cache)) == sorted(FILES)  # nothing left over
    assert list(y_train[:3]) == [5, 0, 4]
    # Second load: straight from the cache.
    log.clear()
    mnist.load_data()
    assert log == []


# Synthetic files ------------------------------------------------------------------
def test_data_dir_is_preferred_over_cache(isolated, monkeypatch):
    arrays, payloads = _tiny_dataset()
    other_arrays, other = _tiny_dataset(seed=1)
    data = isolated / "data" / "mnist"
    cache = isolated / "home" / "datasets" / "mnist"
    for directory, files in ((data, payloads), (cache, other)):
        directory.mkdir(parents=True)
        for name, blob in files.items():
            (directory / name).write_bytes(blob)
    monkeypatch.setenv("FASTCONV_DATA", str(isolated / "data"))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays[FILES[0]])
    np.testing.assert_array_equal(y_test, arrays[FILES[3]])
    monkeypatch.delenv("FASTCONV_DATA")
    (x_train, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, other_arrays[FILES[0]])


def test_second_mirror_used_when_first_fails(isolated, monkeypatch):
    arrays, payloads = _tiny_dataset()
    _use_md5s(monkeypatch, fashion_mnist, payloads)
    log = []
    _serve(monkeypatch, payloads, log, fail_hosts=("tensorflow/tf-keras-datasets",))
    (x_train, y_train), _ = fashion_mnist.load_data()
    np.testing.assert_array_equal(y_train, arrays[FILES[1]])
    assert len(log) == 8 and sum("fashion-mnist.s3" in url for url in log) == 4
    cache = isolated / "home" / "datasets" / "fashion-mnist"
    assert sorted(os.listdir(cache)) == sorted(FILES)


def test_checksum_mismatch_leaves_no_file(isolated, monkeypatch):
    _, payloads = _tiny_dataset()
    _use_md5s(monkeypatch, mnist, payloads)
    corrupted = dict(payloads)
    corrupted[FILES[1]] = payloads[FILES[1]][:-3] + b"xyz"
    _serve(monkeypatch, corrupted)
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz.*checksum"):
        mnist.load_data()
    cache = isolated / "home" / "datasets" / "mnist"
    left = sorted(os.listdir(cache))
    assert FILES[1] not in left and not any(name.endswith(".part") for name in left)
    assert issubclass(ChecksumError, ValueError)


def test_offline_error_says_what_is_missing_and_where(isolated, monkeypatch):
    _serve(monkeypatch, {}, fail_hosts=("http",))
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert isinstance(info.value, OSError)
    for name in FILES:
        assert name in message
    assert "FASTCONV_DATA" in message and str(isolated / "home" / "datasets" / "mnist") in message
    assert "connection refused" in message
    assert not any(n.endswith(".part") for n in os.listdir(isolated / "home" / "datasets" / "mnist"))


def test_offline_error_for_a_single_missing_file(isolated, monkeypatch):
    _, payloads = _tiny_dataset()
    data = isolated / "data" / "mnist"
    data.mkdir(parents=True)
    for name in FILES[:3]:
        (data / name).write_bytes(payloads[name])
    monkeypatch.setenv("FASTCONV_DATA", str(isolated / "data"))
    _serve(monkeypatch, {}, fail_hosts=("http",))
    with pytest.raises(DatasetNotFoundError, match=r"missing 1 file\(s\): t10k-labels-idx1-ubyte.gz"):
        mnist.load_data()


@pytest.mark.parametrize("damage, message", [
    (lambda blob: blob[: len(blob) // 2], "corrupt or not a gzip|truncated"),
    (lambda blob: b"not gzip at all", "corrupt or not a gzip"),
    (lambda blob: gzip.compress(struct.pack(">IIII", 2049, 6, 28, 28)), "wrong IDX magic number 2049"),
    (lambda blob: gzip.compress(struct.pack(">IIII", 2051, 6, 28, 28) + b"\0" * 100), "truncated IDX data"),
    (lambda blob: gzip.compress(struct.pack(">IIII", 2051, 1, 27, 28) + b"\0" * 756), r"dimensions \(1, 27, 28\)"),
    (lambda blob: gzip.compress(struct.pack(">IIII", 2051, 1, 28, 28) + b"\0" * 785), "longer than its header"),
])
def test_corrupt_files_raise_value_error_naming_the_file(isolated, monkeypatch, damage, message):
    _, payloads = _tiny_dataset()
    data = isolated / "data" / "mnist"
    data.mkdir(parents=True)
    for name, blob in payloads.items():
        (data / name).write_bytes(damage(blob) if name == FILES[0] else blob)
    monkeypatch.setenv("FASTCONV_DATA", str(isolated / "data"))
    with pytest.raises(ValueError, match=message) as info:
        mnist.load_data()
    assert str(data / FILES[0]) in str(info.value)


def test_image_and_label_counts_must_agree(isolated, monkeypatch):
    _, payloads = _tiny_dataset()
    payloads[FILES[1]] = _idx_bytes(np.zeros(5), 2049)
    data = isolated / "data" / "mnist"
    data.mkdir(parents=True)
    for name, blob in payloads.items():
        (data / name).write_bytes(blob)
    monkeypatch.setenv("FASTCONV_DATA", str(isolated / "data"))
    with pytest.raises(ValueError, match="6 images but .* 5 labels"):
        mnist.load_data()


def test_read_labels_round_trip(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    path = tmp_path / "labels.gz"
    path.write_bytes(_idx_bytes(labels, 2049))
    np.testing.assert_array_equal(_idx.read_labels(path), labels)
    with pytest.raises(FileNotFoundError):
        _idx.read_labels(tmp_path / "missing.gz")


def test_cache_dir_defaults_to_home(monkeypatch):
    monkeypatch.delenv("FASTCONV_HOME", raising=False)
    assert _files.cache_dir("mnist") == os.path.join(os.path.expanduser("~"), ".fastconv", "datasets", "mnist")
    monkeypatch.setenv("FASTCONV_HOME", "/somewhere")
    assert _files.cache_dir("mnist") == os.path.join("/somewhere", "datasets", "mnist")
