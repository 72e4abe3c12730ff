"""The compiled extensions, imported once with an error that says how to build them."""

try:
    from fastconv import _conv, _pool
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ImportError(
        "fastconv's compiled core is missing or failed to load "
        f"({exc}). Install the package with `pip install .` from the source tree "
        "(a C compiler is needed), or build it in place with "
        "`python setup.py build_ext --inplace`. Running Python from inside the "
        "source tree shadows an installed copy: change directory first."
    ) from exc

__all__ = ["_conv", "_pool"]
