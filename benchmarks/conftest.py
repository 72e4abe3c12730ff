"""Options and fixtures shared by the pytest-benchmark suites (see README.md)."""

import pytest

from fastconv.bench import baselines, runner


def _ints(text):
    return [int(v) for v in text.split(",") if v.strip()]


def pytest_addoption(parser):
    group = parser.getgroup("fastconv benchmarks")
    group.addoption("--fc-batch", default="32",
                    help="batch sizes for the shape table, e.g. 32,128 (default 32)")
    group.addoption("--fc-threads", default="0",
                    help="threads for fastconv, NumPy's BLAS and PyTorch alike "
                         "(default 0: all cores)")


def pytest_generate_tests(metafunc):
    if "batch" in metafunc.fixturenames:
        metafunc.parametrize("batch", _ints(metafunc.config.getoption("--fc-batch")),
                             ids=lambda b: f"N{b}", scope="module")


@pytest.fixture(scope="session")
def torch_module():
    return baselines.load_torch()


@pytest.fixture(scope="session", autouse=True)
def bench_threads(request, torch_module):
    """Sets one thread count for every implementation for the whole session."""
    import fastconv

    threads = runner.Threads(torch_module)
    n = int(request.config.getoption("--fc-threads")) or fastconv.get_num_threads()
    threads.set(n)
    yield n
    threads.restore()


class _CaseCache:
    """Keeps the inputs of the most recent case and its checked outputs, so a shape's arrays
    are built once for all its passes and implementations, and only one case lives at a time."""

    def __init__(self):
        self.key = None
        self.case = None
        self.reference = {}

    def get(self, key, build):
        if key != self.key:
            self.key, self.case, self.reference = key, None, {}
            self.case = build()
        return self.case


@pytest.fixture(scope="session")
def case_cache():
    return _CaseCache()


def check_then_bench(benchmark, cache, case, impl, pass_, group):
    """Asserts impl's result equals fastconv's / the NumPy baseline's, then benchmarks it."""
    benchmark.group = group
    benchmark.extra_info.update({"impl": impl, "pass": pass_, "work": case.work(pass_)})
    if impl.startswith("torch_"):
        if case.torch_skip:
            pytest.skip(case.torch_skip)
        layout = impl[len("torch_"):]
        fn = case.torch[layout][pass_]
        result = case.torch_result(pass_, layout)
    else:
        fn = getattr(case, impl)[pass_]
        result = fn()
    if pass_ == "backward" and not isinstance(result, tuple):
        result = tuple(result)
    # fastconv is checked against NumPy; baselines are checked against fastconv.
    other = "numpy" if impl == "fastconv" else "fastconv"
    if other not in cache.reference.setdefault(pass_, {}):
        expected = getattr(case, other)[pass_]()
        cache.reference[pass_][other] = tuple(expected) if pass_ == "backward" else expected
    check = runner._check_all(result, cache.reference[pass_][other])
    assert check["ok"], f"{impl} disagrees with {other}: {check}"
    del result
    benchmark(fn)
    stats = benchmark.stats.stats if benchmark.stats else None
    if stats is not None:
        work = case.work(pass_)
        if "flops" in work:
            benchmark.extra_info["gflops_at_median"] = work["flops"] / stats.median / 1e9
        else:
            benchmark.extra_info["gbps_at_median"] = work["bytes"] / stats.median / 1e9
