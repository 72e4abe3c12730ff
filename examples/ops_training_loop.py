"""A CNN trained on MNIST with NumPy and fastconv.ops only: every forward and backward by hand.

Run:  FASTCONV_DATA=/path/to/data python examples/ops_training_loop.py    (2 epochs, ~98% test accuracy)
      python examples/ops_training_loop.py --quick                         (60 steps, seconds)

The network is conv(3x3, 16) -> ReLU -> max-pool 2 -> conv(3x3, 32) -> ReLU -> max-pool 2
-> dense(10) -> softmax, trained with Adam on the cross-entropy. Arrays are NHWC float32;
a conv kernel is (KH, KW, C_in, C_out). fastconv does the convolutions, the pooling, the
dense layer's products and the Adam update; NumPy does the rest.
"""
import argparse
import math

import numpy as np

import fastconv
from fastconv import ops

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="60 steps on 1,920 images")
quick = parser.parse_args().quick

(x_train, y_train), (x_test, y_test) = fastconv.datasets.mnist.load_data()
if quick:
    x_train, y_train, x_test, y_test = x_train[:1920], y_train[:1920], x_test[:1000], y_test[:1000]
x_train = x_train[..., None].astype(np.float32) / 255.0   # (N, 28, 28, 1)
x_test = x_test[..., None].astype(np.float32) / 255.0

rng = np.random.default_rng(0)


def he_normal(*shape, fan_in):
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)


params = {
    "k1": he_normal(3, 3, 1, 16, fan_in=9), "b1": np.zeros(16, np.float32),
    "k2": he_normal(3, 3, 16, 32, fan_in=144), "b2": np.zeros(32, np.float32),
    "w3": he_normal(7 * 7 * 32, 10, fan_in=7 * 7 * 32), "b3": np.zeros(10, np.float32),
}


def forward(x):
    """Returns the logits and what the backward pass needs."""
    a1 = ops.conv2d(x, params["k1"], params["b1"], padding="same", activation="relu")
    p1 = ops.max_pool2d(a1, 2)                               # (N, 14, 14, 16)
    a2 = ops.conv2d(p1, params["k2"], params["b2"], padding="same", activation="relu")
    p2 = ops.max_pool2d(a2, 2)                               # (N, 7, 7, 32)
    flat = p2.reshape(len(x), -1)
    logits = ops.matmul(flat, params["w3"], params["b3"])    # (N, 10)
    return logits, (x, a1, p1, a2, p2, flat)


def backward(dlogits, saved):
    """Gradients of every parameter, given d(loss)/d(logits)."""
    x, a1, p1, a2, p2, flat = saved
    grads = {"w3": ops.matmul(flat.T, dlogits), "b3": dlogits.sum(axis=0)}
    dp2 = ops.matmul(dlogits, params["w3"].T).reshape(p2.shape)
    # relu=True: the gradient goes through the pooling and the ReLU before it in one pass.
    dz2 = ops.max_pool2d_backward(dp2, a2, 2, relu=True)
    dp1, grads["k2"], grads["b2"] = ops.conv2d_backward(dz2, p1, params["k2"], padding="same")
    dz1 = ops.max_pool2d_backward(dp1, a1, 2, relu=True)
    # The first layer needs no input gradient.
    _, grads["k1"], grads["b1"] = ops.conv2d_backward(dz1, x, params["k1"], padding="same",
                                                      compute_dx=False)
    return grads


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy and its gradient w.r.t. the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(len(labels)), labels].mean()
    dlogits = np.exp(log_p)
    dlogits[np.arange(len(labels)), labels] -= 1.0
    return loss, dlogits / len(labels)


# Adam, with Keras's defaults: ops.adam_update updates a parameter and its moments in place.
learning_rate, beta_1, beta_2, epsilon = 1e-3, 0.9, 0.999, 1e-7
moments = {name: (np.zeros_like(p), np.zeros_like(p)) for name, p in params.items()}

batch_size, epochs = 32, 1 if quick else 2
step = 0
for epoch in range(epochs):
    order = rng.permutation(len(x_train))
    for start in range(0, len(order) - batch_size + 1, batch_size):
        batch = order[start:start + batch_size]
        logits, saved = forward(x_train[batch])
        loss, dlogits = softmax_cross_entropy(logits, y_train[batch])
        grads = backward(dlogits, saved)
        step += 1
        alpha = learning_rate * math.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
        for name, p in params.items():
            m, v = moments[name]
            ops.adam_update(p, m, v, grads[name], alpha=alpha, beta_1=beta_1, beta_2=beta_2,
                            epsilon=epsilon)
        if step % 50 == 0:
            print(f"epoch {epoch + 1} step {step}: loss {loss:.4f}")

predictions = np.concatenate([forward(x_test[i:i + 500])[0].argmax(axis=1)
                              for i in range(0, len(x_test), 500)])
print(f"test accuracy {np.mean(predictions == y_test):.4f} after {step} steps")
