"""The gradient tape: what was computed from what, and the backward walk over it.

While a `GradientTape` records, every differentiable op whose arguments include a
`Variable` or a value the tape produced (a `Traced` array) adds a `Node`: its parents and
its vector-Jacobian product. `gradient()` walks the nodes in reverse creation order, which
is a reverse topological order because a node's parents always exist before it.
"""

import contextlib
import contextvars
import itertools

import numpy as np

__all__ = ["GradientTape", "active_tape", "stop_recording", "unbroadcast"]

_active = contextvars.ContextVar("fastconv_active_tape", default=None)
_sequence = itertools.count()


def active_tape():
    """The innermost recording tape of this thread/context, or None."""
    return _active.get()


@contextlib.contextmanager
def stop_recording():
    """No tape records inside (a layer whose hand-written backward pass stands for what it
    computes, or a value computed only for its shape)."""
    token = _active.set(None)
    try:
        yield
    finally:
        _active.reset(token)


def unbroadcast(grad, shape):
    """`grad` summed over the axes NumPy broadcast to reach it from `shape`."""
    grad = np.asarray(grad)
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    kept = tuple(axis for axis, dim in enumerate(shape) if dim == 1 and grad.shape[axis] != 1)
    if kept:
        grad = grad.sum(axis=kept, keepdims=True)
    return grad.reshape(shape)


class Node:
    """One recorded computation.

    Attributes:
        parents: for each positional input, the Node it came from (None: a constant).
        vjp: `vjp(grad_of_output) -> tuple of input grads` (None where not needed).
        shape, dtype: of the output, to shape zeros and cast gradients.
        order: creation order (the backward walk goes from high to low).
    """

    __slots__ = ("parents", "vjp", "shape", "dtype", "order", "source")

    def __init__(self, parents, vjp, shape, dtype, source=None):
        self.parents = parents
        self.vjp = vjp
        self.shape = tuple(shape)
        self.dtype = dtype
        self.order = next(_sequence)
        self.source = source  # the Variable or watched array of a leaf


class GradientTape:
    """Records differentiable ops so that gradients can be taken afterwards.

    Variables are watched automatically (as in TensorFlow); other arrays with `watch`.

    Args:
        persistent: whether `gradient` may be called more than once.

    Example:
        >>> import numpy as np
        >>> from fastconv import autodiff
        >>> x = np.array([1.0, 2.0, 3.0])
        >>> with autodiff.GradientTape() as tape:
        ...     x = tape.watch(x)
        ...     y = (x * x).sum()
        >>> tape.gradient(y, x)
        array([2., 4., 6.])
    """

    def __init__(self, persistent=False):
        self.persistent = bool(persistent)
        self._leaves = {}   # id(source) -> (source, Node)
        self._token = None
        self._used = False

    def __enter__(self):
        if self._token is not None:
            raise RuntimeError("A GradientTape cannot be entered twice at once.")
        self._token = _active.set(self)
        return self

    def __exit__(self, *exc):
        _active.reset(self._token)
        self._token = None
        return False

    @property
    def recording(self):
        return self._token is not None and _active.get() is self

    # ---------------------------------------------------------------- graph
    def leaf(self, source):
        """The leaf Node of a Variable or watched array (made on first use)."""
        entry = self._leaves.get(id(source))
        if entry is None:
            array = np.asarray(source)
            node = Node((), None, array.shape, array.dtype, source)
            self._leaves[id(source)] = entry = (source, node)
        return entry[1]

    def watch(self, array):
        """Starts following `array`; returns the traced value to compute with.

        A NumPy array is not an object the tape can follow through later NumPy calls,
        so compute with the returned value (pass it to `gradient` as a source too).
        """
        from fastconv.autodiff.traced import Traced, node_of
        if node_of(array, self) is not None:
            return array
        array = np.asarray(array)
        if array.dtype.kind != "f":
            raise TypeError("GradientTape.watch expects a floating-point array. "
                            f"Received: dtype={array.dtype}")
        traced = array.view(Traced)
        traced._bind(self.leaf(traced), self)
        return traced

    def node_for(self, value):
        """The Node `value` is on this tape, or None (a constant)."""
        from fastconv.autodiff.traced import node_of
        return node_of(value, self)

    # ------------------------------------------------------------- gradient
    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d(target)/d(sources), summed over the target's elements (or weighted by
        `output_gradients`).

        Args:
            target: a value computed under the tape.
            sources: a Variable or traced array, or a (nested) list/tuple/dict of them.
            output_gradients: dL/d(target) (default: ones).
            unconnected_gradients: "none" (None for sources the target does not depend
                on, as TensorFlow) or "zero".

        Returns:
            Gradients with the structure of `sources`, as plain ndarrays.
        """
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError("Argument `unconnected_gradients` must be 'none' or 'zero'. "
                             f"Received: unconnected_gradients={unconnected_gradients!r}")
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients; create it with persistent=True for more.")
        self._used = True
        grads = self._backward(target, output_gradients)

        def lookup(source):
            if isinstance(source, (list, tuple)):
                return type(source)(lookup(s) for s in source)
            if isinstance(source, dict):
                return {key: lookup(value) for key, value in source.items()}
            node = self.node_for(source)
            grad = None if node is None else grads.get(node)
            if grad is None and unconnected_gradients == "zero":
                grad = np.zeros(np.shape(source), np.asarray(source).dtype)
            return grad

        return lookup(sources)

    def _backward(self, target, output_gradients):
        root = self.node_for(target)
        if root is None:
            return {}
        if output_gradients is None:
            seed = np.ones(root.shape, root.dtype)
        else:
            seed = np.asarray(output_gradients)
            if seed.shape != root.shape:
                raise ValueError("`output_gradients` must have the target's shape. Received: "
                                 f"output_gradients.shape={seed.shape}, target.shape={root.shape}")
        # Reachable nodes, then one pass in reverse creation order.
        reachable, stack = {root}, [root]
        while stack:
            for parent in stack.pop().parents:
                if parent is not None and parent not in reachable:
                    reachable.add(parent)
                    stack.append(parent)
        grads = {root: np.asarray(seed, root.dtype)}
        for node in sorted(reachable, key=lambda n: n.order, reverse=True):
            grad = grads.get(node)
            if grad is None or node.vjp is None:
                continue
            input_grads = node.vjp(grad)
            for parent, input_grad in zip(node.parents, input_grads):
                if parent is None or input_grad is None:
                    continue
                input_grad = unbroadcast(input_grad, parent.shape).astype(parent.dtype, copy=False)
                previous = grads.get(parent)
                grads[parent] = input_grad if previous is None else previous + input_grad
            if not self.persistent:
                node.vjp = None  # free what the closure holds once it has been used
        return grads
