"""max and average pooling, forward and backward: fastconv vs NumPy (and PyTorch if installed).

One benchmark group per (kind, shape, batch, pass); results are checked before timing.
"""

import numpy as np
import pytest

from fastconv.bench import runner, shapes
from conftest import check_then_bench


@pytest.mark.parametrize("impl", runner.TIMED_IMPLS)
@pytest.mark.parametrize("pass_", ("forward", "backward"))
@pytest.mark.parametrize("shape", shapes.POOL_SHAPES, ids=lambda s: s.name)
@pytest.mark.parametrize("kind", runner.POOL_KINDS)
def test_pool2d(benchmark, case_cache, torch_module, kind, shape, batch, pass_, impl):
    case = case_cache.get((kind, shape.name, batch),
                          lambda: runner.PoolCase(kind, shape, batch, np.random.default_rng(1),
                                                  torch_module))
    if impl.startswith("torch_") and torch_module is None:
        pytest.skip("PyTorch not installed (optional)")
    check_then_bench(benchmark, case_cache, case, impl, pass_,
                     group=f"{kind}_pool2d {pass_} {shape.label(batch)}")
