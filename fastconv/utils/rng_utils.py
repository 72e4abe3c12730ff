"""`set_random_seed`: one seed for fastconv's generator, NumPy's and Python's."""

import numpy as np

from fastconv import backend


def set_random_seed(seed):
    """Seeds fastconv's generator, NumPy's global generator and Python's `random`.

    Args:
        seed: an int.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    backend.set_seed(int(seed))
