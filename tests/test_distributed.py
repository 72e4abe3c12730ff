"""fastconv.distributed: 1-rank semantics in this process, 2-rank jobs launched over loopback.

The 2-rank tests (marker `mpi`, run with `pytest -m mpi`) need mpi4py and an MPI launcher
(`pip install "fastconv[distributed]"`); they skip without them, except when CI=true, where a
missing MPI fails them. .ci/distributed.sh runs them.
"""

import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import fastconv as keras
from fastconv import distributed
from fastconv.distributed import failures

HERE = pathlib.Path(__file__).resolve().parent
# The directory holding the fastconv under test (the source tree, or site-packages in CI), for the
# programs these tests start.
PACKAGE_PARENT = str(pathlib.Path(keras.__file__).resolve().parents[1])


# What MPI launchers set in the processes they start (the process count init() reads).
LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE",
                      "SLURM_STEP_NUM_TASKS")


def run_python(code, **env):
    """Runs `code` in a fresh Python with `env`, outside any MPI launch this test may run in."""
    inherited = {name: value for name, value in os.environ.items()
                 if name not in LAUNCHER_VARIABLES}
    # From tests/: after a plain `pip install .` the root's fastconv/ would shadow the install.
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**inherited, "PYTHONPATH": PACKAGE_PARENT, **env}, cwd=HERE)


# ------------------------------------------------------------------ 1 rank, no MPI needed
BLOCK_MPI4PY = """
import sys
class BlockMpi4py:
    def find_spec(self, name, path=None, target=None):
        if name == "mpi4py" or name.startswith("mpi4py."):
            raise ImportError("No module named 'mpi4py' (blocked by the test)")
sys.meta_path.insert(0, BlockMpi4py())
"""


def test_under_a_launcher_without_mpi4py_init_names_the_pip_command():
    result = run_python(BLOCK_MPI4PY + "import fastconv as keras\nkeras.distributed.init()",
                        OMPI_COMM_WORLD_SIZE="2")
    assert result.returncode != 0
    assert 'ImportError: fastconv.distributed needs mpi4py' in result.stderr
    assert 'pip install "fastconv[distributed]"' in result.stderr


def test_without_a_launcher_init_is_a_1_rank_job_that_never_imports_mpi4py():
    code = BLOCK_MPI4PY + """
import fastconv as keras
from fastconv import *
d = keras.distributed
assert not d.is_initialized()
d.init(); d.init()
print(d.is_initialized(), d.rank(), d.size(), "mpi4py" in sys.modules)
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "0", "1", "False"]


def test_functions_before_init_say_to_call_init():
    result = run_python("import fastconv\nfastconv.distributed.rank()")
    assert "call fastconv.distributed.init() first" in result.stderr


ONE_PROCESS_FIT = """
import json, sys
import numpy as np
import fastconv as keras
if sys.argv[2] == "init":
    keras.distributed.init()
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(6, 6, 1)),
                          keras.layers.Conv2D(4, 3, activation="relu"),
                          keras.layers.BatchNormalization(), keras.layers.Flatten(),
                          keras.layers.Dropout(0.3), keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
rng = np.random.default_rng(1)
x, y = rng.normal(size=(29, 6, 6, 1)).astype(np.float32), rng.integers(0, 3, 29)
history = model.fit(x, y, batch_size=8, epochs=2, validation_split=0.2, verbose=0)
evaluated = model.evaluate(x, y, verbose=0)
np.savez(sys.argv[1] + ".npz", *model.weights, model.predict(x, verbose=0))
with open(sys.argv[1] + ".json", "w") as f:
    json.dump([history.history, evaluated], f)
"""


def test_a_1_rank_job_trains_bitwise_as_without_init(tmp_path):
    # fit (shuffled, BatchNormalization, Dropout, validation_split), evaluate and predict
    outputs = {}
    for mode in ("plain", "init"):
        result = run_python(ONE_PROCESS_FIT.replace("sys.argv[1]", repr(str(tmp_path / mode)))
                            .replace("sys.argv[2]", repr(mode)))
        assert result.returncode == 0, result.stderr
        saved = np.load(tmp_path / f"{mode}.npz")
        outputs[mode] = ([saved[name] for name in saved.files],
                         (tmp_path / f"{mode}.json").read_text())
    for plain, with_init in zip(outputs["plain"][0], outputs["init"][0]):
        np.testing.assert_array_equal(with_init, plain)
    assert outputs["init"][1] == outputs["plain"][1]  # history and evaluate, to the last digit


@pytest.fixture(scope="module")
def one_rank():
    if any(name in os.environ for name in LAUNCHER_VARIABLES):
        pytest.skip("this test process runs under an MPI launcher")
    distributed.init()
    assert distributed.size() == 1 and distributed.rank() == 0


def test_1_rank_collectives_are_identities(one_rank):
    a = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    for op in ("mean", "sum"):
        result = distributed.allreduce(a, op=op)
        assert result is not a and result.dtype == a.dtype
        np.testing.assert_array_equal(result, a)
    b = a.copy()
    assert distributed.allreduce(b, out=b) is b and distributed.broadcast(b) is b
    np.testing.assert_array_equal(b, a)
    distributed.barrier()
    distributed.broadcast_variables([b])
    np.testing.assert_array_equal(b, a)
    gathered = distributed.allgather(a)
    assert gathered is not a
    np.testing.assert_array_equal(gathered, a)


def quadrant_batches(steps=3, batch=8):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(steps, batch, 6, 6, 1)).astype(np.float32),
            rng.integers(0, 3, size=(steps, batch)))


def trained_weights(wrap):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input(shape=(6, 6, 1)),
                              keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    optimizer = keras.optimizers.Adam(0.01, clipnorm=1.0)
    model.compile(optimizer=distributed.DistributedOptimizer(optimizer) if wrap else optimizer,
                  loss="sparse_categorical_crossentropy")
    if wrap:
        distributed.broadcast_variables(model)
    for x, y in zip(*quadrant_batches()):
        model.train_on_batch(x, y)
    if wrap:
        distributed.broadcast_variables(model)  # now with the optimizer's state
    return model.get_weights()


def test_1_rank_training_is_bitwise_the_plain_optimizer(one_rank):
    for plain, wrapped in zip(trained_weights(False), trained_weights(True)):
        np.testing.assert_array_equal(plain, wrapped)


def test_distributed_optimizer_is_a_copy_of_the_same_class(one_rank):
    adam = keras.optimizers.Adam(0.003, clipvalue=0.5)
    wrapped = distributed.DistributedOptimizer(adam)
    assert isinstance(wrapped, keras.optimizers.Adam) and wrapped is not adam
    assert type(wrapped).__name__ == "Adam"
    assert keras.optimizers.serialize(wrapped) == keras.optimizers.serialize(adam)
    w, grad = np.ones(3), np.array([1.0, -2.0, 0.25])
    wrapped.apply([grad], [w], sample_count=4)
    assert wrapped.iterations == 1 and adam.iterations == 0


def test_a_model_saved_with_it_loads_with_the_plain_optimizer(one_rank, tmp_path):
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=distributed.DistributedOptimizer(keras.optimizers.Adam(0.01)),
                  loss="sparse_categorical_crossentropy")
    model.train_on_batch(np.ones((3, 4), np.float32), np.array([0, 1, 0]))
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    assert type(restored.optimizer) is keras.optimizers.Adam
    assert restored.optimizer.iterations == 1


@pytest.mark.parametrize("call,error,match", [
    (lambda: distributed.allreduce([1.0, 2.0]), TypeError, "expects a NumPy array"),
    (lambda: distributed.allreduce(np.ones(2), op="max"), ValueError, "`op` must be one of"),
    (lambda: distributed.allreduce(np.ones(2, np.int32)), TypeError, "op='mean' needs a float"),
    (lambda: distributed.allreduce(np.ones(2, ">f8")), TypeError, "native-byte-order"),
    (lambda: distributed.allreduce(np.ones(2), out=np.ones(3)), ValueError, r"out \(3,\)"),
    (lambda: distributed.allreduce(np.ones(2), out=np.ones(4)[::2]), ValueError, "C-contiguous"),
    (lambda: distributed.broadcast(np.ones((3, 3)).T), ValueError, "C-contiguous"),
    (lambda: distributed.broadcast(np.ones(2), root=1), ValueError, r"root.*\[0, 0\]"),
    (lambda: distributed.broadcast_variables([np.ones(2), "w"]), TypeError, "array 1"),
    (lambda: distributed.allgather(np.float32(1)), TypeError, "expects a NumPy array"),
    (lambda: distributed.allgather(np.array(1.0)), ValueError, "needs one"),
])
def test_bad_arguments_raise_clear_errors(one_rank, call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_optimizer_arguments_raise_clear_errors(one_rank):
    with pytest.raises(TypeError, match="wraps a fastconv optimizer"):
        distributed.DistributedOptimizer("adam")
    wrapped = distributed.DistributedOptimizer(keras.optimizers.SGD())
    with pytest.raises(ValueError, match="average twice"):
        distributed.DistributedOptimizer(wrapped)
    for count, error in ((-1, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="sample_count"):
            wrapped.apply([np.ones(2)], [np.ones(2)], sample_count=count)


@pytest.mark.parametrize("value", ["abc", "0", "-3", "inf", "nan"])
def test_stall_timeout_must_be_a_positive_number(monkeypatch, value):
    monkeypatch.setenv(failures.TIMEOUT_VARIABLE, value)
    with pytest.raises(ValueError, match=f"FASTCONV_DIST_TIMEOUT={value!r}"):
        failures.stall_timeout_from_environment()


def test_stall_timeout_reads_seconds(monkeypatch):
    monkeypatch.setenv(failures.TIMEOUT_VARIABLE, " 2.5 ")
    assert failures.stall_timeout_from_environment() == 2.5
    monkeypatch.delenv(failures.TIMEOUT_VARIABLE)
    assert failures.stall_timeout_from_environment() is None


# ------------------------------------------------------------------ 2-rank jobs over loopback
def launcher():
    """The `mpiexec ... -n 2` prefix, or a reason why there is none."""
    if importlib.util.find_spec("mpi4py") is None:
        return None, 'mpi4py is not installed (pip install "fastconv[distributed]")'
    path = os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")])
    mpiexec = shutil.which("mpiexec", path=path)
    if mpiexec is None:
        return None, "no mpiexec on PATH or beside the Python executable"
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
    # Open MPI refuses more ranks than cores without --oversubscribe (MPICH has no such flag).
    extra = ["--oversubscribe"] if "Open MPI" in version else []
    return [mpiexec, *extra, "-n", "2"], None


@pytest.fixture(scope="module")
def mpirun():
    prefix, reason = launcher()
    if prefix is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the 2-rank tests, but {reason}")
        pytest.skip(reason)
    return prefix


def launch(mpirun, scenario, outdir, style="mpi4py", timeout=60, **env):
    """Runs `scenario` of distributed_scenarios.py on 2 ranks; returns (result, seconds)."""
    python = [sys.executable, "-m", "mpi4py"] if style == "mpi4py" else [sys.executable]
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT, "OMP_NUM_THREADS": "1",
           # Open MPI refuses to start as root (CI's user) without both.
           "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", **env}
    start = time.monotonic()
    with subprocess.Popen([*mpirun, *python, str(HERE / "distributed_scenarios.py"), scenario,
                           str(outdir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as job:
        try:
            stdout, stderr = job.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            job.terminate()  # mpiexec ends its ranks on SIGTERM (a SIGKILL would orphan them)
            stdout, stderr = job.communicate(timeout=30)
            pytest.fail(f"the 2-rank job {scenario!r} did not end within {timeout} s:\n{stderr}")
    seconds = time.monotonic() - start
    return subprocess.CompletedProcess(job.args, job.returncode, stdout, stderr), seconds



@pytest.mark.mpi
def test_allreduce_and_broadcast_on_2_ranks(mpirun, tmp_path):
    result, _ = launch(mpirun, "collectives", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # (MPICH's launcher may join the ranks' lines)
    assert "rank 0: collectives ok" in result.stdout and "rank 1: collectives ok" in result.stdout


@pytest.mark.mpi
def test_train_on_batch_on_2_ranks_of_B_equals_1_process_of_2B(mpirun, tmp_path):
    batch, steps = 5, 4
    result, _ = launch(mpirun, "train_on_batch", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr  # the ranks agreed every step
    saved = np.load(tmp_path / "weights.npz")
    arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    initial, distributed_final = arrays[:len(arrays) // 2], arrays[len(arrays) // 2:]

    sys.path.insert(0, str(HERE))
    try:
        from distributed_scenarios import small_model, training_data  # noqa: PLC0415
    finally:
        sys.path.remove(str(HERE))
    keras.set_num_threads(1)
    model = small_model(seed=0)
    model.set_weights(initial)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    x, y = training_data(batch, steps)
    for step in range(steps):
        model.train_on_batch(x[step], y[step])
    keras.set_num_threads(0)
    for single, multi in zip(model.get_weights(), distributed_final):
        np.testing.assert_allclose(multi, single, rtol=1e-5, atol=1e-7)
    assert not np.allclose(initial[0], distributed_final[0])  # training moved the weights


@pytest.mark.mpi
def test_sample_count_weighs_uneven_shards_like_one_full_batch(mpirun, tmp_path):
    result, _ = launch(mpirun, "uneven_least_squares", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 4)), rng.normal(size=8)
    w = np.zeros(4)
    for _ in range(5):  # full-batch gradient descent on the mean squared error, in float64
        w -= 0.1 * 2 * x.T @ (x @ w - y) / len(y)
    np.testing.assert_allclose(np.load(tmp_path / "w.npy"), w, rtol=1e-12)


@pytest.mark.mpi
def test_processes_that_mpi_does_not_join_into_one_job_are_an_error(mpirun):
    # srun without MPI support starts N processes that each see a 1-rank MPI job
    result = run_python("import fastconv\nfastconv.distributed.init()", SLURM_STEP_NUM_TASKS="2")
    assert "RuntimeError: The launcher started 2 processes (SLURM_STEP_NUM_TASKS=2), but MPI " \
           "sees a job of 1" in result.stderr, result.stderr


@pytest.mark.mpi
def test_the_guide_program_runs_on_2_ranks(mpirun, tmp_path):
    result, _ = launch(mpirun, "guide", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("epoch 2: loss") == 1  # printed by rank 0 only


@pytest.mark.mpi
@pytest.mark.parametrize("scenario,style", [("raise_on_rank_1", "mpi4py"),
                                            ("raise_on_rank_1", "plain"),
                                            ("raise_in_a_thread_on_rank_1", "plain")])
def test_a_failing_rank_ends_the_job(mpirun, tmp_path, scenario, style):
    result, seconds = launch(mpirun, scenario, tmp_path, style=style)
    assert result.returncode != 0
    assert seconds < 60
    if style == "plain":
        # fastconv's hook gives the launcher time to forward the traceback; mpi4py's own
        # (python -m mpi4py) lost it in 3 of 8 MPICH runs.
        assert "rank 1 fails on purpose" in result.stderr


@pytest.mark.mpi
def test_stall_timeout_aborts_the_job(mpirun, tmp_path):
    result, seconds = launch(mpirun, "stall", tmp_path, style="plain", FASTCONV_DIST_TIMEOUT="2")
    assert result.returncode != 0
    assert "no collective operation completed" in result.stderr
    assert seconds < 30


# ------------------------------------------------------------------ fit and evaluate on 2 ranks
def scenarios_module():
    sys.path.insert(0, str(HERE))
    try:
        import distributed_scenarios  # noqa: PLC0415
    finally:
        sys.path.remove(str(HERE))
    return distributed_scenarios


@pytest.mark.mpi
def test_fit_on_2_ranks_equals_1_process_with_the_global_batch(mpirun, tmp_path):
    # global batch 8 (4 per rank), a last batch of 7 (4 + 3), validation_split and sample weights
    result, _ = launch(mpirun, "fit_equivalence", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr  # ranks agreed after every step
    saved = np.load(tmp_path / "weights.npz")
    arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    initial, distributed_final = arrays[:len(arrays) // 2], arrays[len(arrays) // 2:]
    reported = json.loads((tmp_path / "results.json").read_text())

    scenarios = scenarios_module()
    keras.set_num_threads(1)
    try:
        model = scenarios.fit_model(seed=0)
        model.set_weights(initial)
        x, y, sample_weight = scenarios.fit_data()
        history = model.fit(x, y, sample_weight=sample_weight, **scenarios.FIT_ARGUMENTS)
        evaluated = model.evaluate(x, y, batch_size=7, return_dict=True, verbose=0)
    finally:
        keras.set_num_threads(0)
    for single, multi in zip(model.get_weights(), distributed_final):
        np.testing.assert_allclose(multi, single, rtol=1e-5, atol=1e-7)
    assert not np.allclose(initial[0], distributed_final[0])  # training moved the weights
    assert reported["history"].keys() == history.history.keys()
    for key, values in history.history.items():
        np.testing.assert_allclose(reported["history"][key], values, rtol=1e-5, err_msg=key)
    for key, value in evaluated.items():
        np.testing.assert_allclose(reported["evaluate"][key], value, rtol=1e-5, err_msg=key)


@pytest.mark.mpi
def test_fit_with_two_inputs_and_outputs_and_an_empty_share_equals_1_process(mpirun, tmp_path):
    result, _ = launch(mpirun, "fit_two_inputs", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    saved = np.load(tmp_path / "weights.npz")
    arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    initial, distributed_final = arrays[:len(arrays) // 2], arrays[len(arrays) // 2:]
    reported = json.loads((tmp_path / "results.json").read_text())

    scenarios = scenarios_module()
    keras.set_num_threads(1)
    try:
        model = scenarios.two_input_model(seed=0)
        model.set_weights(initial)
        history = model.fit(*scenarios.two_input_data(), **scenarios.TWO_INPUT_ARGUMENTS)
    finally:
        keras.set_num_threads(0)
    for single, multi in zip(model.get_weights(), distributed_final):
        np.testing.assert_allclose(multi, single, rtol=1e-5, atol=1e-7)
    assert reported.keys() == history.history.keys()
    for key, values in history.history.items():
        np.testing.assert_allclose(reported[key], values, rtol=1e-5, err_msg=key)


@pytest.mark.mpi
def test_fit_with_batch_norm_and_dropout_keeps_the_ranks_equal(mpirun, tmp_path):
    result, _ = launch(mpirun, "fit_batch_norm_dropout", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.mpi
def test_fit_gives_every_sample_to_one_rank_once_per_epoch(mpirun, tmp_path):
    result, _ = launch(mpirun, "fit_sample_coverage", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.mpi
def test_only_rank_0_writes_files_and_prints(mpirun, tmp_path):
    result, _ = launch(mpirun, "fit_files", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "checkpoint_0.keras", "log_0.csv", "model_0.keras", "model_0.weights.h5"]
    assert len((tmp_path / "log_0.csv").read_text().splitlines()) == 1 + 2  # header, 2 epochs
    assert result.stdout.count("Epoch 1/2") == 1
    assert result.stdout.count("saving model to") == 2
    assert result.stdout.count("early stopping") == 1


@pytest.mark.mpi
def test_fit_refuses_what_it_cannot_split(mpirun, tmp_path):
    result, _ = launch(mpirun, "fit_refusals", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.mpi
@pytest.mark.parametrize("style", ["mpi4py", "plain"])
def test_a_rank_failing_inside_fit_ends_the_job(mpirun, tmp_path, style):
    result, seconds = launch(mpirun, "fit_raise_on_rank_1", tmp_path, style=style)
    assert result.returncode != 0
    assert seconds < 60


@pytest.mark.mpi
def test_the_train_command_runs_on_2_ranks(mpirun, tmp_path):
    result, _ = launch(mpirun, "cli_train", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Test accuracy:") == 1 and "per rank, ranks: 2" in result.stdout
    assert result.stdout.count("Epoch 2/2") == 1
    assert [path.name for path in tmp_path.iterdir()] == ["model.keras"]


@pytest.mark.mpi
def test_the_example_runs_on_2_ranks(mpirun, tmp_path):
    data = os.environ.get("FASTCONV_DATA")
    if not data or not os.path.isdir(os.path.join(data, "mnist")):
        if os.environ.get("CI") == "true":  # .ci/run and .ci/distributed.sh provide the files
            pytest.fail(f"CI must run the example, but FASTCONV_DATA={data} holds no mnist/")
        pytest.skip("set FASTCONV_DATA to a folder holding mnist/")
    example = HERE.parent / "examples" / "distributed_mnist.py"
    # without OMP_NUM_THREADS: init() picks the threads from the cores each rank is bound to
    env = {**{name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"},
           "PYTHONPATH": PACKAGE_PARENT, "OMPI_ALLOW_RUN_AS_ROOT": "1",
           "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    result = subprocess.run([*mpirun, sys.executable, str(example), "--quick"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    # Open MPI binds each rank to one of CI's 2 cores; MPICH binds none and the ranks split them
    assert "2 rank(s), 1 thread(s) each" in result.stdout
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", result.stdout).group(1))
    assert accuracy >= 0.6, result.stdout  # 2,000 images, 1 epoch (chance: 0.1)
    assert list(tmp_path.iterdir()) == []
