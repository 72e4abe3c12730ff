"""The training side of models, laid out as Keras 3's `keras/src/trainers`: the loops
(trainer.py), the batches of each epoch (epoch_iterator.py), every kind of input (arrays,
generators, PyDataset, torch DataLoader: data_adapters/) and the compiled loss and metrics
(compile_utils.py)."""

from fastconv.trainers.trainer import Trainer

__all__ = ["Trainer"]
