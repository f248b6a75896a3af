/* Signals during a save (src/io/signal_hold.c, src/io/file_save.c), made deterministic: this
 * executable defines fsync, which the static library's saves call, and the wrapper sends a signal
 * to the process from inside the save (after the model is written, before it is named), exactly
 * where a Ctrl-C or a kill would do the most harm.
 *  - SIGINT, SIGTERM, SIGHUP, SIGQUIT with their default action: the save finishes (the file is
 *    the complete new model, no temporary file), then the signal kills the process; also with a
 *    second thread that blocks nothing (as OpenMP's pool threads: a signal sent to the process
 *    goes to such a thread, so blocking it on the saving thread alone is not enough), and with
 *    the mkstemp fallback (its named temporary file must not outlive the process either);
 *  - a program's own handler, SIG_IGN and signal mask are left as they were; the handler runs
 *    once;
 *  - holds nest, and holds by two threads overlap: the signal acts after the last release;
 *  - SIGKILL (which nothing can hold) in the middle of a save leaves the old file and no
 *    temporary file (the new file has no name until it is complete). */
#define _GNU_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include "file_test_util.h"
#include "io/file_save.h"
#include "mlp/model.h"
#include "test_util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR_PATH MLP_TEST_TMPDIR "/save_signals"
#define MODEL_PATH DIR_PATH "/model.mlp"

/* The signal the next fsync of a regular file sends to the process (0: none). */
static volatile sig_atomic_t g_signal_at_fsync = 0;

int fsync(int fd) {
    struct stat sb;
    if (g_signal_at_fsync && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        int sig = g_signal_at_fsync;
        g_signal_at_fsync = 0;
        kill(getpid(), sig);
    }
    return (int)syscall(SYS_fsync, fd);
}

typedef struct models {
    mlp_net *net[2];
    unsigned char *bytes[2];
    size_t len[2];
} models;

static models g_m;

static int setup(void **state) {
    (void)state;
    if (mkdir(DIR_PATH, 0755) != 0 && errno != EEXIST) return -1;
    static const size_t sizes[] = {16, 64, 4};
    static const mlp_activation acts[] = {MLP_ACT_RELU, MLP_ACT_SOFTMAX};
    for (int i = 0; i < 2; i++) {
        g_m.net[i] = tu_make_net(sizes, acts, 2, MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, 1 + i);
        if (!g_m.net[i] ||
            mlp_model_save_mem(NULL, 0, &g_m.len[i], g_m.net[i], NULL, NULL) != MLP_OK)
            return -1;
        g_m.bytes[i] = malloc(g_m.len[i]);
        if (!g_m.bytes[i] || mlp_model_save_mem(g_m.bytes[i], g_m.len[i], &g_m.len[i], g_m.net[i],
                                                NULL, NULL) != MLP_OK)
            return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < 2; i++) {
        mlp_net_free(g_m.net[i]);
        free(g_m.bytes[i]);
    }
    unlink(MODEL_PATH);
    rmdir(DIR_PATH);
    return 0;
}

/* Asserts that MODEL_PATH holds model i, byte for byte. */
static void expect_model(int i) {
    size_t n;
    unsigned char *b = tu_read_file(MODEL_PATH, &n);
    assert_int_equal(n, g_m.len[i]);
    assert_memory_equal(b, g_m.bytes[i], n);
    free(b);
}

/* Removes the temporary files of DIR_PATH; returns how many there were. */
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

static void *idle_thread(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

typedef struct child_opts {
    int sig;          /* sent from inside the save */
    int extra_thread; /* a second thread that blocks no signal */
    int no_tmpfile;   /* the mkstemp fallback */
} child_opts;

/* Saves model 1 over model 0 in a child process that receives o->sig from inside the save;
 * returns the child's wait status. */
static int save_in_child(const child_opts *o) {
    TU_ASSERT_OK(mlp_model_save(MODEL_PATH, g_m.net[0], NULL));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core); /* SIGQUIT's default action dumps core */
        pthread_t t;
        if (o->extra_thread && pthread_create(&t, NULL, idle_thread, NULL) != 0) _exit(4);
        mlp_save_file_force_named(o->no_tmpfile != 0);
        g_signal_at_fsync = o->sig;
        mlp_status st = mlp_model_save(MODEL_PATH, g_m.net[1], NULL);
        if (st != MLP_OK) _exit(3);
        /* The signal normally acts inside the save's last step. When the other thread took it
         * in the save's last instant, its handler may run a moment after the save returns (the
         * kernel chose the handler; the thread runs it when next scheduled): wait for it, as a
         * program that keeps running would. A signal lost for good ends in SIGALRM. */
        alarm(5);
        for (;;) pause();
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

/* The catchable termination signals with their default action: the save completes, then the
 * signal kills the process. */
static void test_default_action_waits_for_the_save(void **state) {
    (void)state;
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (int no_tmpfile = 0; no_tmpfile <= 1; no_tmpfile++)
        for (int extra_thread = 0; extra_thread <= 1; extra_thread++)
            for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
                child_opts o = {sigs[i], extra_thread, no_tmpfile};
                int status = save_in_child(&o);
                if (!WIFSIGNALED(status) || WTERMSIG(status) != sigs[i])
                    fail_msg("signal %d (thread %d, mkstemp %d): child status 0x%x, expected "
                             "killed by the signal after the save",
                             sigs[i], extra_thread, no_tmpfile, status);
                expect_model(1);
                assert_int_equal(remove_temp_files(), 0);
            }
}

/* SIGKILL cannot wait: it lands in the middle of the save. The old file stays; the unnamed new
 * file vanishes with the process (the mkstemp fallback's named one is left: counted, removed). */
static void test_sigkill_leaves_no_temp_file(void **state) {
    (void)state;
    for (int no_tmpfile = 0; no_tmpfile <= 1; no_tmpfile++) {
        child_opts o = {SIGKILL, 1, no_tmpfile};
        int status = save_in_child(&o);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        expect_model(0);
        int temps = remove_temp_files();
        print_message("[ signals ] SIGKILL inside a save (%s): %d temporary file(s) left\n",
                      no_tmpfile ? "mkstemp fallback" : "O_TMPFILE", temps);
        if (!no_tmpfile) assert_int_equal(temps, 0);
    }
}

static volatile sig_atomic_t g_handled = 0;
static void count_signal(int sig) {
    (void)sig;
    g_handled++;
}

/* A handler, SIG_IGN and the signal mask of the program are kept; the handler runs once (after
 * the save here: the calling thread blocks the signal, and this process has no other thread that
 * could run it). */
static void test_program_settings_kept(void **state) {
    (void)state;
    struct sigaction sa, old_int, old_term, now;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGINT, &sa, &old_int), 0);
    sa.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGTERM, &sa, &old_term), 0);
    sigset_t hup, old_mask, mask;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &hup, &old_mask), 0);

    g_handled = 0;
    g_signal_at_fsync = SIGINT;
    TU_ASSERT_OK(mlp_model_save(MODEL_PATH, g_m.net[1], NULL));
    assert_int_equal(g_handled, 1);
    expect_model(1);
    g_signal_at_fsync = SIGTERM; /* ignored */
    TU_ASSERT_OK(mlp_model_save(MODEL_PATH, g_m.net[0], NULL));
    expect_model(0);
    assert_int_equal(sigaction(SIGINT, NULL, &now), 0);
    assert_true(now.sa_handler == count_signal);
    assert_int_equal(sigaction(SIGTERM, NULL, &now), 0);
    assert_true(now.sa_handler == SIG_IGN);
    assert_int_equal(sigaction(SIGQUIT, NULL, &now), 0);
    assert_true(now.sa_handler == SIG_DFL);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &mask), 0);
    assert_true(sigismember(&mask, SIGHUP));
    assert_false(sigismember(&mask, SIGINT));
    assert_false(sigismember(&mask, SIGTERM));
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old_mask, NULL), 0);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    assert_int_equal(remove_temp_files(), 0);
}

typedef struct holder {
    int ready[2], go[2]; /* pipes: the thread holds -> main; main -> the thread releases */
} holder;

static void *hold_in_thread(void *arg) {
    holder *h = arg;
    mlp_signal_hold hold;
    char c = 0;
    mlp_signals_hold(&hold);
    if (write(h->ready[1], "r", 1) != 1 || read(h->go[0], &c, 1) != 1) _exit(5);
    if (write(STDOUT_FILENO, "T", 1) != 1) _exit(5); /* still alive at the last release */
    mlp_signals_release(&hold);
    return NULL;
}

/* Holds nest within a thread and overlap across threads: a signal sent during them acts only
 * after the last release. The child reports how far it got on its stdout (a pipe). */
static void test_nested_and_concurrent_holds(void **state) {
    (void)state;
    int out[2];
    assert_int_equal(pipe(out), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        holder h;
        pthread_t t;
        if (pipe(h.ready) != 0 || pipe(h.go) != 0) _exit(4);
        if (pthread_create(&t, NULL, hold_in_thread, &h) != 0) _exit(4);
        char c;
        if (read(h.ready[0], &c, 1) != 1) _exit(4);
        mlp_signal_hold a, b;
        mlp_signals_hold(&a);
        mlp_signals_hold(&b);
        kill(getpid(), SIGTERM);
        usleep(20000); /* time for the signal to reach a thread, if anything let it */
        if (write(STDOUT_FILENO, "1", 1) != 1) _exit(5);
        mlp_signals_release(&b);
        if (write(STDOUT_FILENO, "2", 1) != 1) _exit(5);
        mlp_signals_release(&a); /* the thread still holds */
        if (write(STDOUT_FILENO, "3", 1) != 1) _exit(5);
        if (write(h.go[1], "g", 1) != 1) _exit(5);
        pthread_join(t, NULL); /* its release sends SIGTERM again: the process ends there */
        if (write(STDOUT_FILENO, "X", 1) != 1) _exit(5);
        _exit(0);
    }
    close(out[1]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char got[16] = {0};
    ssize_t n = read(out[0], got, sizeof got - 1);
    close(out[0]);
    assert_true(n >= 0);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM || strcmp(got, "123T") != 0)
        fail_msg("child status 0x%x, wrote '%s'; expected killed by SIGTERM after '123T'", status,
                 got);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_action_waits_for_the_save),
        cmocka_unit_test(test_sigkill_leaves_no_temp_file),
        cmocka_unit_test(test_program_settings_kept),
        cmocka_unit_test(test_nested_and_concurrent_holds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
