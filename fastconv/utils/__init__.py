"""Keras-style utilities: one-hot encoding, seeding, plotting, the progress bar, datasets of
batches (`PyDataset`, `image_dataset_from_directory`), model graphs and the custom-object
registry."""

from fastconv.saving.object_registration import (
    CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
    get_registered_object, register_keras_serializable,
)
from fastconv.utils.image_dataset import image_dataset_from_directory
from fastconv.utils.model_visualization import model_to_dot, plot_model
from fastconv.utils.numerical_utils import to_categorical
from fastconv.utils.plot_history import plot_history
from fastconv.utils.progbar import Progbar
from fastconv.utils.py_dataset import PyDataset, Sequence
from fastconv.utils.rng_utils import set_random_seed

__all__ = ["to_categorical", "set_random_seed", "plot_history", "Progbar", "PyDataset",
           "Sequence", "image_dataset_from_directory", "plot_model", "model_to_dot",
           "get_custom_objects", "custom_object_scope", "CustomObjectScope",
           "register_keras_serializable", "get_registered_name", "get_registered_object"]
