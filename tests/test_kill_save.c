/* Crash-safe saves, proven by killing: a child process saves a large model over an existing one and
 * is killed at a random moment of the save, many times. After every kill the file on disk must be
 * byte-for-byte either the complete old model or the complete new one, and load with a valid
 * checksum.
 *  - SIGKILL: the new model is written to an unnamed file (O_TMPFILE) that vanishes with the
 *    process; it is named only when complete, by a link to a temporary name and a rename over
 *    the old file. A kill between those two system calls is the one way to leave a
 *    model.mlp.tmp.XXXXXX file (complete, never loaded by name): Linux has no call that links an
 *    unnamed file over an existing name, so that window cannot be closed. It is microseconds
 *    wide (0.2% of the kills here, at most 2 of 150 under load), so the test allows a few
 *    (2 + 5% of the kills) and prints the count; before O_TMPFILE about half the kills left one.
 *  - SIGTERM and SIGINT (the child alternating between one thread and two, as a process that has
 *    trained has OpenMP's pool threads): the signal waits for the save, so no temporary file may
 *    remain at all.
 *
 * The kill moments are spread uniformly over 1.5 times the measured duration of a save, so kills
 * land before, during and after the write, the fsync and the rename; the test asserts that both
 * outcomes (old kept, new complete) occurred. MLP_KILL_SAVE_ITERS sets the number of kills of
 * each kind (default 150), MLP_KILL_SAVE_SEED the random seed (default: from the clock,
 * printed). */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "file_test_util.h"
#include "mlp/model.h"
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIR_PATH MLP_TEST_TMPDIR "/kill_save"
#define MODEL_PATH DIR_PATH "/model.mlp"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Removes DIR_PATH's temporary files; returns how many there were. */
static int remove_temp_files(void) {
    DIR *d = opendir(DIR_PATH);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) {
            snprintf(p, sizeof p, "%s/%s", DIR_PATH, e->d_name);
            assert_int_equal(unlink(p), 0);
            n++;
        }
    closedir(d);
    return n;
}

/* A 128-512-512-10 net (about 330k parameters, a 4 MB file), seeded so that two seeds give two
 * different files of the same length. */
static mlp_net *big_net(uint64_t seed) {
    static const size_t sizes[] = {128, 512, 512, 10};
    static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_TANH, MLP_ACT_SOFTMAX};
    mlp_net *net = tu_make_net(sizes, acts, 3, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, seed);
    assert_non_null(net);
    return net;
}

static unsigned long env_ulong(const char *name, unsigned long dflt) {
    const char *v = getenv(name);
    if (!v || !v[0]) return dflt;
    return strtoul(v, NULL, 10);
}

static void *idle_thread(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

typedef struct kill_stats {
    unsigned long kept_old, got_new, finished, temps; /* finished: the save returned first */
} kill_stats;

typedef struct two_models {
    mlp_net *nets[2];
    unsigned char *bytes[2];
    size_t len[2];
    double t_save; /* seconds a save takes here */
} two_models;

/* Two different models of the same length, their bytes, and how long a save takes here (the
 * median of three: the first save of a process can be much slower). MODEL_PATH holds model 0. */
static void two_models_make(two_models *m) {
    assert_true(mkdir(DIR_PATH, 0755) == 0 || errno == EEXIST);
    remove_temp_files();
    m->nets[0] = big_net(1);
    m->nets[1] = big_net(2);
    double t[3];
    for (int i = 0; i < 3; i++) {
        double t0 = now_s();
        assert_int_equal(mlp_model_save(MODEL_PATH, m->nets[i % 2], NULL), MLP_OK);
        t[i] = now_s() - t0;
        if (i < 2) m->bytes[i] = tu_read_file(MODEL_PATH, &m->len[i]);
    }
    m->t_save = t[0] > t[1] ? (t[1] > t[2] ? t[1] : (t[0] > t[2] ? t[2] : t[0]))
                            : (t[0] > t[2] ? t[0] : (t[1] > t[2] ? t[2] : t[1]));
    assert_int_equal(m->len[0], m->len[1]);
    assert_true(memcmp(m->bytes[0], m->bytes[1], m->len[0]) != 0);
}

static void two_models_free(two_models *m) {
    unlink(MODEL_PATH);
    for (int i = 0; i < 2; i++) {
        free(m->bytes[i]);
        mlp_net_free(m->nets[i]);
    }
}

/* iters children each save one model over the other and receive sig (alternating with sig2, and
 * every other child with a second thread, when sig2 is not 0) at a random moment; every time the
 * file must be one of the two complete models. */
static kill_stats kill_loop(int sig, int sig2, unsigned long iters, unsigned long seed) {
    two_models m;
    two_models_make(&m);
    mlp_net **nets = m.nets;
    unsigned char **bytes = m.bytes;
    size_t *len = m.len;
    const double t_save = m.t_save;
    int cur = 0; /* the model in the file: the first child writes model 1 over model 0 */

    tu_rng r;
    tu_rng_seed(&r, seed);
    double window = 1.5 * t_save;
    kill_stats ks = {0};
    double t_start = now_s();
    for (unsigned long it = 0; it < iters; it++) {
        int next = 1 - cur, s = sig2 && (it & 2) ? sig2 : sig;
        int done[2];
        assert_int_equal(pipe(done), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* The child saves, says how its save ended, then waits for its signal: it never
             * exits on its own (under valgrind an exit would run the leak check and give its
             * exit code) and never returns into cmocka. */
            close(done[0]);
            pthread_t th;
            if (sig2 && (it & 1) && pthread_create(&th, NULL, idle_thread, NULL) != 0) _exit(4);
            mlp_status st = mlp_model_save(MODEL_PATH, nets[next], NULL);
            if (write(done[1], st == MLP_OK ? "k" : "e", 1) != 1) _exit(5);
            for (;;) pause();
        }
        close(done[1]);
        double delay = window * tu_rng_uniform(&r);
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, s);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != s)
            fail_msg("kill %lu: child status 0x%x, expected killed by signal %d", it, status, s);
        char said = 0;
        if (read(done[0], &said, 1) == 1) {
            assert_int_equal(said, 'k'); /* a save that ran to its end succeeded */
            ks.finished++;
        }
        close(done[0]);

        /* The file is one of the two complete models, and loads. */
        size_t n;
        unsigned char *now = tu_read_file(MODEL_PATH, &n);
        int is_old = n == len[cur] && memcmp(now, bytes[cur], n) == 0;
        int is_new = n == len[next] && memcmp(now, bytes[next], n) == 0;
        if (!is_old && !is_new)
            fail_msg("kill %lu by signal %d (after %.3f ms of a %.3f ms save, seed %lu): the file "
                     "is neither the old nor the new model (%zu bytes)",
                     it, s, 1e3 * delay, 1e3 * t_save, seed, n);
        free(now);
        mlp_net *back = NULL;
        assert_int_equal(mlp_model_load(MODEL_PATH, &back, NULL), MLP_OK);
        mlp_net_free(back);
        if (is_new) {
            ks.got_new++;
            cur = next;
        } else {
            ks.kept_old++;
        }
        ks.temps += (unsigned long)remove_temp_files();
    }
    print_message("[ kill-save ] %lu kills by %s%s during saves of a %zu-byte model (save %.1f ms, "
                  "kill moments uniform in [0, %.1f ms], seed %lu, %.1f s): %lu kept the old "
                  "file, %lu found the new one (%lu saves had finished), %lu left a temporary "
                  "file; the file was always a complete, loadable model\n",
                  iters, sig == SIGKILL ? "SIGKILL" : "SIGTERM", sig2 ? " and SIGINT" : "", len[0],
                  1e3 * t_save, 1e3 * window, seed, now_s() - t_start, ks.kept_old, ks.got_new,
                  ks.finished, ks.temps);
    two_models_free(&m);
    return ks;
}

static void test_kill_during_save(void **state) {
    (void)state;
    unsigned long iters = env_ulong("MLP_KILL_SAVE_ITERS", 150);
    unsigned long seed = env_ulong("MLP_KILL_SAVE_SEED", (unsigned long)time(NULL));
    kill_stats ks = kill_loop(SIGKILL, 0, iters, seed);
    if (iters >= 50) {
        /* The kills did land inside saves: both outcomes happened. */
        assert_true(ks.kept_old > 0);
        assert_true(ks.got_new > 0);
    }
    /* The link-then-rename window (see the top of this file): rare, never closed entirely. */
    if (ks.temps > 2 + iters / 20)
        fail_msg("%lu of %lu SIGKILLs left a temporary file (seed %lu)", ks.temps, iters, seed);
}

/* Termination signals wait for the save: never a temporary file, the file always complete. */
static void test_term_during_save(void **state) {
    (void)state;
    unsigned long iters = env_ulong("MLP_KILL_SAVE_ITERS", 150);
    unsigned long seed = env_ulong("MLP_KILL_SAVE_SEED", (unsigned long)time(NULL)) + 1;
    kill_stats ks = kill_loop(SIGTERM, SIGINT, iters, seed);
    assert_int_equal(ks.temps, 0);
    /* Signals landed before the saves returned, and saves completed: a signal that lands in the
     * save lets it finish, so the new model is found far more often than with SIGKILL. */
    if (iters >= 50) assert_true(ks.finished < iters && ks.got_new > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_during_save),
        cmocka_unit_test(test_term_during_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
