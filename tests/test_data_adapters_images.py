"""`utils.image_dataset_from_directory` on a small tree of PNG files the tests write with Pillow,
checked against the pixels written (NumPy slicing for the resizes, crops and pads)."""

import sys

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers

Image = pytest.importorskip("PIL.Image")

SIZE = 4


def _pixels(seed, height=SIZE, width=SIZE, gray=False):
    rng = np.random.default_rng(seed)
    if gray:
        return np.repeat(rng.integers(0, 256, (height, width, 1), dtype=np.uint8), 3, axis=2)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture
def tree(tmp_path):
    """cats/ (3 images, one in a subfolder), dogs/ (2 images), plus files to ignore.

    Returns the directory and {relative path: pixels} in alphanumeric order.
    """
    written = {}
    for relative, seed in [("cats/a.png", 0), ("cats/b.png", 1), ("cats/deep/c.png", 2),
                           ("dogs/d.png", 3), ("dogs/e.PNG", 4)]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        written[relative] = _pixels(seed, gray=relative == "dogs/d.png")
        Image.fromarray(written[relative]).save(path, format="PNG")
    (tmp_path / "cats" / "notes.txt").write_text("not an image")
    return tmp_path, written


def _load(directory, **kwargs):
    kwargs.setdefault("image_size", (SIZE, SIZE))
    kwargs.setdefault("shuffle", False)
    kwargs.setdefault("verbose", False)
    return keras.utils.image_dataset_from_directory(str(directory), **kwargs)


def _all(dataset):
    images, labels = zip(*dataset)
    return np.concatenate(images), np.concatenate(labels)


def test_inferred_labels_class_names_and_pixels(tree, capsys):
    directory, written = tree
    (directory / ".hidden").mkdir()  # not a class
    Image.fromarray(_pixels(9)).save(directory / ".hidden" / "x.png")
    dataset = _load(directory, batch_size=2, verbose=True)
    assert "Found 5 files belonging to 2 classes." in capsys.readouterr().out
    assert dataset.class_names == ["cats", "dogs"]
    assert len(dataset) == 3
    images, labels = _all(dataset)
    assert images.dtype == np.float32 and images.shape == (5, SIZE, SIZE, 3)
    assert labels.dtype == np.int32 and labels.tolist() == [0, 0, 0, 1, 1]
    np.testing.assert_array_equal(images, np.stack(list(written.values())).astype(np.float32))
    assert [p.replace("\\", "/").split(str(directory.name) + "/")[-1]
            for p in dataset.file_paths] == list(written)


def test_label_modes_and_explicit_labels(tree):
    directory, _ = tree
    _, categorical = _all(_load(directory, label_mode="categorical"))
    np.testing.assert_array_equal(categorical, np.eye(2, dtype=np.float32)[[0, 0, 0, 1, 1]])
    _, binary = _all(_load(directory, label_mode="binary"))
    assert binary.dtype == np.float32 and binary.ravel().tolist() == [0, 0, 0, 1, 1]
    assert binary.shape == (5, 1)
    reordered = _load(directory, class_names=["dogs", "cats"])
    assert _all(reordered)[1].tolist() == [0, 0, 1, 1, 1]  # dogs first, as label 0
    assert reordered.class_names == ["dogs", "cats"]
    explicit = _load(directory, labels=[4, 3, 2, 1, 0])
    assert _all(explicit)[1].tolist() == [4, 3, 2, 1, 0]
    assert explicit.class_names == ["0", "1", "2", "3", "4"]
    images_only = _load(directory, labels=None, batch_size=5)
    assert images_only.class_names is None
    assert isinstance(images_only[0], np.ndarray) and images_only[0].shape == (5, SIZE, SIZE, 3)


def test_color_modes(tree):
    directory, written = tree
    gray, _ = _all(_load(directory, color_mode="grayscale"))
    assert gray.shape == (5, SIZE, SIZE, 1)
    # dogs/d.png is gray (R = G = B), so its luminance is that value exactly
    np.testing.assert_array_equal(gray[3, ..., 0], written["dogs/d.png"][..., 0])
    rgba, _ = _all(_load(directory, color_mode="rgba"))
    assert rgba.shape == (5, SIZE, SIZE, 4) and (rgba[..., 3] == 255).all()
    first = _load(directory, data_format="channels_first")[0][0]
    np.testing.assert_array_equal(first[0], written["cats/a.png"].transpose(2, 0, 1))


def test_resize_crop_and_pad_against_numpy(tmp_path):
    wide = _pixels(5, height=4, width=8)
    (tmp_path / "only").mkdir()
    Image.fromarray(wide).save(tmp_path / "only" / "wide.png")
    nearest = _load(tmp_path, image_size=(8, 16), interpolation="nearest")[0][0][0]
    np.testing.assert_array_equal(nearest, wide.repeat(2, axis=0).repeat(2, axis=1))
    cropped = _load(tmp_path, image_size=(4, 4), crop_to_aspect_ratio=True)[0][0][0]
    np.testing.assert_array_equal(cropped, wide[:, 2:6])
    padded = _load(tmp_path, image_size=(8, 8), pad_to_aspect_ratio=True)[0][0][0]
    expected = np.zeros((8, 8, 3), np.uint8)
    expected[2:6] = wide
    np.testing.assert_array_equal(padded, expected)
    squeezed = _load(tmp_path, image_size=4, interpolation="area")[0][0][0]
    np.testing.assert_allclose(squeezed, wide.reshape(4, 4, 2, 3).mean(axis=2), atol=0.5)


def test_shuffle_seed_and_validation_split(tree, capsys):
    directory, _ = tree
    first = _load(directory, shuffle=True, seed=7)
    again = _load(directory, shuffle=True, seed=7)
    assert first.file_paths == again.file_paths
    assert sorted(first.file_paths) == sorted(_load(directory).file_paths)
    # Keras 3 shuffles the sorted file list in place with NumPy's RandomState(seed)
    keras_order = list(_load(directory).file_paths)
    np.random.RandomState(7).shuffle(keras_order)
    assert first.file_paths == keras_order
    training, validation = _load(directory, shuffle=True, seed=7, validation_split=0.4,
                                 subset="both", verbose=True)
    out = capsys.readouterr().out
    assert "Using 3 files for training." in out and "Using 2 files for validation." in out
    assert training.file_paths + validation.file_paths == first.file_paths
    alone = _load(directory, shuffle=True, seed=7, validation_split=0.4, subset="validation")
    assert alone.file_paths == validation.file_paths
    # the training samples are reshuffled after every pass; the validation ones are not
    orders = [[int(v) for v in _all(training)[0][:, 0, 0, 0]] for _ in range(4)]
    assert len({tuple(order) for order in orders}) > 1
    assert all(sorted(order) == sorted(orders[0]) for order in orders)
    assert np.array_equal(_all(validation)[0], _all(validation)[0])


def test_single_samples_without_batch_size(tree):
    directory, written = tree
    dataset = _load(directory, batch_size=None)
    assert len(dataset) == 5
    image, label = dataset[4]
    assert image.shape == (SIZE, SIZE, 3) and int(label) == 1
    np.testing.assert_array_equal(image, written["dogs/e.PNG"])


def test_fit_on_the_dataset_equals_fit_on_its_batches(tree):
    directory, _ = tree
    dataset = _load(directory, batch_size=2, label_mode="categorical")
    images, labels = _all(dataset)

    def model():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input(shape=(SIZE, SIZE, 3)), layers.Rescaling(1 / 255),
                              layers.Conv2D(2, 3, activation="relu"), layers.Flatten(),
                              layers.Dense(2, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        return m

    expected, trained = model(), model()
    expected.fit(images, labels, batch_size=2, epochs=2, shuffle=False, verbose=0)
    history = trained.fit(dataset, epochs=2, shuffle=False, verbose=0, validation_data=dataset)
    for a, b in zip(expected.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(history.history["val_loss"]) == 2


def test_worker_processes_decode_the_same_batches(tree):
    directory, _ = tree
    dataset = _load(directory, batch_size=2)
    expected = _all(dataset)
    dataset.workers, dataset.use_multiprocessing = 2, True
    model = keras.Sequential([keras.Input(shape=(SIZE, SIZE, 3)), layers.Flatten()])
    np.testing.assert_array_equal(model.predict(dataset), expected[0].reshape(5, -1))


ERRORS = [
    (dict(validation_split=0.2, subset="training", shuffle=True),
     "must provide a `seed` argument"),
    (dict(subset="training"), "If `subset` is set, `validation_split` must be set"),
    (dict(validation_split=1.5, subset="training"), "`validation_split` must be between 0 and 1"),
    (dict(validation_split=0.2, subset="test"), '`subset` must be either "training"'),
    (dict(color_mode="cmyk"), "`color_mode` must be one of"),
    (dict(label_mode="sparse"), "`label_mode` argument must be one of"),
    (dict(image_size=(4, 4, 3)), "Invalid `image_size` value"),
    (dict(interpolation="gaussian"), "Argument `interpolation` should be one of"),
    (dict(class_names=["cats", "birds"]), "did not match the names of the subdirectories"),
    (dict(labels=[0, 1]), "Expected the lengths of `labels` to match.*we found 5 files"),
    (dict(labels="folders"), "`labels` argument should be a list/tuple"),
    (dict(labels=[0] * 5, class_names=["a"]), 'only pass `class_names` if `labels="inferred"`'),
    (dict(label_mode="binary", labels=[0, 1, 2, 0, 1]), "exactly 2 class_names"),
    (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Only one of"),
    (dict(batch_size=0), "`batch_size` must be an int >= 1 or None"),
]


@pytest.mark.parametrize("kwargs, match", ERRORS, ids=[e[1][:30] for e in ERRORS])
def test_argument_errors(tree, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _load(tree[0], **kwargs)


def test_no_images_and_no_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images found in directory"):
        _load(tmp_path)
    with pytest.raises(ValueError, match="must be an existing directory"):
        _load(tmp_path / "missing")


def test_without_pillow_the_error_names_the_extra(tree, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"Pillow.*pip install 'fastconv\[image\]'"):
        _load(tree[0])
