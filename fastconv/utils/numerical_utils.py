"""`to_categorical`: one-hot encoding of integer class labels."""

import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encodes integer class labels.

    Args:
        y: integer labels (any int dtype, or floats holding integers), of
            any shape; a trailing axis of size 1, as in `(n, 1)`, is dropped
            (Keras semantics).
        num_classes: the number of classes; defaults to `max(y) + 1`.
        dtype: the output dtype.

    Returns:
        An array of shape `y.shape + (num_classes,)` (after dropping a
        trailing 1), with a 1 at each label's index.

    Raises:
        ValueError: for non-integer or negative labels, or labels
            `>= num_classes`.

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"`y` must hold integer class labels. Received: y.dtype={y.dtype}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.floor(y)):
            raise ValueError("`y` must hold integer class labels; it holds non-integer values.")
    shape = y.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = y.reshape(-1).astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"Class labels must be >= 0. Received: min(y)={labels.min()}")
    if num_classes is None or num_classes == 0:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 0:
        raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"Class labels must be < num_classes={num_classes}. Received: max(y)={labels.max()}"
        )
    categorical = np.zeros((labels.size, int(num_classes)), dtype=dtype)
    categorical[np.arange(labels.size), labels] = 1
    return categorical.reshape(shape + (int(num_classes),))
