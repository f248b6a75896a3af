/* Networks across ranks: broadcast of a whole network, rank-0 checkpoint save and load, threads
 * per rank. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "mpi_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sched.h>
#endif

/* What a call with a root checks first. */
typedef enum net_arg {
    NET_ARG_NONE,      /* no net argument to check */
    NET_ARG_OUT,       /* netp must not be NULL */
    NET_ARG_IN_AT_ROOT /* nor *netp on the root */
} net_arg;

/* Collective start of a call with a root: comm is usable (gives this rank; a failure there is
 * returned at once, it cannot be agreed on), root is a rank of comm and netp is as `what` says;
 * the outcome agreed by every rank. */
static mlp_status begin_call(MPI_Comm comm, int root, mlp_net *const *netp, net_arg what,
                             const char *fn, int *rank) {
    int size;
    mlp_status st = mlp_mpi_check_comm(comm, fn, rank, &size);
    if (st != MLP_OK) return st;
    if (root < 0 || root >= size)
        st = mlp_fail(MLP_ERR_ARG, "%s: root %d is not a rank of comm (size %d)", fn, root, size);
    if (st == MLP_OK && what != NET_ARG_NONE && !netp)
        st = mlp_fail(MLP_ERR_NULL, "%s: net is NULL", fn);
    if (st == MLP_OK && what == NET_ARG_IN_AT_ROOT && *rank == root && !*netp)
        st = mlp_fail(MLP_ERR_NULL, "%s: *net is NULL on the root rank %d", fn, root);
    return mlp_mpi_agree(st, comm, fn);
}

/* Header of a broadcast net: n_layers, loss, init, seed, step, then sizes[L + 1], acts[L]. */
enum { HDR_L, HDR_LOSS, HDR_INIT, HDR_SEED, HDR_STEP, HDR_FIXED };

static bool same_layers(const mlp_net *net, const uint64_t *h) {
    size_t L = (size_t)h[HDR_L];
    const uint64_t *sizes = h + HDR_FIXED, *acts = sizes + L + 1;
    if (mlp_net_n_layers(net) != L || (uint64_t)mlp_net_loss(net) != h[HDR_LOSS]) return false;
    for (size_t l = 0; l < L; l++) {
        size_t in, out;
        mlp_activation act;
        (void)mlp_net_layer_shape(net, l, &in, &out, &act);
        if (in != sizes[l] || out != sizes[l + 1] || (uint64_t)act != acts[l]) return false;
    }
    return true;
}

static mlp_status create_from_header(mlp_net **out, const uint64_t *h) {
    size_t L = (size_t)h[HDR_L];
    size_t *sizes = malloc((L + 1) * sizeof *sizes);
    mlp_activation *acts = malloc(L * sizeof *acts);
    mlp_status st;
    if (!sizes || !acts) {
        st = mlp_fail(MLP_ERR_NOMEM, "mlp_mpi_bcast_net: out of memory");
    } else {
        for (size_t i = 0; i <= L; i++) sizes[i] = (size_t)h[HDR_FIXED + i];
        for (size_t l = 0; l < L; l++) acts[l] = (mlp_activation)h[HDR_FIXED + L + 1 + l];
        mlp_net_config cfg = {.n_layers = L,
                              .sizes = sizes,
                              .activations = acts,
                              .loss = (mlp_loss)h[HDR_LOSS],
                              .init = (mlp_init)h[HDR_INIT],
                              .seed = h[HDR_SEED]};
        st = mlp_net_create(out, &cfg);
    }
    free(sizes);
    free(acts);
    return st;
}

/* The root's header: the net's identity, shape and step count. */
static void fill_header(const mlp_net *src, uint64_t *h) {
    const size_t L = mlp_net_n_layers(src);
    mlp_init init;
    uint64_t seed;
    mlp_net_init_of(src, &init, &seed);
    h[HDR_L] = L;
    h[HDR_LOSS] = (uint64_t)mlp_net_loss(src);
    h[HDR_INIT] = (uint64_t)init;
    h[HDR_SEED] = seed;
    h[HDR_STEP] = mlp_net_state_view(src).step;
    for (size_t l = 0; l < L; l++) {
        size_t in;
        mlp_activation act;
        (void)mlp_net_layer_shape(src, l, &in, NULL, &act);
        h[HDR_FIXED + l] = in;
        h[HDR_FIXED + L + 1 + l] = (uint64_t)act;
    }
    h[HDR_FIXED + L] = mlp_net_output_size(src);
}

/* Collective: the layer count first, then the header it sizes (*hp, allocated here; src is the
 * root's net, NULL elsewhere), then the optimizer settings into *opt. */
static mlp_status bcast_header(const mlp_net *src, int root, MPI_Comm comm, const char *fn,
                               uint64_t **hp, mlp_optimizer *opt) {
    uint64_t L = src ? mlp_net_n_layers(src) : 0;
    mlp_status st = mlp_mpi_check(MPI_Bcast(&L, 1, MPI_UINT64_T, root, comm), fn, "MPI_Bcast");
    if (st != MLP_OK) return st;
    size_t hn = HDR_FIXED + 2 * (size_t)L + 1;
    uint64_t *h = malloc(hn * sizeof *h);
    *opt = mlp_optimizer_default(MLP_OPT_ADAM);
    if (src) (void)mlp_net_get_optimizer(src, opt);
    st = h ? MLP_OK : mlp_fail(MLP_ERR_NOMEM, "%s: out of memory", fn);
    st = mlp_mpi_agree(st, comm, fn);
    if (st != MLP_OK) {
        free(h);
        return st;
    }
    if (src) fill_header(src, h);
    st = mlp_mpi_bcast_buf(h, hn, MPI_UINT64_T, sizeof *h, root, comm, fn);
    if (st == MLP_OK)
        st = mlp_mpi_check(MPI_Bcast(opt, (int)sizeof *opt, MPI_BYTE, root, comm), fn, "MPI_Bcast");
    if (st != MLP_OK) {
        free(h);
        return st;
    }
    *hp = h;
    return MLP_OK;
}

/* On a receiving rank: the net to overwrite (*netp, which must have the header's layers and loss)
 * or a new one from the header (*created set). Local. */
static mlp_status receiving_net(mlp_net *const *netp, const uint64_t *h, const char *fn,
                                mlp_net **net, bool *created) {
    if (*netp) {
        if (!same_layers(*netp, h))
            return mlp_fail(MLP_ERR_SHAPE,
                            "%s: this rank's net has other layers or another loss than the root's",
                            fn);
        *net = *netp;
        return MLP_OK;
    }
    mlp_status st = create_from_header(net, h);
    *created = st == MLP_OK;
    return st;
}

/* Collective: the root's parameters and optimizer moments into net (the step count travels in
 * the header). */
static mlp_status bcast_state(mlp_net *net, int root, MPI_Comm comm, const char *fn) {
    mlp_state s = mlp_net_state_begin(net);
    mlp_status st = mlp_mpi_bcast_buf(s.params, s.n, MPI_FLOAT, sizeof(float), root, comm, fn);
    if (st == MLP_OK) st = mlp_mpi_bcast_buf(s.m, s.n, MPI_FLOAT, sizeof(float), root, comm, fn);
    if (st == MLP_OK) st = mlp_mpi_bcast_buf(s.v, s.n, MPI_FLOAT, sizeof(float), root, comm, fn);
    return st;
}

mlp_status mlp_mpi_bcast_net(mlp_net **netp, int root, MPI_Comm comm) {
    static const char fn[] = "mlp_mpi_bcast_net";
    int rank;
    mlp_status st = begin_call(comm, root, netp, NET_ARG_IN_AT_ROOT, fn, &rank);
    if (st != MLP_OK) return st;

    uint64_t *h = NULL;
    mlp_optimizer opt;
    st = bcast_header(rank == root ? *netp : NULL, root, comm, fn, &h, &opt);
    if (st != MLP_OK) return st;

    /* Receivers: the net to overwrite, or a new one. */
    mlp_net *net = rank == root ? *netp : NULL;
    bool created = false;
    if (rank != root) st = receiving_net(netp, h, fn, &net, &created);
    /* The root's optimizer settings first: changing the optimizer's kind clears the moments. */
    if (st == MLP_OK && rank != root) st = mlp_net_set_optimizer(net, &opt);
    st = mlp_mpi_agree(st, comm, fn);
    if (st == MLP_OK) st = bcast_state(net, root, comm, fn);
    if (st == MLP_OK && rank != root) {
        mlp_net_state_end(net, h[HDR_STEP]); /* also ends a pending pass of the old parameters */
        *netp = net;
    } else if (created) {
        mlp_net_free(net);
    }
    free(h);
    return st;
}

mlp_status mlp_mpi_save(const char *path, const mlp_net *net, const mlp_scaler *scaler, int root,
                        MPI_Comm comm) {
    static const char fn[] = "mlp_mpi_save";
    int rank;
    mlp_status st = begin_call(comm, root, NULL, NET_ARG_NONE, fn, &rank);
    if (st != MLP_OK) return st;
    int code = 0;
    if (rank == root) code = (int)mlp_model_save(path, net, scaler);
    mlp_status bs = mlp_mpi_check(MPI_Bcast(&code, 1, MPI_INT, root, comm), fn, "MPI_Bcast");
    if (rank == root) return (mlp_status)code;
    if (bs != MLP_OK) return bs;
    if (code != MLP_OK)
        return mlp_fail((mlp_status)code, "%s: rank %d could not save '%s' (%s)", fn, root,
                        path ? path : "(null)", mlp_strerror((mlp_status)code));
    return MLP_OK;
}

/* Sends the root's scaler (kind, d, offset, scale) to every rank. */
static mlp_status bcast_scaler(mlp_scaler *s, int rank, int root, MPI_Comm comm) {
    static const char fn[] = "mlp_mpi_load";
    uint64_t h[2] = {0, 0};
    if (rank == root) {
        h[0] = (uint64_t)s->kind;
        h[1] = s->kind == MLP_SCALE_NONE ? 0 : s->d;
    }
    mlp_status st = mlp_mpi_check(MPI_Bcast(h, 2, MPI_UINT64_T, root, comm), fn, "MPI_Bcast");
    if (st != MLP_OK || h[1] == 0) {
        if (st == MLP_OK && rank != root) {
            memset(s, 0, sizeof *s);
            s->kind = (mlp_scale_kind)h[0];
        }
        return st;
    }
    size_t d = (size_t)h[1];
    if (rank != root) {
        memset(s, 0, sizeof *s);
        s->offset = d <= SIZE_MAX / sizeof(float) ? malloc(d * sizeof(float)) : NULL;
        s->scale = d <= SIZE_MAX / sizeof(float) ? malloc(d * sizeof(float)) : NULL;
        if (!s->offset || !s->scale) {
            mlp_scaler_free(s);
            st = mlp_fail(MLP_ERR_NOMEM, "%s: out of memory for a scaler of %zu features", fn, d);
        }
    }
    st = mlp_mpi_agree(st, comm, fn);
    if (st == MLP_OK)
        st = mlp_mpi_bcast_buf(s->offset, d, MPI_FLOAT, sizeof(float), root, comm, fn);
    if (st == MLP_OK) st = mlp_mpi_bcast_buf(s->scale, d, MPI_FLOAT, sizeof(float), root, comm, fn);
    if (rank != root) {
        if (st == MLP_OK) {
            s->kind = (mlp_scale_kind)h[0];
            s->d = d;
        } else {
            mlp_scaler_free(s);
        }
    }
    return st;
}

mlp_status mlp_mpi_load(const char *path, mlp_net **netp, mlp_scaler *scaler, int root,
                        MPI_Comm comm) {
    static const char fn[] = "mlp_mpi_load";
    int rank;
    mlp_status st = begin_call(comm, root, netp, NET_ARG_OUT, fn, &rank);
    if (st != MLP_OK) return st;
    *netp = NULL;
    int with_scaler = rank == root && scaler != NULL;
    st = mlp_mpi_check(MPI_Bcast(&with_scaler, 1, MPI_INT, root, comm), fn, "MPI_Bcast");
    if (st != MLP_OK) return st;
    if (with_scaler && !scaler)
        st = mlp_fail(MLP_ERR_NULL, "%s: scaler is NULL on rank %d but not on the root", fn, rank);
    st = mlp_mpi_agree(st, comm, fn);
    if (st != MLP_OK) return st;

    int code = 0;
    if (rank == root) code = (int)mlp_model_load(path, netp, with_scaler ? scaler : NULL);
    st = mlp_mpi_check(MPI_Bcast(&code, 1, MPI_INT, root, comm), fn, "MPI_Bcast");
    if (st != MLP_OK) {
        if (rank == root) mlp_net_free(*netp);
        *netp = NULL;
        return st;
    }
    if (code != MLP_OK) {
        if (rank == root) return (mlp_status)code;
        return mlp_fail((mlp_status)code, "%s: rank %d could not load '%s' (%s)", fn, root,
                        path ? path : "(null)", mlp_strerror((mlp_status)code));
    }
    st = mlp_mpi_bcast_net(netp, root, comm);
    if (st == MLP_OK && with_scaler) st = bcast_scaler(scaler, rank, root, comm);
    if (st != MLP_OK) {
        mlp_net_free(*netp);
        *netp = NULL;
        if (rank == root && with_scaler) mlp_scaler_free(scaler);
    }
    return st;
}

int mlp_mpi_default_threads(MPI_Comm comm) {
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS)
        return 1;
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long t = (cores > 0 ? cores : 1) / (local > 0 ? local : 1);
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        long mine = CPU_COUNT(&set);
        if (mine > 0 && mine < t) t = mine;
    }
#endif
    return t < 1 ? 1 : (int)(t > 4096 ? 4096 : t);
}
