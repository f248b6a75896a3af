/* Which team a training step runs on: the threads its plan may use (mlp_step_team), or one
 * thread, whichever the clock says is faster.
 *
 * Why measure: on the 2-vCPU VMs this was built on, the same 2-thread step runs 1.4-1.8x faster
 * than one thread while the host keeps the vCPUs close, and at 0.9-1.0x, sometimes slower, in
 * spells of seconds to minutes when it does not (docs/SCALING.md, "The step's team, measured").
 * No fixed threshold is right in both states, and the library cannot see the placement. The bits
 * of a step do not depend on its team, so the team can follow the clock and results stay the
 * same.
 *
 * What: the time from a step's start to the next step's start, so that what a team costs the
 * caller's work between steps (the next batch gathered into rows the other core last read, the
 * parameters half in its cache) counts too: timing the step alone kept a team on digits that
 * made `mlp train` 20% slower in a slow spell while each step was faster.
 *
 * How: steps of the measured batch size (the largest seen) run on the current choice; every
 * `period` of them, PROBE steps run on the other choice. The fastest of those is compared with
 * the fastest of the last PROBE steps on the current choice (the same number of samples on both
 * sides, so noise favours neither; the minimum, so a step slowed by a wake-up or an interrupt
 * does not decide). The other choice wins only if it is faster by more than MARGIN. The period
 * doubles while the choice holds, so a settled net spends at most PROBE / MAX_PERIOD of its steps
 * probing, and starts again from FIRST_PERIOD after a switch. */
#include "core/core.h"

#include <math.h>

#define PROBE MLP_TUNE_PROBE
#define FIRST_PERIOD 8
#define MAX_PERIOD 256
#define MARGIN 0.97

static void start(mlp_tune *t, size_t n) {
    t->n = n;
    t->one = false;
    t->left = 0;
    t->since = 0;
    t->period = FIRST_PERIOD;
}

static double fastest(const double *s, size_t k) {
    double m = INFINITY;
    for (size_t i = 0; i < k; i++) m = s[i] < m ? s[i] : m;
    return m;
}

/* The end of a probe: switch if the other choice was faster by the margin. */
static void decide(mlp_tune *t) {
    if (fastest(t->probe, PROBE) < MARGIN * fastest(t->recent, PROBE)) {
        t->one = !t->one;
        t->period = FIRST_PERIOD;
    } else if (t->period < MAX_PERIOD) {
        t->period *= 2;
    }
    t->since = 0;
}

/* A measured step took `seconds`, start to next start. */
static void record(mlp_tune *t, double seconds) {
    if (t->left > 0) { /* a probe step */
        t->probe[PROBE - t->left] = seconds;
        if (--t->left == 0) decide(t);
        return;
    }
    /* FIRST_PERIOD >= PROBE: every slot is rewritten between two probes. */
    t->recent[t->since % PROBE] = seconds;
    if (++t->since >= t->period) t->left = PROBE;
}

int mlp_tune_team(mlp_tune *t, int team, size_t n, double now) {
    if (t->pending) record(t, now - t->start);
    t->pending = false;
    if (team <= 1) return team;
    if (n > t->n) start(t, n);
    t->steps++;
    /* A probe runs the other choice; a smaller batch (an epoch's last) the current one, and is
     * not measured. */
    const bool measured = n == t->n, probing = measured && t->left > 0;
    const int used = t->one != probing ? 1 : team;
    t->team_steps += used > 1;
    t->pending = measured;
    t->start = now;
    return used;
}
