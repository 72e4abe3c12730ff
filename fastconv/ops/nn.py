"""`keras.ops.nn`: activations, convolution and pooling, encodings, cross-entropies and
normalization, gathered from the modules that define them."""

from fastconv.ops.nn_activations import *  # noqa: F401,F403
from fastconv.ops.nn_activations import __all__ as _activations
from fastconv.ops.nn_conv import *  # noqa: F401,F403
from fastconv.ops.nn_conv import __all__ as _conv
from fastconv.ops.nn_losses import *  # noqa: F401,F403
from fastconv.ops.nn_losses import __all__ as _losses

__all__ = [*_activations, *_conv, *_losses]
