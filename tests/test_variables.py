"""Layer weights as `fastconv.Variable`s (Keras 3's variables and Tracker): names, paths,
assign/numpy, NumPy interop, tracking of sublayers and Variables in attributes, lists and
dicts, Keras's weight order, trainable propagation, and everything that consumed plain
weight arrays (get/set_weights, optimizers, saving) still working."""

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers


def test_add_weight_returns_a_named_variable():
    dense = layers.Dense(3, name="head")
    dense.build((None, 4))
    kernel, bias = dense.weights
    assert isinstance(kernel, keras.Variable) and keras.Variable is keras.autodiff.Variable
    assert (kernel.name, kernel.path, kernel.shape, kernel.dtype) == (
        "kernel", "head/kernel", (4, 3), np.float32)
    assert bias.path == "head/bias" and bias.trainable
    assert isinstance(np.asarray(kernel), np.ndarray) and type(kernel.numpy()) is np.ndarray
    kernel.assign(np.ones((4, 3)))
    np.testing.assert_array_equal(dense.kernel.value, np.ones((4, 3)))
    with pytest.raises(ValueError, match="shape"):
        kernel.assign(np.ones((3, 4)))


def test_add_weight_keras_signature():
    class Scale(layers.Layer):
        def build(self, input_shape):
            # positional shape first, Keras 3's argument names, default initializer
            self.scale = self.add_weight((input_shape[-1],), initializer="ones", name="scale")
            self.count = self.add_weight(shape=(), dtype="int32", trainable=False,
                                         name="count")
            self.free = self.add_variable((2,), "zeros")

        def call(self, x):
            return x * self.scale

    layer = Scale(name="scale_layer")
    out = layer(np.full((2, 3), 2.0))
    np.testing.assert_array_equal(out, np.full((2, 3), 2.0))
    assert layer.built
    assert [w.name for w in layer.weights] == ["scale", "variable_2", "count"]
    assert layer.count.dtype == np.int32 and layer.count.shape == ()
    assert [w.name for w in layer.non_trainable_weights] == ["count"]
    penalized = layer.add_weight((2,), initializer="ones", regularizer=keras.regularizers.L2(0.5),
                                 name="penalized")
    assert isinstance(penalized, keras.Variable)
    assert layer.losses == [pytest.approx(1.0)]  # 0.5 * (1 + 1)
    with pytest.raises(TypeError, match="Unrecognized"):
        layer.add_weight((2,), bogus=1)


def test_get_weights_returns_plain_copies_and_set_weights_writes_in_place():
    dense = layers.Dense(2)
    dense.build((None, 3))
    copies = dense.get_weights()
    assert all(type(w) is np.ndarray for w in copies)
    copies[0][...] = 5.0
    assert not np.any(dense.kernel == 5.0)
    kernel = dense.kernel
    dense.set_weights([np.full((3, 2), 7.0), np.zeros(2)])
    assert dense.kernel is kernel and np.all(np.asarray(kernel) == 7.0)


class Block(layers.Layer):
    """Sublayers directly, in a list, in a dict, and a Variable attribute."""

    def __init__(self):
        super().__init__(name="block")
        self.first = layers.Dense(2, name="first")
        self.stack = [layers.Dense(2, name="in_list")]
        self.heads = {"a": layers.Dense(2, name="in_dict")}
        self.offset = keras.Variable(np.zeros(2, "float32"), name="offset")
        self.moving = keras.Variable(np.zeros(2, "float32"), trainable=False, name="moving")

    def build(self, input_shape):
        self.gain = self.add_weight((2,), initializer="ones", name="gain")

    def call(self, x):
        x = self.first(x) * self.gain + self.offset
        x = self.stack[0](x)
        return self.heads["a"](x)


def test_tracking_attributes_lists_dicts_in_keras_order():
    block = Block()
    block(np.ones((1, 3), "float32"))
    assert [layer.name for layer in block._sublayers()] == ["first", "in_list", "in_dict"]
    # Own Variables first (trainable, then not), then each sublayer's.
    assert [w.path for w in block.weights] == [
        "block/gain", "offset", "moving", "first/kernel", "first/bias",
        "in_list/kernel", "in_list/bias", "in_dict/kernel", "in_dict/bias"]
    assert [w.name for w in block.non_trainable_weights] == ["moving"]
    assert len(block.trainable_weights) == 8


def test_lists_appended_after_assignment_are_tracked():
    class Grow(layers.Layer):
        def __init__(self):
            super().__init__()
            self.blocks = []
            for units in (3, 2):
                self.blocks.append(layers.Dense(units))

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    grow = Grow()
    assert grow(np.ones((1, 4))).shape == (1, 2)
    assert len(grow.weights) == 4


def test_trainable_propagates_to_sublayers_and_variables():
    block = Block()
    block(np.ones((1, 3), "float32"))
    block.trainable = False
    assert block.trainable_weights == [] and not block.first.trainable
    assert len(block.non_trainable_weights) == 9
    block.trainable = True
    assert block.first.trainable and len(block.trainable_weights) == 8
    block.first.trainable = False
    assert [w.path for w in block.trainable_weights] == [
        "block/gain", "offset", "in_list/kernel", "in_list/bias", "in_dict/kernel",
        "in_dict/bias"]


def test_optimizers_update_variables_in_place_and_models_train():
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    kernel = model.layers[0].kernel
    before = kernel.numpy()
    model.fit(rng.standard_normal((16, 4)), rng.integers(0, 3, 16), epochs=1, verbose=0)
    assert model.layers[0].kernel is kernel and isinstance(kernel, keras.Variable)
    assert not np.allclose(kernel.numpy(), before)
    assert all(type(w) is np.ndarray for w in model.get_weights())


def test_saving_round_trip_with_variables(tmp_path):
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    expected = model.get_weights()
    model.layers[0].kernel.assign(np.zeros((4, 3)))
    model.load_weights(path)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(got, want)
    assert all(isinstance(w, keras.Variable) for w in model.weights)


def test_frozen_at_creation_and_float_inputs_cast_to_the_layer_dtype():
    class Affine(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1],), initializer="ones", name="w")

        def call(self, inputs):
            assert inputs.dtype == np.float64  # Keras autocasts float inputs
            return inputs * self.w

    layer = Affine(trainable=False, dtype="float64")
    out = layer(np.ones((2, 3), "float32"))
    assert out.dtype == np.float64 and layer.w.dtype == np.float64
    assert layer.trainable_weights == [] and layer.non_trainable_weights == [layer.w]
    layer.trainable = True
    assert layer.trainable_weights == [layer.w] and layer.w.trainable
