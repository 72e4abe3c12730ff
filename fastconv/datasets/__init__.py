"""Small image datasets, loaded as Keras does: `mnist.load_data()`, `fashion_mnist.load_data()`.

Lookup order for the IDX files: `$FASTCONV_DATA/<name>/`, then the cache
`$FASTCONV_HOME/datasets/<name>/` (FASTCONV_HOME defaults to `~/.fastconv`),
then a download from the public mirrors into the cache, verified by MD5.
"""

from fastconv.datasets import fashion_mnist, mnist
from fastconv.datasets._files import ChecksumError, DatasetNotFoundError

__all__ = ["mnist", "fashion_mnist", "DatasetNotFoundError", "ChecksumError"]
