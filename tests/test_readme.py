"""The README's Python examples run as written, and the one-layer training step learns."""
import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert python_blocks(), "README.md lost its Python examples"


def test_ops_training_step_example_runs_and_lowers_the_loss():
    block = next(b for b in python_blocks() if "conv2d_backward" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(README), "exec"), {})
    losses = [float(line.split()[1]) for line in out.getvalue().splitlines()]
    assert len(losses) == 10
    assert losses[-1] < losses[0]
