"""DataAdapter: the one interface the epoch iterator reads any kind of input through."""


class DataAdapter:
    """Batches of `(x, y, sample_weight)` NumPy arrays from one kind of input.

    Subclasses set:
        num_batches: batches per pass, or None when unknown until the source runs out.
        restartable: whether each pass can start again from the beginning (arrays,
            PyDataset, DataLoader, re-iterable objects) or continues one stream (a Python
            generator or iterator, read once).
    and implement `get_iterator()`.
    """

    num_batches = None
    restartable = True

    def get_iterator(self):
        """An iterator over one pass: `(x, y, sample_weight)` tuples (y, sample_weight may be
        None), converted to NumPy and checked."""
        raise NotImplementedError

    def on_epoch_begin(self):
        """Called before each epoch of `fit` (and once by evaluate / predict)."""

    def on_epoch_end(self):
        """Called after each epoch of `fit` (and once by evaluate / predict)."""
