"""conv2d forward and backward: fastconv vs the NumPy baseline (and PyTorch when installed).

Each (shape, batch, pass) is one benchmark group, so pytest-benchmark's table puts the
implementations side by side. Every implementation's result is checked before it is timed.
"""

import numpy as np
import pytest

from fastconv.bench import runner, shapes
from conftest import check_then_bench


@pytest.mark.parametrize("impl", runner.TIMED_IMPLS)
@pytest.mark.parametrize("pass_", ("forward", "backward"))
@pytest.mark.parametrize("shape", shapes.CONV_SHAPES, ids=lambda s: s.name)
def test_conv2d(benchmark, case_cache, torch_module, shape, batch, pass_, impl):
    case = case_cache.get(("conv", shape.name, batch),
                          lambda: runner.ConvCase(shape, batch, np.random.default_rng(0),
                                                  torch_module))
    if impl.startswith("torch_") and torch_module is None:
        pytest.skip("PyTorch not installed (optional)")
    check_then_bench(benchmark, case_cache, case, impl, pass_,
                     group=f"conv2d {pass_} {shape.label(batch)}")
