"""`primitive`: how a NumPy function becomes a differentiable op on the tape."""

import functools

import numpy as np

from fastconv.autodiff.tape import Node, active_tape

__all__ = ["primitive", "record", "plain"]


def plain(value):
    """`value` without tape tracking: a Traced array or Variable as a base ndarray view."""
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        from fastconv.autodiff.traced import TapeArray
        if isinstance(value, TapeArray):
            return value.view(np.ndarray)
    return value


def record(tape, outputs, args, vjp):
    """Puts one computation on `tape` and returns its outputs as traced values.

    Args:
        tape: the recording tape.
        outputs: the computed ndarray, or a tuple/list of them.
        args: the positional inputs (traced, Variables or constants), in `vjp`'s order.
        vjp: `vjp(g) -> one gradient per arg` for a single output, or
            `vjp(gs) -> ...` taking a tuple with one gradient per output for several.

    Returns:
        `outputs` with the floating-point arrays traced (unchanged when no arg is on the
        tape).
    """
    from fastconv.autodiff.traced import trace
    parents = tuple(tape.node_for(arg) for arg in args)
    if all(parent is None for parent in parents):
        return outputs
    if isinstance(outputs, (tuple, list)):
        outputs = [np.asarray(out) for out in outputs]
        shapes = [(out.shape, out.dtype) for out in outputs]

        def output_vjp(index):
            def one(g):
                gs = tuple(g if i == index else np.zeros(shape, dtype)
                           for i, (shape, dtype) in enumerate(shapes))
                return vjp(gs)
            return one

        # One node per output: each passes its gradient with zeros for the others, so the
        # backward walk needs no notion of several outputs (few ops have them).
        return type(outputs)(
            trace(out, Node(parents, output_vjp(i), out.shape, out.dtype), tape)
            if out.dtype.kind == "f" else out
            for i, out in enumerate(outputs))
    outputs = np.asarray(outputs)
    if outputs.dtype.kind != "f":
        return outputs
    return trace(outputs, Node(parents, vjp, outputs.shape, outputs.dtype), tape)


def primitive(vjp_maker):
    """Decorates `fn(*args, **static)` into a differentiable op.

    `vjp_maker(out, *args, **static)` is called with the plain output and plain inputs
    after the forward pass and returns `vjp(g) -> tuple of gradients`, one per positional
    argument (None for an argument that is not differentiable, such as an index array).
    Gradients may have a broadcast shape: the tape sums them back to the input's shape.
    Without a recording tape, or with no traced input, `fn` runs on plain arrays and
    returns plain arrays: an op costs one context-variable lookup more than NumPy.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            tape = active_tape()
            plain_args = [plain(arg) for arg in args]
            out = fn(*plain_args, **kwargs)
            if tape is None or all(tape.node_for(arg) is None for arg in args):
                return out
            return record(tape, out, args, vjp_maker(out, *plain_args, **kwargs))
        op.differentiable = True
        return op
    return decorate
