"""One training step and one inference batch of the tutorial and large CNNs: fastconv vs PyTorch.

Before timing, the two networks are given the same weights (fastconv's, converted to PyTorch's
layouts) and must predict the same class probabilities on the same images, so both time the
same arithmetic. Training steps run on a fixed batch (batch 32 for the tutorial CNN, 100 for the
large one); fastconv through `train_on_batch`, PyTorch as zero_grad/forward/backward/step.
train_compare.py gives the interleaved, whole-epoch view of the same comparison.
"""

import numpy as np
import pytest

import train_compare

MODELS = ("tutorial", "large")
PREDICT_BATCH = 256


def _copy_weights_to_torch(model, net, torch):
    """net's parameters := model's, converted: conv HWIO -> OIHW, dense (in, out) -> (out, in);
    the first dense layer after Flatten also reorders its rows from NHWC to NCHW flattening."""
    flat_shape = None
    torch_params = [p for p in net.parameters()]
    weights = []
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Conv2D":
            weights += [layer.kernel.transpose(3, 2, 0, 1), layer.bias]
            flat_shape = None
        elif name == "MaxPooling2D":
            continue
        elif name == "Flatten":
            flat_shape = layer.input_shape[1:]  # (H, W, C)
        elif name == "Dense":
            kernel = layer.kernel
            if flat_shape is not None:  # rows in (H, W, C) order -> (C, H, W) order
                h, w, c = flat_shape
                kernel = kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
                flat_shape = None
            weights += [kernel.T, layer.bias]
    assert len(weights) == len(torch_params)
    with torch.no_grad():
        for param, value in zip(torch_params, weights):
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))


@pytest.fixture(scope="module", params=MODELS)
def networks(request, torch_module):
    name = request.param
    _, _, batch = train_compare.MODELS[name]
    rng = np.random.default_rng(0)
    x = rng.random((PREDICT_BATCH, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, PREDICT_BATCH).astype(np.uint8)
    model = train_compare.build_fastconv(name)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    net = None
    if torch_module is not None:
        net = train_compare.build_torch(name, torch_module)
        _copy_weights_to_torch(model, net, torch_module)
        net.eval()
        with torch_module.no_grad():
            logits = net(torch_module.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))))
            theirs = torch_module.softmax(logits, dim=1).numpy()
        ours = model.predict(x, batch_size=PREDICT_BATCH)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    return name, batch, x, y, model, net


def test_train_step(benchmark, networks, impl, torch_module):
    name, batch, x, y, model, net = networks
    benchmark.group = f"train step {name} batch {batch}"
    if impl == "fastconv":
        benchmark(model.train_on_batch, x[:batch], y[:batch])
        return
    if net is None:
        pytest.skip("PyTorch not installed (optional)")
    torch = torch_module
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x[:batch].transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y[:batch].astype(np.int64))

    def step():
        optimizer.zero_grad()
        loss = loss_fn(net(xt), yt)
        loss.backward()
        optimizer.step()

    net.train()
    benchmark(step)


def test_predict(benchmark, networks, impl, torch_module):
    name, _, x, _, model, net = networks
    benchmark.group = f"predict {name} batch {PREDICT_BATCH}"
    if impl == "fastconv":
        benchmark(model.predict, x, batch_size=PREDICT_BATCH)
        return
    if net is None:
        pytest.skip("PyTorch not installed (optional)")
    torch = torch_module
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    net.eval()

    def predict():
        with torch.no_grad():
            return net(xt)

    benchmark(predict)


@pytest.fixture(params=("fastconv", "torch"))
def impl(request):
    return request.param
