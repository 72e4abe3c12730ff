"""Broadcast, allreduce and allgather of NumPy arrays across the ranks of the job.

Every rank must call these functions in the same order with arrays of the same shapes and dtypes.
They check that first (one small message) and raise the same ValueError on every rank when it
does not hold, instead of letting MPI truncate a message or hang. In a 1-rank job they only
check their arguments.
"""

import numpy as np

from fastconv.distributed import failures, runtime

_OPS = ("mean", "sum")


def _check_array(function, name, array, writable):
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{function} expects a NumPy array. Received: {name} of type "
                        f"{type(array).__name__}")
    if array.dtype.kind not in "fiu" or not array.dtype.isnative:
        raise TypeError(f"{function} supports native-byte-order float and integer arrays. "
                        f"Received: {name}.dtype={array.dtype}")
    if writable and not (array.flags.c_contiguous and array.flags.writeable):
        raise ValueError(f"{function} writes into `{name}` in place, so it must be a writable "
                         f"C-contiguous array (np.ascontiguousarray makes one). Received: "
                         f"{name} with shape={array.shape}, strides={array.strides}, "
                         f"writeable={array.flags.writeable}")


def check_same_on_every_rank(comm, function, arrays):
    """Raises the same ValueError on every rank unless all ranks hold arrays of the same shapes
    and dtypes (one allgather of the shapes)."""
    signatures = comm.allgather([(array.shape, array.dtype.str) for array in arrays])
    for other, signature in enumerate(signatures):
        if signature != signatures[0]:
            raise ValueError(
                f"{function}: every rank must pass arrays of the same shapes and dtypes. "
                f"Received: (shape, dtype) {signatures[0]} on rank 0 and {signature} on rank "
                f"{other}"
            )


def _check_root(function, root):
    size = runtime.size()
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or not 0 <= root < size:
        raise ValueError(f"{function}: `root` must be a rank in [0, {size - 1}]. "
                         f"Received: root={root!r}")
    return int(root)


def broadcast(array, root=0):
    """Copies `array` from rank `root` into `array` on every other rank, in place.

    Args:
        array: a writable C-contiguous NumPy array (float or integer) of the same shape and dtype
            on every rank.
        root: the rank whose values everyone receives.

    Returns:
        `array`, now holding rank `root`'s values.

    Raises:
        TypeError: `array` is not a numeric NumPy array.
        ValueError: `array` is not writable and C-contiguous, `root` is not a rank, or the ranks
            hold arrays of different shapes or dtypes.
    """
    comm = runtime.world("broadcast")
    _check_array("broadcast", "array", array, writable=True)
    root = _check_root("broadcast", root)
    if comm is not None:
        check_same_on_every_rank(comm, "broadcast", [array])
        comm.Bcast(array, root=root)
        failures.progress()
    return array


def allreduce(array, op="mean", out=None):
    """The element-wise mean or sum of `array` over all ranks.

    Args:
        array: a NumPy array of the same shape and dtype on every rank (float for "mean").
        op: "mean" or "sum".
        out: where to write the result: None for a new array, or a writable C-contiguous array of
            `array`'s shape and dtype. `out=array` reduces in place without a copy.

    Returns:
        The result (`out` when given); in a 1-rank job, a copy of `array`.

    Raises:
        TypeError: `array` is not a numeric NumPy array, or is an integer array with op="mean".
        ValueError: unknown `op`, an unusable `out`, or arrays of different shapes or dtypes on
            different ranks.

    Example:
        >>> import numpy as np
        >>> from fastconv import distributed
        >>> distributed.init()  # a 1-rank job without an MPI launcher: the result is a copy
        >>> distributed.allreduce(np.array([1.0, 2.5]), op="sum")
        array([1. , 2.5])
    """
    comm = runtime.world("allreduce")
    if op not in _OPS:
        raise ValueError(f"allreduce: `op` must be one of {_OPS}. Received: op={op!r}")
    _check_array("allreduce", "array", array, writable=False)
    if op == "mean" and array.dtype.kind != "f":
        raise TypeError(f"allreduce: op='mean' needs a float array (use op='sum' for integers). "
                        f"Received: array.dtype={array.dtype}")
    if out is None:
        out = np.array(array, order="C")
    else:
        _check_array("allreduce", "out", out, writable=True)
        if out.shape != array.shape or out.dtype != array.dtype:
            raise ValueError(f"allreduce: `out` must have `array`'s shape and dtype. Received: "
                             f"array {array.shape} {array.dtype}, out {out.shape} {out.dtype}")
        if out is not array:
            np.copyto(out, array)
    if comm is not None:
        from mpi4py import MPI

        check_same_on_every_rank(comm, "allreduce", [out])
        comm.Allreduce(MPI.IN_PLACE, out, op=MPI.SUM)
        failures.progress()
        if op == "mean":
            np.divide(out, comm.Get_size(), out=out)
    return out


def allgather(array):
    """Every rank's `array`, concatenated along the first axis in rank order.

    `predict` runs on each rank alone; to split a prediction, give each rank its share of the
    inputs and gather the outputs: `allgather(model.predict(x_share))`.

    Args:
        array: a NumPy array with at least one axis; the ranks' arrays may differ in their first
            axis only (a rank may hold 0 rows).

    Returns:
        A new array: rank 0's rows, then rank 1's, and so on (in a 1-rank job, a copy).

    Raises:
        TypeError: `array` is not a numeric NumPy array.
        ValueError: `array` has no axis, or the ranks' arrays differ in dtype or in an axis other
            than the first.

    Example:
        >>> import numpy as np
        >>> from fastconv import distributed
        >>> distributed.init()
        >>> distributed.allgather(np.array([[1, 2], [3, 4]]))  # a 1-rank job: a copy
        array([[1, 2],
               [3, 4]])
    """
    comm = runtime.world("allgather")
    _check_array("allgather", "array", array, writable=False)
    if array.ndim == 0:
        raise ValueError("allgather concatenates along the first axis, so `array` needs one. "
                         "Received: array with shape=()")
    array = np.ascontiguousarray(array)
    if comm is None:
        return array.copy()
    signatures = comm.allgather((array.shape, array.dtype.str))
    for other, (shape, dtype) in enumerate(signatures):
        if shape[1:] != signatures[0][0][1:] or dtype != signatures[0][1]:
            raise ValueError(
                "allgather: every rank's array must have the same dtype and the same shape "
                f"after the first axis. Received: {signatures[0]} on rank 0 and "
                f"{(shape, dtype)} on rank {other}")
    rows = [shape[0] for shape, _ in signatures]
    out = np.empty((sum(rows),) + array.shape[1:], array.dtype)
    row_size = int(np.prod(array.shape[1:], dtype=np.int64))
    comm.Allgatherv(array, [out, [n * row_size for n in rows]])
    failures.progress()
    return out


def broadcast_variables(model_or_arrays, root=0):
    """Gives every rank rank `root`'s weights (and optimizer state), in place: a synchronized start.

    Args:
        model_or_arrays: a model (all its weights, trainable and not, and the state of its
            optimizer once that has taken a step) or a list of writable C-contiguous NumPy arrays.
        root: the rank whose values everyone receives.

    Raises:
        TypeError: an entry of the list is not a numeric NumPy array.
        ValueError: an array is not writable and C-contiguous, or the ranks hold different shapes
            or dtypes (for instance a model built on one rank only, or an optimizer that has taken
            a step on one rank only).
    """
    comm = runtime.world("broadcast_variables")
    if hasattr(model_or_arrays, "weights"):
        arrays = list(model_or_arrays.weights)
        optimizer = getattr(model_or_arrays, "optimizer", None)
        state = optimizer.variables() if optimizer is not None and optimizer.built else []
    else:
        arrays, optimizer, state = list(model_or_arrays), None, []
    for i, array in enumerate(arrays + state):
        _check_array("broadcast_variables", f"array {i}", array, writable=True)
    root = _check_root("broadcast_variables", root)
    if comm is None:
        return
    check_same_on_every_rank(comm, "broadcast_variables", arrays + state)
    for array in arrays + state:
        comm.Bcast(array, root=root)
    failures.progress()
    if state:
        optimizer.set_variables(state)
