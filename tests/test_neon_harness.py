"""The NEON micro-kernels' C harness (tests/c), built and run on this machine.

On x86-64 the NEON kernel source is compiled through SIMDe (the simde-py headers) and must equal
the AVX2 kernels and a scalar fused-multiply-add model bit for bit; on aarch64 the real kernels
run. .ci/neon.sh also runs the real kernels under qemu-aarch64. Without make, a C compiler or the
SIMDe headers the test skips, except in CI on Linux (CI=true), where that fails instead: a
missing tool must not turn the check off quietly.
"""

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).parent / "c"


def _missing(reason):
    if os.environ.get("CI") == "true" and sys.platform.startswith("linux"):
        pytest.fail(f"{reason}; CI must run the NEON kernel harness")
    pytest.skip(reason)


def _make_arguments():
    """The make target and variables that test the NEON kernels on this machine."""
    cc = os.environ.get("CC", "cc")
    if shutil.which("make") is None or shutil.which(cc) is None:
        _missing(f"the NEON harness needs make and a C compiler ({cc})")
    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        return ["check-neon", f"TARGET_CC={cc}", "RUN="]
    if machine in ("x86_64", "amd64"):
        try:
            import simde_py
        except ImportError:
            _missing("the emulated NEON kernels need the SIMDe headers: pip install simde-py")
        return ["check-neonemu", f"SIMDE={simde_py.get_include()}"]
    pytest.skip(f"no NEON kernel harness for {machine}")


@pytest.mark.skipif(sys.platform == "win32", reason="the harness builds with make and cc")
def test_neon_kernels_harness(tmp_path):
    args = _make_arguments()
    run = subprocess.run(
        ["make", "--no-print-directory", "-C", str(HARNESS), *args, f"O={tmp_path}"],
        capture_output=True, text=True, timeout=300,
    )
    log = run.stdout + run.stderr
    if "need AVX2 + FMA" in log:
        pytest.skip("this CPU has no AVX2 + FMA to run the emulated NEON kernels' twin")
    counts = re.search(r"^(\d+) passed, (\d+) failed$", run.stdout, re.MULTILINE)
    assert run.returncode == 0 and counts, log
    assert int(counts[1]) > 0 and int(counts[2]) == 0, log
