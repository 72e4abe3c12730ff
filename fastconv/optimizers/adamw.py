"""`AdamW`: Adam with decoupled weight decay."""

from fastconv.optimizers.adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter).

    Each step first does `var -= var * weight_decay * lr`, then the Adam step.

    Args:
        learning_rate: a float >= 0 (default 0.001) or a schedule.
        weight_decay: the decay rate (default 0.004).
        beta_1, beta_2, epsilon, amsgrad: as in `Adam`.
        **kwargs: the base options (see `Optimizer`).
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float for AdamW. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name,
                         weight_decay=weight_decay, **kwargs)
