"""Keras-style utilities: one-hot encoding, seeding, plotting, the progress bar, and datasets of
batches (`PyDataset`, `image_dataset_from_directory`)."""

from fastconv.utils.image_dataset import image_dataset_from_directory
from fastconv.utils.numerical_utils import to_categorical
from fastconv.utils.plot_history import plot_history
from fastconv.utils.progbar import Progbar
from fastconv.utils.py_dataset import PyDataset, Sequence
from fastconv.utils.rng_utils import set_random_seed

__all__ = ["to_categorical", "set_random_seed", "plot_history", "Progbar", "PyDataset",
           "Sequence", "image_dataset_from_directory"]
