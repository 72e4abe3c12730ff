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

import os
import warnings

# The C detector quietly ignores a level this CPU cannot run; say so once, at import.
_requested = os.environ.get("FASTCONV_ISA", "")
if _requested and _requested != _conv.simd_level():
    warnings.warn(
        f"FASTCONV_ISA={_requested!r} is not available on this CPU (available: "
        f"{', '.join(_conv.simd_available())}); using {_conv.simd_level()!r}.",
        RuntimeWarning, stacklevel=2)

# 3x3 stride-1 layers take Winograd's kernels unless FASTCONV_WINOGRAD=0.
_winograd = os.environ.get("FASTCONV_WINOGRAD", "")
if _winograd not in ("", "0", "1"):
    warnings.warn(f"FASTCONV_WINOGRAD={_winograd!r} is neither '0' nor '1'; Winograd kernels "
                  "stay on.", RuntimeWarning, stacklevel=2)
_conv.set_winograd(_winograd != "0")

__all__ = ["_conv", "_pool"]
