/* Max pooling's rule, shared by the pooling kernels (pool2d_impl.h) and the weight gradient that
   takes a pool's gradient straight (conv2d_direct_impl.h), so both give the same bits. */
#ifndef FASTCONV_POOL_RULE_H
#define FASTCONV_POOL_RULE_H

/* Whether v replaces the running max m (NaN wins); whether cell value v takes the gradient of
   the window max m (v is the max, or v is NaN: the max is then NaN, and the first NaN wins).
   Written as selects of comparisons so the compiler vectorizes the channel loops. */
#define FC_POOL_HIT_MAX(v, m) (((v) > (m)) | ((v) != (v)))
#define FC_POOL_TAKES(v, m) (((v) == (m)) | ((v) != (v)))

/* m = the max of a 2 x 2 window's cells a, b (top row), e, f (bottom row), in that order. */
#define FC_POOL_MAX_OF_4(m, a, b, e, f)                                                            \
    do {                                                                                           \
        m = (a);                                                                                   \
        m = FC_POOL_HIT_MAX(b, m) ? (b) : m;                                                       \
        m = FC_POOL_HIT_MAX(e, m) ? (e) : m;                                                       \
        m = FC_POOL_HIT_MAX(f, m) ? (f) : m;                                                       \
    } while (0)

/* The gradient a window with max m passes on from its output's gradient: with relu (the ReLU
   whose output the pool read), nothing unless m > 0. + 0 as in dx = 0 + g: a -0 lands as +0. */
#define FC_POOL_WINDOW_GRADIENT(grad, m, relu) (((relu) ? ((m) > 0 ? (grad) : 0) : (grad)) + 0)

/* The gradients d00, d01, d10, d11 of the cells of such a window with max m, given the window's
   gradient g (a variable, consumed): the first cell that takes the max gets g, the others 0,
   found without branches by zeroing g once it has been given. */
#define FC_POOL_2X2_GRADIENTS(d00, d01, d10, d11, a, b, e, f, m, g)                                \
    do {                                                                                           \
        d00 = FC_POOL_TAKES(a, m) ? g : 0;                                                         \
        g = FC_POOL_TAKES(a, m) ? 0 : g;                                                           \
        d01 = FC_POOL_TAKES(b, m) ? g : 0;                                                         \
        g = FC_POOL_TAKES(b, m) ? 0 : g;                                                           \
        d10 = FC_POOL_TAKES(e, m) ? g : 0;                                                         \
        g = FC_POOL_TAKES(e, m) ? 0 : g;                                                           \
        d11 = FC_POOL_TAKES(f, m) ? g : 0;                                                         \
    } while (0)

/* All of a 2 x 2 window's backward pass: the gradients of its cells a, b, e, f (values, each
   read once) given its output's gradient grad (with relu, through the ReLU the pool read), in
   T. */
#define FC_POOL_2X2_BACKWARD(T, d00, d01, d10, d11, a, b, e, f, grad, relu)                       \
    do {                                                                                           \
        const T grad_ = (grad); /* loaded whatever the window: a conditional load is no blend */  \
        T m_;                                                                                      \
        FC_POOL_MAX_OF_4(m_, a, b, e, f);                                                          \
        T g_ = FC_POOL_WINDOW_GRADIENT(grad_, m_, relu);                                           \
        FC_POOL_2X2_GRADIENTS(d00, d01, d10, d11, a, b, e, f, m_, g_);                             \
    } while (0)

#endif
