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
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
    USAGE("--solver", "train", "--solver", "lbfgs");
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
    /* The digits net's steps (largest GEMM 1.3 MFLOP) never use more than one thread. */
    assert_int_equal((int)json_number(line, "step_threads"), 1);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_usage_errors),
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
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
