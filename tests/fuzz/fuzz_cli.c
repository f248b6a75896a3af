/* Fuzz target: the mlp tool's command line (cli/: dispatch, option scanning, strict value parsing,
 * option conflicts), through its real main (compiled as mlp_cli_main).
 *
 * Input: the arguments after "mlp", separated by NUL bytes (at most 32). The process runs in an
 * empty directory with stdin from /dev/null and MLP_DATA_DIR pointing nowhere, so every command
 * stops at loading its data or model: what is fuzzed is the argument handling up to there (and the
 * loaders' handling of whatever paths the fuzzer names). Run with -close_fd_mask=3 to silence the
 * tool's output. Invariant: the exit status is 0, 1 or 2 (no crash, leak or undefined behaviour:
 * ASan, LeakSanitizer and UBSan check those). */
#include "fuzz_util.h"

#include <cblas.h>
#include <fcntl.h>

int mlp_cli_main(int argc, char **argv);

#define MAX_ARGS 32

static char g_dir[] = "/tmp/mlp-fuzz-cli-XXXXXX";

static void cleanup(void) {
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("MLP_DATA_DIR", "/nonexistent/mlp-fuzz-data", 1);
    /* The tool's main re-executes itself to change OpenBLAS's kernels (cli/blas_kernels.c): here
     * that would restart the fuzzer with a command line for arguments. */
    setenv("MLP_KEEP_BLAS_KERNELS", "1", 1);
    openblas_set_num_threads(1);
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0 || dup2(fd, 0) < 0) abort();
    close(fd);
    if (!mkdtemp(g_dir) || chdir(g_dir) != 0) abort();
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    FZ_CHECK(buf != NULL);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"mlp";
    if (size > 0) {
        char *p = buf, *end = buf + size;
        while (argc <= MAX_ARGS && p <= end) {
            argv[argc++] = p;
            p += strlen(p) + 1;
        }
    }
    argv[argc] = NULL;
    int rc = mlp_cli_main(argc, argv);
    FZ_CHECK(rc == 0 || rc == 1 || rc == 2);
    fflush(stdout);
    clearerr(stdout);
    free(buf);
    return 0;
}
