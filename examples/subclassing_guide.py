"""The keras.io guide "Making new layers and models via subclassing", run with fastconv.

The guide is by fchollet (keras.io, Apache License 2.0); its programs are kept as a Keras user
writes them, which is the point: they must run on fastconv with only the import changed.

Run:  FASTCONV_DATA=/path/to/data python examples/subclassing_guide.py   (the VAE on MNIST)
      python examples/subclassing_guide.py --quick                       (random images, seconds)

Every section of the guide that needs no TensorFlow-only API and no download, as the guide
writes it but for `import fastconv as keras` (`keras.random` with a SeedGenerator included).
Adapted: the guide's `tf.GradientTape` training loop of the VAE is written with
`fastconv.autodiff.GradientTape`; MNIST comes from FASTCONV_DATA (or random images with
--quick). Left out: backend-specific layers, `mask` (fastconv layers carry no masks), and the
functional VAE's symbolic `add_loss` (Keras 3 dropped it too).
"""
import argparse

import numpy as np

import fastconv as keras
from fastconv import layers, ops
from fastconv.autodiff import GradientTape

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="random images, one short epoch")
quick = parser.parse_args().quick
rng = np.random.default_rng(1337)


# -------------------------------------------------- the Layer class: state and computation
class Linear(keras.layers.Layer):
    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal",
                                 trainable=True)
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


x = ops.ones((2, 2))
linear_layer = Linear(4, 2)
y = linear_layer(x)
assert linear_layer.weights == [linear_layer.w, linear_layer.b]
print("Linear(4, 2) on ones((2, 2)):", y.shape, "weights:", [w.path for w in linear_layer.weights])


# ------------------------------------------------------ layers can have non-trainable weights
class ComputeSum(keras.layers.Layer):
    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


x = ops.ones((2, 2))
my_sum = ComputeSum(2)
y = my_sum(x)
y = my_sum(x)
print("ComputeSum after two calls:", ops.convert_to_numpy(y).tolist())
assert len(my_sum.weights) == 1 and len(my_sum.non_trainable_weights) == 1
assert my_sum.trainable_weights == []


# ------------------------------------- deferring weight creation until the input shape is known
class Linear(keras.layers.Layer):  # noqa: F811 - the guide redefines it this way
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


linear_layer = Linear(32)
y = linear_layer(x)  # builds the weights on the first call
print("lazily built Linear(32):", linear_layer.w.shape)


# ------------------------------------------------------ layers are recursively composable
class MLPBlock(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = keras.activations.relu(x)
        x = self.linear_2(x)
        x = keras.activations.relu(x)
        return self.linear_3(x)


mlp = MLPBlock()
y = mlp(ops.ones(shape=(3, 64)))
print("weights:", len(mlp.weights), "trainable weights:", len(mlp.trainable_weights))
assert len(mlp.weights) == 6 and len(mlp.trainable_weights) == 6


# ------------------------------------------------------------------- the add_loss() method
class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


class OuterLayer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.activity_reg = ActivityRegularizationLayer(1e-2)

    def call(self, inputs):
        return self.activity_reg(inputs)


layer = OuterLayer()
assert len(layer.losses) == 0  # no losses yet since the layer has never been called
_ = layer(ops.zeros((1, 1)))
assert len(layer.losses) == 1  # we created one loss value
_ = layer(ops.zeros((1, 1)))
assert len(layer.losses) == 1  # `layer.losses` gets reset at the start of each __call__
print("OuterLayer.losses after two calls:", len(layer.losses))

inputs = keras.Input(shape=(3,))
outputs = ActivityRegularizationLayer()(inputs)
model = keras.Model(inputs, outputs)
# If there is a loss passed in `compile`, the regularization losses get added to it
model.compile(optimizer="adam", loss="mse")
model.fit(rng.random((2, 3)), rng.random((2, 3)), verbose=0)
# It's also possible not to pass any loss in `compile`, since the model already has a loss
model.compile(optimizer="adam")
history = model.fit(rng.random((2, 3)), rng.random((2, 3)), verbose=0)
print("fit on the added loss only: loss", round(history.history["loss"][0], 6))


# ------------------------------------------------- enabling serialization on your layers
class Linear(keras.layers.Layer):  # noqa: F811
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


layer = Linear(64)
config = layer.get_config()
new_layer = Linear.from_config(config)
print("config round trip:", config["units"] == new_layer.units)


# -------------------------------------------- the privileged training argument in call()
class CustomDropout(keras.layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
        return inputs


dropout = CustomDropout(0.5)
ones = ops.ones((4, 8))
print("CustomDropout: inference keeps all:", bool(np.all(dropout(ones) == 1.0)),
      "training zeroes some:", bool(np.any(dropout(ones, training=True) == 0.0)))


# ------------------------------------------------------- putting it all together: a VAE
class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class Encoder(layers.Layer):
    """Maps MNIST digits to a triplet (z_mean, z_log_var, z)."""

    def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(layers.Layer):
    """Converts z, the encoded digit vector, back into a readable digit."""

    def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        x = self.dense_proj(inputs)
        return self.dense_output(x)


class VariationalAutoEncoder(keras.Model):
    """Combines the encoder and decoder into an end-to-end model for training."""

    def __init__(self, original_dim, intermediate_dim=64, latent_dim=32,
                 name="autoencoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        # Add KL divergence regularization loss.
        kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl_loss)
        return reconstructed


if quick:
    x_train = rng.random((256, 784)).astype("float32")
else:
    (x_train, _), _ = keras.datasets.mnist.load_data()
    x_train = x_train.reshape(60000, 784).astype("float32") / 255

original_dim = 784
vae = VariationalAutoEncoder(original_dim, 64, 32)

# The guide's own training loop (tf.GradientTape there, fastconv's tape here).
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
mse_loss_fn = keras.losses.MeanSquaredError()
loss_metric = keras.metrics.Mean()
batch_size = 64
steps = 4 if quick else 300
for step in range(steps):
    x_batch_train = x_train[step * batch_size:(step + 1) * batch_size]
    with GradientTape() as tape:
        reconstructed = vae(x_batch_train)
        loss = mse_loss_fn(x_batch_train, reconstructed)
        loss += sum(vae.losses)  # Add KLD regularization loss
    grads = tape.gradient(loss, vae.trainable_weights)
    optimizer.apply(grads, vae.trainable_weights)
    loss_metric.update_state([float(loss)])
    if step % 100 == 0 or step == steps - 1:
        print(f"step {step}: mean loss = {loss_metric.result():.4f}")

# Since the VAE subclasses Model, it also trains with the built-in loops.
vae = VariationalAutoEncoder(784, 64, 32)
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
vae.compile(optimizer, loss=keras.losses.MeanSquaredError())
history = vae.fit(x_train, x_train, epochs=1 if quick else 2, batch_size=64, verbose=0)
print("vae.fit loss per epoch:", [round(value, 4) for value in history.history["loss"]])
print("subclassing guide: done")
