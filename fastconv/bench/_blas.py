"""Setting the thread count of the BLAS behind NumPy's matmul, so the NumPy baseline uses the
same number of threads as fastconv.

Uses threadpoolctl when installed; otherwise looks for an OpenBLAS already loaded into the
process (NumPy wheels bundle one) and calls its set_num_threads through ctypes. When neither
works the baseline runs with the BLAS default, and reports say so.
"""

import ctypes
import os

_SET = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
        "openblas_set_num_threads64_", "openblas_set_num_threads")
_GET = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
        "openblas_get_num_threads64_", "openblas_get_num_threads")
_CORE = ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
         "openblas_get_corename64_", "openblas_get_corename")


def _loaded_openblas():
    import numpy  # noqa: F401  (loads the BLAS)

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:  # not Linux
        return None
    for path in sorted(paths):
        if os.path.exists(path):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    return None


def _symbol(lib, names):
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            return fn
    return None


class BlasThreads:
    """set(n) / get() / info() for NumPy's BLAS, whichever way is available."""

    def __init__(self):
        self.method = None
        self._lib = None
        self._tpc = None
        try:
            import threadpoolctl

            self._tpc = threadpoolctl
            self.method = "threadpoolctl"
        except ImportError:
            self._lib = _loaded_openblas()
            if self._lib is not None and _symbol(self._lib, _SET) is not None:
                self.method = "openblas-ctypes"

    def set(self, n):
        """Returns True when the thread count was set."""
        if self.method == "threadpoolctl":
            self._tpc.threadpool_limits(n, user_api="blas")
            return True
        if self.method == "openblas-ctypes":
            _symbol(self._lib, _SET)(ctypes.c_int(n))
            return True
        return False

    def get(self):
        if self.method == "threadpoolctl":
            infos = [i for i in self._tpc.threadpool_info() if i.get("user_api") == "blas"]
            return infos[0]["num_threads"] if infos else None
        if self.method == "openblas-ctypes":
            fn = _symbol(self._lib, _GET)
            return None if fn is None else int(fn())
        return None

    def info(self):
        core = None
        if self.method == "threadpoolctl":
            infos = [i for i in self._tpc.threadpool_info() if i.get("user_api") == "blas"]
            core = infos[0].get("architecture") if infos else None
        elif self._lib is not None:
            fn = _symbol(self._lib, _CORE)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                core = fn().decode()
        return {"control": self.method or "none (BLAS default)", "core": core,
                "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "")}
