"""A PyTorch `torch.utils.data.DataLoader` as input of fit / evaluate / predict."""

from fastconv.trainers.data_adapters.data_adapter import DataAdapter
from fastconv.trainers.data_adapters.data_adapter_utils import (
    standardize_batch,
    unpack_x_y_sample_weight,
)


class TorchDataLoaderAdapter(DataAdapter):
    """The loader's batches as NumPy arrays, one pass of the loader per pass (the loader's own
    sampler shuffles, and its workers load ahead).

    Args:
        loader: a `torch.utils.data.DataLoader` whose batches are `x`, `(x,)`, `(x, y)` or
            `(x, y, sample_weight)` of tensors or arrays (a default-collated `(x, y)` dataset
            gives `[x, y]`, read as `(x, y)`).
    """

    def __init__(self, loader):
        self.loader = loader
        self.num_batches = len(loader) if hasattr(loader.dataset, "__len__") else None

    def get_iterator(self):
        for index, batch in enumerate(self.loader):
            yield standardize_batch(unpack_x_y_sample_weight(batch), index, "torch DataLoader")
