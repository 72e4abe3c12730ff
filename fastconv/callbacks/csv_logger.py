"""`CSVLogger`: one CSV row of logs per epoch."""

import collections
import csv
import os

import numpy as np

from fastconv.callbacks.callback import Callback


class CSVLogger(Callback):
    """Writes each epoch's logs as a CSV row: `epoch,<sorted log keys>`.

    Args:
        filename: the CSV file's path.
        separator: the field separator.
        append: append to an existing file (without repeating its header)
            instead of overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self.writer = None
        self.csv_file = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        self.keys = None
        self.writer = None
        self.append_header = True
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as existing:
                    self.append_header = not existing.readline()
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def cell(value):
            if isinstance(value, str):
                return value
            if isinstance(value, np.ndarray) and value.ndim == 0:
                return value.item()
            if isinstance(value, (list, tuple, np.ndarray)):
                return f'"[{", ".join(map(str, value))}]"'
            return value

        if self.keys is None:
            self.keys = sorted(logs)
            # With validation only every few epochs, the first row may lack
            # the val_ keys: reserve their columns now.
            if not any(key.startswith("val_") for key in self.keys):
                self.keys += ["val_" + key for key in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.sep, lineterminator="\n")
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict(epoch=epoch)
        row.update((key, cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None
