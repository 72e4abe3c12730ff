"""Fashion-MNIST: Zalando article images (Xiao, Rasul, Vollgraf; MIT license).

Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
"""

from fastconv.datasets import _mnist_like

NAME = "fashion-mnist"
MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_data():
    """Loads Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images.

    Files are looked up in `$FASTCONV_DATA/fashion-mnist/`, then in the cache
    `$FASTCONV_HOME/datasets/fashion-mnist/` (default
    `~/.fastconv/datasets/fashion-mnist/`), then downloaded into the cache
    with MD5 verification.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(n, 28, 28)`
        and uint8 labels `(n,)` in 0-9 (see `CLASS_NAMES`).

    Raises:
        fastconv.datasets.DatasetNotFoundError: (an OSError) if the files are
            missing and cannot be downloaded.
        ValueError: if a file is corrupt.
    """
    return _mnist_like.load(NAME, MD5, MIRRORS)
