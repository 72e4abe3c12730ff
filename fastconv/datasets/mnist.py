"""The MNIST dataset of handwritten digits (LeCun, Cortes, Burges; CC BY-SA 3.0)."""

from fastconv.datasets import _mnist_like

NAME = "mnist"
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def load_data():
    """Loads MNIST: 60,000 training and 10,000 test 28x28 grayscale digits.

    Files are looked up in `$FASTCONV_DATA/mnist/`, then in the cache
    `$FASTCONV_HOME/datasets/mnist/` (default `~/.fastconv/datasets/mnist/`),
    then downloaded into the cache with MD5 verification.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(n, 28, 28)`
        (0 = background, 255 = ink) and uint8 labels `(n,)` in 0-9.

    Raises:
        fastconv.datasets.DatasetNotFoundError: (an OSError) if the files are
            missing and cannot be downloaded.
        ValueError: if a file is corrupt.
    """
    return _mnist_like.load(NAME, MD5, MIRRORS)
