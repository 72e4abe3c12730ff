/* The plain loop twins of the conv2d kernels: the in-C oracle for tests. Type-generic; included
   by conv2d.c once per type with T and SFX (f32/f64) defined. */
#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FN(name) FC_CAT(name, SFX)

/* Calls BODY for every (output pixel, output channel, tap, input channel) with in-bounds input,
   binding: o (out index), i (inp index), w (weight index), f (output channel). */
#define FOR_EACH_TERM(d, BODY)                                                                     \
    for (int64_t n = 0; n < d->N; n++)                                                             \
        for (int64_t oh = 0; oh < d->OH; oh++)                                                     \
            for (int64_t ow = 0; ow < d->OW; ow++)                                                 \
                for (int64_t f = 0; f < d->OC; f++) {                                              \
                    const int64_t Cg = d->C / d->G, g = f / (d->OC / d->G);                        \
                    const int64_t o = ((n * d->OH + oh) * d->OW + ow) * d->OC + f;                 \
                    for (int64_t kh = 0; kh < d->KH; kh++)                                         \
                        for (int64_t kw = 0; kw < d->KW; kw++) {                                   \
                            const int64_t ih = oh * d->SH - d->PT + kh * d->DH;                    \
                            const int64_t iw = ow * d->SW - d->PL + kw * d->DW;                    \
                            if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W) continue;            \
                            for (int64_t c = 0; c < Cg; c++) {                                     \
                                const int64_t i = ((n * d->H + ih) * d->W + iw) * d->C + g * Cg + c; \
                                const int64_t w = ((kh * d->KW + kw) * Cg + c) * d->OC + f;        \
                                BODY;                                                              \
                            }                                                                      \
                        }                                                                          \
                }

void FN(conv2d_forward_naive)(T *out, const T *inp, const T *weight, const T *bias,
                              const fc_conv2d_dims *d, int relu) {
    const int64_t size = d->N * d->OH * d->OW * d->OC;
    for (int64_t o = 0; o < size; o++) out[o] = bias ? bias[o % d->OC] : 0;
    FOR_EACH_TERM(d, out[o] += inp[i] * weight[w])
    if (relu)
        for (int64_t o = 0; o < size; o++) out[o] = out[o] < 0 ? 0 : out[o];
}

void FN(conv2d_backward_input_naive)(T *dinp, const T *dout, const T *weight,
                                     const fc_conv2d_dims *d) {
    for (int64_t i = 0; i < d->N * d->H * d->W * d->C; i++) dinp[i] = 0;
    FOR_EACH_TERM(d, dinp[i] += dout[o] * weight[w])
}

void FN(conv2d_backward_weight_naive)(T *dweight, T *dbias, const T *dout, const T *inp,
                                      const fc_conv2d_dims *d) {
    for (int64_t w = 0; w < d->KH * d->KW * (d->C / d->G) * d->OC; w++) dweight[w] = 0;
    FOR_EACH_TERM(d, dweight[w] += dout[o] * inp[i])
    if (dbias) {
        for (int64_t f = 0; f < d->OC; f++) dbias[f] = 0;
        for (int64_t o = 0; o < d->N * d->OH * d->OW * d->OC; o++) dbias[o % d->OC] += dout[o];
    }
}

#undef FOR_EACH_TERM

#undef FN
#undef FC_CAT
#undef FC_CAT_
