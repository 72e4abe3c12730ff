"""`TerminateOnNaN`: stop as soon as a batch's loss is not finite."""

import numpy as np

from fastconv.callbacks.callback import Callback
from fastconv.utils.io_utils import print_msg


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
