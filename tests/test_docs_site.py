"""The documentation site builds with no warning, and its API reference covers every public name.

Needs the `docs` extra (`pip install ".[docs]"`); skipped without it. CI installs it and runs
this file in its documentation step.
"""
import importlib
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")
if not (REPO / "mkdocs.yml").is_file():
    pytest.skip("not a source checkout (no mkdocs.yml)", allow_module_level=True)

# Namespace -> its reference page. A namespace's public names are its __all__ (or, without one,
# the functions and classes it defines).
NAMESPACES = ["ops", "layers", "models", "optimizers", "losses", "metrics", "callbacks",
              "datasets", "utils", "activations", "initializers", "backend", "regularizers",
              "constraints", "random", "optimizers.schedules", "distributed"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings == []
    return out


def public_names(module):
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and callable(value)
            and getattr(value, "__module__", None) == module.__name__]


def anchors(page):
    return set(re.findall(r'id="(fastconv[\w.]*)"', page.read_text()))


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_reference_documents_every_public_name(site, namespace):
    module = importlib.import_module(f"fastconv.{namespace}")
    # A sub-namespace (optimizers.schedules) is documented on its parent's page.
    found = anchors(site / "reference" / namespace.split(".")[0] / "index.html")
    missing = []
    for name in public_names(module):
        # `fastconv.ops.conv2d` is documented through the module that defines it (same name).
        if not {f"fastconv.{namespace}.{name}", f"fastconv.{namespace}.{name}.{name}"} & found:
            missing.append(name)
    assert missing == [], f"fastconv.{namespace}: no reference entry for {missing}"


def test_reference_documents_the_top_level_functions(site):
    import fastconv

    found = anchors(site / "reference" / "fastconv" / "index.html")
    own = [n for n in fastconv.__all__ if not isinstance(getattr(fastconv, n), type(fastconv))
           and n not in ("Input", "Model", "Sequential", "Layer", "Variable")]
    assert {f"fastconv.{n}" for n in own} <= found, own


def test_guides_are_built_with_their_included_programs(site):
    page = (site / "guides" / "ops-numpy" / "index.html").read_text()
    assert "ops.adam_update" in page          # examples/ops_training_loop.py, included
    assert "same-padding.svg" in page
    results = (site / "benchmark-results" / "index.html").read_text()
    assert "fastconv benchmark results" in results   # benchmarks/RESULTS.md, included
