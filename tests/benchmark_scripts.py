"""The scripts of benchmarks/ as modules, for the tests of their arithmetic (benchmarks/ is not a
package: each script runs on its own)."""
import importlib.util
import pathlib

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def load(name):
    """benchmarks/<name>.py, imported as the module `name`."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
