"""The Python examples written into the documentation pages run and print what they claim.

Blocks that include a program from examples/ (`--8<--`) are skipped here: tests/test_examples.py
runs those programs. The blocks of one page run in order in one namespace, in a temporary
working directory, and a block's `# ...` comment after a print is checked against its output.
"""
import contextlib
import io
import pathlib
import re

import pytest

import fastconv

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
RUNNABLE = ["getting-started.md", "guides/ops-numpy.md", "guides/saving.md", "threads-and-numerics.md",
            "guides/distributed.md", "guides/data.md"]


def python_blocks(page):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)
    return [block for block in blocks if "--8<--" not in block]


def expected_outputs(block):
    """`print(...)  # comment` lines whose comment is the output, e.g. `# (8, 26, 26, 16)`."""
    expected = []
    for line in block.splitlines():
        found = re.match(r"\s*print\(.*\)\s+#\s*(.+)$", line)
        if found and not line.startswith(" "):
            expected.append(found.group(1).split(": ")[-1].strip())
    return expected


@pytest.fixture
def restore_threads():
    yield
    fastconv.set_num_threads(None)  # threads-and-numerics.md changes the thread count


@pytest.mark.parametrize("page", RUNNABLE)
def test_page_code_runs(page, tmp_path, monkeypatch, restore_threads):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(page)
    assert blocks, f"{page} lost its Python examples"
    namespace = {}
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, f"{page} block", "exec"), namespace)
        printed = out.getvalue()
        for expected in expected_outputs(block):
            assert expected in printed, f"{page}: expected {expected!r} in the output:\n{printed}"


def test_first_ops_program_lowers_the_loss(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    block = next(b for b in python_blocks("getting-started.md") if "conv2d_backward" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "getting-started.md", "exec"), {})
    losses = [float(v) for v in re.findall(r"loss ([\d.]+)", out.getvalue())]
    assert len(losses) == 4 and losses[-1] < losses[0]


def test_every_page_with_python_is_run_or_includes_a_tested_program():
    for page in sorted(DOCS.rglob("*.md")):
        name = page.relative_to(DOCS).as_posix()
        if python_blocks(name) and name not in RUNNABLE:
            pytest.fail(f"{name} has Python examples that no test runs")
