"""Shared loader for MNIST and Fashion-MNIST (same four IDX files and shapes)."""

from fastconv.datasets import _files, _idx

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"


def load(name, md5s, mirrors):
    """((x_train, y_train), (x_test, y_test)) from the four IDX files of `name`."""
    files = {f: md5s[f] for f in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)}
    train_x, train_y, test_x, test_y = _files.locate(name, files, mirrors)
    x_train, y_train = _idx.read_images(train_x), _idx.read_labels(train_y)
    x_test, y_test = _idx.read_images(test_x), _idx.read_labels(test_y)
    for images, labels, images_path, labels_path in (
        (x_train, y_train, train_x, train_y), (x_test, y_test, test_x, test_y)
    ):
        if len(images) != len(labels):
            raise ValueError(
                f"{images_path} holds {len(images)} images but {labels_path} holds "
                f"{len(labels)} labels."
            )
    return (x_train, y_train), (x_test, y_test)
