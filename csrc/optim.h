/* Optimizer updates as single passes over a parameter array (in place). */
#ifndef FASTCONV_OPTIM_H
#define FASTCONV_OPTIM_H

#include <stdint.h>

/* Keras's Adam step for n elements, with alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t):
     m += (g - m) * (1 - beta_1);  v += (g*g - v) * (1 - beta_2);  var -= alpha * m / (sqrt(v) + eps)
   reference: Kingma & Ba (2015), section 2 ("epsilon-hat" form). Element-wise, so the result
   does not depend on nthreads. */
void adam_update_f32(float *var, float *m, float *v, const float *grad, int64_t n, double alpha,
                     double beta_1, double beta_2, double epsilon, int nthreads);
void adam_update_f64(double *var, double *m, double *v, const double *grad, int64_t n,
                     double alpha, double beta_1, double beta_2, double epsilon, int nthreads);

#endif
