/* The ISA table, and the GEMM drivers instantiated once per (type, geometry). */
#include "gemm.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define FC_GEOMETRY_IMPL "gemm_impl.h"
#include "geometries.h"
#undef FC_GEOMETRY_IMPL

/* One row per ISA level: its tile geometry and micro-kernels (BLIS's context, XNNPACK's gemm
   config). Levels this build cannot run on its architecture have no kernels. */
typedef struct {
    fc_geometry geometry;
    fc_ukr_f32 ukr_f32;
    fc_ukri_f32 ukri_f32;
    fc_ukrs_f32 ukrs_f32;
    fc_ukr_f64 ukr_f64;
    fc_ukri_f64 ukri_f64;
    fc_ukrs_f64 ukrs_f64;
} fc_kernel_set;

#define KERNELS(NAME)                                                                              \
    fc_ukr_##NAME##_f32, fc_ukri_##NAME##_f32, fc_ukrs_##NAME##_f32, fc_ukr_##NAME##_f64,           \
        fc_ukri_##NAME##_f64, fc_ukrs_##NAME##_f64

static const fc_kernel_set kernel_sets[FC_ISA_COUNT] = {
    [FC_ISA_GENERIC] = {FC_GEOMETRY_NARROW, KERNELS(generic)},
#ifdef FC_HAVE_X86
    [FC_ISA_AVX2] = {FC_GEOMETRY_NARROW, KERNELS(avx2)},
    [FC_ISA_AVX512] = {FC_GEOMETRY_WIDE, KERNELS(avx512)},
#endif
#ifdef FC_HAVE_NEON
    [FC_ISA_NEON] = {FC_GEOMETRY_NARROW, KERNELS(neon)},
#endif
    [FC_ISA_GENERIC512] = {FC_GEOMETRY_WIDE, KERNELS(generic_wide)},
#ifdef FC_HAVE_AVX512EMU
    [FC_ISA_AVX512EMU] = {FC_GEOMETRY_WIDE, KERNELS(avx512emu)},
#endif
#ifdef FC_HAVE_NEONEMU
    [FC_ISA_NEONEMU] = {FC_GEOMETRY_NARROW, KERNELS(neonemu)},
#endif
};

const float fc_zero_run_f32[FC_KC];
const double fc_zero_run_f64[FC_KC];

static fc_geometry geometry = FC_GEOMETRY_NARROW;

/* Points one geometry's drivers at the kernels of `set`. */
static void use_kernels(fc_geometry which, const fc_kernel_set *set) {
    if (which == FC_GEOMETRY_WIDE) {
        ukr_f32_wide = set->ukr_f32;
        ukri_f32_wide = set->ukri_f32;
        ukrs_f32_wide = set->ukrs_f32;
        ukr_f64_wide = set->ukr_f64;
        ukri_f64_wide = set->ukri_f64;
        ukrs_f64_wide = set->ukrs_f64;
    } else {
        ukr_f32_narrow = set->ukr_f32;
        ukri_f32_narrow = set->ukri_f32;
        ukrs_f32_narrow = set->ukrs_f32;
        ukr_f64_narrow = set->ukr_f64;
        ukri_f64_narrow = set->ukri_f64;
        ukrs_f64_narrow = set->ukrs_f64;
    }
}

void fc_gemm_init(fc_isa isa) {
    const fc_kernel_set *set = &kernel_sets[isa];
    if (set->ukr_f32 == NULL) set = &kernel_sets[FC_ISA_GENERIC];
    geometry = set->geometry;
    /* Each geometry's drivers call the kernels of their own tile shape; the other geometry's
       get the portable kernels so that no pointer is ever left unset. */
    use_kernels(FC_GEOMETRY_NARROW, &kernel_sets[FC_ISA_GENERIC]);
    use_kernels(FC_GEOMETRY_WIDE, &kernel_sets[FC_ISA_GENERIC512]);
    use_kernels(geometry, set);
}

fc_geometry fc_gemm_geometry(void) { return geometry; }

void fc_gemm_blocking(int64_t *mr, int64_t *nr_f32, int64_t *nr_f64, int64_t *mc, int64_t *kc) {
    const int wide = geometry == FC_GEOMETRY_WIDE;
    *mr = wide ? FC_WIDE_MR : FC_NARROW_MR;
    *nr_f32 = wide ? FC_WIDE_NR_F32 : FC_NARROW_NR_F32;
    *nr_f64 = wide ? FC_WIDE_NR_F64 : FC_NARROW_NR_F64;
    *mc = wide ? FC_WIDE_MC : FC_NARROW_MC;
    *kc = FC_KC;
}

void fc_gemm_f32(float *c, const float *a, const float *b, int64_t m, int64_t n, int64_t k,
                 int64_t rsa, int64_t csa, int64_t rsb, int64_t csb, int64_t ldc, int flags,
                 const float *bias, float *workspace, int nthreads) {
    (geometry == FC_GEOMETRY_WIDE ? fc_gemm_f32_wide : fc_gemm_f32_narrow)(
        c, a, b, m, n, k, rsa, csa, rsb, csb, ldc, flags, bias, workspace, nthreads);
}

void fc_gemm_f64(double *c, const double *a, const double *b, int64_t m, int64_t n, int64_t k,
                 int64_t rsa, int64_t csa, int64_t rsb, int64_t csb, int64_t ldc, int flags,
                 const double *bias, double *workspace, int nthreads) {
    (geometry == FC_GEOMETRY_WIDE ? fc_gemm_f64_wide : fc_gemm_f64_narrow)(
        c, a, b, m, n, k, rsa, csa, rsb, csb, ldc, flags, bias, workspace, nthreads);
}

size_t fc_gemm_workspace_size(int nthreads) {
    /* float32 and float64 share the workspace size (in elements). */
    return geometry == FC_GEOMETRY_WIDE ? fc_gemm_workspace_size_f32_wide(nthreads)
                                        : fc_gemm_workspace_size_f32_narrow(nthreads);
}
