/* Holding SIGINT, SIGTERM, SIGHUP and SIGQUIT while a file is being replaced (io/file_save.h).
 *
 * Why more than pthread_sigmask: a signal sent to the process (Ctrl-C, kill) goes to any thread
 * that does not block it. In a process that has trained, OpenMP's pool threads exist and block
 * nothing, so with the default action the process would still die in the middle of the save. For
 * as long as a save holds the signals, a default action is therefore replaced by a handler that
 * only records the signal; the last release restores the action and sends the signal again.
 *
 * One case is left: when another thread takes the signal in the save's last instant, the kernel
 * has chosen the handler but the thread may run it only after the release looked (it runs it as
 * soon as it is scheduled, and the handler then sends the signal itself). The signal then acts a
 * moment after the save returned; a program that exits at once may exit normally instead. */
#define _POSIX_C_SOURCE 200809L

#include "io/file_save.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static const int held[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_HELD (sizeof held / sizeof held[0])

/* Shared by every thread's holds: the actions are the process's. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned g_depth;                /* holds in progress (under g_lock) */
static struct sigaction g_prev[N_HELD]; /* the actions replaced */
static bool g_swapped[N_HELD];          /* held[i]'s action is on_held_signal */
/* Read by the handler, so lock-free atomics (async-signal-safe), sequentially consistent. */
static atomic_int g_holding;        /* 1 while g_depth > 0 */
static atomic_int g_caught[N_HELD]; /* held[i] arrived during a hold and is not sent again yet */

/* A handler may run on another thread after the last release has looked at g_caught: the kernel
 * chose the handler when it delivered the signal, the thread runs it later. So the handler marks
 * the signal and then looks whether the hold is over, while the release ends the hold and then
 * looks at the marks (each a store then a load, sequentially consistent): at least one of them
 * sees the other, and whoever takes the mark first sends the signal again. */
static void on_held_signal(int sig) {
    for (size_t i = 0; i < N_HELD; i++) {
        if (held[i] != sig) continue;
        atomic_store(&g_caught[i], 1);
        if (!atomic_load(&g_holding) && atomic_exchange(&g_caught[i], 0)) (void)kill(getpid(), sig);
    }
}

static void held_set(sigset_t *set) {
    sigemptyset(set);
    for (size_t i = 0; i < N_HELD; i++) sigaddset(set, held[i]);
}

void mlp_signals_hold(mlp_signal_hold *h) {
    sigset_t set;
    held_set(&set);
    (void)pthread_sigmask(SIG_BLOCK, &set, &h->old_mask);
    pthread_mutex_lock(&g_lock);
    if (g_depth++ == 0) {
        atomic_store(&g_holding, 1);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_held_signal;
        sa.sa_mask = set;
        sa.sa_flags = SA_RESTART;
        for (size_t i = 0; i < N_HELD; i++) {
            struct sigaction *prev = &g_prev[i];
            g_swapped[i] = sigaction(held[i], NULL, prev) == 0 && !(prev->sa_flags & SA_SIGINFO) &&
                           prev->sa_handler == SIG_DFL && sigaction(held[i], &sa, NULL) == 0;
        }
    }
    pthread_mutex_unlock(&g_lock);
}

void mlp_signals_release(mlp_signal_hold *h) {
    pthread_mutex_lock(&g_lock);
    if (--g_depth == 0) {
        /* The default actions back first: a signal sent again from here on terminates. */
        for (size_t i = 0; i < N_HELD; i++) {
            if (g_swapped[i]) (void)sigaction(held[i], &g_prev[i], NULL);
            g_swapped[i] = false;
        }
        atomic_store(&g_holding, 0);
        /* Sent to the process, as it first was: it terminates it now (through a thread that does
         * not block it) or when the caller's mask is restored below. */
        for (size_t i = 0; i < N_HELD; i++)
            if (atomic_exchange(&g_caught[i], 0)) (void)kill(getpid(), held[i]);
    }
    pthread_mutex_unlock(&g_lock);
    (void)pthread_sigmask(SIG_SETMASK, &h->old_mask, NULL);
}
