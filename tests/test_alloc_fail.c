/* Allocation-failure injection: for each operation below, the N-th allocation made while the
 * operation runs fails, for N = 1, 2, ... until the operation completes with fewer than N
 * allocations. Every run must return MLP_ERR_NOMEM with a message (or MLP_OK when the failed
 * allocation was optional: shrinking a buffer, fsync of the directory, sizing a file), leave its
 * outputs untouched and its objects usable, and leak nothing.
 *
 * How: this executable defines malloc, calloc, realloc and free itself. The static library's calls
 * (and zlib's and libc's, which go through the dynamic linker) resolve to these definitions, which
 * forward to glibc's __libc_* functions. The countdown is armed only around the call under test
 * and only on the calling thread; allocations made by libgomp and OpenBLAS are never failed (both
 * abort the process on out-of-memory, outside mlp's control: see docs/ERRORS.md) and not counted.
 * Leaks: every allocation made while armed is recorded (pointer and caller) until freed; after the
 * call and the cleanup of its outputs none may remain. The ASan build skips this suite (ASan owns
 * malloc); scripts/hardening.sh runs it under valgrind, whose leak checker covers the whole
 * process. Set MLP_ALLOC_FAIL_VERBOSE=1 to print every injection point that ended in MLP_OK. */
#define _GNU_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "core/core.h"
#include "file_test_util.h"
#include "mlp/data.h"
#include "mlp/fit.h"
#include "mlp/model.h"
#include "test_util.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define AF_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AF_ENABLED 0
#endif
#endif
#ifndef AF_ENABLED
#define AF_ENABLED 1
#endif

#define DIR_PATH MLP_TEST_TMPDIR "/alloc_fail"
#define AF_MAX_POINTS 100000

/* ---------------------------------------------------------------------------------------------
 * The interposer
 */
#if AF_ENABLED
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

/* Address ranges whose allocations are neither failed nor counted (libgomp, OpenBLAS). */
#define AF_MAX_RANGES 16
static uintptr_t af_skip_lo[AF_MAX_RANGES], af_skip_hi[AF_MAX_RANGES];
static int af_n_skip;

static _Thread_local int af_armed;      /* this thread counts its allocations */
static _Thread_local long af_countdown; /* the allocation that reaches 0 fails */
static _Thread_local int af_fired;
static _Thread_local const void *af_fired_caller;

/* Live allocations made while armed: open addressing, guarded by a spinlock (frees may come from
 * any thread). */
#define AF_SET_SIZE (1u << 16)
static struct {
    void *p;
    const void *caller;
} af_set[AF_SET_SIZE];
static atomic_flag af_lock = ATOMIC_FLAG_INIT;
static atomic_long af_live;
static long af_set_used; /* slots ever used (tombstones included), reset when empty */
#define AF_TOMB ((void *)1)

static void af_acquire(void) {
    while (atomic_flag_test_and_set_explicit(&af_lock, memory_order_acquire)) {
    }
}

static void af_release(void) {
    atomic_flag_clear_explicit(&af_lock, memory_order_release);
}

static size_t af_hash(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & (AF_SET_SIZE - 1);
}

static void af_track(void *p, const void *caller) {
    af_acquire();
    if (af_set_used >= (long)(AF_SET_SIZE * 3 / 4)) {
        af_release();
        abort(); /* more live allocations than a test ever makes */
    }
    size_t i = af_hash(p);
    while (af_set[i].p && af_set[i].p != AF_TOMB) i = (i + 1) & (AF_SET_SIZE - 1);
    if (!af_set[i].p) af_set_used++;
    af_set[i].p = p;
    af_set[i].caller = caller;
    atomic_fetch_add(&af_live, 1);
    af_release();
}

static void af_untrack(void *p) {
    if (!p || atomic_load(&af_live) == 0) return;
    af_acquire();
    size_t i = af_hash(p);
    while (af_set[i].p) {
        if (af_set[i].p == p) {
            af_set[i].p = AF_TOMB;
            if (atomic_fetch_sub(&af_live, 1) == 1) {
                memset(af_set, 0, sizeof af_set);
                af_set_used = 0;
            }
            break;
        }
        i = (i + 1) & (AF_SET_SIZE - 1);
    }
    af_release();
}

static int af_skipped(const void *caller) {
    uintptr_t a = (uintptr_t)caller;
    for (int i = 0; i < af_n_skip; i++)
        if (a >= af_skip_lo[i] && a < af_skip_hi[i]) return 1;
    return 0;
}

/* 1: this allocation must fail. Counts it if it is eligible. */
static int af_should_fail(const void *caller) {
    if (!af_armed || af_skipped(caller)) return 0;
    if (--af_countdown == 0) {
        af_fired = 1;
        af_fired_caller = caller;
        return 1;
    }
    return 0;
}

static int af_should_track(const void *caller) {
    return af_armed && !af_skipped(caller);
}

void *malloc(size_t n) {
    const void *caller = __builtin_return_address(0);
    if (af_should_fail(caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_malloc(n);
    if (p && af_should_track(caller)) af_track(p, caller);
    return p;
}

void *calloc(size_t n, size_t size) {
    const void *caller = __builtin_return_address(0);
    if (af_should_fail(caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_calloc(n, size);
    if (p && af_should_track(caller)) af_track(p, caller);
    return p;
}

void *realloc(void *old, size_t n) {
    const void *caller = __builtin_return_address(0);
    if (af_should_fail(caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_realloc(old, n);
    if (p || n == 0) af_untrack(old);
    if (p && af_should_track(caller)) af_track(p, caller);
    return p;
}

void free(void *p) {
    af_untrack(p);
    __libc_free(p);
}

static int af_phdr(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    const char *name = info->dlpi_name;
    if (!name ||
        (!strstr(name, "libgomp") && !strstr(name, "openblas") && !strstr(name, "libgfortran")))
        return 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo) lo = a;
        if (a + ph->p_memsz > hi) hi = a + ph->p_memsz;
    }
    if (af_n_skip < AF_MAX_RANGES && lo < hi) {
        af_skip_lo[af_n_skip] = lo;
        af_skip_hi[af_n_skip] = hi;
        af_n_skip++;
    }
    return 0;
}

static void af_arm(long n) {
    af_fired = 0;
    af_fired_caller = NULL;
    af_countdown = n;
    af_armed = 1;
}

/* Returns 1 if the failure was injected. */
static int af_disarm(void) {
    af_armed = 0;
    return af_fired;
}
#else
/* ASan build: no interposer; every test skips itself before its sweep runs. */
static void af_arm(long n) {
    (void)n;
}
static int af_disarm(void) {
    return 0;
}
#endif /* AF_ENABLED */

/* ---------------------------------------------------------------------------------------------
 * The sweep
 */
typedef struct sweep_stats {
    long points;   /* injection points (N values that failed an allocation) */
    long ok;       /* of which the call still returned MLP_OK (optional allocation) */
    long bad;      /* of which the call returned another status than MLP_ERR_NOMEM */
    long total;    /* over all sweeps of the suite */
    long total_ok; /* idem */
    long test_bad; /* wrong statuses in the current test function */
    long total_bad;
} sweep_stats;

static sweep_stats g_stats;
static int g_verbose;

static void skip_if_disabled(void) {
#if !AF_ENABLED
    skip(); /* ASan build: see the comment at the top */
#endif
}

/* "libz.so.1+0x1a2b" or "test_alloc_fail+0x3c4d" (feed the offset to addr2line -e FILE). */
__attribute__((unused)) static const char *where(const void *caller) {
    static char buf[256];
#if AF_ENABLED
    Dl_info info;
    if (caller && dladdr(caller, &info) && info.dli_fname) {
        const char *base = strrchr(info.dli_fname, '/');
        snprintf(buf, sizeof buf, "%s+0x%lx", base ? base + 1 : info.dli_fname,
                 (unsigned long)((uintptr_t)caller - (uintptr_t)info.dli_fbase));
        return buf;
    }
#endif
    snprintf(buf, sizeof buf, "%p", caller);
    return buf;
}

/* Checks the status of one run; fired says whether the allocation failure was injected. */
static void check_status(const char *what, long n, mlp_status st, int fired) {
#if AF_ENABLED
    if (!fired) {
        if (st != MLP_OK)
            fail_msg("%s: no failure injected, status %d: %s", what, (int)st, mlp_last_error());
        return;
    }
    g_stats.points++;
    if (st == MLP_OK) {
        g_stats.ok++;
        if (g_verbose)
            print_message("%s: allocation %ld (by %s) failed, call still succeeded\n", what, n,
                          where(af_fired_caller));
        return;
    }
    /* A wrong status is reported and the sweep goes on (the run's outputs are still checked), so
     * that one run lists every point; sweep_end fails the test. */
    if (st != MLP_ERR_NOMEM) {
        g_stats.bad++;
        print_error("%s: allocation %ld (by %s) failed: status %d (%s), want MLP_ERR_NOMEM; "
                    "message: %s\n",
                    what, n, where(af_fired_caller), (int)st, mlp_strerror(st), mlp_last_error());
    } else if (mlp_last_error()[0] == '\0') {
        g_stats.bad++;
        print_error("%s: allocation %ld: MLP_ERR_NOMEM without a message\n", what, n);
    }
#else
    (void)what, (void)n, (void)st, (void)fired;
#endif
}

/* After the outputs of a run were released: nothing allocated during the run may be left. */
static void check_no_leak(const char *what, long n) {
#if AF_ENABLED
    long live = atomic_load(&af_live);
    if (live == 0) return;
    af_acquire();
    for (size_t i = 0; i < AF_SET_SIZE; i++)
        if (af_set[i].p && af_set[i].p != AF_TOMB)
            print_error("%s, injection point %ld: leaked %p allocated by %s\n", what, n,
                        af_set[i].p, where(af_set[i].caller));
    af_release();
    fail_msg("%s, injection point %ld: %ld allocations leaked", what, n, live);
#else
    (void)what, (void)n;
#endif
}

static void sweep_begin(void) {
    g_stats.points = 0;
    g_stats.ok = 0;
    g_stats.bad = 0;
}

static void sweep_end(const char *what, long points) {
    g_stats.total += g_stats.points;
    g_stats.total_ok += g_stats.ok;
    print_message("[ alloc-fail ] %-34s %4ld injection points, %ld ended in MLP_OK\n", what, points,
                  g_stats.ok);
    if (g_stats.bad)
        print_error("%s: %ld of %ld injection points returned another status than MLP_ERR_NOMEM\n",
                    what, g_stats.bad, points);
    g_stats.test_bad += g_stats.bad;
    g_stats.total_bad += g_stats.bad;
}

/* Ends a test function: fails it if one of its sweeps saw a wrong status. */
static void finish_test(void) {
    long bad = g_stats.test_bad;
    g_stats.test_bad = 0;
    if (bad) fail_msg("%ld injection points returned another status than MLP_ERR_NOMEM", bad);
}

/* The loop: RUN is the call under test (an mlp_status expression) evaluated with the N-th
 * allocation failing; the block after it checks and releases its outputs (st and fired are in
 * scope). */
#define SWEEP(what, RUN, ...)                                                                      \
    do {                                                                                           \
        sweep_begin();                                                                             \
        long n_;                                                                                   \
        for (n_ = 1; n_ < AF_MAX_POINTS; n_++) {                                                   \
            mlp_clear_error();                                                                     \
            af_arm(n_);                                                                            \
            mlp_status st = (RUN);                                                                 \
            int fired = af_disarm();                                                               \
            check_status(what, n_, st, fired);                                                     \
            __VA_ARGS__;                                                                           \
            check_no_leak(what, n_);                                                               \
            if (!fired) break;                                                                     \
        }                                                                                          \
        assert_true(n_ < AF_MAX_POINTS);                                                           \
        sweep_end(what, n_ - 1);                                                                   \
    } while (0)

/* ---------------------------------------------------------------------------------------------
 * Fixtures
 */
static char *path_in_dir(const char *name) {
    size_t n = strlen(DIR_PATH) + 1 + strlen(name) + 1;
    char *p = tu_alloc(n, 1);
    snprintf(p, n, "%s/%s", DIR_PATH, name);
    return p;
}

/* Removes the file at path (made by path_in_dir) and frees the path. */
static void drop_file(char *path) {
    unlink(path);
    free(path);
}

static void write_file(const char *path, const void *data, size_t len, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static const size_t k_sizes[] = {5, 7, 6, 3};
static const mlp_activation k_acts[] = {MLP_ACT_GELU, MLP_ACT_TANH, MLP_ACT_SOFTMAX};

static mlp_net_config net_config(void) {
    mlp_net_config c = {3, k_sizes, k_acts, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 17};
    return c;
}

static mlp_net *make_net(void) {
    mlp_net_config c = net_config();
    mlp_net *net = NULL;
    assert_int_equal(mlp_net_create(&net, &c), MLP_OK);
    return net;
}

/* 40 rows of the net's input and one-hot targets. */
typedef struct batch {
    size_t n;
    float *X, *Y;
    int32_t *labels;
} batch;

static batch make_batch(size_t n) {
    batch b = {n, tu_floats(n * 5), tu_floats(n * 3), tu_alloc(n, sizeof(int32_t))};
    tu_rng r;
    tu_rng_seed(&r, 5);
    tu_fill_uniform(b.X, n * 5, &r, -1.0, 1.0);
    tu_fill_onehot(b.Y, b.labels, n, 3, &r);
    return b;
}

static void free_batch(batch *b) {
    free(b->X);
    free(b->Y);
    free(b->labels);
}

static int same_params(mlp_net *a, mlp_net *b) {
    size_t P = mlp_net_param_count(a);
    return P == mlp_net_param_count(b) &&
           memcmp(mlp_net_params(a), mlp_net_params(b), P * sizeof(float)) == 0;
}

/* The net predicts like ref on b (usable after a failure). */
static void assert_predicts_like(mlp_net *net, mlp_net *ref, const batch *b) {
    float *p = tu_floats(b->n * 3), *q = tu_floats(b->n * 3);
    assert_int_equal(mlp_predict(net, b->X, b->n, p), MLP_OK);
    assert_int_equal(mlp_predict(ref, b->X, b->n, q), MLP_OK);
    assert_memory_equal(p, q, b->n * 3 * sizeof(float));
    free(p);
    free(q);
}

static int group_setup(void **state) {
    (void)state;
    if (mkdir(DIR_PATH, 0755) != 0 && errno != EEXIST) return -1;
#if AF_ENABLED
    dl_iterate_phdr(af_phdr, NULL);
    if (af_n_skip == 0) {
        print_error("libgomp / OpenBLAS not found among the loaded objects\n");
        return -1;
    }
    /* Self-check: the interposer is the malloc in use (under valgrind, run with
     * --soname-synonyms=somalloc=nouserintercepts, else valgrind replaces it). */
    void *(*volatile m)(size_t) = malloc;
    af_arm(1);
    void *p = m(16);
    int fired = af_disarm();
    free(p);
    if (!fired) {
        print_error("the malloc interposer is not active (valgrind without "
                    "--soname-synonyms=somalloc=nouserintercepts?)\n");
        return -1;
    }
#endif
    const char *v = getenv("MLP_ALLOC_FAIL_VERBOSE");
    g_verbose = v && v[0] == '1';
    mlp_set_num_threads(1);
    /* Warm up OpenBLAS and OpenMP (their first calls allocate). */
    mlp_net *net = make_net();
    batch b = make_batch(8);
    assert_int_equal(mlp_train_step(net, b.X, b.Y, b.n, NULL), MLP_OK);
    free_batch(&b);
    mlp_net_free(net);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    if (!AF_ENABLED) return 0;
    print_message("[ alloc-fail ] total: %ld injection points swept: %ld ended in MLP_OK (optional "
                  "allocations), %ld in another status than MLP_ERR_NOMEM, the rest in "
                  "MLP_ERR_NOMEM; no leaks\n",
                  g_stats.total, g_stats.total_ok, g_stats.total_bad);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Network
 */
static void test_net_create(void **state) {
    (void)state;
    skip_if_disabled();
    mlp_net *ref = make_net();
    mlp_net_config c = net_config();
    mlp_net *net = (mlp_net *)(uintptr_t)1;
    SWEEP("mlp_net_create", mlp_net_create(&net, &c), {
        if (st == MLP_OK) {
            assert_true(same_params(net, ref));
            mlp_net_free(net);
        } else {
            assert_null(net);
        }
        net = (mlp_net *)(uintptr_t)1;
    });
    mlp_net_free(ref);
    finish_test();
}

static void test_net_clone(void **state) {
    (void)state;
    skip_if_disabled();
    mlp_net *src = make_net();
    batch b = make_batch(16);
    assert_int_equal(mlp_train_step(src, b.X, b.Y, b.n, NULL), MLP_OK);
    mlp_net *dst = (mlp_net *)(uintptr_t)1;
    SWEEP("mlp_net_clone", mlp_net_clone(&dst, src), {
        if (st == MLP_OK) {
            assert_true(same_params(dst, src));
            assert_true(mlp_net_step_count(dst) == mlp_net_step_count(src));
            mlp_net_free(dst);
        } else {
            assert_null(dst);
        }
        dst = (mlp_net *)(uintptr_t)1;
    });
    free_batch(&b);
    mlp_net_free(src);
    finish_test();
}

/* Growing the workspace (reserve, and the first step of a larger batch) fails cleanly: the net
 * keeps its old workspace, parameters and step count, and goes on working. */
static void test_workspace_and_step(void **state) {
    (void)state;
    skip_if_disabled();
    batch b = make_batch(40);
    mlp_net *ref = make_net();
    mlp_net *net = make_net();
    SWEEP("mlp_net_reserve", mlp_net_reserve(net, 40), {
        assert_true(same_params(net, ref));
        assert_predicts_like(net, ref, &b);
        mlp_net_free(net);
        net = make_net();
    });

    /* train_step on a net whose workspace holds 8 rows, with a batch of 40. */
    assert_int_equal(mlp_net_reserve(ref, 8), MLP_OK);
    assert_int_equal(mlp_train_step(ref, b.X, b.Y, b.n, NULL), MLP_OK);
    mlp_net_free(net);
    net = make_net();
    assert_int_equal(mlp_net_reserve(net, 8), MLP_OK);
    mlp_net *fresh = make_net();
    SWEEP("mlp_train_step (workspace grows)", mlp_train_step(net, b.X, b.Y, b.n, NULL), {
        if (st == MLP_OK) {
            assert_true(same_params(net, ref));
        } else {
            assert_true(same_params(net, fresh));
            assert_int_equal(mlp_net_step_count(net), 0);
            assert_int_equal(mlp_train_step(net, b.X, b.Y, 8, NULL), MLP_OK); /* still usable */
        }
        mlp_net_free(net);
        net = make_net();
        assert_int_equal(mlp_net_reserve(net, 8), MLP_OK);
    });
    mlp_net_free(fresh);
    mlp_net_free(net);
    mlp_net_free(ref);
    free_batch(&b);
    finish_test();
}

/* ---------------------------------------------------------------------------------------------
 * Model files
 */
static void test_model_load(void **state) {
    (void)state;
    skip_if_disabled();
    char *path = path_in_dir("load.mlp");
    mlp_net *ref = make_net();
    mlp_scaler sc = {0};
    batch b = make_batch(10);
    assert_int_equal(mlp_scaler_fit(&sc, MLP_SCALE_STANDARD, b.X, b.n, 5), MLP_OK);
    assert_int_equal(mlp_model_save(path, ref, &sc), MLP_OK);

    mlp_net *net = (mlp_net *)(uintptr_t)1;
    float sentinel;
    mlp_scaler got = {MLP_SCALE_MINMAX, 9, &sentinel, &sentinel};
    SWEEP("mlp_model_load (with scaler)", mlp_model_load(path, &net, &got), {
        if (st == MLP_OK) {
            assert_true(same_params(net, ref));
            assert_int_equal(got.kind, MLP_SCALE_STANDARD);
            assert_memory_equal(got.scale, sc.scale, 5 * sizeof(float));
            mlp_net_free(net);
            mlp_scaler_free(&got);
        } else {
            assert_null(net);
            assert_int_equal(got.kind, MLP_SCALE_MINMAX);
            assert_int_equal(got.d, 9);
            assert_ptr_equal(got.offset, &sentinel);
        }
        net = (mlp_net *)(uintptr_t)1;
        got = (mlp_scaler){MLP_SCALE_MINMAX, 9, &sentinel, &sentinel};
    });
    SWEEP("mlp_model_load (scaler dropped)", mlp_model_load(path, &net, NULL), {
        if (st == MLP_OK)
            mlp_net_free(net);
        else
            assert_null(net);
    });
    mlp_scaler_free(&sc);
    mlp_net_free(ref);
    free_batch(&b);
    drop_file(path);
    finish_test();
}

/* A save that runs out of memory leaves the previous file byte-identical and no temporary file. */
static void test_model_save(void **state) {
    (void)state;
    skip_if_disabled();
    char *path = path_in_dir("save.mlp");
    mlp_net *old = make_net();
    mlp_net *new_net = make_net();
    batch b = make_batch(10);
    assert_int_equal(mlp_train_step(new_net, b.X, b.Y, b.n, NULL), MLP_OK);
    mlp_scaler sc = {0};
    assert_int_equal(mlp_scaler_fit(&sc, MLP_SCALE_MINMAX, b.X, b.n, 5), MLP_OK);
    assert_int_equal(mlp_model_save(path, old, NULL), MLP_OK);
    size_t n_old;
    unsigned char *old_bytes = tu_read_file(path, &n_old);
    SWEEP("mlp_model_save (over a model)", mlp_model_save(path, new_net, &sc), {
        assert_int_equal(tu_count_temp_files(DIR_PATH), 0);
        mlp_net *back = NULL;
        assert_int_equal(mlp_model_load(path, &back, NULL), MLP_OK);
        if (st == MLP_OK) {
            assert_true(same_params(back, new_net));
            assert_int_equal(mlp_model_save(path, old, NULL), MLP_OK); /* restore */
        } else {
            size_t n;
            unsigned char *now = tu_read_file(path, &n);
            assert_int_equal(n, n_old);
            assert_memory_equal(now, old_bytes, n);
            free(now);
        }
        mlp_net_free(back);
    });
    free(old_bytes);
    mlp_scaler_free(&sc);
    mlp_net_free(old);
    mlp_net_free(new_net);
    free_batch(&b);
    drop_file(path);
    finish_test();
}

/* ---------------------------------------------------------------------------------------------
 * Data readers
 */
static void assert_same_dataset(const mlp_dataset *a, const mlp_dataset *b) {
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->d, b->d);
    assert_int_equal(a->n_classes, b->n_classes);
    assert_int_equal(a->n_targets, b->n_targets);
    assert_memory_equal(a->X, b->X, a->n * a->d * sizeof(float));
    if (a->labels) assert_memory_equal(a->labels, b->labels, a->n * sizeof(int32_t));
    if (a->targets) assert_memory_equal(a->targets, b->targets, a->n * sizeof(float));
}

static int is_poisoned(const mlp_dataset *ds) {
    mlp_dataset p;
    memset(&p, 0xA5, sizeof p);
    return memcmp(&p, ds, sizeof p) == 0;
}

/* A CSV that makes every buffer grow: 600 rows (the row arrays start at 256), a line longer than
 * 4 KiB (the line buffer's first size) and more than 64 fields (the field array's). */
static char *make_csv_text(size_t *len) {
    size_t cap = 1 << 20, n = 0;
    char *t = tu_alloc(cap, 1);
    n += (size_t)snprintf(t + n, cap - n, "f0");
    for (int j = 1; j < 80; j++) n += (size_t)snprintf(t + n, cap - n, ",f%d", j);
    n += (size_t)snprintf(t + n, cap - n, ",label\n");
    for (int i = 0; i < 600; i++) {
        for (int j = 0; j < 80; j++)
            n += (size_t)snprintf(t + n, cap - n, i == 3 ? "%s%.60f" : "%s%.6f", j ? "," : "",
                                  (double)(i * 80 + j) / 7.0);
        n += (size_t)snprintf(t + n, cap - n, ",%d\n", i % 4);
    }
    *len = n;
    return t;
}

/* The CSV at path read with o, or with labels an IDX pair (images at path). */
static mlp_status read_data(const char *path, const char *labels, const mlp_csv_options *o,
                            mlp_dataset *out) {
    return labels ? mlp_read_idx(path, labels, out) : mlp_read_csv(path, o, out);
}

/* Every failed allocation of the read leaves the dataset untouched; a read that succeeds anyway
 * gives what an undisturbed read gives. */
static void sweep_read(const char *what, const char *path, const char *labels,
                       const mlp_csv_options *o) {
    mlp_dataset ref = {0};
    assert_int_equal(read_data(path, labels, o, &ref), MLP_OK);
    mlp_dataset ds;
    memset(&ds, 0xA5, sizeof ds);
    SWEEP(what, read_data(path, labels, o, &ds), {
        if (st == MLP_OK) {
            assert_same_dataset(&ds, &ref);
            mlp_dataset_free(&ds);
        } else {
            assert_true(is_poisoned(&ds));
        }
        memset(&ds, 0xA5, sizeof ds);
    });
    mlp_dataset_free(&ref);
}

static void test_read_csv(void **state) {
    (void)state;
    skip_if_disabled();
    size_t len;
    char *text = make_csv_text(&len);
    char *plain = path_in_dir("data.csv"), *gz = path_in_dir("data.csv.gz");
    write_file(plain, text, len, 0);
    write_file(gz, text, len, 1);
    mlp_csv_options o = mlp_csv_options_default();
    sweep_read("mlp_read_csv (plain)", plain, NULL, &o);
    sweep_read("mlp_read_csv (gzip)", gz, NULL, &o);
    o.regression = 1;
    o.label_column = 0;
    sweep_read("mlp_read_csv (regression)", plain, NULL, &o);
    drop_file(plain);
    drop_file(gz);
    free(text);
    finish_test();
}

/* An IDX file of the given dims (pixel type) at p, its data a fixed pattern; returns its length. */
static size_t idx_bytes(unsigned char *p, unsigned ndims, const uint32_t *dims, size_t cells) {
    size_t h = tu_idx_header(p, 0x08, ndims, dims);
    for (size_t i = 0; i < cells; i++) p[h + i] = (unsigned char)(i * 7 % 251);
    return h + cells;
}

static void test_read_idx(void **state) {
    (void)state;
    skip_if_disabled();
    /* 100 images of 28 x 28: more than one 64 KiB read chunk. */
    uint32_t dims[3] = {100, 28, 28}, n = 100;
    size_t cells = 100 * 28 * 28;
    unsigned char *img = tu_alloc(16 + cells, 1), *lab = tu_alloc(8 + n, 1);
    size_t ni = idx_bytes(img, 3, dims, cells), nl = idx_bytes(lab, 1, &n, n);
    for (int gz = 0; gz <= 1; gz++) {
        char *ip = path_in_dir(gz ? "images.idx.gz" : "images.idx");
        char *lp = path_in_dir(gz ? "labels.idx.gz" : "labels.idx");
        write_file(ip, img, ni, gz);
        write_file(lp, lab, nl, gz);
        sweep_read(gz ? "mlp_read_idx (gzip)" : "mlp_read_idx (plain)", ip, lp, NULL);
        drop_file(ip);
        drop_file(lp);
    }
    free(img);
    free(lab);
    finish_test();
}

static void test_row_indices_split_scaler(void **state) {
    (void)state;
    skip_if_disabled();
    char *path = path_in_dir("rows.txt");
    char text[8192];
    size_t len = 0;
    for (int i = 0; i < 1200; i += 2) len += (size_t)snprintf(text + len, 16, "%d\n", i);
    write_file(path, text, len, 0);
    size_t *rows = (size_t *)(uintptr_t)1, nrows = 7;
    SWEEP("mlp_read_row_indices", mlp_read_row_indices(path, 1200, &rows, &nrows), {
        if (st == MLP_OK) {
            assert_int_equal(nrows, 600);
            assert_int_equal(rows[599], 1198);
            free(rows);
        } else {
            assert_true(rows == (size_t *)(uintptr_t)1 && nrows == 7);
        }
        rows = (size_t *)(uintptr_t)1;
        nrows = 7;
    });

    batch b = make_batch(50);
    mlp_dataset src = {50, 5, b.X, b.labels, 3, NULL, 0, {MLP_CLASSES_NONE, 0, NULL, NULL}, NULL};
    mlp_dataset tr, te;
    memset(&tr, 0xA5, sizeof tr);
    memset(&te, 0xA5, sizeof te);
    SWEEP("mlp_dataset_split", mlp_dataset_split(&src, 0.2, 3, &tr, &te), {
        if (st == MLP_OK) {
            assert_int_equal(tr.n + te.n, 50);
            mlp_dataset_free(&tr);
            mlp_dataset_free(&te);
        } else {
            assert_true(is_poisoned(&tr) && is_poisoned(&te));
        }
        memset(&tr, 0xA5, sizeof tr);
        memset(&te, 0xA5, sizeof te);
    });

    mlp_scaler sc = {0}, ref = {0};
    assert_int_equal(mlp_scaler_fit(&ref, MLP_SCALE_STANDARD, b.X, b.n, 5), MLP_OK);
    SWEEP("mlp_scaler_fit", mlp_scaler_fit(&sc, MLP_SCALE_STANDARD, b.X, b.n, 5), {
        if (st == MLP_OK) {
            assert_memory_equal(sc.offset, ref.offset, 5 * sizeof(float));
            mlp_scaler_free(&sc);
        } else {
            assert_int_equal(sc.kind, MLP_SCALE_NONE);
            assert_null(sc.offset);
        }
    });
    mlp_scaler_free(&ref);
    free_batch(&b);
    drop_file(path);
    finish_test();
}

/* ---------------------------------------------------------------------------------------------
 * fit
 */
/* early: 0 none, 1 early stopping with a validation set smaller than a batch, 2 larger than a
 * batch (scoring it grows the workspace inside the epoch loop). */
static mlp_fit_options fit_options(int early) {
    static const size_t hidden[] = {8, 6};
    mlp_fit_options o = mlp_fit_options_default();
    o.n_hidden = 2;
    o.hidden = hidden;
    o.activation = MLP_ACT_GELU;
    o.max_iter = 3;
    o.batch_size = 16;
    o.seed = 11;
    o.early_stopping = early != 0;
    o.validation_fraction = early == 2 ? 0.5f : 0.2f;
    return o;
}

static void sweep_fit(const char *what, int early, int warm) {
    batch b = make_batch(60);
    mlp_fit_options o = fit_options(early);
    mlp_net *ref = NULL, *start = NULL;
    if (warm) {
        assert_int_equal(
            mlp_fit(&start, MLP_TASK_CLASSIFY, b.X, b.labels, NULL, b.n, 5, 3, &o, NULL), MLP_OK);
        assert_int_equal(mlp_net_clone(&ref, start), MLP_OK);
    }
    mlp_fit_result rr;
    assert_int_equal(mlp_fit(&ref, MLP_TASK_CLASSIFY, b.X, b.labels, NULL, b.n, 5, 3, &o, &rr),
                     MLP_OK);
    mlp_net *net = NULL;
    if (warm) assert_int_equal(mlp_net_clone(&net, start), MLP_OK);
    mlp_fit_result r;
    memset(&r, 0xA5, sizeof r);
    SWEEP(what, mlp_fit(&net, MLP_TASK_CLASSIFY, b.X, b.labels, NULL, b.n, 5, 3, &o, &r), {
        if (st == MLP_OK) {
            /* a run that succeeded despite the failed allocation gives the reference's results */
            assert_true(same_params(net, ref));
            assert_int_equal(r.epochs, rr.epochs);
            assert_memory_equal(r.loss_curve, rr.loss_curve, r.epochs * sizeof(float));
            if (early)
                for (size_t e = 0; e < r.epochs; e++)
                    if (memcmp(&r.val_scores[e], &rr.val_scores[e], sizeof(float)) != 0)
                        fail_msg("%s: allocation %ld failed but mlp_fit returned MLP_OK with the "
                                 "validation score of epoch %zu = %g, without the failure %g",
                                 what, n_, e + 1, (double)r.val_scores[e],
                                 (double)rr.val_scores[e]);
            mlp_fit_result_free(&r);
        } else {
            mlp_fit_result poison;
            memset(&poison, 0xA5, sizeof poison);
            assert_memory_equal(&r, &poison, sizeof r); /* untouched */
            if (warm) {
                /* training had not started: same weights and steps, and still trainable */
                assert_true(same_params(net, start));
                assert_true(mlp_net_step_count(net) == mlp_net_step_count(start));
                assert_int_equal(mlp_train_step(net, b.X, b.Y, 16, NULL), MLP_OK);
            } else {
                assert_null(net);
            }
        }
        memset(&r, 0xA5, sizeof r);
        mlp_net_free(net);
        net = NULL;
        if (warm) assert_int_equal(mlp_net_clone(&net, start), MLP_OK);
    });
    mlp_net_free(net);
    mlp_fit_result_free(&rr);
    mlp_net_free(ref);
    mlp_net_free(start);
    free_batch(&b);
}

static void test_fit(void **state) {
    (void)state;
    skip_if_disabled();
    sweep_fit("mlp_fit (new net)", 0, 0);
    sweep_fit("mlp_fit (early stopping)", 1, 0);
    sweep_fit("mlp_fit (warm start)", 0, 1);
    sweep_fit("mlp_fit (validation > batch)", 2, 0);
    finish_test();
}

int main(void) {
    /* Where OpenBLAS fell back to SSE kernels, f32 GEMMs would go through oneDNN, whose failed
     * allocations throw C++ exceptions (core.h): this sweep is of the library's own. */
    mlp_dnnl_f32_keep_openblas();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_create),
        cmocka_unit_test(test_net_clone),
        cmocka_unit_test(test_workspace_and_step),
        cmocka_unit_test(test_model_load),
        cmocka_unit_test(test_model_save),
        cmocka_unit_test(test_read_csv),
        cmocka_unit_test(test_read_idx),
        cmocka_unit_test(test_row_indices_split_scaler),
        cmocka_unit_test(test_fit),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
