"""The keras.io guide "The Functional API", section by section, with `import fastconv as keras`.

Each test is one section of the guide, its code changed only in the import and where the
guide downloads data (CIFAR-10, VGG19's ImageNet weights: replaced by random arrays and a
small local CNN) or trains long (MNIST: a 6,000-digit subset here, the full run is `slow`).

Sections not here, and why:
- `plot_model` calls (need pydot and graphviz);
- "Models with multiple inputs and outputs" (needs the `LSTM` text layer;
  tests/test_graphs_multi_io.py runs the same compile and fit calls on Dense branches);
- "Extend the API using custom layers" and "Mix-and-match API styles" (custom layers whose
  `call` uses `keras.ops` and automatic gradients: not part of the graphs work).
"""

import os

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers

DATA = os.environ.get("FASTCONV_DATA")
needs_mnist = pytest.mark.skipif(
    not DATA or not os.path.isdir(os.path.join(DATA, "mnist")),
    reason="set FASTCONV_DATA to a folder holding mnist/",
)


def _mnist_model():
    inputs = keras.Input(shape=(784,))
    dense = layers.Dense(64, activation="relu")
    x = dense(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def test_introduction(capsys):
    inputs = keras.Input(shape=(784,))
    img_inputs = keras.Input(shape=(32, 32, 3))
    assert inputs.shape == (None, 784) and img_inputs.shape == (None, 32, 32, 3)
    assert inputs.dtype == "float32"
    model = _mnist_model()
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "mnist_model"' in out and "Total params: 55,050" in out


def _train_and_evaluate(samples):
    keras.utils.set_random_seed(0)
    model = _mnist_model()
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train.reshape(60000, 784).astype("float32") / 255
    x_test = x_test.reshape(10000, 784).astype("float32") / 255
    x_train, y_train = x_train[:samples], y_train[:samples]
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.RMSprop(),
        metrics=["accuracy"],
    )
    history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2,
                        verbose=0)
    test_scores = model.evaluate(x_test, y_test, verbose=2)
    print("Test loss:", test_scores[0])
    print("Test accuracy:", test_scores[1])
    return model, history, test_scores


@needs_mnist
def test_training_evaluation_and_inference_on_a_subset(tmp_path):
    model, history, test_scores = _train_and_evaluate(6000)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert test_scores[1] > 0.85, test_scores  # chance is 0.10
    # "Save and serialize": the file name has no extension, as in the guide.
    x = np.random.default_rng(0).random((5, 784)).astype("float32")
    expected = model.predict(x)
    path = str(tmp_path / "path_to_my_model")
    model.save(path)
    del model
    model = keras.models.load_model(path)
    np.testing.assert_array_equal(model.predict(x), expected)


@needs_mnist
@pytest.mark.slow
def test_training_evaluation_and_inference_as_written():
    _, _, test_scores = _train_and_evaluate(60000)
    assert test_scores[1] > 0.95, test_scores


def test_same_graph_of_layers_defines_two_models(capsys):
    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)

    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    encoder.summary()

    x = layers.Reshape((4, 4, 1))(encoder_output)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)

    autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
    autoencoder.summary()
    out = capsys.readouterr().out
    # Keras's counts: the encoder 18,672 parameters, the autoencoder 28,241.
    assert "Total params: 18,672" in out and "Total params: 28,241" in out
    assert autoencoder.output_shape == (None, 28, 28, 1)
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    # The two models share the encoder's layers (and so its weights).
    assert all(a is b for a, b in zip(encoder.weights, autoencoder.weights))
    assert autoencoder.predict(images).shape == (2, 28, 28, 1)


def test_all_models_are_callable_autoencoder(capsys):
    encoder_input = keras.Input(shape=(28, 28, 1), name="original_img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)

    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    encoder.summary()

    decoder_input = keras.Input(shape=(16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)

    decoder = keras.Model(decoder_input, decoder_output, name="decoder")
    decoder.summary()

    autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
    encoded_img = encoder(autoencoder_input)
    decoded_img = decoder(encoded_img)
    autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
    autoencoder.summary()
    out = capsys.readouterr().out
    assert "encoder (Functional)" in out and "decoder (Functional)" in out
    assert "Total params: 28,241" in out
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(autoencoder.predict(images),
                               decoder.predict(encoder.predict(images)), rtol=1e-5, atol=1e-6)
    # The nested models train inside the autoencoder.
    autoencoder.compile(optimizer="adam", loss="mse")
    before = encoder.get_weights()
    autoencoder.fit(images, images, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, encoder.get_weights()))


def test_all_models_are_callable_ensembling():
    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1)(inputs)
        return keras.Model(inputs, outputs)

    model1 = get_model()
    model2 = get_model()
    model3 = get_model()

    inputs = keras.Input(shape=(128,))
    y1 = model1(inputs)
    y2 = model2(inputs)
    y3 = model3(inputs)
    outputs = layers.average([y1, y2, y3])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)

    x = np.random.default_rng(0).random((4, 128)).astype("float32")
    expected = (model1.predict(x) + model2.predict(x) + model3.predict(x)) / 3
    np.testing.assert_allclose(ensemble_model.predict(x), expected, rtol=1e-5)
    assert len(ensemble_model.weights) == 6


def test_a_toy_resnet_model(capsys):
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])

    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)

    model = keras.Model(inputs, outputs, name="toy_resnet")
    model.summary()
    assert "Total params: 223,242" in capsys.readouterr().out  # Keras's count

    # CIFAR-10 is a download: random images and labels of its shapes instead.
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, size=(200, 32, 32, 3)).astype("float32") / 255.0
    y_train = keras.utils.to_categorical(rng.integers(0, 10, size=(200, 1)), 10)

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["acc"],
    )
    history = model.fit(x_train[:1000], y_train[:1000], batch_size=64, epochs=1,
                        validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "acc", "val_loss", "val_acc"}
    assert np.isfinite(history.history["loss"][0])


def test_shared_layers():
    # Embedding for 1000 unique words mapped to 128-dimensional vectors
    shared_embedding = layers.Embedding(1000, 128)

    # Variable-length sequence of integers
    text_input_a = keras.Input(shape=(None,), dtype="int32")

    # Variable-length sequence of integers
    text_input_b = keras.Input(shape=(None,), dtype="int32")

    # Reuse the same layer to encode both inputs
    encoded_input_a = shared_embedding(text_input_a)
    encoded_input_b = shared_embedding(text_input_b)

    assert encoded_input_a.shape == encoded_input_b.shape == (None, None, 128)
    model = keras.Model([text_input_a, text_input_b], [encoded_input_a, encoded_input_b])
    assert len(model.weights) == 1
    a, b = model.predict([np.array([[1, 2, 3]]), np.array([[3, 2, 1]])])
    np.testing.assert_array_equal(a[0, ::-1], b[0])


def test_extract_and_reuse_nodes_in_the_graph_of_layers():
    # VGG19's ImageNet weights are a download: a small CNN stands in for it.
    vgg19 = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(8, 3, activation="relu", padding="same", name="block1_conv1"),
        layers.MaxPooling2D(2, name="block1_pool"),
        layers.Conv2D(16, 3, activation="relu", padding="same", name="block2_conv1"),
        layers.GlobalAveragePooling2D(name="avg_pool"),
        layers.Dense(10, activation="softmax", name="predictions"),
    ])

    features_list = [layer.output for layer in vgg19.layers]
    feat_extraction_model = keras.Model(inputs=vgg19.input, outputs=features_list)

    img = np.random.random((1, 32, 32, 3)).astype("float32")
    extracted_features = feat_extraction_model(img)
    assert [f.shape for f in extracted_features] == [
        (1, 32, 32, 8), (1, 16, 16, 8), (1, 16, 16, 16), (1, 16), (1, 10)]
    np.testing.assert_allclose(extracted_features[-1], vgg19.predict(img), rtol=1e-6)
