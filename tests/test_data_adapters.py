"""fit / evaluate / predict on generators, iterables, PyDataset and torch DataLoaders.

Each source is checked against the same model trained on the same arrays batch by batch
(shuffle=False): the weights after training must be identical, not close, since the same
batches reach the same kernels in the same order. Then Keras 3's argument errors and
steps semantics.
"""

import warnings

import numpy as np
import pytest

import fastconv as keras
from fastconv import layers
from fastconv.trainers.data_adapters import (
    GeneratorDataAdapter,
    PyDatasetAdapter,
    get_data_adapter,
)

N, BATCH = 40, 10
RNG = np.random.default_rng(0)
X = RNG.standard_normal((N, 5)).astype(np.float32)
Y = RNG.integers(0, 3, N)
W = RNG.uniform(0.5, 2.0, N).astype(np.float32)
XV = RNG.standard_normal((20, 5)).astype(np.float32)
YV = RNG.integers(0, 3, 20)


def make_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(8, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def batches(x=X, y=Y, w=None, batch=BATCH, passes=1):
    """The batches an array fit with shuffle=False makes, as a generator."""
    for _ in range(passes):
        for start in range(0, len(x), batch):
            part = slice(start, start + batch)
            yield (x[part], y[part]) if w is None else (x[part], y[part], w[part])


class ArrayBatches(keras.utils.PyDataset):
    """Batch i of the arrays; records which batches were asked for and the epoch hooks."""

    def __init__(self, x=X, y=Y, w=None, batch=BATCH, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.w, self.batch = x, y, w, batch
        self.asked, self.epochs_begun, self.epochs_ended = [], 0, 0

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, index):
        self.asked.append(index)
        part = slice(index * self.batch, (index + 1) * self.batch)
        if self.w is None:
            return self.x[part], self.y[part]
        return self.x[part], self.y[part], self.w[part]

    def on_epoch_begin(self):
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


class Reiterable:
    """An iterable (not an iterator): each `iter()` starts again from the first batch."""

    def __iter__(self):
        return batches()


def torch_loader(x=X, y=Y, **kwargs):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset
    return DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                      batch_size=BATCH, **kwargs)


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def fit_arrays(epochs=1, **kwargs):
    model = make_model()
    history = model.fit(X, Y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, **kwargs)
    return model, history.history


# --------------------------------------------------------- same batches, same weights
SOURCES = {
    "generator": lambda epochs: batches(passes=epochs),
    "iterable": lambda epochs: Reiterable(),
    "pydataset": lambda epochs: ArrayBatches(),
    "pydataset-threads": lambda epochs: ArrayBatches(workers=3, max_queue_size=2),
    "torch-dataloader": lambda epochs: torch_loader(),
}


@pytest.mark.parametrize("kind", SOURCES)
def test_fit_on_a_source_equals_fit_on_the_arrays(kind):
    epochs = 2
    source = SOURCES[kind](epochs)
    expected, expected_history = fit_arrays(epochs)
    model = make_model()
    # a generator makes one long stream: steps_per_epoch cuts it into the same epochs
    steps = N // BATCH if kind == "generator" else None
    history = model.fit(source, epochs=epochs, steps_per_epoch=steps, shuffle=False, verbose=0)
    assert_same_weights(expected, model)
    assert history.history == expected_history


def test_sample_weights_in_the_batches_equal_array_sample_weights():
    expected, expected_history = fit_arrays(sample_weight=W)
    model = make_model()
    history = model.fit(batches(w=W), shuffle=False, verbose=0)
    assert_same_weights(expected, model)
    assert history.history == expected_history
    dataset = make_model()
    dataset.fit(ArrayBatches(w=W), shuffle=False, verbose=0)
    assert_same_weights(expected, dataset)


def test_class_weight_on_a_pydataset_equals_class_weight_on_arrays():
    class_weight = {0: 2.0, 1: 0.5}
    expected, _ = fit_arrays(class_weight=class_weight)
    model = make_model()
    model.fit(ArrayBatches(), shuffle=False, class_weight=class_weight, verbose=0)
    assert_same_weights(expected, model)
    with pytest.raises(ValueError, match="`class_weight` and `sample_weight` at the same time"):
        make_model().fit(ArrayBatches(w=W), class_weight=class_weight, verbose=0)


@pytest.mark.parametrize("kind", SOURCES)
def test_evaluate_and_predict_on_a_source_equal_the_arrays(kind):
    model = make_model()
    model.fit(X, Y, epochs=2, verbose=0)
    expected = model.evaluate(X, Y, batch_size=BATCH, verbose=0)
    assert model.evaluate(SOURCES[kind](1), verbose=0) == expected
    np.testing.assert_array_equal(model.predict(SOURCES[kind](1)),
                                  model.predict(X, batch_size=BATCH))


def test_predict_reads_inputs_alone_or_in_tuples():
    model = make_model()
    expected = model.predict(X, batch_size=BATCH)
    inputs_only = ((X[i:i + BATCH],) for i in range(0, N, BATCH))
    np.testing.assert_array_equal(model.predict(inputs_only), expected)

    class InputsOnly(ArrayBatches):
        def __getitem__(self, index):
            return super().__getitem__(index)[0]  # a bare array

    np.testing.assert_array_equal(model.predict(InputsOnly()), expected)


@pytest.mark.parametrize("kind", ["generator", "pydataset", "torch-dataloader"])
def test_validation_data_as_a_source_equals_array_validation_data(kind):
    sources = {"generator": lambda: batches(XV, YV, passes=2),
               "pydataset": lambda: ArrayBatches(XV, YV),
               "torch-dataloader": lambda: torch_loader(XV, YV)}
    _, expected = fit_arrays(epochs=2, validation_data=(XV, YV))
    model = make_model()
    steps = 2 if kind == "generator" else None  # the generator holds two validations
    history = model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                        validation_data=sources[kind](), validation_steps=steps)
    assert history.history == expected


def test_validation_steps_evaluate_the_first_batches_every_time():
    model = make_model()
    history = model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                        validation_data=ArrayBatches(XV, YV), validation_steps=1).history
    # lr=0 from here: evaluate the final weights on the first validation batch only
    reference = make_model()
    reference.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    assert history["val_loss"][-1] == reference.evaluate(XV[:BATCH], YV[:BATCH], verbose=0)[0]
    array_history = make_model().fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                                     validation_data=(XV, YV), validation_steps=1).history
    assert array_history["val_loss"] == history["val_loss"]


def test_a_one_shot_validation_generator_without_validation_steps_runs_out():
    model = make_model()
    with pytest.raises(ValueError, match="`validation_data` ran out of data.*validation_steps"):
        model.fit(X, Y, epochs=2, verbose=0, validation_data=batches(XV, YV))


# ------------------------------------------------------------------ steps semantics
class FirstTargets(keras.metrics.Metric):
    """Records the first target of every batch it sees (targets = sample indices)."""

    def __init__(self, name="first_targets", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.seen = []

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.seen.append(int(np.asarray(y_true).reshape(-1)[0]))

    def result(self):
        return 0.0

    def reset_state(self):
        pass


def recording_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(1)])
    recorder = FirstTargets()
    model.compile(optimizer="sgd", loss="mse", metrics=[recorder])
    return model, recorder


INDEX_Y = np.arange(N, dtype=np.float32)  # targets = sample indices: batch b starts at 10 b


def test_steps_per_epoch_continues_a_generator_across_epochs():
    model, recorder = recording_model()
    model.fit(batches(y=INDEX_Y, passes=2), epochs=3, steps_per_epoch=2, shuffle=False,
              verbose=0)
    assert recorder.seen == [0, 10, 20, 30, 0, 10]


def test_steps_per_epoch_continues_a_pydataset_then_starts_a_new_pass():
    model, recorder = recording_model()
    dataset = ArrayBatches(y=INDEX_Y)
    with pytest.warns(UserWarning, match="ran out of data.*an epoch got 1"):
        history = model.fit(dataset, epochs=3, steps_per_epoch=3, shuffle=False, verbose=0)
    # epoch 1: batches 0-2; epoch 2: batch 3, then out of data (as arrays do, in Keras);
    # epoch 3: a new pass, 0-2
    assert recorder.seen == [0, 10, 20, 30, 0, 10, 20]
    assert len(history.history["loss"]) == 3
    assert dataset.epochs_begun == dataset.epochs_ended == 3


def test_a_pass_that_ends_with_an_epoch_starts_again_without_a_warning():
    model, recorder = recording_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(ArrayBatches(y=INDEX_Y), epochs=3, steps_per_epoch=2, shuffle=False,
                  verbose=0)
        model.fit(Reiterable(), epochs=2, steps_per_epoch=4, verbose=0, shuffle=False)
    assert recorder.seen[:6] == [0, 10, 20, 30, 0, 10]


def test_a_generator_exhausted_before_steps_times_epochs_warns_and_stops():
    model, recorder = recording_model()
    with pytest.warns(UserWarning, match="ran out of data") as caught:
        history = model.fit(batches(y=INDEX_Y), epochs=4, steps_per_epoch=3, shuffle=False,
                            verbose=0)
    # epoch 1: 3 batches; epoch 2: 1 batch, then the generator is exhausted: training stops
    assert recorder.seen == [0, 10, 20, 30]
    assert len(history.history["loss"]) == 2
    assert any("interrupting training" in str(w.message) for w in caught)


def test_a_generator_without_steps_is_one_epoch_of_unknown_size():
    model, _ = recording_model()
    steps = []

    class Steps(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            steps.append(self.params["steps"])

    with pytest.warns(UserWarning, match="interrupting training.*before epoch 2 of 3"):
        history = model.fit(batches(y=INDEX_Y), epochs=3, shuffle=False, verbose=0,
                            callbacks=[Steps()])
    assert steps == [None]  # the progress bar has no total
    assert model.optimizer.iterations == N // BATCH
    assert len(history.history["loss"]) == 1


def test_the_progress_bar_of_a_generator_counts_without_a_total(capsys):
    model, _ = recording_model()
    model.fit(batches(y=INDEX_Y), shuffle=False, verbose=1)
    # the bar's total is unknown while it runs and set when the generator is exhausted
    assert capsys.readouterr().out.startswith("4/4 [====")


def test_evaluate_steps_and_predict_steps_take_the_first_batches():
    model = make_model()
    assert (model.evaluate(batches(), steps=2, verbose=0)
            == model.evaluate(X[:2 * BATCH], Y[:2 * BATCH], verbose=0))
    np.testing.assert_array_equal(model.predict(ArrayBatches(), steps=3),
                                  model.predict(X[:3 * BATCH]))
    with pytest.warns(UserWarning, match="ran out of data"):
        model.evaluate(X, Y, batch_size=BATCH, steps=5, verbose=0)


# ------------------------------------------------------------------------ PyDataset
def test_pydataset_shuffle_reorders_the_batches_each_epoch():
    dataset = ArrayBatches()
    keras.utils.set_random_seed(1)
    make_model().fit(dataset, epochs=3, verbose=0)  # shuffle=True by default, as Keras
    passes = [dataset.asked[i:i + 4] for i in range(0, 12, 4)]
    assert all(sorted(order) == [0, 1, 2, 3] for order in passes)
    assert len({tuple(order) for order in passes}) > 1


def test_pydataset_worker_threads_keep_the_batch_order():
    dataset = ArrayBatches(workers=4, max_queue_size=3)
    expected, _ = fit_arrays(epochs=2)
    model = make_model()
    model.fit(dataset, epochs=2, shuffle=False, verbose=0)
    assert_same_weights(expected, model)
    assert sorted(dataset.asked) == sorted(list(range(4)) * 2)


def test_an_error_in_a_worker_reaches_fit():
    class Broken(ArrayBatches):
        def __getitem__(self, index):
            if index == 2:
                raise KeyError("batch 2 is missing")
            return super().__getitem__(index)

    with pytest.raises(KeyError, match="batch 2 is missing"):
        make_model().fit(Broken(workers=3), shuffle=False, verbose=0)


class Picklable(keras.utils.PyDataset):
    """Batches of the module arrays, built in worker processes (the class is importable)."""

    def __len__(self):
        return N // BATCH

    def __getitem__(self, index):
        part = slice(index * BATCH, (index + 1) * BATCH)
        return X[part], Y[part]


def test_pydataset_worker_processes_give_the_same_weights():
    expected, _ = fit_arrays(epochs=1)
    model = make_model()
    model.fit(Picklable(workers=2, use_multiprocessing=True), shuffle=False, verbose=0)
    assert_same_weights(expected, model)


def test_pydataset_that_does_not_pickle_is_refused_for_processes():
    dataset = ArrayBatches(workers=2, use_multiprocessing=True)
    dataset.lock = __import__("threading").Lock()
    with pytest.raises(ValueError, match="use_multiprocessing=True.*cannot be pickled"):
        make_model().fit(dataset, verbose=0)


def test_an_infinite_pydataset_needs_steps_per_epoch():
    class Endless(keras.utils.PyDataset):
        num_batches = None

        def __getitem__(self, index):
            part = slice(index % 4 * BATCH, (index % 4 + 1) * BATCH)
            return X[part], INDEX_Y[part]

    with pytest.raises(ValueError, match="infinite.*steps_per_epoch"):
        make_model().fit(Endless(), verbose=0)
    model, recorder = recording_model()
    model.fit(Endless(workers=2), epochs=3, steps_per_epoch=3, verbose=0)
    assert recorder.seen == [0, 10, 20, 30, 0, 10, 20, 30, 0]  # one stream, not restarted


def test_pydataset_without_super_init_warns_and_uses_the_defaults():
    class NoSuper(keras.utils.PyDataset):
        def __init__(self):
            self.size = 1  # no super().__init__()

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return X[:BATCH], Y[:BATCH]

    with pytest.warns(UserWarning, match=r"should call `super\(\).__init__\(\*\*kwargs\)`"):
        make_model().fit(NoSuper(), verbose=0)


def test_pydataset_dict_batches_pass_through_as_named_inputs():
    class Named(ArrayBatches):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return {"image": x, "extra": [x, x]}, y

    x, y, w = next(PyDatasetAdapter(Named()).get_iterator())
    assert set(x) == {"image", "extra"} and isinstance(x["extra"], list)
    np.testing.assert_array_equal(x["image"], X[:BATCH])
    assert w is None and y.shape == (BATCH,)
    generator = GeneratorDataAdapter(iter([({"a": X[:2], "b": (X[:2], X[:2])}, Y[:2])]))
    x, _, _ = next(generator.get_iterator())
    assert isinstance(x["b"], tuple) and x["a"].dtype == np.float32


# ----------------------------------------------------------------- torch DataLoader
def test_dataloader_with_its_own_shuffle_trains_and_reads_requires_grad_tensors():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, IterableDataset
    model = make_model()
    model.fit(torch_loader(shuffle=True), epochs=2, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 2 * N // BATCH

    class Stream(IterableDataset):  # no __len__: a pass of unknown size
        def __iter__(self):
            for start in range(0, N, BATCH):
                yield (torch.tensor(X[start:start + BATCH], requires_grad=True),
                       torch.from_numpy(Y[start:start + BATCH]))

    loader = DataLoader(Stream(), batch_size=None)
    assert get_data_adapter(loader).num_batches is None
    expected, _ = fit_arrays(epochs=2)
    streamed = make_model()
    streamed.fit(loader, epochs=2, shuffle=False, verbose=0)  # re-read each epoch
    assert_same_weights(expected, streamed)


# ---------------------------------------------------------------------- argument errors
@pytest.mark.parametrize("call", [
    lambda m: m.fit(batches(), batch_size=16, verbose=0, shuffle=False),
    lambda m: m.predict(ArrayBatches(), batch_size=8, verbose=0),
    lambda m: m.fit(X, Y, validation_data=batches(), validation_batch_size=4, verbose=0),
], ids=["generator", "pydataset", "validation-generator"])
def test_batch_size_beside_a_batching_source_is_ignored_with_a_warning(call):
    # Keras 3 ignores it silently; fastconv runs the same program and says so.
    model = make_model()
    with pytest.warns(UserWarning, match=r"`batch_size=\d+` is ignored: a (generator|PyDataset) "
                                         "makes its own batches"):
        call(model)


def _loader_or_skip():
    return torch_loader()


ERRORS = [
    ("generator-y", lambda m: m.fit(batches(), Y, verbose=0),
     "When providing `x` as a generator, `y` should not be passed"),
    ("generator-sample-weight", lambda m: m.fit(batches(), sample_weight=W, verbose=0),
     "`sample_weights` should not be passed. Instead, the sample weights"),
    ("pydataset-y", lambda m: m.evaluate(ArrayBatches(), Y, verbose=0),
     "When providing `x` as a PyDataset, `y` should not be passed"),
    ("generator-class-weight", lambda m: m.fit(batches(), class_weight={0: 1.0}, verbose=0,
                                               shuffle=False),
     "`class_weight` is not supported for generator inputs"),
    ("generator-validation-split", lambda m: m.fit(batches(), validation_split=0.2, verbose=0),
     "`validation_split` is only supported for tensors or NumPy arrays.*generator"),
    ("pydataset-validation-split", lambda m: m.fit(ArrayBatches(), validation_split=0.2,
                                                   verbose=0),
     "`validation_split` is only supported"),
    ("not-a-tuple", lambda m: m.fit((X[i:i + 10] for i in range(0, N, 10)), verbose=0,
                                    shuffle=False),
     r"must yield tuples.*Batch 0 is a ndarray"),
    ("empty-generator", lambda m: m.fit(iter([]), verbose=0, shuffle=False),
     "gave no batch"),
    ("four-tuple", lambda m: m.fit(iter([(X, Y, W, W)]), verbose=0, shuffle=False),
     r"`\(x, y, sample_weight\)`, found a tuple of 4"),
    ("cardinality", lambda m: m.fit(iter([(X, Y[:7])]), verbose=0, shuffle=False),
     r"Batch 0 of the generator: data cardinality is ambiguous.*'y' sizes: \[7\]"),
    ("strings", lambda m: m.fit(iter([(X, np.array(["a"] * N))]), verbose=0, shuffle=False),
     "Batch 0 of the generator: `y` must hold numbers"),
    ("no-targets", lambda m: m.fit(iter([(X,)]), verbose=0, shuffle=False),
     r"`fit` needs targets: pass `y`, or give `x` as \(inputs, targets\)"),
    ("validation-no-targets", lambda m: m.fit(X, Y, validation_data=iter([(XV,)]), verbose=0),
     "give `validation_data` as"),
    ("wrong-shape-later-batch",
     lambda m: m.fit(iter([(X, Y), (X[:, :4], Y)]), verbose=0, shuffle=False),
     r"expected shape=\(None, 5\), found shape=\(40, 4\)"),
    ("pydataset-bad-item", lambda m: m.fit(type("Bad", (ArrayBatches,), {
        "__getitem__": lambda self, i: "oops"})(), verbose=0),
     "PyDataset.__getitem__\\(\\) must return a tuple or a dict"),
    ("pydataset-workers", lambda m: m.fit(ArrayBatches(workers=-1), verbose=0),
     "`workers` must be an int >= 0. Received: workers=-1"),
    ("pydataset-queue", lambda m: m.fit(ArrayBatches(workers=2, max_queue_size=0), verbose=0),
     "`max_queue_size` must be an int >= 1"),
    ("steps-zero", lambda m: m.evaluate(batches(), steps=0, verbose=0),
     "`steps` must be an int >= 1. Received: steps=0"),
    ("validation-steps-float", lambda m: m.fit(X, Y, validation_data=(XV, YV),
                                               validation_steps=1.5, verbose=0),
     "`validation_steps` must be an int >= 1"),
    ("dataloader-class-weight", lambda m: m.fit(_loader_or_skip(), class_weight={0: 2.0},
                                                verbose=0),
     "`class_weight` is not supported for torch DataLoader inputs"),
    ("dataloader-y", lambda m: m.fit(_loader_or_skip(), Y, verbose=0),
     "When providing `x` as a torch DataLoader, `y` should not be passed"),
]


@pytest.mark.parametrize("name, call, match", ERRORS, ids=[case[0] for case in ERRORS])
def test_argument_errors(name, call, match):
    model = make_model()
    before = [np.array(w) for w in model.get_weights()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shuffle warnings of some cases
        with pytest.raises((ValueError, TypeError), match=match):
            call(model)
    if name != "wrong-shape-later-batch":  # it fails at its second batch, by design
        assert_same_weights_list(before, model.get_weights())


def assert_same_weights_list(before, after):
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["generator", "torch-dataloader"])
def test_shuffle_true_is_ignored_with_keras_warning(kind):
    source = batches() if kind == "generator" else torch_loader()
    label = "generator" if kind == "generator" else "torch DataLoader"
    with pytest.warns(UserWarning, match=f"`shuffle=True` was passed, but will be ignored.*"
                                         f"{label}"):
        make_model().fit(source, verbose=0)
