/* The mlp command-line tool (cli/), run as a separate process: exit codes (0 / 1 runtime / 2
 * usage), error messages, the JSON result line, train -> info / eval / predict on a saved model,
 * and training on generated CSV (regression, 3 classes) and IDX files.
 * The binary is MLP_CLI_PATH (set by cli/TestHook.cmake); without it, the build tree's cli/mlp. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the above first */
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlp/model.h"

#ifndef MLP_CLI_PATH
#define MLP_CLI_PATH MLP_TEST_TMPDIR "/../../cli/mlp"
#endif

extern char **environ;

#define PATH_CAP 1024

static const char *tmp(char *buf, const char *name) {
    int len = snprintf(buf, PATH_CAP, "%s/cli_%s", MLP_TEST_TMPDIR, name);
    assert_true(len > 0 && len < PATH_CAP);
    return buf;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t got;
    while ((got = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            cap *= 2;
            s = realloc(s, cap);
            assert_non_null(s);
        }
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* One finished run of the binary. */
typedef struct run_result {
    int code; /* exit status, or 128 + signal */
    char *out, *err;
} run_result;

static void run_free(run_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* The standard input of the next runs (RUN_IN sets it for one). */
static const char *g_stdin = "/dev/null";

/* Runs the binary with args (NULL-terminated, without argv[0]); stdin is g_stdin, stdout and
 * stderr go to files that are read back. */
static int run(run_result *r, const char *const *args) {
    char out_path[PATH_CAP], err_path[PATH_CAP];
    tmp(out_path, "stdout.txt");
    tmp(err_path, "stderr.txt");
    const char *argv[64];
    size_t n = 0;
    argv[n++] = MLP_CLI_PATH;
    for (; args[n - 1]; n++) {
        assert_true(n < 63);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;

    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 0, g_stdin, O_RDONLY, 0), 0);
    assert_int_equal(
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    assert_int_equal(
        posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    pid_t pid;
    int rc = posix_spawn(&pid, MLP_CLI_PATH, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) fail_msg("cannot run %s: %s", MLP_CLI_PATH, strerror(rc));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->out = slurp(out_path);
    r->err = slurp(err_path);
    return r->code;
}

#define RUN(r, ...) run((r), (const char *const[]){__VA_ARGS__, NULL})
/* RUN with standard input read from the file in. */
#define RUN_IN(in, r, ...)                                                                         \
    do {                                                                                           \
        g_stdin = (in);                                                                            \
        RUN(r, __VA_ARGS__);                                                                       \
        g_stdin = "/dev/null";                                                                     \
    } while (0)

static void expect_code(const run_result *r, int code) {
    if (r->code != code)
        fail_msg("exit code %d, expected %d\nstdout: %s\nstderr: %s", r->code, code, r->out,
                 r->err);
}

static void expect_in(const char *text, const char *needle) {
    if (!strstr(text, needle)) fail_msg("'%s' not found in:\n%s", needle, text);
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* The last non-empty line of s, copied into buf. */
static const char *last_line(const char *s, char *buf, size_t cap) {
    size_t len = strlen(s);
    while (len && s[len - 1] == '\n') len--;
    size_t start = len;
    while (start && s[start - 1] != '\n') start--;
    assert_true(len - start < cap);
    memcpy(buf, s + start, len - start);
    buf[len - start] = '\0';
    return buf;
}

/* ---- a strict little JSON validator, enough to check the result line ---- */
static const char *js_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static const char *js_value(const char *p);

static const char *js_string(const char *p) {
    if (*p != '"') return NULL;
    for (p++; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i])) return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
                return NULL;
            }
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *js_number(const char *p) {
    if (*p == '-') p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p)) p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return NULL;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return NULL;
        while (isdigit((unsigned char)*p)) p++;
    }
    return p;
}

static const char *js_seq(const char *p, char close, int object) {
    p = js_ws(p + 1);
    if (*p == close) return p + 1;
    for (;;) {
        if (object) {
            p = js_string(js_ws(p));
            if (!p) return NULL;
            p = js_ws(p);
            if (*p++ != ':') return NULL;
        }
        p = js_value(p);
        if (!p) return NULL;
        p = js_ws(p);
        if (*p == close) return p + 1;
        if (*p++ != ',') return NULL;
    }
}

static const char *js_value(const char *p) {
    p = js_ws(p);
    if (*p == '{') return js_seq(p, '}', 1);
    if (*p == '[') return js_seq(p, ']', 0);
    if (*p == '"') return js_string(p);
    if (strncmp(p, "true", 4) == 0) return p + 4;
    if (strncmp(p, "false", 5) == 0) return p + 5;
    if (strncmp(p, "null", 4) == 0) return p + 4;
    return js_number(p);
}

/* Checks that line is exactly one JSON object. */
static void expect_json_object(const char *line) {
    const char *p = js_ws(line);
    if (*p != '{') fail_msg("not a JSON object: %s", line);
    const char *end = js_value(p);
    if (!end || *js_ws(end) != '\0') fail_msg("invalid JSON: %s", line);
}

/* Raw text of the value of top-level key (keys in our output are unique); NULL if absent. */
static const char *json_raw(const char *line, const char *key, char *buf, size_t cap) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    if (!p) return NULL;
    p += strlen(pat);
    const char *e = js_value(p);
    assert_non_null(e);
    assert_true((size_t)(e - p) < cap);
    memcpy(buf, p, (size_t)(e - p));
    buf[e - p] = '\0';
    return buf;
}

static double json_number(const char *line, const char *key) {
    char buf[256];
    if (!json_raw(line, key, buf, sizeof buf)) fail_msg("key '%s' missing in %s", key, line);
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || *end) fail_msg("key '%s' is not a number in %s", key, line);
    return v;
}

/* ---- tests ---- */

static int setup(void **state) {
    (void)state;
    mkdir(MLP_TEST_TMPDIR, 0755);
    /* The shipped digits data, whatever the caller's environment says. */
    setenv("MLP_DATA_DIR", MLP_SOURCE_DIR "/data", 1);
    return 0;
}

static void test_help_and_version(void **state) {
    (void)state;
    run_result r;
    RUN(&r, "--help");
    expect_code(&r, 0);
    expect_in(r.out, "train");
    expect_in(r.out, "predict");
    run_free(&r);
    RUN(&r, "help", "train");
    expect_code(&r, 0);
    expect_in(r.out, "--hidden");
    run_free(&r);
    RUN(&r, "train", "--help");
    expect_code(&r, 0);
    expect_in(r.out, "--max-iter");
    run_free(&r);
    RUN(&r, "eval", "-h");
    expect_code(&r, 0);
    expect_in(r.out, "MODEL DATA");
    run_free(&r);
    RUN(&r, "--version");
    expect_code(&r, 0);
    expect_in(r.out, "mlp 0.");
    run_free(&r);
}

/* Usage errors: exit 2 and a "mlp: " message on stderr, nothing on stdout. */
static void expect_usage_error(const char *const *args, const char *needle) {
    run_result r;
    run(&r, args);
    expect_code(&r, 2);
    expect_in(r.err, "mlp: ");
    if (needle) expect_in(r.err, needle);
    assert_string_equal(r.out, "");
    run_free(&r);
}

#define USAGE(needle, ...) expect_usage_error((const char *const[]){__VA_ARGS__, NULL}, needle)

static void test_usage_errors(void **state) {
    (void)state;
    run_result r;
    run(&r, (const char *const[]){NULL});
    expect_code(&r, 2);
    run_free(&r);
    USAGE("frobnicate", "frobnicate");
    USAGE("--bogus", "--bogus");
    USAGE("--bogus", "train", "--bogus");
    USAGE("--bogus", "eval", "m.mlp", "digits", "--bogus");
    USAGE("abc", "train", "--lr", "abc");
    USAGE("--lr", "train", "--lr", "1e-3x");
    USAGE("--lr", "train", "--lr", "-0.1");
    USAGE("--lr", "train", "--lr", "nan");
    USAGE("needs a value", "train", "--lr");
    USAGE("--hidden", "train", "--hidden", "5,,3");
    USAGE("--hidden", "train", "--hidden", "5,-3");
    USAGE("--hidden", "train", "--hidden", "50,");
    USAGE("--max-iter", "train", "--max-iter", "-3");
    USAGE("--max-iter", "train", "--max-iter", "0");
    USAGE("--batch-size", "train", "--batch-size", "1.5");
    USAGE("--threads", "train", "--threads", "0");
    USAGE("--seed", "train", "--seed", "99999999999999999999999");
    USAGE("--momentum", "train", "--solver", "sgd", "--momentum", "1");
    USAGE("--activation", "train", "--activation", "sigmoid");
    USAGE("--solver", "train", "--solver", "bfgs");
    USAGE("--max-fun", "train", "--solver", "lbfgs", "--max-fun", "0");
    USAGE("--max-fun", "train", "--max-fun", "many");
    USAGE("--early-stopping-metric", "train", "--early-stopping-metric", "accuracy");
    USAGE("--history", "train", "--history", "h.txt");
    USAGE("--history", "train", "--history", ".csv.gz");
    USAGE("exclude each other", "train", "--sample-weight", "w.txt", "--weight-column", "0");
    USAGE("--sample-weight", "train", "--sample-weight", "");
    USAGE("--weight-column", "train", "--data", "a.idx", "--labels", "b.idx", "--weight-column",
          "0");
    USAGE("--header", "train", "--header", "maybe");
    USAGE("takes no value", "train", "--json=yes");
    USAGE("--test-labels", "train", "--test-labels", "x.idx");
    USAGE("--regression", "train", "--data", "a.idx", "--labels", "b.idx", "--regression");
    USAGE("MODEL", "eval");
    USAGE("DATA", "predict", "m.mlp");
    USAGE("unexpected", "info", "a.mlp", "b.mlp");
    USAGE("unknown command", "help", "frobnicate");
}

static void test_missing_files(void **state) {
    (void)state;
    char path[PATH_CAP];
    run_result r;
    tmp(path, "does-not-exist.csv");
    RUN(&r, "train", "--data", path, "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "mlp: ");
    expect_in(r.err, path);
    run_free(&r);

    tmp(path, "does-not-exist.mlp");
    RUN(&r, "eval", path, "digits");
    expect_code(&r, 1);
    expect_in(r.err, path);
    run_free(&r);
    RUN(&r, "info", path);
    expect_code(&r, 1);
    expect_in(r.err, path);
    run_free(&r);

    /* The digits data found through MLP_DATA_DIR, and a clear error when it is wrong. */
    setenv("MLP_DATA_DIR", MLP_TEST_TMPDIR "/no-such-dir", 1);
    RUN(&r, "train", "--data", "digits", "--quiet");
    setenv("MLP_DATA_DIR", MLP_SOURCE_DIR "/data", 1);
    expect_code(&r, 1);
    expect_in(r.err, "no-such-dir");
    expect_in(r.err, "MLP_DATA_DIR");
    run_free(&r);
}

static void test_bad_data(void **state) {
    (void)state;
    char path[PATH_CAP];
    const char *text = "1,2,0\n3,4,1\n5,oops,0\n";
    write_file(tmp(path, "bad.csv"), text, strlen(text));
    run_result r;
    RUN(&r, "train", "--data", path, "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "mlp: ");
    expect_in(r.err, "bad.csv");
    run_free(&r);

    /* Not a model file. */
    RUN(&r, "info", path);
    expect_code(&r, 1);
    expect_in(r.err, "bad.csv");
    run_free(&r);
}

static void test_divergence(void **state) {
    (void)state;
    run_result r;
    RUN(&r, "train", "--data", "digits", "--solver", "sgd", "--lr", "1e20", "--max-iter", "5",
        "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "diverged");
    expect_in(r.err, "epoch 1");
    run_free(&r);
}

static char g_model[PATH_CAP];
static char g_accuracy[64]; /* raw JSON text of the train run's accuracy */

static void test_train_digits(void **state) {
    (void)state;
    run_result r;
    tmp(g_model, "digits.mlp");
    remove(g_model);
    RUN(&r, "train", "--data", "digits", "--hidden", "20", "--max-iter", "200", "--seed", "1",
        "--json", "--quiet", "--out", g_model);
    expect_code(&r, 0);
    char line[8192];
    last_line(r.out, line, sizeof line);
    expect_json_object(line);
    assert_non_null(json_raw(line, "accuracy", g_accuracy, sizeof g_accuracy));
    double acc = json_number(line, "accuracy");
    if (!(acc > 0.85 && acc <= 1.0)) fail_msg("accuracy %g in %s", acc, line);
    assert_true(json_number(line, "epochs") >= 1 && json_number(line, "epochs") <= 200);
    char buf[256];
    assert_non_null(json_raw(line, "converged", buf, sizeof buf));
    assert_true(strcmp(buf, "true") == 0 || strcmp(buf, "false") == 0);
    assert_true(json_number(line, "seconds") >= 0);
    assert_true(json_number(line, "samples_per_s") > 0);
    assert_true(json_number(line, "threads") >= 1);
    /* The digits net's steps are a batch split: one thread per shard, at most the run's. */
    const double step_threads = json_number(line, "step_threads");
    assert_true(step_threads >= 1 && step_threads <= json_number(line, "threads"));
    assert_non_null(json_raw(line, "blas_core", buf, sizeof buf));
    assert_true(buf[0] == '"' && strlen(buf) > 2);
    assert_true(json_number(line, "loss") > 0);
    assert_int_equal((int)json_number(line, "n_train"), 1437);
    assert_int_equal((int)json_number(line, "n_test"), 360);
    assert_int_equal((int)json_number(line, "seed"), 1);
    assert_non_null(json_raw(line, "hidden", buf, sizeof buf));
    assert_string_equal(buf, "[20]");
    assert_non_null(json_raw(line, "solver", buf, sizeof buf));
    assert_string_equal(buf, "\"adam\"");
    assert_non_null(json_raw(line, "activation", buf, sizeof buf));
    assert_string_equal(buf, "\"relu\"");
    /* --quiet: no progress lines. */
    assert_null(strstr(r.err, "epoch"));
    run_free(&r);

    struct stat st;
    assert_int_equal(stat(g_model, &st), 0);
}

static void test_info(void **state) {
    (void)state;
    run_result r;
    RUN(&r, "info", g_model);
    expect_code(&r, 0);
    expect_in(r.out, "64-20-10");
    expect_in(r.out, "relu");
    expect_in(r.out, "softmax");
    expect_in(r.out, "adam");
    expect_in(r.out, "1510"); /* parameters: 64*20+20 + 20*10+10 */
    run_free(&r);

    RUN(&r, "info", g_model, "--json");
    expect_code(&r, 0);
    char line[4096], buf[256];
    last_line(r.out, line, sizeof line);
    expect_json_object(line);
    assert_non_null(json_raw(line, "sizes", buf, sizeof buf));
    assert_string_equal(buf, "[64, 20, 10]");
    assert_int_equal((int)json_number(line, "params"), 1510);
    run_free(&r);
}

static void test_eval_same_accuracy(void **state) {
    (void)state;
    run_result r;
    RUN(&r, "eval", g_model, "digits", "--json");
    expect_code(&r, 0);
    char line[4096], buf[64];
    last_line(r.out, line, sizeof line);
    expect_json_object(line);
    assert_non_null(json_raw(line, "accuracy", buf, sizeof buf));
    assert_string_equal(buf, g_accuracy);
    assert_int_equal((int)json_number(line, "n"), 360);
    run_free(&r);

    RUN(&r, "eval", g_model, "digits");
    expect_code(&r, 0);
    expect_in(r.out, "Accuracy");
    run_free(&r);
}

static void test_predict_digits(void **state) {
    (void)state;
    run_result r;
    RUN(&r, "predict", g_model, "digits");
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 360);
    for (const char *p = r.out; *p; p = strchr(p, '\n') + 1)
        assert_true(p[0] >= '0' && p[0] <= '9' && p[1] == '\n');
    run_free(&r);

    char out[PATH_CAP];
    tmp(out, "probs.csv");
    RUN(&r, "predict", g_model, "digits", "--proba", "--out", out);
    expect_code(&r, 0);
    assert_string_equal(r.out, "");
    run_free(&r);
    char *text = slurp(out);
    assert_int_equal(count_lines(text), 361);
    const char *p = text;
    assert_true(strncmp(p, "0,1,2,3,4,5,6,7,8,9\n", 20) == 0); /* the header names the classes */
    p += 20;
    for (int i = 0; i < 360; i++) {
        double sum = 0;
        for (int j = 0; j < 10; j++) {
            char *end;
            sum += strtod(p, &end);
            assert_true(end != p);
            assert_true(*end == (j < 9 ? ',' : '\n'));
            p = end + 1;
        }
        assert_true(fabs(sum - 1.0) < 1e-4);
    }
    free(text);
}

/* splitmix64 -> uniform [0, 1). */
static double unif(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static void test_regression_csv(void **state) {
    (void)state;
    char path[PATH_CAP], feat[PATH_CAP], model[PATH_CAP];
    tmp(path, "reg.csv");
    tmp(feat, "reg_features.csv");
    tmp(model, "reg.mlp");
    FILE *f = fopen(path, "w"), *g = fopen(feat, "w");
    assert_non_null(f);
    assert_non_null(g);
    fprintf(f, "x1,x2,y\n");
    uint64_t s = 7;
    for (int i = 0; i < 200; i++) {
        double x1 = 2 * unif(&s) - 1, x2 = 2 * unif(&s) - 1;
        fprintf(f, "%.6f,%.6f,%.6f\n", x1, x2, 2 * x1 - x2);
        if (i < 25) fprintf(g, "%.6f,%.6f\n", x1, x2);
    }
    assert_int_equal(fclose(f), 0);
    assert_int_equal(fclose(g), 0);

    run_result r;
    RUN(&r, "train", "--data", path, "--regression", "--scale", "standard", "--hidden", "16",
        "--batch-size", "16", "--lr", "0.01", "--max-iter", "300", "--seed", "3", "--json",
        "--quiet", "--out", model);
    expect_code(&r, 0);
    char line[8192];
    last_line(r.out, line, sizeof line);
    expect_json_object(line);
    double r2 = json_number(line, "r2");
    if (!(r2 > 0.9)) fail_msg("r2 %g in %s", r2, line);
    assert_null(strstr(line, "\"accuracy\""));
    assert_int_equal((int)json_number(line, "n_train") + (int)json_number(line, "n_test"), 200);
    assert_int_equal((int)json_number(line, "n_test"), 40);
    run_free(&r);

    RUN(&r, "eval", model, path, "--json");
    expect_code(&r, 0);
    last_line(r.out, line, sizeof line);
    expect_json_object(line);
    assert_true(json_number(line, "r2") > 0.9);
    run_free(&r);

    /* Features-only CSV (no target column): one prediction per row, close to 2*x1 - x2. */
    RUN(&r, "predict", model, feat);
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 25);
    run_free(&r);
    RUN(&r, "info", model);
    expect_code(&r, 0);
    expect_in(r.out, "2-16-1");
    expect_in(r.out, "standard");
    run_free(&r);
}

static void test_three_class_csv(void **state) {
    (void)state;
    char path[PATH_CAP], model[PATH_CAP];
    tmp(path, "three.csv");
    tmp(model, "three.mlp");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint64_t s = 11;
    for (int i = 0; i < 300; i++) { /* label first, three well separated blobs */
        int c = i % 3;
        double a = c * 2.0 + (unif(&s) - 0.5), b = -c * 1.5 + (unif(&s) - 0.5);
        fprintf(f, "%d,%.5f,%.5f\n", c, a, b);
    }
    assert_int_equal(fclose(f), 0);
    run_result r;
    RUN(&r, "train", "--data", path, "--label-column", "0", "--header", "no", "--hidden", "10",
        "--lr", "0.01", "--max-iter", "200", "--seed", "5", "--json", "--quiet", "--out", model);
    expect_code(&r, 0);
    char line[8192];
    last_line(r.out, line, sizeof line);
    expect_json_object(line);
    double acc = json_number(line, "accuracy");
    if (!(acc > 0.9)) fail_msg("accuracy %g in %s", acc, line);
    assert_int_equal((int)json_number(line, "n_classes"), 3);
    run_free(&r);

    RUN(&r, "predict", model, path, "--label-column", "0", "--proba");
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 301);
    assert_true(strncmp(r.out, "0,1,2\n", 6) == 0); /* header: the classes */
    size_t commas = 0;
    for (const char *p = r.out; *p; p++) commas += *p == ',';
    assert_int_equal(commas, 602); /* 3 probabilities per line */
    run_free(&r);
}

/* Writes n rows "a,b,LABEL" of well separated blobs, the label of blob c being labels[c]; with a
 * header line if header is not NULL. */
static void write_blobs(const char *path, const char *header, const char *const *labels, int k,
                        int n) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (header) fprintf(f, "%s\n", header);
    uint64_t s = 3;
    for (int i = 0; i < n; i++) {
        int c = i % k;
        fprintf(f, "%.4f,%.4f,%s\n", c * 3.0 + unif(&s) - 0.5, -c * 2.0 + unif(&s) - 0.5,
                labels[c]);
    }
    assert_int_equal(fclose(f), 0);
}

/* Class labels of any kind: 1..3, {1, 2}, {-1, +1}, strings; the model keeps them. */
static void test_class_labels(void **state) {
    (void)state;
    char path[PATH_CAP], model[PATH_CAP], bad[PATH_CAP];
    const char *const wine[] = {"1", "2", "3"}, *const bc[] = {"2", "1"},
                      *const pm[] = {"+1", "-1"};
    const char *const iris[] = {"setosa", "versicolor", "virginica"};
    run_result r;
    write_blobs(tmp(path, "wine.csv"), NULL, wine, 3, 150);
    RUN(&r, "train", "--data", path, "--label-column", "-1", "--hidden", "8", "--json", "--quiet",
        "--out", tmp(model, "wine.mlp"));
    expect_code(&r, 0);
    expect_in(r.out, "\"n_outputs\": 3, \"n_classes\": 3, \"classes\": [1, 2, 3]");
    run_free(&r);
    RUN(&r, "info", model, "--json");
    expect_in(r.out, "\"classes\": [1, 2, 3]");
    run_free(&r);
    RUN(&r, "info", model);
    expect_in(r.out, "Classes:       1, 2, 3\n");
    run_free(&r);
    /* eval: a label the model never saw is an error naming it and its line. */
    write_file(tmp(bad, "wine_bad.csv"), "1,2,3\n4,5,5\n", 12);
    RUN(&r, "eval", model, bad);
    expect_code(&r, 1);
    expect_in(r.err, "wine_bad.csv:2:3: label '5' is not one of the 3 classes (1 ... 3)");
    run_free(&r);
    /* eval on a features-only file says so. */
    write_file(bad, "1,2\n4,5\n", 8);
    RUN(&r, "eval", model, bad);
    expect_code(&r, 1);
    expect_in(r.err, "has 2 columns, the features of model");
    run_free(&r);
    /* Two classes of any value: one logistic output. */
    write_blobs(path, NULL, bc, 2, 100);
    RUN(&r, "train", "--data", path, "--hidden", "8", "--json", "--quiet");
    expect_in(r.out, "\"n_outputs\": 1, \"n_classes\": 2, \"classes\": [1, 2]");
    run_free(&r);
    write_blobs(path, NULL, pm, 2, 100);
    RUN(&r, "train", "--data", path, "--hidden", "8", "--json", "--quiet");
    expect_in(r.out, "\"n_outputs\": 1, \"n_classes\": 2, \"classes\": [-1, 1]");
    run_free(&r);
    /* Strings: trained, predicted and named by the model. */
    write_blobs(path, "sl,sw,species", iris, 3, 150);
    RUN(&r, "train", "--data", path, "--hidden", "8", "--lr", "0.01", "--json", "--quiet", "--out",
        model);
    expect_code(&r, 0);
    expect_in(r.out, "\"classes\": [\"setosa\", \"versicolor\", \"virginica\"]");
    if (!(json_number(r.out, "accuracy") > 0.9)) fail_msg("accuracy in %s", r.out);
    run_free(&r);
    RUN(&r, "predict", model, path);
    expect_code(&r, 0);
    assert_true(strncmp(r.out, "setosa\nversicolor\nvirginica\n", 28) == 0);
    run_free(&r);
    RUN(&r, "predict", model, path, "--proba");
    assert_true(strncmp(r.out, "setosa,versicolor,virginica\n", 28) == 0);
    run_free(&r);
    write_file(bad, "1,2,setosa\n3,4,Setosa\n", 22);
    RUN(&r, "eval", model, bad);
    expect_code(&r, 1);
    expect_in(r.err, "wine_bad.csv:2:3: label 'Setosa' is not one of the 3 classes");
    run_free(&r);
}

/* Writes the blobs of write_blobs (labels 1..3) with delimiter sep (a string) and an optional
 * first line. */
static void write_blobs_sep(const char *path, const char *first, const char *sep) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (first) fprintf(f, "%s\n", first);
    uint64_t s = 9;
    for (int i = 0; i < 150; i++) {
        int c = i % 3;
        fprintf(f, "%.4f%s%.4f%s%d\n", c * 3.0 + unif(&s) - 0.5, sep, -c * 2.0 + unif(&s) - 0.5,
                sep, c + 1);
    }
    assert_int_equal(fclose(f), 0);
}

/* CSV dialects: detected (and said so) or given; skipped lines; standard input. */
static void test_dialects(void **state) {
    (void)state;
    char path[PATH_CAP], model[PATH_CAP];
    run_result r;
    const char *want = "\"n_classes\": 3, \"classes\": [1, 2, 3]";
    write_blobs_sep(tmp(path, "semi.csv"), "a;b;class", ";");
    RUN(&r, "train", "--data", path, "--hidden", "8", "--json");
    expect_code(&r, 0);
    expect_in(r.out, want);
    expect_in(r.err, "mlp: note: '");
    expect_in(r.err, "semi.csv': detected the delimiter ';' (set it with --delimiter)");
    run_free(&r);
    RUN(&r, "train", "--data", path, "--delimiter", ";", "--hidden", "8", "--json", "--quiet");
    expect_code(&r, 0);
    expect_in(r.out, want);
    assert_string_equal(r.err, "");
    run_free(&r);
    write_blobs_sep(tmp(path, "spaces.txt"), NULL, "   ");
    RUN(&r, "train", "--data", path, "--hidden", "8", "--json", "--quiet");
    expect_in(r.out, want);
    run_free(&r);
    RUN(&r, "train", "--data", path, "--delimiter", "space", "--hidden", "8", "--json", "--quiet");
    expect_in(r.out, want);
    run_free(&r);
    RUN(&r, "train", "--data", path, "--delimiter", ",", "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "the file is probably whitespace-separated, not ','-separated");
    run_free(&r);
    /* A count header: skipped by --skip-rows 1, or recognised. */
    write_blobs_sep(tmp(path, "counted.csv"), "150,2,one,two", ",");
    RUN(&r, "train", "--data", path, "--skip-rows", "1", "--hidden", "8", "--json", "--quiet");
    expect_in(r.out, "\"n_train\": 120, \"n_test\": 30, \"n_features\": 2");
    run_free(&r);
    RUN(&r, "train", "--data", path, "--hidden", "8", "--json", "--quiet", "--out",
        tmp(model, "counted.mlp"));
    expect_in(r.out, "\"n_train\": 120, \"n_test\": 30, \"n_features\": 2");
    run_free(&r);
    /* Standard input, for train and predict. */
    RUN_IN(path, &r, "train", "--data", "-", "--hidden", "8", "--json", "--quiet");
    expect_code(&r, 0);
    expect_in(r.out, want);
    run_free(&r);
    RUN_IN(path, &r, "predict", model, "-");
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 150);
    run_free(&r);
    write_file(path, "1,2,3\n4,x,1\n", 12);
    RUN_IN(path, &r, "eval", model, "-");
    expect_code(&r, 1);
    expect_in(r.err, "-:2:2: 'x' is not a number");
    run_free(&r);
    RUN(&r, "train", "--delimiter", "7");
    expect_code(&r, 2);
    expect_in(r.err, "--delimiter: '7' is not a delimiter");
    run_free(&r);
}

/* Several targets: a list or range of label columns for regression and multi-label. */
static void test_targets(void **state) {
    (void)state;
    char path[PATH_CAP], model[PATH_CAP], feat[PATH_CAP];
    FILE *f = fopen(tmp(path, "targets.csv"), "w"), *g = fopen(tmp(feat, "targets_x.csv"), "w");
    assert_true(f && g);
    uint64_t s = 5;
    for (int i = 0; i < 200; i++) {
        double a = unif(&s), b = unif(&s);
        fprintf(f, "%.4f,%.4f,%.4f,%.4f,%.4f,%d,%d\n", a, b, a + b, a - b, 2 * a, a > 0.5, b > 0.5);
        fprintf(g, "%.4f,%.4f\n", a, b);
    }
    assert_int_equal(fclose(f), 0);
    assert_int_equal(fclose(g), 0);
    run_result r;
    RUN(&r, "train", "--data", path, "--label-column", "2,3,4", "--regression", "--json", "--quiet",
        "--out", tmp(model, "targets.mlp"));
    expect_code(&r, 0);
    expect_in(r.out, "\"task\": \"regression\"");
    expect_in(r.out, "\"n_features\": 4, \"n_outputs\": 3");
    run_free(&r);
    RUN(&r, "train", "--data", path, "--label-column", "2-4", "--regression", "--json", "--quiet");
    expect_in(r.out, "\"n_features\": 4, \"n_outputs\": 3");
    run_free(&r);
    RUN(&r, "eval", model, path, "--label-column", "2-4");
    expect_code(&r, 0);
    expect_in(r.out, "R^2: ");
    run_free(&r);
    RUN(&r, "train", "--data", path, "--label-column", "2,3", "--quiet");
    expect_code(&r, 2);
    expect_in(r.err, "--label-column: 2 columns are several targets: add --regression");
    run_free(&r);
    /* Found by fuzz_cli: the largest long as a column (an overflow in the range loop). */
    RUN(&r, "train", "--label-column", "9223372036854775807");
    expect_code(&r, 2);
    expect_in(r.err, "is beyond the largest column");
    run_free(&r);
    RUN(&r, "train", "--label-column", "0-9223372036854775807");
    expect_code(&r, 2);
    run_free(&r);
    RUN(&r, "train", "--label-column", "1,1");
    expect_code(&r, 2);
    expect_in(r.err, "--label-column: column 1 given twice");
    run_free(&r);
    /* Multi-label: the last two columns (a range given from the end: -2,-1). */
    RUN(&r, "train", "--data", path, "--label-column", "-2,-1", "--multilabel", "--hidden", "16",
        "--lr", "0.01", "--json", "--quiet", "--out", model);
    expect_code(&r, 0);
    expect_in(r.out, "\"task\": \"multilabel\"");
    expect_in(r.out, "\"n_features\": 5, \"n_outputs\": 2");
    run_free(&r);
    RUN(&r, "eval", model, path, "--json"); /* the last 2 columns by default */
    expect_code(&r, 0);
    expect_in(r.out, "\"accuracy\": ");
    run_free(&r);
    RUN(&r, "info", model);
    expect_in(r.out, "multi-label classification, 2 labels");
    run_free(&r);
    RUN(&r, "predict", model, path);
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 200);
    assert_true((r.out[0] == '0' || r.out[0] == '1') && r.out[1] == ',' && r.out[3] == '\n');
    run_free(&r);
    /* A clipped batch size is said once. */
    RUN(&r, "train", "--data", feat, "--regression", "--batch-size", "5000", "--max-iter", "2",
        "--quiet");
    expect_code(&r, 0);
    expect_in(r.err, "mlp: warning: --batch-size 5000 is more than the 160 rows trained on: each "
                     "batch was all 160\n");
    assert_null(strstr(strstr(r.err, "--batch-size") + 1, "--batch-size"));
    run_free(&r);
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void test_idx(void **state) {
    (void)state;
    enum { N = 150, H = 4, W = 4 };
    unsigned char img[16 + N * H * W], lab[8 + N];
    put_be32(img, 0x00000803);
    put_be32(img + 4, N);
    put_be32(img + 8, H);
    put_be32(img + 12, W);
    put_be32(lab, 0x00000801);
    put_be32(lab + 4, N);
    uint64_t s = 3;
    for (int i = 0; i < N; i++) { /* class c: bright pixels in quadrant rows c */
        int c = i % 3;
        lab[8 + i] = (unsigned char)c;
        for (int j = 0; j < H * W; j++) {
            int hot = (j / W) == c;
            img[16 + i * H * W + j] = (unsigned char)((hot ? 180 : 20) + (int)(60 * unif(&s)));
        }
    }
    char ip[PATH_CAP], lp[PATH_CAP], model[PATH_CAP];
    write_file(tmp(ip, "tiny-images.idx"), img, sizeof img);
    write_file(tmp(lp, "tiny-labels.idx"), lab, sizeof lab);
    tmp(model, "tiny.mlp");
    run_result r;
    RUN(&r, "train", "--data", ip, "--labels", lp, "--scale", "minmax", "--hidden", "8", "--lr",
        "0.01", "--max-iter", "100", "--json", "--quiet", "--out", model);
    expect_code(&r, 0);
    char line[8192];
    last_line(r.out, line, sizeof line);
    expect_json_object(line);
    assert_int_equal((int)json_number(line, "n_train"), 120);
    assert_int_equal((int)json_number(line, "n_test"), 30);
    assert_int_equal((int)json_number(line, "n_features"), 16);
    assert_true(json_number(line, "accuracy") > 0.8);
    run_free(&r);

    RUN(&r, "eval", model, ip, "--labels", lp);
    expect_code(&r, 0);
    expect_in(r.out, "Accuracy");
    run_free(&r);
    RUN(&r, "predict", model, ip, "--labels", lp);
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), N);
    run_free(&r);

    /* Wrong width for the model: a runtime error naming the mismatch. */
    RUN(&r, "eval", model, "digits");
    expect_code(&r, 1);
    expect_in(r.err, "features");
    run_free(&r);
}

/* Piped progress: epochs 1..10, then every 10th, plus the last; results on stdout. */
static void test_progress_lines(void **state) {
    (void)state;
    run_result r;
    RUN(&r, "train", "--data", "digits", "--hidden", "10", "--max-iter", "25", "--n-iter-no-change",
        "100", "--seed", "2");
    expect_code(&r, 0);
    expect_in(r.err, "epoch 1/25");
    expect_in(r.err, "epoch 10/25");
    expect_in(r.err, "epoch 20/25");
    expect_in(r.err, "epoch 25/25");
    assert_null(strstr(r.err, "epoch 11/25"));
    assert_null(strstr(r.err, "epoch 21/25"));
    assert_null(strstr(r.out, "epoch"));
    expect_in(r.out, "Test accuracy");
    expect_in(r.out, "max_iter");
    expect_in(r.out, "samples/s");
    run_free(&r);
}

/* Counts the lines of s that start with prefix. */
static size_t count_prefixed(const char *s, const char *prefix) {
    size_t n = 0, len = strlen(prefix);
    for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, len) == 0;
    return n;
}

/* No temporary file of an atomic write of cli_NAME is left in the test folder. */
static void expect_no_temp_files(const char *name) {
    char pat[PATH_CAP];
    snprintf(pat, sizeof pat, "cli_%s.tmp.", name);
    DIR *d = opendir(MLP_TEST_TMPDIR);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, pat, strlen(pat)) == 0)
            fail_msg("a temporary file %s was left in %s", e->d_name, MLP_TEST_TMPDIR);
    closedir(d);
}

/* The fields of CSV line `line` (no quotes in the history): n of them into f (each at most 63
 * characters); returns the count. */
static size_t csv_fields(const char *line, char f[][64], size_t n) {
    size_t k = 0;
    for (const char *p = line; k < n;) {
        const char *e = p + strcspn(p, ",\n");
        assert_true(e - p < 64);
        memcpy(f[k], p, (size_t)(e - p));
        f[k++][e - p] = '\0';
        if (*e != ',') break;
        p = e + 1;
    }
    return k;
}

/* --history: CSV and JSON with one row per epoch; validation columns filled with early stopping,
 * empty / null without; the progress lines show the validation loss. */
static void test_history(void **state) {
    (void)state;
    char csv[PATH_CAP], json[PATH_CAP], line[16384];
    tmp(csv, "hist.csv");
    tmp(json, "hist.json");
    run_result r;
    RUN(&r, "train", "--data", "digits", "--hidden", "16", "--max-iter", "12", "--early-stopping",
        "--early-stopping-metric", "loss", "--seed", "4", "--history", csv, "--json");
    expect_code(&r, 0);
    expect_in(r.err, "val_loss ");
    last_line(r.out, line, sizeof line);
    expect_json_object(line);
    const size_t epochs = (size_t)json_number(line, "epochs");
    expect_in(line, "\"early_stopping_metric\": \"loss\"");
    const double best_loss = json_number(line, "best_val_loss");
    char curve[8192];
    assert_non_null(json_raw(line, "val_losses", curve, sizeof curve));
    size_t commas = 0;
    for (const char *p = curve; *p; p++) commas += *p == ',';
    assert_int_equal(commas + 1, epochs);
    run_free(&r);
    char *text = slurp(csv);
    assert_true(strncmp(text, "epoch,loss,val_score,val_loss,lr,seconds\n", 41) == 0);
    assert_int_equal(count_lines(text), epochs + 1);
    double lowest = INFINITY;
    const char *row = strchr(text, '\n') + 1;
    for (size_t e = 1; e <= epochs; e++, row = strchr(row, '\n') + 1) {
        char f[8][64];
        assert_int_equal(csv_fields(row, f, 8), 6);
        assert_int_equal(atoi(f[0]), (int)e);
        assert_true(atof(f[1]) > 0.0 && atof(f[2]) > 0.0 && atof(f[3]) > 0.0);
        assert_float_equal(atof(f[4]), 0.001, 1e-9);
        if (atof(f[3]) < lowest) lowest = atof(f[3]);
    }
    assert_float_equal(lowest, best_loss, 1e-6 * best_loss);
    free(text);
    expect_no_temp_files("hist.csv");

    RUN(&r, "train", "--data", "digits", "--hidden", "16", "--max-iter", "7", "--solver", "sgd",
        "--lr-schedule", "invscaling", "--lr", "0.1", "--history", json, "--quiet");
    expect_code(&r, 0);
    run_free(&r);
    text = slurp(json);
    const char *p = js_value(text);
    if (!p || *js_ws(p)) fail_msg("invalid JSON history:\n%s", text);
    assert_true(*js_ws(text) == '[');
    assert_int_equal(count_prefixed(text, "{\"epoch\": "), 7);
    expect_in(text, "{\"epoch\": 7, ");
    expect_in(text, "\"val_score\": null, \"val_loss\": null, \"lr\": 0.1, ");
    /* invscaling: epoch 2 ran with 0.1 / sqrt(1437 + 1) */
    char want[64];
    snprintf(want, sizeof want, "\"lr\": %.6f", 0.1 / sqrt(1438.0));
    expect_in(text, want);
    free(text);
    expect_no_temp_files("hist.json");

    /* A folder that does not exist: a runtime error, nothing written. */
    RUN(&r, "train", "--data", "digits", "--hidden", "4", "--max-iter", "2", "--quiet", "--history",
        MLP_TEST_TMPDIR "/no/such/dir/h.csv");
    expect_code(&r, 1);
    expect_in(r.err, "no/such/dir/h.csv");
    run_free(&r);
}

/* Two well separated classes (label last) with a weight column before the label; weights[] are
 * also written one per line to wpath. Class 1's rows weigh zero_class1 ? 0 : 1. */
static void write_weighted(const char *path, const char *wpath, int header, int zero_class1,
                           int n) {
    FILE *f = fopen(path, "w"), *g = fopen(wpath, "w");
    assert_true(f && g);
    if (header) fprintf(f, "a,b,w,y\n");
    uint64_t s = 17;
    for (int i = 0; i < n; i++) {
        const int c = i % 2;
        const double w = zero_class1 && c == 1 ? 0.0 : 1.0;
        fprintf(f, "%.4f,%.4f,%g,%d\n", c * 3.0 + unif(&s) - 0.5, -c * 2.0 + unif(&s) - 0.5, w, c);
        fprintf(g, "%g\n", w);
    }
    assert_int_equal(fclose(f), 0);
    assert_int_equal(fclose(g), 0);
}

/* The same training data without the weight column. */
static void write_unweighted(const char *path, int n) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint64_t s = 17;
    for (int i = 0; i < n; i++) {
        const int c = i % 2;
        fprintf(f, "%.4f,%.4f,%d\n", c * 3.0 + unif(&s) - 0.5, -c * 2.0 + unif(&s) - 0.5, c);
    }
    assert_int_equal(fclose(f), 0);
}

/* The two files hold the same bytes. */
static void expect_same_file(const char *a, const char *b) {
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    assert_true(f && g);
    int c, d;
    size_t at = 0;
    do {
        c = getc(f);
        d = getc(g);
        if (c != d) fail_msg("'%s' and '%s' differ at byte %zu", a, b, at);
        at++;
    } while (c != EOF);
    fclose(f);
    fclose(g);
}

/* Runs train with the common options and extra args (NULL-terminated); returns the JSON line. */
static void train_json(char *line, size_t cap, const char *data, const char *const *extra) {
    const char *argv[40] = {"train", "--data", data, "--hidden", "8",      "--max-iter",
                            "40",    "--seed", "6",  "--json",   "--quiet"};
    size_t n = 11;
    for (; *extra; extra++) argv[n++] = *extra;
    argv[n] = NULL;
    run_result r;
    run(&r, argv);
    expect_code(&r, 0);
    last_line(r.out, line, cap);
    expect_json_object(line);
    run_free(&r);
}

/* --sample-weight and --weight-column: weights of 1 change nothing (same model file); weights that
 * follow the rows through the test split (class 1 weighing 0 leaves a model that never predicts
 * it); a column by index or by header name. */
static void test_sample_weight(void **state) {
    (void)state;
    char data[PATH_CAP], plain[PATH_CAP], wfile[PATH_CAP], m1[PATH_CAP], m2[PATH_CAP];
    char l1[8192], l2[8192];
    tmp(data, "weighted.csv");
    tmp(plain, "unweighted.csv");
    tmp(wfile, "weights.txt");
    tmp(m1, "w1.mlp");
    tmp(m2, "w2.mlp");
    write_weighted(data, wfile, 0, 0, 200);
    write_unweighted(plain, 200);
    train_json(l1, sizeof l1, plain, (const char *const[]){"-o", m1, NULL});
    train_json(l2, sizeof l2, plain,
               (const char *const[]){"--sample-weight", wfile, "-o", m2, NULL});
    assert_float_equal(json_number(l1, "accuracy"), json_number(l2, "accuracy"), 0.0);
    assert_float_equal(json_number(l1, "loss"), json_number(l2, "loss"), 0.0);
    expect_same_file(m1, m2);
    expect_in(l2, "\"sample_weight\": ");
    /* The weight column (index 2) gives the same model as the file. */
    train_json(l2, sizeof l2, data, (const char *const[]){"--weight-column", "2", NULL});
    assert_float_equal(json_number(l1, "loss"), json_number(l2, "loss"), 0.0);
    assert_int_equal((int)json_number(l2, "n_features"), 2);
    assert_true(json_number(l1, "accuracy") > 0.95);

    /* The shipped digits split: one weight per row of the whole file (1797), all 1. */
    FILE *f = fopen(wfile, "w");
    assert_non_null(f);
    for (int i = 0; i < 1797; i++) fputs("1\n", f);
    assert_int_equal(fclose(f), 0);
    train_json(l1, sizeof l1, "digits", (const char *const[]){"-o", m1, NULL});
    train_json(l2, sizeof l2, "digits",
               (const char *const[]){"--sample-weight", wfile, "-o", m2, NULL});
    assert_int_equal((int)json_number(l2, "n_train"), 1437);
    assert_float_equal(json_number(l1, "accuracy"), json_number(l2, "accuracy"), 0.0);
    expect_same_file(m1, m2);

    /* Class 1 weighs 0: whatever rows the split put where, the weights went with them. */
    write_weighted(data, wfile, 1, 1, 200);
    train_json(l2, sizeof l2, plain,
               (const char *const[]){"--sample-weight", wfile, "--lr", "0.01", NULL});
    const double acc = json_number(l2, "accuracy");
    if (!(acc < 0.7)) fail_msg("class 1 has weight 0 but accuracy is %g: %s", acc, l2);
    train_json(l1, sizeof l1, data,
               (const char *const[]){"--weight-column", "w", "--lr", "0.01", NULL});
    assert_float_equal(json_number(l1, "accuracy"), acc, 0.0);
    expect_in(l1, "\"weight_column\": \"w\"");
    /* With early stopping, the validation loss curve and its minimum. */
    train_json(l1, sizeof l1, data,
               (const char *const[]){"--weight-column", "-2", "--early-stopping", NULL});
    assert_true(json_number(l1, "best_val_loss") >= 0.0);
    expect_in(l1, "\"val_losses\": [");
}

/* Bad weights: each error names the file and the line, or the counts. */
static void test_bad_weights(void **state) {
    (void)state;
    char data[PATH_CAP], w[PATH_CAP];
    tmp(data, "bw.csv");
    tmp(w, "bw.txt");
    write_unweighted(data, 5);
    run_result r;
    write_file(w, "1\n2\nabc\n1\n1\n", 12);
    RUN(&r, "train", "--data", data, "--sample-weight", w, "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "bw.txt:3: 'abc' is not a weight");
    run_free(&r);
    write_file(w, "1\n2\n-1\n1\n1\n", 11);
    RUN(&r, "train", "--data", data, "--sample-weight", w, "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "bw.txt:3: the weight -1 is negative");
    run_free(&r);
    write_file(w, "1\n2\n1\n1\n", 8);
    RUN(&r, "train", "--data", data, "--sample-weight", w, "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "bw.txt: 4 weights for the 5 rows");
    run_free(&r);
    write_file(w, "1\n2\n1\n1\n1\n1\n", 12);
    RUN(&r, "train", "--data", data, "--sample-weight", w, "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "bw.txt:6: more weights than the 5 rows");
    run_free(&r);
    write_file(w, "1\n\n1\n1\n1\n", 9);
    RUN(&r, "train", "--data", data, "--sample-weight", w, "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "bw.txt:2: empty line");
    run_free(&r);
    RUN(&r, "train", "--data", data, "--sample-weight", MLP_TEST_TMPDIR "/none.txt", "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "none.txt");
    run_free(&r);
    RUN(&r, "train", "--data", data, "--weight-column", "2", "--quiet");
    expect_code(&r, 2);
    expect_in(r.err, "is the label column");
    run_free(&r);
    RUN(&r, "train", "--data", data, "--weight-column", "7", "--quiet");
    expect_code(&r, 2);
    expect_in(r.err, "has 3 columns");
    run_free(&r);
    RUN(&r, "train", "--data", data, "--weight-column", "nope", "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "no column 'nope'");
    run_free(&r);
}

/* The weight column is dropped from --test-data too (the reader takes it out of both files), and a
 * column name works on standard input (the reader finds it in the header). */
static void test_weight_column_sources(void **state) {
    (void)state;
    char data[PATH_CAP], wfile[PATH_CAP], line[8192];
    tmp(data, "weighted_hdr.csv");
    tmp(wfile, "weights_hdr.txt");
    write_weighted(data, wfile, 1, 0, 60);
    train_json(line, sizeof line, data,
               (const char *const[]){"--weight-column", "w", "--test-data", data, NULL});
    assert_int_equal((int)json_number(line, "n_features"), 2);
    assert_int_equal((int)json_number(line, "n_test"), 60);
    run_result r;
    RUN_IN(data, &r, "train", "--data", "-", "--weight-column", "w", "--hidden", "4", "--max-iter",
           "5", "--json", "--quiet");
    expect_code(&r, 0);
    expect_in(r.out, "\"weight_column\": \"w\"");
    expect_in(r.out, "\"n_features\": 2");
    run_free(&r);
}

/* The --regression hint comes only when the file reads as float targets: binary data gets the
 * reader's "does not look like text" alone (it used to get the hint as well). */
static void test_regression_hint(void **state) {
    (void)state;
    char junk[PATH_CAP], floats[PATH_CAP];
    tmp(junk, "junk.csv");
    tmp(floats, "float_labels.csv");
    unsigned char bytes[512];
    uint64_t s = 5;
    for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = (unsigned char)(unif(&s) * 256.0);
    bytes[0] = '1';
    write_file(junk, bytes, sizeof bytes);
    write_file(floats, "1,2,0.5\n3,4,1.5\n5,6,2.5\n", 24);
    run_result r;
    RUN(&r, "train", "--data", junk, "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "does not look like text");
    assert_null(strstr(r.err, "--regression"));
    run_free(&r);
    RUN(&r, "train", "--data", floats, "--quiet");
    expect_code(&r, 1);
    expect_in(r.err, "mlp: hint: class labels are integers or text; if the label column holds "
                     "float targets, use --regression");
    run_free(&r);
}

/* --solver lbfgs with --max-fun: the JSON names both; the human report counts iterations. */
static void test_lbfgs(void **state) {
    (void)state;
    char line[8192];
    train_json(line, sizeof line, "digits",
               (const char *const[]){"--solver", "lbfgs", "--max-fun", "30", NULL});
    expect_in(line, "\"solver\": \"lbfgs\"");
    assert_int_equal((int)json_number(line, "max_fun"), 30);
    assert_true(json_number(line, "loss_evaluations") <= 30 + 20); /* one line search over */
    assert_true(json_number(line, "accuracy") > 0.5);
    run_result r;
    RUN(&r, "train", "--data", "digits", "--solver", "lbfgs", "--hidden", "8", "--max-iter", "5");
    expect_code(&r, 0);
    expect_in(r.out, "Iterations:     5");
    expect_in(r.out, "max_iter=5");
    run_free(&r);
}

/* The dropout of model file path's first hidden layer. */
static float model_dropout(const char *path) {
    mlp_net *net = NULL;
    assert_int_equal(mlp_model_load(path, &net, NULL), MLP_OK);
    const float p = mlp_net_dropout(net, 0);
    mlp_net_free(net);
    return p;
}

/* --dropout is kept in the model file: a warm start (--init-model) trains on with it, and
 * --dropout (0 too) replaces it. */
static void test_dropout_in_model(void **state) {
    (void)state;
    char data[PATH_CAP], m1[PATH_CAP], m2[PATH_CAP], line[8192];
    tmp(data, "dropout.csv");
    tmp(m1, "dropout1.mlp");
    tmp(m2, "dropout2.mlp");
    write_unweighted(data, 200);
    train_json(line, sizeof line, data, (const char *const[]){"--dropout", "0.25", "-o", m1, NULL});
    assert_true(model_dropout(m1) == 0.25f);
    run_result r;
    RUN(&r, "train", "--data", data, "--init-model", m1, "--max-iter", "2", "--quiet", "-o", m2);
    expect_code(&r, 0);
    run_free(&r);
    assert_true(model_dropout(m2) == 0.25f);
    RUN(&r, "train", "--data", data, "--init-model", m1, "--max-iter", "2", "--dropout", "0",
        "--quiet", "-o", m2);
    expect_code(&r, 0);
    run_free(&r);
    assert_true(model_dropout(m2) == 0.0f);
    unlink(data);
    unlink(m1);
    unlink(m2);
}

/* Debian 12's OpenBLAS (0.3.21) picks its Prescott kernels on Intel CPUs whose model it does not
 * know: the tool re-executes itself with the AVX2 / AVX-512 kernels the CPU has
 * (cli/blas_kernels.c); a user's OPENBLAS_CORETYPE is kept. Under valgrind (its preload in the
 * environment) the tool leaves the kernels alone. */
static void test_blas_kernels(void **state) {
    (void)state;
    const char *was = getenv("OPENBLAS_CORETYPE");
    char *saved = was ? strdup(was) : NULL;
    const char *preload = getenv("LD_PRELOAD");
    const int under_valgrind = preload && strstr(preload, "vgpreload");
    run_result r;
    assert_int_equal(unsetenv("OPENBLAS_CORETYPE"), 0);
    RUN(&r, "--version");
    expect_code(&r, 0);
    assert_non_null(strstr(r.out, "OpenBLAS core "));
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && !under_valgrind)
        if (strstr(r.out, "core Prescott")) fail_msg("SSE3 kernels on an AVX2 CPU:\n%s", r.out);
    run_free(&r);
    assert_int_equal(setenv("OPENBLAS_CORETYPE", "Haswell", 1), 0);
    RUN(&r, "--version");
    expect_code(&r, 0);
    assert_non_null(strstr(r.out, "OpenBLAS core Haswell"));
    run_free(&r);
    if (saved)
        setenv("OPENBLAS_CORETYPE", saved, 1);
    else
        unsetenv("OPENBLAS_CORETYPE");
    free(saved);
}

/* --precision: bf16 runs (and says so, with oneDNN's ISA) where this CPU and build have it, and is
 * refused naming what is missing where not; auto always trains and says which ran; an unknown
 * value is a usage error. */
static void test_precision(void **state) {
    (void)state;
    run_result r;
    RUN(&r, "train", "--data", "digits", "--hidden", "20", "--max-iter", "3", "--precision", "auto",
        "--json", "--quiet");
    expect_code(&r, 0);
    const int have = mlp_precision_supported(MLP_PRECISION_BF16);
    assert_non_null(strstr(r.out, have ? "\"precision\": \"bf16\"" : "\"precision\": \"f32\""));
    assert_non_null(strstr(r.out, "\"precision_requested\": \"auto\""));
    run_free(&r);
    RUN(&r, "train", "--data", "digits", "--hidden", "20", "--max-iter", "3", "--precision",
        "bf16");
    if (have) {
        expect_code(&r, 0);
        assert_non_null(strstr(r.out, "Precision:      bf16"));
        assert_non_null(strstr(r.out, mlp_precision_isa()));
    } else {
        assert_int_not_equal(r.code, 0);
        assert_non_null(strstr(r.err, "bf16 is not available"));
    }
    run_free(&r);
    RUN(&r, "train", "--data", "digits", "--precision", "fp8");
    expect_code(&r, 2);
    assert_non_null(strstr(r.err, "fp8"));
    run_free(&r);
    /* predictions in bf16 (eval, predict --precision): a trained f32 model, scored both ways */
    char model[PATH_CAP];
    tmp(model, "prec.mlp");
    RUN(&r, "train", "--data", "digits", "--hidden", "30", "--max-iter", "40", "--quiet", "--out",
        model);
    expect_code(&r, 0);
    run_free(&r);
    RUN(&r, "eval", model, "digits", "--precision", "bf16", "--json");
    if (have) {
        expect_code(&r, 0);
        assert_non_null(strstr(r.out, "\"precision\": \"bf16\""));
        const double acc = json_number(r.out, "accuracy");
        if (!(acc > 0.85)) fail_msg("bf16 eval accuracy %g", acc);
    } else {
        assert_int_not_equal(r.code, 0);
        assert_non_null(strstr(r.err, "bf16 is not available"));
    }
    run_free(&r);
    RUN(&r, "predict", model, "digits", "--precision", "auto", "--proba");
    expect_code(&r, 0);
    assert_non_null(strstr(r.out, "0,1,2,3,4,5,6,7,8,9\n"));
    run_free(&r);
    RUN(&r, "eval", model, "digits", "--precision", "fp16");
    expect_code(&r, 2);
    run_free(&r);
    remove(model);
}

/* Issue 23's options: --activation per layer (kept by the model), --loss poisson / huber with
 * --huber-delta, --validation-data (early stopping on it, every training row trains, --history
 * has its scores), --class-weight (balanced, LABEL:W) and their usage and data errors. */
static void test_breadth_options(void **state) {
    (void)state;
    char path[PATH_CAP], val[PATH_CAP], model[PATH_CAP], hist[PATH_CAP], line[8192], buf[256];
    tmp(path, "counts.csv");
    tmp(val, "counts_val.csv");
    tmp(model, "counts.mlp");
    tmp(hist, "counts_history.csv");
    FILE *f = fopen(path, "w"), *g = fopen(val, "w");
    assert_true(f && g);
    uint64_t s = 11;
    for (int i = 0; i < 300; i++) {
        double x1 = 2 * unif(&s) - 1, x2 = 2 * unif(&s) - 1;
        fprintf(i < 240 ? f : g, "%.6f,%.6f,%d\n", x1, x2, (int)(3.0 * unif(&s) * exp(x1)));
    }
    assert_int_equal(fclose(f), 0);
    assert_int_equal(fclose(g), 0);
    run_result r;
    RUN(&r, "train", "--data", path, "--regression", "--loss", "poisson", "--hidden", "8,6",
        "--activation", "tanh,relu", "--max-iter", "20", "--validation-data", val, "--history",
        hist, "--test-fraction", "0", "--json", "--quiet", "--out", model);
    expect_code(&r, 0);
    last_line(r.out, line, sizeof line);
    expect_json_object(line);
    assert_string_equal(json_raw(line, "activation", buf, sizeof buf), "\"tanh,relu\"");
    assert_string_equal(json_raw(line, "loss_function", buf, sizeof buf), "\"poisson\"");
    assert_int_equal((int)json_number(line, "n_val"), 60);
    assert_int_equal((int)json_number(line, "n_train"), 240);
    run_free(&r);
    char *h = slurp(hist);
    assert_int_equal(count_lines(h), 21); /* header + 20 epochs, each with a validation score */
    assert_null(strstr(h, ",nan,"));
    free(h);
    RUN(&r, "info", model);
    expect_code(&r, 0);
    expect_in(r.out, "tanh");
    expect_in(r.out, "exp");
    expect_in(r.out, "half Poisson deviance");
    run_free(&r);
    RUN(&r, "train", "--data", path, "--regression", "--loss", "huber", "--huber-delta", "0.5",
        "--max-iter", "5", "--json", "--quiet");
    expect_code(&r, 0);
    last_line(r.out, line, sizeof line);
    assert_true(json_number(line, "huber_delta") == 0.5);
    run_free(&r);
    /* Class weights on digits: balanced, and one class weighted by its label. */
    RUN(&r, "train", "--class-weight", "balanced", "--max-iter", "3", "--json", "--quiet");
    expect_code(&r, 0);
    run_free(&r);
    RUN(&r, "train", "--class-weight", "3:2.5,7:0", "--early-stopping", "--max-iter", "3", "--json",
        "--quiet");
    expect_code(&r, 0);
    run_free(&r);
    RUN(&r, "train", "--class-weight", "11:1", "--max-iter", "3");
    expect_code(&r, 1);
    expect_in(r.err, "'11' is not a class");
    run_free(&r);
    RUN(&r, "train", "--class-weight", "3:inf", "--max-iter", "3");
    expect_code(&r, 1);
    expect_in(r.err, "must be a finite number >= 0");
    run_free(&r);
    RUN(&r, "train", "--data", path, "--regression", "--loss", "poisson", "--validation-data",
        "digits", "--max-iter", "3");
    expect_code(&r, 1);
    expect_in(r.err, "features");
    run_free(&r);
    USAGE("2 names for 1 hidden layers", "train", "--activation", "relu,tanh");
    USAGE("output layers only", "train", "--activation", "exp");
    USAGE("--loss is for --regression", "train", "--loss", "huber");
    USAGE("--huber-delta needs --loss huber", "train", "--data", path, "--regression",
          "--huber-delta", "2");
    USAGE("--class-weight is for classification", "train", "--data", path, "--regression",
          "--class-weight", "balanced");
    USAGE("--validation-labels needs --validation-data", "train", "--validation-labels", "x");
    USAGE("lbfgs has no early stopping", "train", "--solver", "lbfgs", "--validation-data",
          "digits");
    unlink(path), unlink(val), unlink(model), unlink(hist);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_blas_kernels),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_bad_data),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_train_digits),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_eval_same_accuracy),
        cmocka_unit_test(test_predict_digits),
        cmocka_unit_test(test_regression_csv),
        cmocka_unit_test(test_three_class_csv),
        cmocka_unit_test(test_idx),
        cmocka_unit_test(test_class_labels),
        cmocka_unit_test(test_dialects),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_progress_lines),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_sample_weight),
        cmocka_unit_test(test_dropout_in_model),
        cmocka_unit_test(test_bad_weights),
        cmocka_unit_test(test_regression_hint),
        cmocka_unit_test(test_weight_column_sources),
        cmocka_unit_test(test_lbfgs),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_breadth_options),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
