"""One forward / backward pass of a compiled model through the executor, for gradient tests."""

import numpy as np


def forward(model, x, training=False):
    """The model's output for `x` from a fresh run."""
    x = np.asarray(x)
    return model._new_run(x, reuse_buffers=False).forward(x, training=training)


def forward_backward(model, x, y, sample_weight=None):
    """Runs a training forward and backward pass; returns (y_pred, run).

    `run.grads_and_vars()` then gives the (gradient, weight) pairs the optimizer would get.
    """
    x = np.asarray(x)
    run = model._new_run(x, reuse_buffers=False)
    y_pred = run.forward(x, training=True)
    _, _, output_grad = model._compiled_loss.values_and_gradient(y, y_pred, sample_weight,
                                                                 run.plan.fused_output)
    run.backward(output_grad)
    return y_pred, run


def fused_output(model, x):
    """Whether the model's plan for `x` fuses the output activation with the loss."""
    x = np.asarray(x)
    return model._new_run(x, reuse_buffers=False).plan.fused_output
