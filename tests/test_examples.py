"""Every program in examples/ runs in its quick mode and shows that it worked.

Each runs in its own process, as a user would start it (`python examples/NAME.py --quick`).
The ones that read MNIST need FASTCONV_DATA and are skipped without it. The full
Fashion-MNIST tutorial has no quick mode: tests/test_training_real_data.py runs it (slow).
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

import fastconv

REPO = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
PACKAGE_ROOT = str(pathlib.Path(fastconv.__file__).resolve().parents[1])
DATA = os.environ.get("FASTCONV_DATA")
HAVE_MNIST = bool(DATA) and os.path.isdir(os.path.join(DATA, "mnist"))

# name -> (needs MNIST, a check of its output)


def accuracy_at_least(minimum):
    def check(out):
        found = re.search(r"test accuracy (\d\.\d+)", out)
        assert found and float(found.group(1)) >= minimum, out
    return check


def callbacks_ran(out):
    assert "CSVLogger wrote: epoch,accuracy,loss,val_accuracy,val_loss" in out
    assert re.search(r"\d+ batch losses recorded", out)
    assert "training finished" in out
    # StopAtAccuracy stops at val_accuracy >= 0.75 in quick mode (0.815 at epoch 2 when written).
    assert re.search(r"val_accuracy 0\.\d+ >= 0.75, stopping", out), out


def saved_and_loaded(out):
    assert "predicts exactly what the saved model did" in out
    assert "load_weights into a freshly built model: same predictions" in out


def benchmarked(out):
    assert re.search(r"fastconv forward is [\d.]+x NumPy's", out), out
    assert "GFLOP/s" in out


def followed_the_guide(out):
    assert "weights: 6 trainable weights: 6" in out
    assert "OuterLayer.losses after two calls: 1" in out
    assert "CustomDropout: inference keeps all: True training zeroes some: True" in out
    losses = [float(v) for v in re.findall(r"mean loss = (\d+\.\d+)", out)]
    assert len(losses) == 2 and losses[1] < losses[0], out  # the VAE's own loop learns
    assert "subclassing guide: done" in out


PROGRAMS = {
    # 2,000 images, 1 epoch: 0.78 test accuracy when written (chance: 0.1).
    "keras_cnn.py": (True, accuracy_at_least(0.6)),
    # 60 Adam steps: 0.85 when written.
    "ops_training_loop.py": (True, accuracy_at_least(0.6)),
    "custom_callbacks.py": (True, callbacks_ran),
    "save_and_load.py": (True, saved_and_loaded),
    "benchmark_conv.py": (False, benchmarked),
    "subclassing_guide.py": (False, followed_the_guide),
    # without a launcher: a 1-rank job (tests/test_distributed.py runs it on 2 ranks)
    "distributed_mnist.py": (True, accuracy_at_least(0.6)),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_example_runs_in_quick_mode(name, tmp_path):
    needs_mnist, check = PROGRAMS[name]
    if needs_mnist and not HAVE_MNIST:
        pytest.skip("set FASTCONV_DATA to a folder holding mnist/")
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    result = subprocess.run([sys.executable, str(EXAMPLES / name), "--quick"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    check(result.stdout)
    assert list(tmp_path.iterdir()) == [], "an example left files in the working directory"


def test_every_example_is_tested():
    programs = {p.name for p in EXAMPLES.glob("*.py")} - {"fashion_mnist_tutorial.py"}
    assert programs == set(PROGRAMS)
