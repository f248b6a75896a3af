/* Crash-safe saves, proven by killing: a child process saves a large model over an existing one and
 * is killed with SIGKILL at a random moment of the save, many times. After every kill the file on
 * disk must be byte-for-byte either the complete old model or the complete new one, and load with
 * a valid checksum. Leftover temporary files (a kill between mkstemp and rename) are counted and
 * removed, as docs/MODEL_FORMAT.md says a caller may find them.
 *
 * The kill moments are spread uniformly over 1.5 times the measured duration of a save, so kills
 * land before, during and after the write, the fsync and the rename; the test asserts that both
 * outcomes (old kept, new complete) occurred. MLP_KILL_SAVE_ITERS sets the number of kills
 * (default 150), MLP_KILL_SAVE_SEED the random seed (default: from the clock, printed). */
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

static void test_kill_during_save(void **state) {
    (void)state;
    assert_true(mkdir(DIR_PATH, 0755) == 0 || errno == EEXIST);
    remove_temp_files();
    mlp_net *nets[2] = {big_net(1), big_net(2)};
    unsigned char *bytes[2];
    size_t len[2];

    /* The two complete files, and how long a save takes here (the median of three: the first
     * save of a process can be much slower). */
    double t[3];
    for (int i = 0; i < 3; i++) {
        double t0 = now_s();
        assert_int_equal(mlp_model_save(MODEL_PATH, nets[i % 2], NULL), MLP_OK);
        t[i] = now_s() - t0;
        if (i < 2) bytes[i] = tu_read_file(MODEL_PATH, &len[i]);
    }
    double t_save = t[0] > t[1] ? (t[1] > t[2] ? t[1] : (t[0] > t[2] ? t[2] : t[0]))
                                : (t[0] > t[2] ? t[0] : (t[1] > t[2] ? t[2] : t[1]));
    assert_int_equal(len[0], len[1]);
    assert_true(memcmp(bytes[0], bytes[1], len[0]) != 0);
    /* The file holds model 0 now; the first child writes model 1 over it. */
    int cur = 0;

    unsigned long iters = env_ulong("MLP_KILL_SAVE_ITERS", 150);
    unsigned long seed = env_ulong("MLP_KILL_SAVE_SEED", (unsigned long)time(NULL));
    tu_rng r;
    tu_rng_seed(&r, seed);
    double window = 1.5 * t_save;
    unsigned long kept_old = 0, got_new = 0, finished = 0, temps = 0;
    double t_start = now_s();
    for (unsigned long it = 0; it < iters; it++) {
        int next = 1 - cur;
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* The child saves and exits; it never returns into cmocka. */
            mlp_status st = mlp_model_save(MODEL_PATH, nets[next], NULL);
            _exit(st == MLP_OK ? 0 : 3);
        }
        double delay = window * tu_rng_uniform(&r);
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status)) {
            assert_int_equal(WEXITSTATUS(status), 0); /* a save that ran to its end succeeded */
            finished++;
        } else {
            assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        }

        /* The file is one of the two complete models, and loads. */
        size_t n;
        unsigned char *now = tu_read_file(MODEL_PATH, &n);
        int is_old = n == len[cur] && memcmp(now, bytes[cur], n) == 0;
        int is_new = n == len[next] && memcmp(now, bytes[next], n) == 0;
        if (!is_old && !is_new)
            fail_msg("kill %lu (after %.3f ms of a %.3f ms save, seed %lu): the file is neither "
                     "the old nor the new model (%zu bytes)",
                     it, 1e3 * delay, 1e3 * t_save, seed, n);
        free(now);
        mlp_net *back = NULL;
        assert_int_equal(mlp_model_load(MODEL_PATH, &back, NULL), MLP_OK);
        mlp_net_free(back);
        if (is_new) {
            got_new++;
            cur = next;
        } else {
            kept_old++;
        }
        temps += (unsigned long)remove_temp_files();
    }
    double elapsed = now_s() - t_start;
    print_message("[ kill-save ] %lu SIGKILLs during saves of a %zu-byte model (save %.1f ms, kill "
                  "moments uniform in [0, %.1f ms], seed %lu, %.1f s): %lu kept the old file, "
                  "%lu found the new one (%lu saves had finished), %lu left a temporary file; "
                  "the file was always a complete, loadable model\n",
                  iters, len[0], 1e3 * t_save, 1e3 * window, seed, elapsed, kept_old, got_new,
                  finished, temps);
    if (iters >= 50) {
        /* The kills did land inside saves: both outcomes happened. */
        assert_true(kept_old > 0);
        assert_true(got_new > 0);
    }
    unlink(MODEL_PATH);
    free(bytes[0]);
    free(bytes[1]);
    mlp_net_free(nets[0]);
    mlp_net_free(nets[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_during_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
