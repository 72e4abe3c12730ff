"""The `fastconv` command: user mistakes give one message and exit status 2, never a traceback.

Processes are started for the cases where the exit status and the absence of a traceback are
the point; the rest call `fastconv.cli.main` in-process. No test touches the network: downloads
are replaced by a function that fails at once, as it does on an offline machine.
"""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import fastconv
from fastconv import cli

# The child processes import the same fastconv as this one (a source tree or an installed copy).
TESTS_DIR = str(pathlib.Path(__file__).resolve().parent)
PACKAGE_ROOT = str(pathlib.Path(fastconv.__file__).resolve().parents[1])

OFFLINE = """
import sys
from fastconv.datasets import _files

def offline(url, out, timeout=60):
    raise OSError("Temporary failure in name resolution")

_files.fetch = offline
from fastconv.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def empty_data(tmp_path, monkeypatch):
    """FASTCONV_DATA and FASTCONV_HOME point at empty folders: no data set on this machine."""
    for name in ("FASTCONV_DATA", "FASTCONV_HOME"):
        folder = tmp_path / name.lower()
        folder.mkdir()
        monkeypatch.setenv(name, str(folder))
    return tmp_path


def run(*args, code=None, timeout=120):
    """Runs `fastconv ARGS` (or `code` with ARGS) in a child process; returns it finished."""
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "fastconv", *args]
    # From tests/, not the repository root: the root's fastconv/ (no compiled core after a plain
    # `pip install .`) would shadow the installed package.
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=TESTS_DIR)


# ------------------------------------------------------------------ missing data set, offline


def test_missing_dataset_offline_is_one_message_with_the_fix(empty_data):
    result = run("train", "--epochs", "1", code=OFFLINE)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.count("\n") == 0 and len(message) < 400, message
    assert message.startswith("fastconv train: error: the mnist data set is not on this machine "
                              f"(FASTCONV_DATA={empty_data / 'fastconv_data'} holds no complete mnist/)")
    assert "FASTCONV_DATA=<dir>" in message and "<dir>/mnist/" in message
    assert "Test accuracy" not in result.stdout


def test_missing_fashion_mnist_names_its_folder(empty_data):
    result = run("train", "--dataset", "fashion_mnist", code=OFFLINE)
    assert result.returncode == 2
    assert "<dir>/fashion-mnist/" in result.stderr


def test_unset_data_folder_is_named(empty_data, monkeypatch):
    monkeypatch.delenv("FASTCONV_DATA")
    result = run("train", code=OFFLINE)
    assert result.returncode == 2
    assert "(FASTCONV_DATA is unset)" in result.stderr


def test_ctrl_c_is_one_line(capsys, monkeypatch):
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "load_dataset", interrupted)
    assert cli.main(["train"]) == 130
    assert capsys.readouterr().err == "fastconv train: interrupted\n"


def test_debug_shows_the_traceback(empty_data):
    result = run("train", "--debug", code=OFFLINE)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "DatasetNotFoundError" in result.stderr and "UsageError" in result.stderr


def test_debug_before_the_command_also_works(empty_data):
    result = run("--debug", "train", code=OFFLINE)
    assert "Traceback" in result.stderr


# ------------------------------------------------------------------ bad option values


@pytest.mark.parametrize("args, expected", [
    (["--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
    (["--epochs", "five"], "argument --epochs: expected an integer >= 1, got 'five'"),
    (["--batch-size", "-3"], "argument --batch-size: expected an integer >= 1, got -3"),
    (["--threads", "0"], "argument --threads: expected an integer >= 1, got 0"),
    (["--learning-rate", "0"], "argument --learning-rate: expected a number > 0, got 0"),
    (["--learning-rate", "fast"], "argument --learning-rate: expected a number > 0, got 'fast'"),
    (["--validation-split", "1"], "argument --validation-split: expected a fraction in [0, 1), got 1"),
    (["--require-accuracy", "99"], "argument --require-accuracy: expected a fraction in [0, 1], got 99"),
    (["--seed", "x"], "argument --seed: expected an integer, got 'x'"),
    (["--dataset", "cifar10"], "argument --dataset: invalid choice: 'cifar10'"),
    (["--verbose", "3"], "argument --verbose: invalid choice: 3"),
    (["--colour", "red"], "unrecognized arguments: --colour red"),
])
def test_bad_option_values_exit_2_naming_the_option(capsys, args, expected):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err, err


def test_bad_option_in_a_process_is_one_line():
    result = run("train", "--epochs", "0")
    assert result.returncode == 2
    assert result.stderr == ("fastconv train: error: argument --epochs: expected an integer >= 1, "
                             "got 0 (see `fastconv train --help`)\n")


def test_no_command_names_the_commands():
    result = run()
    assert result.returncode == 2
    assert result.stderr == ("fastconv: error: the following arguments are required: "
                             "{train,bench,config} (see `fastconv --help`)\n")


# ------------------------------------------------------------------ output paths


@pytest.mark.parametrize("option", ["--output", "--plot"])
def test_output_in_a_missing_directory_fails_before_training(empty_data, option):
    path = empty_data / "no-such-dir" / "result.file"
    result = run("train", option, str(path), code=OFFLINE)  # would fail on the data set next
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"cannot write {option} {path}: No such file or directory" in result.stderr
    assert "Fix:" in result.stderr


def test_output_that_is_a_directory(capsys, empty_data):
    assert cli.main(["train", "--output", str(empty_data)]) == 2
    assert "Is a directory" in capsys.readouterr().err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_output_in_a_read_only_directory(capsys, empty_data):
    folder = empty_data / "read-only"
    folder.mkdir(mode=0o500)
    assert cli.main(["train", "--output", str(folder / "model.keras")]) == 2
    assert "Permission denied" in capsys.readouterr().err


def test_checking_the_output_leaves_no_file_behind(capsys, empty_data, monkeypatch):
    monkeypatch.setattr("fastconv.datasets._files.fetch", _offline_fetch)
    path = empty_data / "model.keras"
    assert cli.main(["train", "--output", str(path)]) == 2  # stops at the missing data set
    assert not path.exists()
    assert "data set is not on this machine" in capsys.readouterr().err


def _offline_fetch(url, out, timeout=60):
    raise OSError("offline")


# ------------------------------------------------------------------ --plot


def test_plot_without_matplotlib_names_the_install_command(capsys, empty_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    assert cli.main(["train", "--plot", str(empty_data / "curves.png")]) == 2
    err = capsys.readouterr().err
    assert "--plot needs matplotlib" in err and "pip install matplotlib" in err
    assert "Traceback" not in err


def test_plot_in_a_format_matplotlib_cannot_write(capsys, empty_data):
    pytest.importorskip("matplotlib")
    assert cli.main(["train", "--plot", str(empty_data / "curves.docx")]) == 2
    err = capsys.readouterr().err
    assert "matplotlib cannot write .docx files" in err and ".png" in err


def tiny_digits(name):
    """A stand-in for the MNIST loader: 64 training and 32 test images, two separable classes."""
    rng = np.random.default_rng(0)

    def split(n):
        labels = rng.integers(0, 2, n).astype(np.uint8)
        images = rng.random((n, 28, 28, 1)).astype(np.float32) * 0.1
        images[labels == 1, 10:18, 10:18] += 0.9
        return images, labels

    return split(64), split(32)


def test_train_saves_the_model_and_the_curves(capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(cli, "load_dataset", tiny_digits)
    model_path, plot_path = tmp_path / "model.keras", tmp_path / "curves.png"
    status = cli.main(["train", "--epochs", "2", "--batch-size", "16", "--verbose", "0",
                       "--validation-split", "0.25", "--output", str(model_path),
                       "--plot", str(plot_path)])
    assert status == 0
    out = capsys.readouterr().out
    assert f"Saved the model to {model_path}" in out and f"Saved the training curves to {plot_path}" in out
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (x, _), _ = tiny_digits("mnist")
    model = fastconv.models.load_model(model_path)
    assert model.predict(x[:4], verbose=0).shape == (4, 10)


def test_train_distributed_without_a_launcher_is_a_1_rank_job(capsys, monkeypatch):
    monkeypatch.setattr(cli, "load_dataset", tiny_digits)
    status = cli.main(["train", "--distributed", "--epochs", "1", "--batch-size", "16",
                       "--verbose", "0"])
    assert status == 0
    assert "per rank, ranks: 1" in capsys.readouterr().out


# ------------------------------------------------------------------ config


def test_show_config_returns_the_dict_and_prints_nothing(capsys):
    config = fastconv.show_config()
    assert capsys.readouterr().out == ""
    assert {"version", "simd", "simd_available", "threads", "openmp", "FASTCONV_ISA"} <= set(config)


def test_print_config_prints_each_entry_once(capsys):
    assert fastconv.print_config() is None
    lines = capsys.readouterr().out.splitlines()
    config = fastconv.show_config()
    assert [line.split(":", 1)[0].strip() for line in lines] == list(config)
    assert f"version: {fastconv.__version__}" in lines[0]


def test_config_command_prints_the_table():
    result = run("config")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines())
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    assert fields["version"] == fastconv.__version__
    assert fields["simd"] in {"generic", "avx2", "avx512", "neon"}
    assert int(fields["threads"]) >= 1
