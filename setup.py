"""Build the compiled core: C kernels in csrc/ behind Cython wrappers in fastconv/.

Environment switches (all optional):
  FASTCONV_OPENMP=0       build without OpenMP even when the compiler has it
  FASTCONV_SANITIZE=1     AddressSanitizer + UBSan build (for the sanitizer CI job)
  FASTCONV_BOUNDSCHECK=1  turn Cython bounds checking back on (debugging)
  FASTCONV_ONLY=NAME      build only extension NAME (e.g. fastconv._pool) while iterating
  FASTCONV_EMULATE=1      add the test-only kernel sets "avx512emu" and "neonemu" (the AVX-512
                          and NEON kernels through SIMDe on AVX2; needs `pip install simde-py`)
"""
import glob
import os
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "csrc"
# One extension per kernel family; each lists the C files it links.
EXTENSIONS = {
    "fastconv._conv": ["cpu.c", "gemm.c", "gemm_kernels.c", "gemm_kernels_neon.c",
                       "gemm_kernels_avx512emu.c", "gemm_kernels_neonemu.c", "conv2d.c",
                       "conv2d_depthwise.c", "probe.c", "optim.c", "activation.c", "winograd.c"],
    "fastconv._pool": ["cpu.c", "pool2d.c"],
}


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


def _compiler_accepts(compiler, args, code):
    """True when `compiler` compiles and links `code` with `args`."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(code)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=args)
            compiler.link_executable(objs, os.path.join(tmp, "probe"), extra_postargs=args)
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    """Chooses flags for the compiler actually used and reports what it enabled."""

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        # -fno-trapping-math: no kernel reads the floating-point exception flags, and with them
        # GCC will not turn a select into a blend when an add depends on it (pooling's
        # "+ 0"), which left the AVX2 max-pool backward pass scalar (5x slower).
        cflags = ["/O2", "/std:c11"] if msvc else ["-O3", "-std=c11", "-fno-math-errno", "-fno-trapping-math",
                                                   "-ffp-contract=fast", "-fopenmp-simd"]
        ldflags = []
        openmp = False
        if not os.environ.get("FASTCONV_OPENMP", "1") == "0":
            omp = ["/openmp"] if msvc else ["-fopenmp"]
            probe = "#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n"
            if _compiler_accepts(self.compiler, omp, probe):
                cflags += omp
                ldflags += [] if msvc else omp
                openmp = True
        if _flag("FASTCONV_SANITIZE") and not msvc:
            san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                   "-fno-sanitize-recover=undefined"]
            cflags = [f for f in cflags if f != "-O3"] + ["-O1", "-g"] + san
            ldflags += san
        macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
        includes = []
        if _flag("FASTCONV_EMULATE"):
            import simde_py  # the SIMDe headers: pip install simde-py

            macros += [("FC_HAVE_AVX512EMU", "1"), ("FC_HAVE_NEONEMU", "1")]
            includes.append(simde_py.get_include())
        for ext in self.extensions:
            ext.extra_compile_args = cflags
            ext.extra_link_args = ldflags
            ext.define_macros = macros
            ext.include_dirs = ext.include_dirs + includes
        print(f"fastconv build: openmp={'on' if openmp else 'off'}, "
              f"sanitize={'on' if _flag('FASTCONV_SANITIZE') else 'off'}, "
              f"emulate={'on' if _flag('FASTCONV_EMULATE') else 'off'}, "
              f"cflags={' '.join(cflags)}", file=sys.stderr)
        super().build_extensions()


def extensions():
    exts = [
        Extension(
            name,
            sources=[name.replace(".", "/") + ".pyx"] + [os.path.join(CSRC, c) for c in csources],
            include_dirs=[CSRC, numpy.get_include()],
            depends=glob.glob(os.path.join(CSRC, "*.h")),  # rebuild when a header changes
        )
        for name, csources in EXTENSIONS.items()
        if os.environ.get("FASTCONV_ONLY", name) == name
    ]
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": _flag("FASTCONV_BOUNDSCHECK"),
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
