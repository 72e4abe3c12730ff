"""Activation functions by Keras name, each with the backward pass the layers use.

Every activation here can be differentiated from its own output `y`, so a layer
keeps only `y` for the backward pass: `backward(activation, dy, y)` returns
dL/dx given dL/dy. Everything is vectorized NumPy and keeps the input's float
dtype.
"""

import numpy as np

from fastconv import ops

__all__ = ["relu", "sigmoid", "softmax", "tanh", "linear", "get", "serialize", "backward"]


def relu(x):
    """Rectified linear unit: `max(x, 0)`.

    Example:
        >>> relu(np.array([-1.0, 0.0, 2.0]))
        array([0., 0., 2.])
    """
    return np.maximum(x, 0)


def sigmoid(x):
    """Logistic sigmoid `1 / (1 + exp(-x))`, computed without overflow.

    Example:
        >>> sigmoid(np.array([0.0]))
        array([0.5])
    """
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def softmax(x, axis=-1):
    """Softmax along `axis` (the last by default), shifted by the max for stability.

    Example:
        >>> softmax(np.array([[0.0, 0.0]]))
        array([[0.5, 0.5]])
    """
    if type(x) is np.ndarray:  # the ufuncs np.max and np.sum reach, without their wrappers
        e = np.exp(x - np.maximum.reduce(x, axis=axis, keepdims=True))
        e /= np.add.reduce(e, axis=axis, keepdims=True)
        return e
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def tanh(x):
    """Hyperbolic tangent."""
    return np.tanh(x)


def linear(x):
    """Identity (Keras's `linear`; also what `activation=None` means)."""
    return x


def _relu_backward(dy, y):
    return ops.relu_backward(dy, y)


def _sigmoid_backward(dy, y):
    return dy * y * (1 - y)


def _softmax_backward(dy, y, axis=-1):
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))


def _tanh_backward(dy, y):
    return dy * (1 - y * y)


def _linear_backward(dy, y):
    return dy


_BY_NAME = {
    "relu": relu,
    "sigmoid": sigmoid,
    "softmax": softmax,
    "tanh": tanh,
    "linear": linear,
}
_BACKWARD = {
    relu: _relu_backward,
    sigmoid: _sigmoid_backward,
    softmax: _softmax_backward,
    tanh: _tanh_backward,
    linear: _linear_backward,
}


def get(identifier):
    """Resolves an activation from a name, one of this module's functions, or None.

    Args:
        identifier: "relu", "sigmoid", "softmax", "tanh", "linear", None
            (= linear), a dict `{"class_name": name}` as Keras serializes it,
            or one of those functions.

    Returns:
        The activation function.

    Raises:
        ValueError: for an unknown name or a custom callable (fastconv needs
            the activation's analytic gradient).

    Example:
        >>> get("relu") is relu, get(None) is linear
        (True, True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        identifier = identifier.get("config", identifier.get("class_name"))
        if isinstance(identifier, dict):
            identifier = identifier.get("name")
    if isinstance(identifier, str):
        function = _BY_NAME.get(identifier.lower())
        if function is None:
            raise ValueError(
                f"Unknown activation: {identifier!r}. Expected one of "
                f"{sorted(_BY_NAME)} or None. Received: activation={identifier!r}"
            )
        return function
    if identifier in _BACKWARD:
        return identifier
    raise ValueError(
        "Could not interpret activation identifier: expected one of "
        f"{sorted(_BY_NAME)}, None or one of fastconv.activations' functions "
        f"(custom functions have no known gradient). Received: activation={identifier!r}"
    )


def serialize(activation):
    """The Keras name of an activation function, e.g. "relu"."""
    return activation.__name__


def backward(activation, dy, y):
    """dL/dx of `y = activation(x)`, given dL/dy and the saved output `y`.

    Example:
        >>> backward(relu, np.array([1.0, 1.0]), np.array([0.0, 3.0]))
        array([0., 1.])
    """
    return _BACKWARD[activation](dy, y)
