"""Live round trip between fastconv and real Keras 3 (JAX backend, CPU): .keras, .weights.h5, .h5.

For each model (between them every layer fastconv has, a graph with two named inputs, two
outputs, a shared layer and a nested model, and a custom layer registered in both libraries),
in both directions: one library builds, trains and saves it in the three formats; the other
loads each file and must predict the same (rtol 1e-5) and hold the same weights. The .keras and
.h5 files also carry the optimizer: the loaded step count must match, and one more training
step on the same batch in both libraries (models without random layers) must give the same
weights, which checks that the optimizer state (moments, velocities) and the regularization
carried over; the CNN does this once more for each optimizer fastconv has. Run by
.ci/keras_roundtrip.sh in its own environment; one line a check.
"""

import os
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

import fastconv  # noqa: E402
import keras  # noqa: E402

RTOL, ATOL = 1e-5, 1e-6
STEP_RTOL, STEP_ATOL = 1e-4, 1e-5  # one further training step: float32 sums in two libraries


def cnn(K, dropout=True):
    """The tutorial CNN: every layer kind a Keras CNN program uses."""
    layers = [
        K.Input(shape=(12, 12, 1)),
        K.layers.Rescaling(1 / 2.0),
        K.layers.Conv2D(4, 3, activation="relu", padding="same"),
        K.layers.BatchNormalization(),
        K.layers.MaxPooling2D(),
        K.layers.Conv2D(6, (3, 2), strides=(1, 2), activation="relu"),
        K.layers.AveragePooling2D(pool_size=2, strides=1),
        K.layers.Dropout(0.25) if dropout else None,
        K.layers.Flatten(),
        K.layers.Dense(8, activation="relu"),
        K.layers.Dense(3, activation="softmax"),
    ]
    return K.Sequential([layer for layer in layers if layer is not None], name="cnn")


def functional(K, dropout=True):
    """A branching functional model: merging layers, global pooling, activation layers."""
    inputs = K.Input(shape=(10, 10, 2), name="image")
    x = K.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    x = K.layers.BatchNormalization(center=False)(x)
    x = K.layers.ReLU()(x)
    y = K.layers.Conv2D(4, 1, padding="same", activation="relu")(inputs)
    x = K.layers.Add()([x, y])
    a = K.layers.GlobalAveragePooling2D()(x)
    b = K.layers.GlobalMaxPooling2D()(x)
    x = K.layers.Concatenate()([a, b, K.layers.Multiply()([a, b]), K.layers.Average()([a, b])])
    if dropout:
        x = K.layers.Dropout(0.1)(x)
    x = K.layers.Dense(5)(x)
    x = K.layers.Activation("tanh")(x)
    x = K.layers.Reshape((5, 1))(x)
    x = K.layers.Flatten()(x)
    outputs = K.layers.Dense(3)(x)
    outputs = K.layers.Softmax()(outputs)
    return K.Model(inputs, outputs, name="branches")


def every_layer(K, dropout=True):
    """Every other layer fastconv has, with non-default options; the random layers (the
    augmentations, Dropout) only in the variant that does not train in both libraries."""
    L = K.layers
    random = [L.RandomFlip("horizontal"), L.RandomRotation(0.1), L.RandomZoom(0.1),
              L.RandomTranslation(0.1, 0.1)] if dropout else []
    return K.Sequential([
        K.Input(shape=(8, 8, 2)), *random,
        L.Rescaling(0.5, offset=0.1),
        L.Conv2D(4, 3, padding="same", use_bias=False, dilation_rate=2),
        L.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.05),
        L.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
        L.AveragePooling2D(pool_size=(2, 2), padding="same"),
        L.Conv2D(4, 3, groups=2, activation="tanh", kernel_initializer="he_normal"),
        L.BatchNormalization(momentum=0.9, scale=False),
        L.Activation("sigmoid"),
        L.Reshape((4, 2, 2)),
        L.GlobalMaxPooling2D(keepdims=True),
        L.Flatten(),
        *([L.Dropout(0.25, noise_shape=(None, 1), seed=3)] if dropout else []),
        L.Dense(5, activation="relu"),
        L.Softmax(axis=-1),
    ], name="every_layer")


def graph(K, dropout=True):
    """The newer layers in a graph with two named inputs (one of token ids), two outputs, a
    shared layer called twice, a nested Sequential, weight and activity regularizers and a
    constraint."""
    L, R, C = K.layers, K.regularizers, K.constraints
    image = K.Input(shape=(8, 8, 3), name="image")
    tokens = K.Input(shape=(6,), dtype="int32", name="tokens")
    x = L.ZeroPadding2D(1)(image)
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1)(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same",
                          depthwise_regularizer=R.L2(1e-3))(x)
    x = L.SeparableConv2D(4, 3, activation="relu")(x)
    x = L.Cropping2D(((1, 0), (0, 1)))(x)
    x = L.UpSampling2D(2, interpolation="bilinear")(x)
    x = L.LayerNormalization()(x)
    if dropout:
        x = L.GaussianNoise(0.1)(L.SpatialDropout2D(0.1)(x))
    x = L.GlobalAveragePooling2D()(L.ELU()(L.PReLU()(L.LeakyReLU(negative_slope=0.2)(x))))
    e = L.Embedding(10, 4)(tokens)
    e = L.Conv1D(4, 3, padding="same", kernel_constraint=C.MaxNorm(2.0))(e)
    e = L.UpSampling1D(2)(L.Cropping1D((1, 1))(L.ZeroPadding1D(1)(L.MaxPooling1D(2)(e))))
    e = L.Permute((2, 1))(L.AveragePooling1D(2)(e))
    if dropout:
        e = L.SpatialDropout1D(0.1)(e)
    e = L.Dense(4, bias_regularizer=R.L1L2(1e-3, 1e-3))(L.GlobalMaxPooling1D()(e))
    shared = L.Dense(4, name="shared")
    a, b = shared(x), shared(e)
    s = L.Subtract()([L.Maximum()([a, b]), L.Minimum()([a, b])])
    r = L.Identity()(L.Flatten()(L.RepeatVector(2)(s)))
    # (No bias before BatchNormalization: its gradient is rounding noise, which Adam's
    # m / sqrt(v) would amplify differently in the two libraries.)
    tower = K.Sequential([K.Input(shape=(8,)), L.Dense(3, use_bias=False),
                          L.BatchNormalization(), L.Activation("relu")], name="tower")
    classes = L.Softmax()(L.Dense(3)(tower(r)))
    value = L.Dense(1, activity_regularizer=R.L1(1e-3))(L.Concatenate()(
        [L.Dot(axes=1)([a, b]), L.GlobalAveragePooling1D()(L.RepeatVector(3)(a))]))
    return K.Model({"image": image, "tokens": tokens}, [classes, value], name="graph")


def _scale_layer(K):
    """The same custom layer (one weight of its own) defined and registered in each library."""
    @K.saving.register_keras_serializable(package="roundtrip")
    class Scale(K.layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                         name="scale")

        def call(self, inputs):
            return inputs * self.scale
    return Scale


SCALE = {fastconv: _scale_layer(fastconv), keras: _scale_layer(keras)}


def custom(K, dropout=True):
    """A custom layer registered with register_keras_serializable, between built-in ones."""
    return K.Sequential([K.Input(shape=(12, 12, 1)), K.layers.Conv2D(3, 3, activation="relu"),
                         K.layers.GlobalAveragePooling2D(), SCALE[K](),
                         K.layers.Dense(3, activation="softmax")], name="custom")


MODELS = {"cnn": cnn, "functional": functional, "every_layer": every_layer, "graph": graph,
          "custom": custom}
OPTIMIZERS = {
    "cnn": lambda K: K.optimizers.Adam(learning_rate=0.01),
    "functional": lambda K: K.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    "every_layer": lambda K: K.optimizers.RMSprop(learning_rate=0.01, momentum=0.5,
                                                  centered=True),
    "graph": lambda K: K.optimizers.Adam(learning_rate=0.01),
    "custom": lambda K: K.optimizers.Adam(learning_rate=0.01),
}


# Each optimizer's state (its slots in Keras's variable order), on the CNN without Dropout.
OPTIMIZER_SWEEP = {
    "Nadam": lambda K: K.optimizers.Nadam(0.01),
    "AdamW": lambda K: K.optimizers.AdamW(0.01, weight_decay=0.01),
    "Adam(amsgrad)": lambda K: K.optimizers.Adam(0.01, amsgrad=True),
    "Adagrad": lambda K: K.optimizers.Adagrad(0.05),
    "RMSprop": lambda K: K.optimizers.RMSprop(0.01),
    "SGD(nesterov)": lambda K: K.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "SGD": lambda K: K.optimizers.SGD(0.05),
    "Adam(schedule)": lambda K: K.optimizers.Adam(
        K.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.9)),
}


def data(name, n=16, seed=0):
    rng = np.random.default_rng(seed)
    if name == "graph":
        x = {"image": rng.random((n, 8, 8, 3), dtype=np.float32),
             "tokens": rng.integers(0, 10, (n, 6)).astype(np.int32)}
        return x, [rng.integers(0, 3, n), rng.random((n, 1), dtype=np.float32)]
    shape = {"cnn": (n, 12, 12, 1), "functional": (n, 10, 10, 2), "every_layer": (n, 8, 8, 2),
             "custom": (n, 12, 12, 1)}
    return rng.random(shape[name], dtype=np.float32), rng.integers(0, 3, n)


def build(K, name, dropout=True):
    model = MODELS[name](K, dropout)
    if name == "graph":
        model.compile(optimizer=OPTIMIZERS[name](K),
                      loss=["sparse_categorical_crossentropy", "mse"],
                      loss_weights=[1.0, 0.5], metrics=[["accuracy"], []])
    else:
        model.compile(optimizer=OPTIMIZERS[name](K), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def train(model, name):
    x, y = data(name)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)


def predict(model, x):
    """The predictions as a list of arrays (one per output)."""
    result = model.predict(x, verbose=0)
    return [np.asarray(r) for r in (result if isinstance(result, list) else [result])]


def check(label, got, want, rtol=RTOL, atol=ATOL):
    assert len(got) == len(want), (label, len(got), len(want))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=label)
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(got, want))
    print(f"ok  {label}: max |diff| {worst:.2e}")


def check_weights(label, got, want):
    got, want = [np.asarray(w) for w in got], [np.asarray(w) for w in want]
    assert [w.shape for w in got] == [w.shape for w in want], (label, [w.shape for w in got])
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=label)
    print(f"ok  {label}: {len(got)} weight arrays equal")


def one_more_step(label, saver, loader, name):
    """The optimizer state carried over: the next step moves both models the same way."""
    x, y = data(name, n=8, seed=3)
    saver.train_on_batch(x, y)
    loader.train_on_batch(x, y)
    for a, b in zip(saver.get_weights(), loader.get_weights()):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=STEP_RTOL, atol=STEP_ATOL,
                                   err_msg=label)
    print(f"ok  {label}: weights agree after one more step from the loaded optimizer state")


def direction(source, target, name, folder, dropout):
    """`source` trains and saves; `target` loads and must agree."""
    tag = f"{source.__name__} -> {target.__name__}, {name}{'' if dropout else ' (no dropout)'}"
    model = build(source, name, dropout)
    train(model, name)
    x, _ = data(name, n=9, seed=1)
    want = predict(model, x)
    stem = os.path.join(folder, f"{source.__name__}-{name}-{int(dropout)}")
    model.save(stem + ".keras")
    model.save(stem + ".h5")
    model.save_weights(stem + ".weights.h5")
    for suffix in (".keras", ".h5"):
        loaded = target.models.load_model(stem + suffix)
        check(f"{tag}, {suffix} predictions", predict(loaded, x), want)
        check_weights(f"{tag}, {suffix} weights", loaded.get_weights(), model.get_weights())
        assert int(np.asarray(loaded.optimizer.iterations)) == int(
            np.asarray(model.optimizer.iterations)), (tag, suffix, "iterations")
        if not dropout and not (target is keras and suffix == ".h5"):
            # (Keras 3 cannot train a model it loaded from a legacy .h5 with its optimizer
            # state: its own files fail the same way on the JAX backend.)
            clone = target.models.load_model(stem + suffix)
            again = source.models.load_model(stem + ".keras")  # the saved state, trainable
            one_more_step(f"{tag}, {suffix} optimizer", again, clone, name)
    fresh = build(target, name, dropout)
    fresh.load_weights(stem + ".weights.h5")
    check(f"{tag}, .weights.h5 predictions", predict(fresh, x), want)


def main():
    print(f"keras {keras.__version__} ({keras.backend.backend()}), fastconv "
          f"{fastconv.__version__} from {os.path.dirname(fastconv.__file__)}")
    keras.utils.set_random_seed(0)
    fastconv.utils.set_random_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        for name in MODELS:
            for dropout in (True, False):
                direction(fastconv, keras, name, folder, dropout)
                direction(keras, fastconv, name, folder, dropout)
        cnn_optimizer = OPTIMIZERS["cnn"]
        for label, make in OPTIMIZER_SWEEP.items():
            print(f"--  optimizer {label}")
            OPTIMIZERS["cnn"] = make
            direction(fastconv, keras, "cnn", folder, dropout=False)
            direction(keras, fastconv, "cnn", folder, dropout=False)
        OPTIMIZERS["cnn"] = cnn_optimizer
    print("all round trips agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
