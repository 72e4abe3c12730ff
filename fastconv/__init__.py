"""fastconv: fast CPU conv2d and pooling for NumPy, with a Keras-style API."""

from fastconv._version import __version__
from fastconv._config import get_num_threads, set_num_threads, show_config
from fastconv import ops

__all__ = ["__version__", "get_num_threads", "set_num_threads", "show_config", "ops"]
