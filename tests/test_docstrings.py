"""Every `Example:` in fastconv's docstrings runs and prints what it shows."""
import doctest
import importlib
import pkgutil

import pytest

import fastconv


def modules():
    names = ["fastconv"]
    for info in pkgutil.walk_packages(fastconv.__path__, "fastconv."):
        if not info.name.split(".")[-1].startswith("__"):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0


def test_docstrings_hold_examples():
    """Guards against the parametrized test passing vacuously (139 examples when written)."""
    attempted = sum(doctest.testmod(importlib.import_module(name), report=False)[1]
                    for name in modules())
    assert attempted >= 100
