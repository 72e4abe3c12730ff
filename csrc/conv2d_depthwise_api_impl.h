/* Public entry points of conv2d_depthwise.c for one type (T, SFX defined): workspace sizes and the
   choice of kernel by the selected ISA. */
#define FC_DW_CAT_(a, b, c) a##_##b##_##c
#define FC_DW_CAT(a, b, c) FC_DW_CAT_(a, b, c)
#define FN(name) FC_DW_CAT(conv2d_depthwise, name, SFX)
#define KERNEL(name, isa) FC_DW_CAT(name, SFX, isa)

#ifdef FC_HAVE_X86
#define FC_DW_DISPATCH(name, ...)                                                                  \
    do {                                                                                           \
        const fc_isa isa = fc_loop_isa(); /* test levels run the loops they stand for */          \
        if (isa == FC_ISA_AVX512)                                                                  \
            KERNEL(name, avx512)(__VA_ARGS__);                                                     \
        else if (isa == FC_ISA_AVX2)                                                               \
            KERNEL(name, avx2)(__VA_ARGS__);                                                       \
        else                                                                                       \
            KERNEL(name, generic)(__VA_ARGS__);                                                    \
    } while (0)
#else
#define FC_DW_DISPATCH(name, ...) KERNEL(name, generic)(__VA_ARGS__)
#endif

int FN(forward_workspace_size)(const fc_conv2d_dims *d, int nthreads, size_t *elements) {
    return fc_dw_forward_workspace(d, nthreads, sizeof(T), 0, elements);
}

int FN(backward_input_workspace_size)(const fc_conv2d_dims *d, int nthreads, size_t *elements) {
    return fc_dw_backward_input_workspace(d, nthreads, sizeof(T), elements);
}

int FN(backward_weight_workspace_size)(const fc_conv2d_dims *d, int nthreads, size_t *elements) {
    return fc_dw_backward_weight_workspace(d, nthreads, sizeof(T), elements);
}

void FN(forward)(T *out, const T *inp, const T *weight, const T *bias, const fc_conv2d_dims *d,
                 int relu, T *workspace, int nthreads) {
    nthreads = fc_threads_for(fc_dw_flops(d), nthreads);
    FC_DW_DISPATCH(dw_forward, out, inp, weight, bias, d, relu, workspace, nthreads);
}

void FN(backward_input)(T *dinp, const T *dout, const T *weight, const fc_conv2d_dims *d,
                        T *workspace, int nthreads) {
    nthreads = fc_threads_for(fc_dw_flops(d), nthreads);
    FC_DW_DISPATCH(dw_backward_input, dinp, dout, weight, d, workspace, nthreads);
}

void FN(backward_weight)(T *dweight, T *dbias, const T *dout, const T *inp,
                         const fc_conv2d_dims *d, T *workspace, int nthreads) {
    nthreads = fc_threads_for(fc_dw_flops(d), nthreads);
    FC_DW_DISPATCH(dw_backward_weight, dweight, dbias, dout, inp, d, workspace, nthreads);
}

#undef FC_DW_DISPATCH
#undef KERNEL
#undef FN
#undef FC_DW_CAT
#undef FC_DW_CAT_
