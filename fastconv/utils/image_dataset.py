"""`image_dataset_from_directory`: batches of images (and labels) read from a directory tree, as
Keras 3's `keras.utils.image_dataset_from_directory`, decoded with Pillow (`fastconv[image]`)."""

import math
import os

import numpy as np

from fastconv.utils.io_utils import print_msg
from fastconv.utils.py_dataset import PyDataset

__all__ = ["image_dataset_from_directory", "ImageDataset"]

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_PIL_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
# Keras's names -> Pillow's filters; TensorFlow's lanczos5, gaussian and mitchellcubic have none.
_RESAMPLING = {"bilinear": "BILINEAR", "nearest": "NEAREST", "bicubic": "BICUBIC",
               "area": "BOX", "lanczos3": "LANCZOS"}


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "image_dataset_from_directory reads images with Pillow, which is not installed. "
            "Install it with `pip install 'fastconv[image]'` (or `pip install Pillow`)."
        ) from None
    return Image


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, verbose=True):
    """A dataset of `(images, labels)` batches from image files in a directory.

    With `labels="inferred"`, each subdirectory of `directory` is a class (in alphanumeric
    order, or the order of `class_names`) and its images, searched recursively, are that
    class's samples. Files ending in .bmp, .gif (first frame), .jpeg, .jpg or .png are read.

    Args:
        directory: the directory holding the images.
        labels: "inferred", None (images only), or a list of integer labels, one per image
            file in the alphanumeric order of the paths.
        label_mode: "int" (int32 `(batch,)`), "categorical" (float32 one-hot
            `(batch, classes)`), "binary" (float32 `(batch, 1)`, two classes) or None.
        class_names: with `labels="inferred"`, the subdirectories to read, in label order.
        color_mode: "grayscale", "rgb" or "rgba": 1, 3 or 4 channels.
        batch_size: images per batch, or None to yield single samples.
        image_size: `(height, width)` (or an int) every image is resized to.
        shuffle: shuffle the files (once, with `seed`; the training samples are reshuffled
            after every epoch); False keeps the alphanumeric order.
        seed: the shuffling seed; required with `validation_split` and `shuffle`, so that
            the "training" and "validation" subsets do not overlap.
        validation_split: the fraction of the files kept for validation (the last ones).
        subset: "training", "validation" or "both" (a list of the two datasets); only with
            `validation_split`.
        interpolation: the resizing filter: "bilinear", "nearest", "bicubic", "area" or
            "lanczos3" (Pillow's filters; resized pixels differ slightly from TensorFlow's).
        follow_links: whether to follow symbolic links to subdirectories.
        crop_to_aspect_ratio: crop the largest centred window of the target aspect ratio
            before resizing, instead of distorting.
        pad_to_aspect_ratio: pad (with zeros) to the target aspect ratio before resizing.
        data_format: "channels_last" (default) or "channels_first".
        verbose: print how many files and classes were found.

    Returns:
        An `ImageDataset` (a `PyDataset` of float32 images in 0-255, with `class_names` and
        `file_paths`), or a list `[training, validation]` with `subset="both"`.

    Raises:
        ImportError: Pillow is not installed.
        ValueError: an invalid argument, or no images found.
    """
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size "
                "as the number of image files in the target directory. If you wish to infer "
                "the labels from the subdirectory names in the target directory, pass "
                '`labels="inferred"`. If you wish to get a dataset that only contains images '
                f"(no labels), pass `labels=None`. Received: labels={labels}")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", '
                         f"or None. Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels = label_mode = None
    if color_mode not in _CHANNELS:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if (not isinstance(image_size, (list, tuple)) or len(image_size) != 2
            or not all(isinstance(side, int) and side > 0 for side in image_size)):
        raise ValueError("Invalid `image_size` value. Expected a tuple of 2 positive integers. "
                         f"Received: image_size={image_size}")
    interpolation = str(interpolation).lower()
    if interpolation not in _RESAMPLING:
        raise ValueError(f"Argument `interpolation` should be one of {tuple(_RESAMPLING)} "
                         f"(Pillow's filters). Received: interpolation={interpolation}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be "
                         "True.")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError('`data_format` must be "channels_last" or "channels_first". '
                         f"Received: data_format={data_format}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ValueError(f"`batch_size` must be an int >= 1 or None. Received: "
                         f"batch_size={batch_size!r}")
    _check_validation_split(validation_split, subset, shuffle, seed)
    image_module = _pillow()

    paths, labels, class_names = _index_directory(directory, labels, class_names, follow_links)
    if verbose:
        print_msg(f"Found {len(paths)} files." if labels is None else
                  f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")
    if shuffle:  # once, so that the split below is the same for both subsets
        if seed is None:
            seed = int(np.random.randint(1_000_000))
        # Keras 3 shuffles the file list with NumPy's RandomState(seed) too
        order = np.random.RandomState(seed).permutation(len(paths))
        paths = [paths[i] for i in order]
        labels = None if labels is None else labels[order]

    def dataset(subset_name, subset_shuffle):
        subset_paths, subset_labels = _split(paths, labels, validation_split, subset_name,
                                             verbose)
        if not subset_paths:
            raise ValueError(f"No {subset_name + ' ' if subset_name else ''}images found in "
                             f"directory {directory}. Allowed formats: {ALLOWLIST_FORMATS}")
        return ImageDataset(
            subset_paths, subset_labels, label_mode, class_names,
            num_channels=_CHANNELS[color_mode], pil_mode=_PIL_MODES[color_mode],
            batch_size=batch_size, image_size=tuple(image_size),
            resample=getattr(image_module.Resampling, _RESAMPLING[interpolation]),
            crop_to_aspect_ratio=crop_to_aspect_ratio, pad_to_aspect_ratio=pad_to_aspect_ratio,
            channels_first=data_format == "channels_first",
            shuffle_seed=seed if subset_shuffle else None)

    if subset == "both":
        return [dataset("training", shuffle), dataset("validation", False)]
    return dataset(subset, shuffle)


def _check_validation_split(validation_split, subset, shuffle, seed):
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a "
                         "`seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")


def _index_directory(directory, labels, class_names, follow_links):
    """`(paths, labels or None, class_names)` of the image files, paths in alphanumeric order
    within each class (or overall, without inferred labels)."""
    if not os.path.isdir(directory):
        raise ValueError(f"`directory` must be an existing directory. Received: "
                         f"directory={directory!r}")
    if labels == "inferred":
        subdirs = sorted(name for name in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, name))
                         and not name.startswith("."))
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories "
                    f"of the target directory. Expected: {subdirs} (or a subset of it), but "
                    f"received: class_names={class_names}")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be "
                             "specified." if labels is None else
                             "When argument `labels` is specified, argument `class_names` "
                             "cannot be specified (the `class_names` will be the sorted list "
                             "of labels).")
        subdirs = [""]
    paths, inferred = [], []
    for index, subdir in enumerate(subdirs):
        found = _image_files(os.path.join(directory, subdir), follow_links)
        paths += found
        inferred += [index] * len(found)
    if labels == "inferred":
        return paths, np.asarray(inferred, dtype=np.int32), subdirs
    if labels is None:
        return paths, None, None
    if len(labels) != len(paths):
        raise ValueError(
            "Expected the lengths of `labels` to match the number of files in the target "
            f"directory. len(labels) is {len(labels)} while we found {len(paths)} files in "
            f"directory {directory}.")
    return paths, np.asarray(labels, dtype=np.int32), [str(label) for label in sorted(set(labels))]


def _image_files(directory, follow_links):
    """The image files under `directory`, recursively, sorted by folder then name."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links)):
        found += [os.path.join(root, name) for name in sorted(files)
                  if name.lower().endswith(ALLOWLIST_FORMATS)]
    return found


def _split(paths, labels, validation_split, subset, verbose):
    """The "training" (first) or "validation" (last) part of the files, or all of them."""
    if not validation_split:
        return paths, labels
    num_val = int(validation_split * len(paths))
    num_train = len(paths) - num_val
    part = slice(None, num_train) if subset == "training" else slice(num_train, None)
    if verbose:
        print_msg(f"Using {num_train if subset == 'training' else num_val} files for {subset}.")
    return paths[part], None if labels is None else labels[part]


class ImageDataset(PyDataset):
    """The batches of `image_dataset_from_directory`: a `PyDataset` whose items are
    `(images, labels)` (or `images` without labels), decoded when asked for.

    Attributes:
        class_names: the class names, in label order (None without labels).
        file_paths: the image files, in the order of the samples.
    """

    def __init__(self, file_paths, labels, label_mode, class_names, num_channels,
                 pil_mode, batch_size, image_size, resample, crop_to_aspect_ratio,
                 pad_to_aspect_ratio, channels_first, shuffle_seed):
        super().__init__()
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self._labels = labels
        self._label_mode = label_mode
        self._num_channels = num_channels
        self._pil_mode = pil_mode
        self._batch_size = batch_size
        self._image_size = image_size
        self._resample = resample
        self._crop = crop_to_aspect_ratio
        self._pad = pad_to_aspect_ratio
        self._channels_first = channels_first
        self._order = np.arange(len(self.file_paths))
        self._rng = None if shuffle_seed is None else np.random.default_rng(shuffle_seed)

    def __len__(self):
        return math.ceil(len(self.file_paths) / (self._batch_size or 1))

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for {len(self)} batches.")
        size = self._batch_size or 1
        samples = self._order[index * size:(index + 1) * size]
        images = np.stack([self._load(self.file_paths[i]) for i in samples])
        labels = None if self._labels is None else self._encode(self._labels[samples])
        if self._batch_size is None:  # single samples
            images = images[0]
            labels = None if labels is None else labels[0]
        return images if labels is None else (images, labels)

    def on_epoch_end(self):
        """Reshuffles the samples (training data with `shuffle`)."""
        if self._rng is not None:
            self._order = self._rng.permutation(len(self.file_paths))

    def __iter__(self):
        yield from super().__iter__()
        self.on_epoch_end()

    def _encode(self, labels):
        if self._label_mode == "binary":
            return labels.astype(np.float32).reshape(-1, 1)
        if self._label_mode == "categorical":
            return np.eye(len(self.class_names), dtype=np.float32)[labels]
        return labels

    def _load(self, path):
        """One image as float32 `(height, width, channels)` (or channels first)."""
        height, width = self._image_size
        image_module = _pillow()  # not kept on the dataset: it must pickle for worker processes
        with image_module.open(path) as image:
            image = image.convert(self._pil_mode)  # a GIF's first frame
            box = None
            if self._crop:
                box = _centred_window(image.width, image.height, width / height)
            elif self._pad:
                image = _padded(image_module, image, width / height)
            if image.size != (width, height) or box is not None:
                image = image.resize((width, height), self._resample, box=box)
            pixels = np.asarray(image, dtype=np.float32)
        pixels = pixels.reshape(height, width, self._num_channels)
        return pixels.transpose(2, 0, 1) if self._channels_first else pixels


def _centred_window(width, height, aspect):
    """The largest centred `(left, top, right, bottom)` box of aspect ratio width/height."""
    crop_width, crop_height = min(width, height * aspect), min(height, width / aspect)
    left, top = (width - crop_width) / 2, (height - crop_height) / 2
    return (left, top, left + crop_width, top + crop_height)


def _padded(image_module, image, aspect):
    """`image` centred on zeros, grown to aspect ratio width/height."""
    width = max(image.width, round(image.height * aspect))
    height = max(image.height, round(image.width / aspect))
    canvas = image_module.new(image.mode, (width, height))
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return canvas
