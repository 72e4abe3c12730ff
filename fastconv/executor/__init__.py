"""The executor: runs a model's forward and backward passes from a plan built once per input
signature (what Keras 3 delegates to its backend's compiled functions).

`Plan` (plan.py) is built once per model structure, input signature, trainable flags and
loss: the layer order, the gradient routing, and the fused passes. `Run` (run.py) executes
a plan and owns everything per-call (each layer's `CallState`: the activations kept for the
backward pass, the weight gradients, the reused buffers), so several runs of one model can
go on at once in different threads.
"""

from fastconv.executor.plan import Plan, plan_for
from fastconv.executor.run import Run

__all__ = ["Plan", "Run", "plan_for"]
