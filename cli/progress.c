/* Progress of training on stderr. On a terminal: one line redrawn in place ("\r") with a bar, at
 * most every 0.1 s. Piped: plain lines for epochs 1..10, then every 10th up to 1000, then every
 * 100th, and any epoch ending 10 s or more after the last printed line, plus the last one (shown
 * by cli_progress_finish). Ctrl-C during training stops after the current epoch; a second Ctrl-C
 * kills the process (the handler is installed with SA_RESETHAND). */
#include "cli.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define REDRAW_S 0.1
#define PLAIN_MAX_GAP_S 10.0 /* piped: print at least this often */

static volatile sig_atomic_t g_interrupted = 0;
static struct sigaction g_old_sigint;
static int g_installed = 0;

double cli_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void on_sigint(int sig) {
    (void)sig;
    static const char msg[] =
        "\nmlp: interrupted: stopping after this epoch (press Ctrl-C again to abort)\n";
    g_interrupted = 1;
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}

void cli_interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* the second Ctrl-C gets the default action */
    g_interrupted = 0;
    if (sigaction(SIGINT, &sa, &g_old_sigint) == 0) g_installed = 1;
}

void cli_interrupt_restore(void) {
    if (g_installed) sigaction(SIGINT, &g_old_sigint, NULL);
    g_installed = 0;
}

int cli_interrupted(void) {
    return g_interrupted != 0;
}

void cli_format_rate(char *buf, size_t cap, double rate) {
    if (!isfinite(rate) || rate < 0)
        snprintf(buf, cap, "-");
    else if (rate >= 1e9)
        snprintf(buf, cap, "%.2fG", rate / 1e9);
    else if (rate >= 1e6)
        snprintf(buf, cap, "%.2fM", rate / 1e6);
    else if (rate >= 1e3)
        snprintf(buf, cap, "%.1fk", rate / 1e3);
    else
        snprintf(buf, cap, "%.0f", rate);
}

void cli_progress_init(cli_progress *p, int enabled, size_t max_iter) {
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->tty = enabled && isatty(STDERR_FILENO);
    p->max_iter = max_iter;
    p->last_draw = -1.0;
}

static void draw_tty(cli_progress *p, const mlp_epoch_info *e) {
    char bar[BAR_WIDTH + 1], rate[32], val[96] = "";
    size_t filled =
        p->max_iter ? (size_t)((double)BAR_WIDTH * (double)e->epoch / (double)p->max_iter) : 0;
    if (filled > BAR_WIDTH) filled = BAR_WIDTH;
    memset(bar, '#', filled);
    memset(bar + filled, '.', BAR_WIDTH - filled);
    bar[BAR_WIDTH] = '\0';
    cli_format_rate(rate, sizeof rate, e->samples_per_s);
    if (isfinite(e->val_score))
        snprintf(val, sizeof val, "  val %.4f  val loss %.6f", (double)e->val_score,
                 (double)e->val_loss);
    fprintf(stderr, "\repoch %*zu/%zu [%s]  loss %.6f%s  %s samples/s  %.1f s\033[K",
            p->max_iter >= 1000 ? 4 : 3, e->epoch, p->max_iter, bar, (double)e->loss, val, rate,
            e->seconds);
    fflush(stderr);
    p->line_open = 1;
}

static void print_line(cli_progress *p, const mlp_epoch_info *e) {
    char rate[32], val[96] = "";
    cli_format_rate(rate, sizeof rate, e->samples_per_s);
    if (isfinite(e->val_score))
        snprintf(val, sizeof val, ", val_score %.4f, val_loss %.6f", (double)e->val_score,
                 (double)e->val_loss);
    fprintf(stderr, "epoch %zu/%zu: loss %.6f%s, %s samples/s, %.2f s\n", e->epoch, p->max_iter,
            (double)e->loss, val, rate, e->seconds);
    p->last_printed = e->epoch;
}

int cli_progress_callback(const mlp_epoch_info *info, void *user) {
    cli_progress *p = user;
    p->last = *info;
    p->have_last = 1;
    if (p->history)
        (void)cli_history_add(p->history, info); /* a failure shows when it is written */
    if (p->enabled) {
        if (p->tty) {
            double t = cli_now();
            if (p->last_draw < 0 || t - p->last_draw >= REDRAW_S) {
                draw_tty(p, info);
                p->last_draw = t;
            }
        } else {
            size_t e = info->epoch, every = e <= 10 ? 1 : e <= 1000 ? 10 : 100;
            double t = cli_now();
            if (e % every == 0 || t - p->last_draw >= PLAIN_MAX_GAP_S) {
                print_line(p, info);
                p->last_draw = t;
            }
        }
    }
    return cli_interrupted();
}

void cli_progress_finish(cli_progress *p) {
    if (!p->enabled) return;
    if (p->tty) {
        if (p->have_last) draw_tty(p, &p->last);
        if (p->line_open) fputc('\n', stderr);
        p->line_open = 0;
    } else if (p->have_last && p->last_printed != p->last.epoch) {
        print_line(p, &p->last);
    }
    fflush(stderr);
}
