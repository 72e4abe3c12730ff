# Private wrapper of the GEMM-based kernels and the element-wise passes that share their build:
# conv2d.h, gemm.h (matmul), optim.h, activation.h, probe.h, and the run-time facts (SIMD
# level, OpenMP). Callers (fastconv/ops/) validate arguments; this layer checks what the C
# kernels assume about buffer sizes, sizes the workspace, and calls the kernels without the GIL.
import sys
import threading

import numpy as np

from libc.stdint cimport int64_t
from cython cimport floating

cdef extern from "cpu.h":
    ctypedef enum fc_isa:
        FC_ISA_GENERIC
        FC_ISA_AVX2
        FC_ISA_AVX512
        FC_ISA_NEON
    enum:
        FC_ISA_COUNT
    fc_isa fc_selected_isa()
    fc_isa fc_supported_isa()
    int fc_isa_available(fc_isa isa)
    const char *fc_isa_name(fc_isa isa)

cdef extern from "gemm.h":
    void fc_gemm_init(fc_isa isa)
    void fc_gemm_blocking(int64_t *mr, int64_t *nr_f32, int64_t *nr_f64, int64_t *mc, int64_t *kc)
    size_t fc_gemm_workspace_size(int nthreads)
    enum:
        FC_ACCUMULATE
        FC_RELU
    void fc_gemm_f32(float *c, const float *a, const float *b, int64_t m, int64_t n, int64_t k,
                     int64_t rsa, int64_t csa, int64_t rsb, int64_t csb, int64_t ldc,
                     int flags, const float *bias, float *workspace, int nthreads) nogil
    void fc_gemm_f64(double *c, const double *a, const double *b, int64_t m, int64_t n,
                     int64_t k, int64_t rsa, int64_t csa, int64_t rsb, int64_t csb, int64_t ldc,
                     int flags, const double *bias, double *workspace, int nthreads) nogil

cdef extern from "conv2d.h":
    ctypedef struct fc_conv2d_dims:
        int64_t N, H, W, C, OH, OW, OC, KH, KW, G, SH, SW, DH, DW, PT, PL
    void conv2d_set_winograd(int enabled)
    const char *conv2d_forward_kernel(const fc_conv2d_dims *d)
    const char *conv2d_backward_input_kernel(const fc_conv2d_dims *d)
    const char *conv2d_backward_weight_kernel(const fc_conv2d_dims *d)
    int conv2d_forward_workspace_size_f32(const fc_conv2d_dims *d, int nthreads, size_t *n)
    int conv2d_forward_workspace_size_f64(const fc_conv2d_dims *d, int nthreads, size_t *n)
    int conv2d_backward_input_workspace_size_f32(const fc_conv2d_dims *d, int nthreads, size_t *n)
    int conv2d_backward_input_workspace_size_f64(const fc_conv2d_dims *d, int nthreads, size_t *n)
    int conv2d_backward_weight_workspace_size_f32(const fc_conv2d_dims *d, int nthreads, size_t *n)
    int conv2d_backward_weight_workspace_size_f64(const fc_conv2d_dims *d, int nthreads, size_t *n)
    void conv2d_forward_f32(float *out, const float *inp, const float *weight, const float *bias,
                            const fc_conv2d_dims *d, int relu, float *workspace,
                            int nthreads) nogil
    void conv2d_forward_f64(double *out, const double *inp, const double *weight,
                            const double *bias, const fc_conv2d_dims *d, int relu,
                            double *workspace, int nthreads) nogil
    void conv2d_backward_input_f32(float *dinp, const float *dout, const float *weight,
                                   const float *relu_mask, const fc_conv2d_dims *d,
                                   float *workspace, int nthreads) nogil
    void conv2d_backward_input_f64(double *dinp, const double *dout, const double *weight,
                                   const double *relu_mask, const fc_conv2d_dims *d,
                                   double *workspace, int nthreads) nogil
    void conv2d_backward_weight_f32(float *dweight, float *dbias, const float *dout,
                                    const float *inp, const fc_conv2d_dims *d, float *workspace,
                                    int nthreads) nogil
    void conv2d_backward_weight_f64(double *dweight, double *dbias, const double *dout,
                                    const double *inp, const fc_conv2d_dims *d, double *workspace,
                                    int nthreads) nogil
    int conv2d_forward_pooled_applies(const fc_conv2d_dims *d)
    int conv2d_forward_pooled_workspace_size_f32(const fc_conv2d_dims *d, int nthreads, size_t *n)
    int conv2d_forward_pooled_workspace_size_f64(const fc_conv2d_dims *d, int nthreads, size_t *n)
    int conv2d_forward_pooled_f32(float *pooled, const float *inp, const float *weight,
                                  const float *bias, const fc_conv2d_dims *d, int relu,
                                  float *workspace, int nthreads) nogil
    int conv2d_forward_pooled_f64(double *pooled, const double *inp, const double *weight,
                                  const double *bias, const fc_conv2d_dims *d, int relu,
                                  double *workspace, int nthreads) nogil
    int conv2d_backward_weight_pooled_applies(const fc_conv2d_dims *d)
    int conv2d_backward_weight_pooled_workspace_size_f32(const fc_conv2d_dims *d, int nthreads,
                                                         size_t *n)
    int conv2d_backward_weight_pooled_workspace_size_f64(const fc_conv2d_dims *d, int nthreads,
                                                         size_t *n)
    void conv2d_backward_weight_pooled_f32(float *dweight, float *dbias, const float *dpool,
                                           const float *act, const float *inp,
                                           const fc_conv2d_dims *d, float *workspace,
                                           int nthreads) nogil
    void conv2d_backward_weight_pooled_f64(double *dweight, double *dbias, const double *dpool,
                                           const double *act, const double *inp,
                                           const fc_conv2d_dims *d, double *workspace,
                                           int nthreads) nogil
    void conv2d_forward_naive_f32(float *out, const float *inp, const float *weight,
                                  const float *bias, const fc_conv2d_dims *d, int relu) nogil
    void conv2d_forward_naive_f64(double *out, const double *inp, const double *weight,
                                  const double *bias, const fc_conv2d_dims *d, int relu) nogil
    void conv2d_backward_input_naive_f32(float *dinp, const float *dout, const float *weight,
                                         const fc_conv2d_dims *d) nogil
    void conv2d_backward_input_naive_f64(double *dinp, const double *dout, const double *weight,
                                         const fc_conv2d_dims *d) nogil
    void conv2d_backward_weight_naive_f32(float *dweight, float *dbias, const float *dout,
                                          const float *inp, const fc_conv2d_dims *d) nogil
    void conv2d_backward_weight_naive_f64(double *dweight, double *dbias, const double *dout,
                                          const double *inp, const fc_conv2d_dims *d) nogil

cdef extern from "optim.h":
    void adam_update_f32(float *var, float *m, float *v, const float *grad, int64_t n,
                         double alpha, double beta_1, double beta_2, double epsilon,
                         int nthreads) nogil
    void adam_update_f64(double *var, double *m, double *v, const double *grad, int64_t n,
                         double alpha, double beta_1, double beta_2, double epsilon,
                         int nthreads) nogil

cdef extern from "activation.h":
    void relu_backward_f32(float *dinp, const float *dout, const float *out, int64_t n,
                           int nthreads) nogil
    void relu_backward_f64(double *dinp, const double *dout, const double *out, int64_t n,
                           int nthreads) nogil

cdef extern from "probe.h":
    double fc_fma_probe_f32(int64_t iters, int nthreads) nogil

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int fc_openmp_enabled(void) { return 1; }
    static int fc_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int fc_openmp_enabled(void) { return 0; }
    static int fc_max_threads(void) { return 1; }
    #endif
    """
    int fc_openmp_enabled()
    int fc_max_threads()

fc_gemm_init(fc_selected_isa())

def simd_level():
    """The SIMD instruction set the kernels use (after FASTCONV_ISA)."""
    return fc_isa_name(fc_selected_isa()).decode()


def simd_available():
    """Every SIMD level this CPU can run, lowest first."""
    return [fc_isa_name(<fc_isa>i).decode() for i in range(FC_ISA_COUNT) if fc_isa_available(<fc_isa>i)]


def blocking():
    """The register tile and cache blocking of the kernels in use (tests pick shapes that cross
    them): mr rows x nr columns per tile (nr per dtype), mc rows per packed block, kc deep panels."""
    cdef int64_t mr, nr_f32, nr_f64, mc, kc
    fc_gemm_blocking(&mr, &nr_f32, &nr_f64, &mc, &kc)
    return {"isa": simd_level(), "mr": mr, "nr": {"float32": nr_f32, "float64": nr_f64},
            "mc": mc, "kc": kc}


def openmp_enabled():
    return fc_openmp_enabled()


def max_threads():
    return fc_max_threads()


def fma_probe(long iters, int nthreads):
    """FLOPs done by a pure float32 FMA loop of `iters` steps per thread (GIL released)."""
    cdef double flops
    with nogil:
        flops = fc_fma_probe_f32(iters, nthreads)
    return flops


# Workspaces are cached per Python thread and grown on demand: first touch of fresh pages is
# costly, and concurrent callers must not share one buffer.
_scratch = threading.local()


cdef void *_workspace(size_t elements, size_t itemsize) except NULL:
    """A 64-byte aligned (a cache line, an AVX-512 vector) scratch area of `elements` items,
    valid until this thread's next call: packed panels then start on a line."""
    if elements > <size_t>((sys.maxsize - 128) // itemsize):
        raise MemoryError(f"the kernel workspace ({elements} elements) is larger than memory can "
                          "address: check the strides, padding and dilation")
    cdef size_t nbytes = elements * itemsize
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.nbytes < <Py_ssize_t>(nbytes + 64):  # nbytes < maxsize - 128: no wrap
        buf = np.empty(max(nbytes, <size_t>64) + 64, dtype=np.uint8)
        _scratch.buf = buf
    cdef unsigned char[::1] view = buf
    cdef size_t address = <size_t>&view[0]
    return <void *>(address + (-address) % 64)


cdef fc_conv2d_dims _dims(tuple geometry) except *:
    cdef fc_conv2d_dims d
    (d.N, d.H, d.W, d.C, d.OH, d.OW, d.OC, d.KH, d.KW, d.G,
     d.SH, d.SW, d.DH, d.DW, d.PT, d.PL) = geometry
    return d


def set_winograd(bint enabled):
    """Lets 3x3 stride-1 layers take the Winograd kernels, or keeps them on the GEMM ones
    (FASTCONV_WINOGRAD, read by fastconv._ext; tests compare both). Workspaces fit either."""
    conv2d_set_winograd(enabled)


def kernels(tuple geometry):
    """The kernel each pass of a conv2d geometry runs (float32; float64 differs only in which
    weight gradients read in place): {"forward": ..., "input": ..., "weight": ...}."""
    cdef fc_conv2d_dims d = _dims(geometry)
    return {"forward": conv2d_forward_kernel(&d).decode(),
            "input": conv2d_backward_input_kernel(&d).decode(),
            "weight": conv2d_backward_weight_kernel(&d).decode()}


cdef void _check_buffers(fc_conv2d_dims *d, Py_ssize_t inp, Py_ssize_t weight, Py_ssize_t out,
                         Py_ssize_t bias) except *:
    # The kernels trust these sizes; a mismatch here is a bug in the caller, not user error.
    if (inp != d.N * d.H * d.W * d.C or out != d.N * d.OH * d.OW * d.OC
            or weight != d.KH * d.KW * (d.C // d.G) * d.OC or (bias >= 0 and bias != d.OC)):
        raise ValueError("conv2d: buffer sizes do not match the geometry")


# ---------------------------------------------------------------------------------------------
# The dispatch: one binding per conv2d pass maps (dtype, naive) to its C kernel. The fused type
# picks the _f32 or _f64 symbol at compile time, `naive` the plain-loop twin (the in-C oracle of
# the tests) at run time, and the fast kernel's workspace is sized here. The Python-facing
# functions below are each written once, over `floating`.

cdef enum _Pass:
    _FORWARD, _BACKWARD_INPUT, _BACKWARD_WEIGHT, _FORWARD_POOLED, _BACKWARD_WEIGHT_POOLED


cdef floating *_conv_workspace(_Pass which, const fc_conv2d_dims *d, int nthreads,
                               floating *like) except NULL:
    # The workspace of pass `which` in the dtype of `like` (any array of the call).
    cdef size_t n = 0
    cdef int ok
    if floating is float:
        if which == _FORWARD:
            ok = conv2d_forward_workspace_size_f32(d, nthreads, &n)
        elif which == _BACKWARD_INPUT:
            ok = conv2d_backward_input_workspace_size_f32(d, nthreads, &n)
        elif which == _FORWARD_POOLED:
            ok = conv2d_forward_pooled_workspace_size_f32(d, nthreads, &n)
        elif which == _BACKWARD_WEIGHT_POOLED:
            ok = conv2d_backward_weight_pooled_workspace_size_f32(d, nthreads, &n)
        else:
            ok = conv2d_backward_weight_workspace_size_f32(d, nthreads, &n)
    else:
        if which == _FORWARD:
            ok = conv2d_forward_workspace_size_f64(d, nthreads, &n)
        elif which == _BACKWARD_INPUT:
            ok = conv2d_backward_input_workspace_size_f64(d, nthreads, &n)
        elif which == _FORWARD_POOLED:
            ok = conv2d_forward_pooled_workspace_size_f64(d, nthreads, &n)
        elif which == _BACKWARD_WEIGHT_POOLED:
            ok = conv2d_backward_weight_pooled_workspace_size_f64(d, nthreads, &n)
        else:
            ok = conv2d_backward_weight_workspace_size_f64(d, nthreads, &n)
    if not ok:
        raise MemoryError("conv2d: the workspace size overflows")
    return <floating *>_workspace(n + 1, sizeof(floating))


cdef void _conv_forward(floating *out, const floating *x, const floating *w, const floating *b,
                        const fc_conv2d_dims *d, int relu, floating *ws, int nthreads,
                        bint naive) noexcept nogil:
    if floating is float:
        if naive:
            conv2d_forward_naive_f32(out, x, w, b, d, relu)
        else:
            conv2d_forward_f32(out, x, w, b, d, relu, ws, nthreads)
    else:
        if naive:
            conv2d_forward_naive_f64(out, x, w, b, d, relu)
        else:
            conv2d_forward_f64(out, x, w, b, d, relu, ws, nthreads)


cdef void _conv_backward_input(floating *dx, const floating *dy, const floating *w,
                               const floating *relu_mask, const fc_conv2d_dims *d, floating *ws,
                               int nthreads, bint naive) noexcept nogil:
    if floating is float:
        if naive:
            conv2d_backward_input_naive_f32(dx, dy, w, d)
        else:
            conv2d_backward_input_f32(dx, dy, w, relu_mask, d, ws, nthreads)
    else:
        if naive:
            conv2d_backward_input_naive_f64(dx, dy, w, d)
        else:
            conv2d_backward_input_f64(dx, dy, w, relu_mask, d, ws, nthreads)


cdef void _conv_backward_weight(floating *dw, floating *db, const floating *dy, const floating *x,
                                const fc_conv2d_dims *d, floating *ws, int nthreads,
                                bint naive) noexcept nogil:
    if floating is float:
        if naive:
            conv2d_backward_weight_naive_f32(dw, db, dy, x, d)
        else:
            conv2d_backward_weight_f32(dw, db, dy, x, d, ws, nthreads)
    else:
        if naive:
            conv2d_backward_weight_naive_f64(dw, db, dy, x, d)
        else:
            conv2d_backward_weight_f64(dw, db, dy, x, d, ws, nthreads)


cdef void _gemm(floating *c, const floating *a, const floating *b, int64_t m, int64_t n,
                int64_t k, int64_t rsa, int64_t csa, int64_t rsb, int64_t csb, int64_t ldc,
                int flags, const floating *bias, floating *ws, int nthreads) noexcept nogil:
    if floating is float:
        fc_gemm_f32(c, a, b, m, n, k, rsa, csa, rsb, csb, ldc, flags, bias, ws, nthreads)
    else:
        fc_gemm_f64(c, a, b, m, n, k, rsa, csa, rsb, csb, ldc, flags, bias, ws, nthreads)


cdef void _adam(floating *var, floating *m, floating *v, const floating *grad, int64_t n,
                double alpha, double beta_1, double beta_2, double epsilon,
                int nthreads) noexcept nogil:
    if floating is float:
        adam_update_f32(var, m, v, grad, n, alpha, beta_1, beta_2, epsilon, nthreads)
    else:
        adam_update_f64(var, m, v, grad, n, alpha, beta_1, beta_2, epsilon, nthreads)


cdef void _relu_backward(floating *dx, const floating *dy, const floating *y, int64_t n,
                         int nthreads) noexcept nogil:
    if floating is float:
        relu_backward_f32(dx, dy, y, n, nthreads)
    else:
        relu_backward_f64(dx, dy, y, n, nthreads)


# ---------------------------------------------------------------------------------------------
# The Python-facing functions: buffer checks, then the binding without the GIL.

def forward(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] kernel,
            const floating[::1] bias, floating[:, :, :, ::1] out, tuple geometry,
            int nthreads, bint naive=False, bint relu=False):
    """out = conv2d(x, kernel) + bias (then ReLU when relu), in place into `out` (NHWC)."""
    cdef fc_conv2d_dims d = _dims(geometry)
    _check_buffers(&d, x.size, kernel.size, out.size, bias.shape[0] if bias is not None else -1)
    cdef const floating *b = &bias[0] if bias is not None else NULL
    cdef floating *ws = _conv_workspace(_FORWARD, &d, nthreads, &out[0, 0, 0, 0])
    with nogil:
        _conv_forward(&out[0, 0, 0, 0], &x[0, 0, 0, 0], &kernel[0, 0, 0, 0], b, &d, relu, ws,
                      nthreads, naive)


def backward_input(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] kernel,
                   floating[:, :, :, ::1] dx, tuple geometry, int nthreads, bint naive=False,
                   const floating[:, :, :, ::1] relu_mask=None):
    """dx = gradient of conv2d w.r.t. its input, written into `dx` (NHWC).

    relu_mask: the input itself when it is a ReLU's output: dx is then also taken through that
    ReLU (0 where relu_mask is not > 0), block by block (no naive twin: tests check it against
    relu_backward of the plain gradient)."""
    cdef fc_conv2d_dims d = _dims(geometry)
    _check_buffers(&d, dx.size, kernel.size, dy.size, -1)
    cdef const floating *mask = NULL
    cdef const floating *out
    cdef Py_ssize_t count
    if relu_mask is not None:
        if naive:
            raise ValueError("conv2d: the naive twin has no fused ReLU")
        if relu_mask.size != dx.size:
            raise ValueError("conv2d: relu_mask does not match dx")
        mask = &relu_mask[0, 0, 0, 0]
        out = <const floating *>&dx[0, 0, 0, 0]
        count = dx.shape[0] * dx.shape[1] * dx.shape[2] * dx.shape[3]
        if mask < out + count and out < mask + count:
            raise ValueError("conv2d: relu_mask overlaps dx")
    cdef floating *ws = _conv_workspace(_BACKWARD_INPUT, &d, nthreads, &dx[0, 0, 0, 0])
    with nogil:
        _conv_backward_input(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], &kernel[0, 0, 0, 0], mask, &d, ws,
                             nthreads, naive)


def backward_weight(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] x,
                    floating[:, :, :, ::1] dkernel, floating[::1] dbias, tuple geometry,
                    int nthreads, bint naive=False):
    """dkernel (and dbias unless None) = gradients of conv2d w.r.t. its kernel and bias."""
    cdef fc_conv2d_dims d = _dims(geometry)
    _check_buffers(&d, x.size, dkernel.size, dy.size, dbias.shape[0] if dbias is not None else -1)
    cdef floating *db = &dbias[0] if dbias is not None else NULL
    cdef floating *ws = _conv_workspace(_BACKWARD_WEIGHT, &d, nthreads, &dkernel[0, 0, 0, 0])
    with nogil:
        _conv_backward_weight(&dkernel[0, 0, 0, 0], db, &dy[0, 0, 0, 0], &x[0, 0, 0, 0], &d, ws,
                              nthreads, naive)



def pooled_forward_applies(tuple geometry):
    """Whether forward_pooled takes a conv2d of this geometry (a first layer or a Winograd shape,
    with an output of at least 2 x 2)."""
    cdef fc_conv2d_dims d = _dims(geometry)
    return bool(conv2d_forward_pooled_applies(&d))


def forward_pooled(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] kernel,
                   const floating[::1] bias, floating[:, :, :, ::1] pooled, tuple geometry,
                   int nthreads, bint relu=False):
    """pooled = the 2 x 2, stride-2, valid max pool of conv2d(x, kernel) + bias (then ReLU when
    relu), without the conv output (conv2d.h); returns False, writing nothing, for a geometry
    pooled_forward_applies refuses at the time of the call."""
    cdef fc_conv2d_dims d = _dims(geometry)
    if not conv2d_forward_pooled_applies(&d):
        return False  # before the workspace is sized for it
    # the conv output is never written: its size here only lets the other sizes be checked
    _check_buffers(&d, x.size, kernel.size, d.N * d.OH * d.OW * d.OC,
                   bias.shape[0] if bias is not None else -1)
    if pooled.size != d.N * (d.OH // 2) * (d.OW // 2) * d.OC:
        raise ValueError(f"conv2d: pooled has {pooled.size} elements, the 2 x 2 pooling of the "
                         f"output {d.N * (d.OH // 2) * (d.OW // 2) * d.OC}")
    cdef const floating *b = &bias[0] if bias is not None else NULL
    cdef floating *ws = _conv_workspace(_FORWARD_POOLED, &d, nthreads, &pooled[0, 0, 0, 0])
    cdef int done
    with nogil:
        if floating is float:
            done = conv2d_forward_pooled_f32(&pooled[0, 0, 0, 0], &x[0, 0, 0, 0],
                                             &kernel[0, 0, 0, 0], b, &d, relu, ws, nthreads)
        else:
            done = conv2d_forward_pooled_f64(&pooled[0, 0, 0, 0], &x[0, 0, 0, 0],
                                             &kernel[0, 0, 0, 0], b, &d, relu, ws, nthreads)
    return bool(done)


def pooled_weight_gradient_applies(tuple geometry):
    """Whether backward_weight_pooled takes a conv2d of this geometry (a first layer)."""
    cdef fc_conv2d_dims d = _dims(geometry)
    return bool(conv2d_backward_weight_pooled_applies(&d))


def backward_weight_pooled(const floating[:, :, :, ::1] dpool, const floating[:, :, :, ::1] act,
                           const floating[:, :, :, ::1] x, floating[:, :, :, ::1] dkernel,
                           floating[::1] dbias, tuple geometry, int nthreads):
    """dkernel (and dbias unless None) of a conv2d whose ReLU output `act` went through a 2 x 2,
    stride-2, valid max pool, from that pool's gradient dpool: the bits of max_pool2d_backward
    (relu) followed by backward_weight, without the conv output's gradient (conv2d.h)."""
    cdef fc_conv2d_dims d = _dims(geometry)
    if not conv2d_backward_weight_pooled_applies(&d):
        raise ValueError("conv2d: the pooled weight gradient takes at most 3 input channels, one "
                         "group and outputs of at least 2 x 2")
    _check_buffers(&d, x.size, dkernel.size, act.size, dbias.shape[0] if dbias is not None else -1)
    if dpool.size != d.N * (d.OH // 2) * (d.OW // 2) * d.OC:
        raise ValueError(f"conv2d: dpool has {dpool.size} elements, the 2 x 2 pooling of the "
                         f"output {d.N * (d.OH // 2) * (d.OW // 2) * d.OC}")
    cdef floating *db = &dbias[0] if dbias is not None else NULL
    cdef floating *ws = _conv_workspace(_BACKWARD_WEIGHT_POOLED, &d, nthreads,
                                        &dkernel[0, 0, 0, 0])
    with nogil:
        if floating is float:
            conv2d_backward_weight_pooled_f32(&dkernel[0, 0, 0, 0], db, &dpool[0, 0, 0, 0],
                                              &act[0, 0, 0, 0], &x[0, 0, 0, 0], &d, ws, nthreads)
        else:
            conv2d_backward_weight_pooled_f64(&dkernel[0, 0, 0, 0], db, &dpool[0, 0, 0, 0],
                                              &act[0, 0, 0, 0], &x[0, 0, 0, 0], &d, ws, nthreads)


def matmul(const floating[:, :] a, const floating[:, :] b, floating[:, ::1] out,
           bint accumulate, int nthreads, const floating[::1] bias=None, bint relu=False):
    """out = a @ b (+ bias), or out += a @ b when accumulate; then ReLU when relu.

    a and b may be any strided views (transposes are not copied)."""
    cdef Py_ssize_t m = a.shape[0], k = a.shape[1], n = b.shape[1]
    cdef Py_ssize_t item = sizeof(floating)
    cdef const floating *pbias = NULL
    cdef int flags = (FC_ACCUMULATE if accumulate else 0) | (FC_RELU if relu else 0)
    if b.shape[0] != k or out.shape[0] != m or out.shape[1] != n:
        raise ValueError("matmul: buffer shapes do not match")
    if bias is not None:
        if bias.shape[0] != n:
            raise ValueError("matmul: bias size does not match")
        if n:
            pbias = &bias[0]
    if m == 0 or n == 0:
        return
    cdef size_t elements = fc_gemm_workspace_size(nthreads)
    if elements == 0:
        raise MemoryError("matmul: the workspace size overflows")
    cdef floating *ws = <floating *>_workspace(elements, sizeof(floating))
    # Empty k: the pointers are never read, but they must not index a zero-length view.
    cdef const floating *pa = &a[0, 0] if k else NULL
    cdef const floating *pb = &b[0, 0] if k else NULL
    with nogil:
        _gemm(&out[0, 0], pa, pb, m, n, k, a.strides[0] // item, a.strides[1] // item,
              b.strides[0] // item, b.strides[1] // item, out.strides[0] // item, flags, pbias,
              ws, nthreads)


def adam_update(floating[::1] var, floating[::1] m, floating[::1] v, const floating[::1] grad,
                double alpha, double beta_1, double beta_2, double epsilon, int nthreads):
    """One Adam step in place on flat, equally long arrays (see csrc/optim.h)."""
    cdef Py_ssize_t n = var.shape[0]
    if m.shape[0] != n or v.shape[0] != n or grad.shape[0] != n:
        raise ValueError("adam_update: arrays differ in length")
    if n == 0:
        return
    with nogil:
        _adam(&var[0], &m[0], &v[0], &grad[0], n, alpha, beta_1, beta_2, epsilon, nthreads)


def relu_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] y, int nthreads):
    """dx = dy where y > 0, else 0 (flat arrays of one length; dx may be dy)."""
    cdef Py_ssize_t n = dx.shape[0]
    if dy.shape[0] != n or y.shape[0] != n:
        raise ValueError("relu_backward: arrays differ in length")
    if n == 0:
        return
    with nogil:
        _relu_backward(&dx[0], &dy[0], &y[0], n, nthreads)
