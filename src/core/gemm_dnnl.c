/* The bf16 GEMM provider: oneDNN matmul primitives with bf16 operands, f32 accumulation and f32
 * output (oneDNN's brgemm kernels: AMX tiles where the CPU has AMX-BF16, else AVX512_BF16's dot
 * products). oneDNN 2.6 runs brgemm only on dense operands (measured: a tile of a wider matrix,
 * with a leading dimension above its width, gets its slower gemm:jit kernels), so the passes give
 * bf16 GEMMs dense tiles: whole rows, and dW cut along the batch (pass.c). One primitive per tile
 * of each GEMM of a pass, created once (mlp_dnnl_prepare, outside the parallel region) and run
 * serially on whichever thread takes the tile, as the OpenBLAS tiles are. Primitives are created
 * while OpenMP is set to one thread: oneDNN picks its blocking for the thread count it sees at
 * creation, and a tile must compute the same bits whatever the thread count of the process. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

#ifndef MLP_HAVE_DNNL

bool mlp_dnnl_f32_wanted(void) {
    return false;
}

void mlp_dnnl_f32_keep_openblas(void) {}

bool mlp_dnnl_bf16_supported(const char **isa) {
    *isa = "no oneDNN in this build (Debian: libdnnl-dev)";
    return false;
}
mlp_status mlp_dnnl_create(mlp_dnnl **out) {
    *out = NULL;
    return mlp_fail(MLP_ERR_UNSUPPORTED, "bf16: this mlp was built without oneDNN");
}
void mlp_dnnl_free(mlp_dnnl *d) {
    (void)d;
}
mlp_status mlp_dnnl_prepare(mlp_dnnl *d, const mlp_gemm *g) {
    (void)d, (void)g;
    return mlp_fail(MLP_ERR_UNSUPPORTED, "bf16: this mlp was built without oneDNN");
}
void mlp_dnnl_tile(const mlp_dnnl *d, const mlp_gemm *g, size_t t, mlp_box b) {
    (void)d, (void)g, (void)t, (void)b;
}
mlp_status mlp_dnnl_shared_create(mlp_dnnl_shared **out) {
    *out = NULL;
    return mlp_fail(MLP_ERR_UNSUPPORTED, "bf16: this mlp was built without oneDNN");
}
void mlp_dnnl_shared_free(mlp_dnnl_shared *s) {
    (void)s;
}
mlp_status mlp_dnnl_shared_prepare(mlp_dnnl_shared *s, size_t rows, size_t cols, size_t k) {
    (void)s, (void)rows, (void)cols, (void)k;
    return mlp_fail(MLP_ERR_UNSUPPORTED, "bf16: this mlp was built without oneDNN");
}
mlp_status mlp_dnnl_shared_gemm(mlp_dnnl_shared *s, const mlp_bf16 *A, const mlp_bf16 *B, float *C,
                                size_t rows, size_t cols, size_t k) {
    (void)s, (void)A, (void)B, (void)C, (void)rows, (void)cols, (void)k;
    return mlp_fail(MLP_ERR_UNSUPPORTED, "bf16: this mlp was built without oneDNN");
}

#else
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>

/* ---- the engine (one per process) and a stream per thread ---- */

static dnnl_engine_t engine;
static dnnl_cpu_isa_t engine_isa;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void) {
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) engine = NULL;
    engine_isa = dnnl_get_effective_cpu_isa();
}

static dnnl_engine_t get_engine(void) {
    pthread_once(&engine_once, engine_init);
    return engine;
}

/* A CPU stream is cheap but not meant to be shared between threads that execute at once: one per
 * thread, made at its first oneDNN call and destroyed when the thread ends (a thread-specific
 * key's destructor: threads of the caller's, such as concurrent predictions, come and go). */
static pthread_key_t stream_key;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;

static void stream_free(void *s) {
    dnnl_stream_destroy(s);
}

static void stream_key_init(void) {
    (void)pthread_key_create(&stream_key, stream_free);
}

static dnnl_stream_t get_stream(void) {
    pthread_once(&stream_once, stream_key_init);
    dnnl_stream_t s = pthread_getspecific(stream_key);
    if (!s && get_engine()) {
        if (dnnl_stream_create(&s, get_engine(), dnnl_stream_default_flags) != dnnl_success)
            return NULL;
        if (pthread_setspecific(stream_key, s) != 0) {
            dnnl_stream_destroy(s);
            return NULL;
        }
    }
    return s;
}

bool mlp_dnnl_bf16_supported(const char **isa) {
    if (!get_engine()) {
        *isa = "oneDNN could not create its CPU engine";
        return false;
    }
    switch (engine_isa) {
    case dnnl_cpu_isa_avx512_core_amx:
        *isa = "avx512_core_amx";
        return true;
    case dnnl_cpu_isa_avx512_core_bf16:
        *isa = "avx512_core_bf16";
        return true;
    case dnnl_cpu_isa_avx512_core_vnni:
    case dnnl_cpu_isa_avx512_core:
        *isa = "no AVX512_BF16 or AMX on this CPU (oneDNN ISA avx512_core)";
        return false;
    default:
        *isa = "no AVX512_BF16 or AMX on this CPU (oneDNN ISA below avx512_core)";
        return false;
    }
}

/* OpenBLAS < 0.3.25 (Debian 12: 0.3.21) runs its SSE kernels on Intel CPUs it does not know by
 * model (Sapphire and Emerald Rapids fall back to Prescott: about 3x slower, measured). oneDNN
 * picks its kernels by CPU features, so there the f32 GEMMs of a training pass go through oneDNN's
 * f32 matmul instead; elsewhere OpenBLAS stays. MLP_F32_GEMM=openblas|onednn overrides the choice
 * (for measurements). */
static int f32_choice = -1; /* -1: not decided; then 0 OpenBLAS, 1 oneDNN */
static pthread_once_t f32_once = PTHREAD_ONCE_INIT;

static bool sse_only_kernels(const char *core) {
    static const char *const sse[] = {"Prescott", "Core2",  "Penryn",     "Dunnington", "Nehalem",
                                      "Atom",     "Katmai", "Coppermine", "Northwood",  "Banias"};
    for (size_t i = 0; i < sizeof sse / sizeof sse[0]; i++)
        if (strcmp(core, sse[i]) == 0) return true;
    return false;
}

static void f32_decide(void) {
    const char *env = getenv("MLP_F32_GEMM");
    if (env && strcmp(env, "openblas") == 0) {
        f32_choice = 0;
    } else if (env && strcmp(env, "onednn") == 0) {
        f32_choice = get_engine() != NULL;
    } else {
        f32_choice = sse_only_kernels(mlp_blas_corename()) && __builtin_cpu_supports("avx2") &&
                     get_engine() && engine_isa != dnnl_cpu_isa_all;
    }
}

bool mlp_dnnl_f32_wanted(void) {
    pthread_once(&f32_once, f32_decide);
    return f32_choice == 1;
}

void mlp_dnnl_f32_keep_openblas(void) {
    pthread_once(&f32_once, f32_decide);
    f32_choice = 0;
}

/* ---- the cache: one entry per (tile shape, tile index) ---- */

typedef struct tile_key {
    size_t rows, cols, k, lda, ldb, ldc, t, slot;
    bool ta, tb, f32; /* f32: f32 operands (OpenBLAS's stand-in), else bf16 */
} tile_key;

typedef struct entry {
    tile_key key;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;  /* their data handles are set per call */
    dnnl_memory_desc_t smd; /* the scratchpad it needs: scratch_bytes (0: none) */
    size_t scratch_bytes;
    dnnl_memory_t scratch; /* a training tile's own scratchpad (NULL for none, or inference's) */
} entry;

struct mlp_dnnl {
    entry *slots; /* open addressing; a slot is used when prim != NULL */
    size_t cap, used;
};

static size_t key_hash(const tile_key *k) {
    const size_t v[11] = {k->rows, k->cols, k->k,  k->lda, k->ldb, k->ldc,
                          k->t,    k->slot, k->ta, k->tb,  k->f32};
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 11; i++) h = (h ^ (uint64_t)v[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static bool key_eq(const tile_key *a, const tile_key *b) {
    return a->rows == b->rows && a->cols == b->cols && a->k == b->k && a->lda == b->lda &&
           a->ldb == b->ldb && a->ldc == b->ldc && a->t == b->t && a->slot == b->slot &&
           a->ta == b->ta && a->tb == b->tb && a->f32 == b->f32;
}

static const entry *find(const mlp_dnnl *d, const tile_key *k) {
    if (!d->cap) return NULL;
    for (size_t i = key_hash(k) & (d->cap - 1);; i = (i + 1) & (d->cap - 1)) {
        const entry *e = &d->slots[i];
        if (!e->prim) return NULL;
        if (key_eq(&e->key, k)) return e;
    }
}

mlp_status mlp_dnnl_create(mlp_dnnl **out) {
    *out = calloc(1, sizeof **out);
    return *out ? MLP_OK : mlp_fail(MLP_ERR_NOMEM, "bf16: out of memory for the kernel cache");
}

static void entry_free(entry *e) {
    dnnl_primitive_destroy(e->prim);
    dnnl_memory_destroy(e->a);
    dnnl_memory_destroy(e->b);
    dnnl_memory_destroy(e->c);
    dnnl_memory_destroy(e->scratch);
}

void mlp_dnnl_free(mlp_dnnl *d) {
    if (!d) return;
    for (size_t i = 0; i < d->cap; i++)
        if (d->slots[i].prim) entry_free(&d->slots[i]);
    free(d->slots);
    free(d);
}

/* Doubles the table (serially: only mlp_dnnl_prepare inserts). */
static mlp_status grow(mlp_dnnl *d) {
    const size_t cap = d->cap ? 2 * d->cap : 64;
    entry *slots = calloc(cap, sizeof *slots);
    if (!slots) return mlp_fail(MLP_ERR_NOMEM, "bf16: out of memory for the kernel cache");
    for (size_t i = 0; i < d->cap; i++) {
        const entry *e = &d->slots[i];
        if (!e->prim) continue;
        size_t j = key_hash(&e->key) & (cap - 1);
        while (slots[j].prim) j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    free(d->slots);
    d->slots = slots;
    d->cap = cap;
    return MLP_OK;
}

/* A rows x cols matrix stored row-major with leading dimension ld, or (trans) stored transposed:
 * cols x rows with leading dimension ld. */
static dnnl_status_t matrix_md(dnnl_memory_desc_t *md, size_t rows, size_t cols, size_t ld,
                               bool trans, dnnl_data_type_t dt) {
    dnnl_dims_t dims = {(dnnl_dim_t)rows, (dnnl_dim_t)cols};
    dnnl_dims_t strides = {trans ? 1 : (dnnl_dim_t)ld, trans ? (dnnl_dim_t)ld : 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides);
}

/* The primitive descriptor of a matmul with a scratchpad of its own (user mode). With the library
 * mode, Debian's oneDNN (built without DNNL_ENABLE_CONCURRENT_EXEC) gives every primitive the
 * scratchpad of the thread that created it, and its documentation allows such a primitive to run
 * only on that thread; the passes run each tile on whichever thread takes it. */
static dnnl_status_t matmul_pd(dnnl_primitive_desc_t *pd, const dnnl_matmul_desc_t *md) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(pd, md, attr, get_engine(), NULL);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return s;
}

/* The scratchpad pd asks for, and with own (a training tile) the buffer, allocated by oneDNN: one
 * primitive serves one tile, which one thread at a time computes, so the buffer is never used
 * twice at once. Inference's kernels run on several threads at once: each call brings its own. */
static dnnl_status_t make_scratch(entry *e, const_dnnl_primitive_desc_t pd, bool own) {
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->scratch_bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (e->scratch_bytes == 0) return dnnl_success;
    e->smd = *smd;
    return own ? dnnl_memory_create(&e->scratch, smd, get_engine(), DNNL_MEMORY_ALLOCATE)
               : dnnl_success;
}

/* The primitive and memory objects of one tile shape; DNNL_MEMORY_NONE handles until a call. */
static dnnl_status_t make_entry(entry *e, const tile_key *k, bool own_scratch) {
    dnnl_memory_desc_t a, b, c;
    const dnnl_data_type_t dt = k->f32 ? dnnl_f32 : dnnl_bf16;
    dnnl_status_t s = matrix_md(&a, k->rows, k->k, k->lda, k->ta, dt);
    if (s == dnnl_success) s = matrix_md(&b, k->k, k->cols, k->ldb, k->tb, dt);
    if (s == dnnl_success) s = matrix_md(&c, k->rows, k->cols, k->ldc, false, dnnl_f32);
    dnnl_matmul_desc_t md;
    if (s == dnnl_success) s = dnnl_matmul_desc_init(&md, &a, &b, NULL, &c);
    dnnl_primitive_desc_t pd = NULL;
    if (s == dnnl_success) s = matmul_pd(&pd, &md);
    if (s == dnnl_success) s = dnnl_primitive_create(&e->prim, pd);
    if (s == dnnl_success) s = make_scratch(e, pd, own_scratch);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (s == dnnl_success) s = dnnl_memory_create(&e->a, &a, get_engine(), DNNL_MEMORY_NONE);
    if (s == dnnl_success) s = dnnl_memory_create(&e->b, &b, get_engine(), DNNL_MEMORY_NONE);
    if (s == dnnl_success) s = dnnl_memory_create(&e->c, &c, get_engine(), DNNL_MEMORY_NONE);
    if (s != dnnl_success) {
        entry_free(e);
        memset(e, 0, sizeof *e);
    }
    e->key = *k;
    return s;
}

static tile_key tile_key_of(const mlp_gemm *g, size_t t) {
    const mlp_box b = mlp_gemm_box(g, t);
    tile_key k = {b.rows, b.cols,  g->k,       g->lda,     g->ldb, g->ldc,
                  t,      g->slot, g->trans_a, g->trans_b, !g->Ah};
    return k;
}

static mlp_status insert(mlp_dnnl *d, const tile_key *k, bool own_scratch) {
    if (find(d, k)) return MLP_OK;
    if (2 * (d->used + 1) > d->cap) {
        mlp_status st = grow(d);
        if (st != MLP_OK) return st;
    }
    size_t i = key_hash(k) & (d->cap - 1);
    while (d->slots[i].prim) i = (i + 1) & (d->cap - 1);
    dnnl_status_t s = make_entry(&d->slots[i], k, own_scratch);
    if (s != dnnl_success)
        return mlp_fail(s == dnnl_out_of_memory ? MLP_ERR_NOMEM : MLP_ERR_UNSUPPORTED,
                        "bf16: oneDNN cannot make a %zu x %zu x %zu matmul (status %d)", k->rows,
                        k->cols, k->k, (int)s);
    d->used++;
    return MLP_OK;
}

mlp_status mlp_dnnl_prepare(mlp_dnnl *d, const mlp_gemm *g) {
    const size_t tiles = mlp_gemm_tiles(g);
    /* One thread while oneDNN chooses its blocking (see the top of this file). */
    const int saved = mlp_blas_serial_begin();
    mlp_status st = MLP_OK;
    for (size_t t = 0; t < tiles && st == MLP_OK; t++) {
        const tile_key k = tile_key_of(g, t);
        st = insert(d, &k, true);
    }
    mlp_blas_serial_end(saved);
    return st;
}

void mlp_dnnl_tile(const mlp_dnnl *d, const mlp_gemm *g, size_t t, mlp_box b) {
    const tile_key k = tile_key_of(g, t);
    const entry *e = find(d, &k); /* prepared before the pass: never NULL here */
    /* Element offsets of the tile's operands; f32 (Ah NULL) or bf16 elements. */
    const size_t ao = g->trans_a ? b.r0 : b.r0 * g->lda, bo = g->trans_b ? b.c0 * g->ldb : b.c0;
    const void *A = g->Ah ? (const void *)(g->Ah + ao) : (const void *)(g->A + ao);
    const void *B = g->Bh ? (const void *)(g->Bh + bo) : (const void *)(g->B + bo);
    dnnl_memory_set_data_handle(e->a, (void *)A);
    dnnl_memory_set_data_handle(e->b, (void *)B);
    dnnl_memory_set_data_handle(e->c, g->C + b.r0 * g->ldc + b.c0);
    const dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->a},
                                     {DNNL_ARG_WEIGHTS, e->b},
                                     {DNNL_ARG_DST, e->c},
                                     {DNNL_ARG_SCRATCHPAD, e->scratch}};
    dnnl_stream_t s = get_stream();
    dnnl_primitive_execute(e->prim, s, e->scratch ? 4 : 3, args);
    dnnl_stream_wait(s);
}

/* ---- the shared cache of bf16 inference ---- */

struct mlp_dnnl_shared {
    pthread_mutex_t lock; /* guards cache: lookups and insertions */
    mlp_dnnl cache;
};

mlp_status mlp_dnnl_shared_create(mlp_dnnl_shared **out) {
    mlp_dnnl_shared *s = calloc(1, sizeof *s);
    if (!s) return mlp_fail(MLP_ERR_NOMEM, "bf16: out of memory for the inference kernels");
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return MLP_OK;
}

void mlp_dnnl_shared_free(mlp_dnnl_shared *s) {
    if (!s) return;
    for (size_t i = 0; i < s->cache.cap; i++)
        if (s->cache.slots[i].prim) entry_free(&s->cache.slots[i]);
    free(s->cache.slots);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* The primitive of a key, made if the cache lacks it (with OpenMP at one thread, as training's:
 * the kernel's blocking must not follow the thread count), and its scratchpad size. The table
 * may move when it grows: the caller gets copies, taken under the lock. */
static mlp_status shared_lookup(mlp_dnnl_shared *s, const tile_key *k, dnnl_primitive_t *prim,
                                dnnl_memory_desc_t *smd, size_t *scratch) {
    pthread_mutex_lock(&s->lock);
    mlp_status st = MLP_OK;
    if (!find(&s->cache, k)) {
        const int saved = mlp_blas_serial_begin();
        st = insert(&s->cache, k, false);
        mlp_blas_serial_end(saved);
    }
    const entry *e = st == MLP_OK ? find(&s->cache, k) : NULL;
    if (e) {
        *prim = e->prim;
        *scratch = e->scratch_bytes;
        if (e->scratch_bytes) *smd = e->smd;
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* Memory objects of this call for the key's operands (data handles given) and scratchpad. */
static dnnl_status_t call_memory(const tile_key *k, dnnl_memory_t m[4], const void *A,
                                 const void *B, void *C, const dnnl_memory_desc_t *smd,
                                 void *scratch) {
    dnnl_memory_desc_t a, b, c;
    dnnl_status_t st = matrix_md(&a, k->rows, k->k, k->lda, false, dnnl_bf16);
    if (st == dnnl_success) st = matrix_md(&b, k->k, k->cols, k->ldb, false, dnnl_bf16);
    if (st == dnnl_success) st = matrix_md(&c, k->rows, k->cols, k->ldc, false, dnnl_f32);
    if (st == dnnl_success) st = dnnl_memory_create(&m[0], &a, get_engine(), (void *)A);
    if (st == dnnl_success) st = dnnl_memory_create(&m[1], &b, get_engine(), (void *)B);
    if (st == dnnl_success) st = dnnl_memory_create(&m[2], &c, get_engine(), C);
    if (st == dnnl_success && scratch) st = dnnl_memory_create(&m[3], smd, get_engine(), scratch);
    return st;
}

static tile_key shared_key(size_t rows, size_t cols, size_t k) {
    const tile_key key = {rows, cols, k, k, cols, cols, 0, 0, false, false, false};
    return key;
}

mlp_status mlp_dnnl_shared_prepare(mlp_dnnl_shared *s, size_t rows, size_t cols, size_t k) {
    const tile_key key = shared_key(rows, cols, k);
    dnnl_primitive_t prim;
    dnnl_memory_desc_t smd;
    size_t bytes;
    return shared_lookup(s, &key, &prim, &smd, &bytes);
}

mlp_status mlp_dnnl_shared_gemm(mlp_dnnl_shared *s, const mlp_bf16 *A, const mlp_bf16 *B, float *C,
                                size_t rows, size_t cols, size_t k) {
    const tile_key key = shared_key(rows, cols, k);
    dnnl_primitive_t prim = NULL;
    dnnl_memory_desc_t smd;
    size_t bytes = 0;
    mlp_status st = shared_lookup(s, &key, &prim, &smd, &bytes);
    if (st != MLP_OK) return st;
    void *scratch = bytes ? malloc(bytes) : NULL;
    if (bytes && !scratch) return mlp_fail(MLP_ERR_NOMEM, "bf16: out of memory for a scratchpad");
    dnnl_memory_t m[4] = {NULL, NULL, NULL, NULL};
    dnnl_status_t ds = call_memory(&key, m, A, B, C, &smd, scratch);
    if (ds == dnnl_success) {
        const dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, m[0]},
                                         {DNNL_ARG_WEIGHTS, m[1]},
                                         {DNNL_ARG_DST, m[2]},
                                         {DNNL_ARG_SCRATCHPAD, m[3]}};
        dnnl_stream_t str = get_stream();
        ds = str ? dnnl_primitive_execute(prim, str, m[3] ? 4 : 3, args) : dnnl_out_of_memory;
        if (ds == dnnl_success) ds = dnnl_stream_wait(str);
    }
    for (int i = 0; i < 4; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
    free(scratch);
    if (ds != dnnl_success)
        return mlp_fail(MLP_ERR_NOMEM,
                        "bf16: oneDNN failed on a %zu x %zu x %zu matmul (status %d)", rows, cols,
                        k, (int)ds);
    return MLP_OK;
}

#endif /* MLP_HAVE_DNNL */
