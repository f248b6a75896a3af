// Throughput of the mlp library (Google Benchmark). Every case sets its thread count through
// mlp_set_num_threads and uses real time, since OpenMP and OpenBLAS threads do the work.
//
// Cases (the last argument is always the thread count):
//   fma_peak         the FMA peak of this machine at 1 and 2 threads, measured in this process
//                    (16 independent zmm FMA chains per thread, ymm without AVX-512): every step
//                    and floor case reports its fraction of it as "peak" (GFLOP/s / peak at the
//                    case's thread count), and bench/report.py its 2-thread scaling against the
//                    peak's own 2-thread scaling
//   digits_step      64-50-10 ReLU/softmax-CE/Adam, one training step at batch 200
//   digits_floor     the same step's GEMMs alone (the GEMM floor)
//   f100_step        784-100-10 at batch 200 (Fashion-MNIST's shape); f100_floor its GEMMs
//   f256_step        784-256-128-10 at batch 256; f256_floor its GEMMs
//   digits_epoch     one epoch over 1437 rows: gather each shuffled batch, train step
//   digits_predict   inference at batch 1, 200, 1797
//   big_step         784-1024-1024-10 at batch 256, one training step; big_floor its GEMMs
//   big_predict      784-1024-1024-10 inference at batch 256
//   *_bf16_step      the same steps in MLP_PRECISION_BF16 (oneDNN, bf16 GEMM operands); skipped
//                    with the reason where this CPU or build has no bf16; its "peak" is against
//                    the f32 FMA peak, so above 100% the matrix units beat the f32 FMA units
//   omp_crossover    a fused bias+ReLU pass over N elements, serial vs an OpenMP team: where
//                    the team starts to pay (the library's MLP_OMP_MIN_ELEMS)
#include <benchmark/benchmark.h>

#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "mlp/mlp.h"
}

namespace {

// ---- FMA peak ----

constexpr long kFmaIters = 1 << 22;

// 16 independent FMA chains of 16 floats: enough to keep two FMA ports busy through the latency.
__attribute__((target("avx512f"))) float fma_loop_zmm(long iters, float seed) {
    __m512 acc[16], a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(seed + (float)i);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 s = acc[0];
    for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, acc[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0] + out[15];
}

__attribute__((target("avx2,fma"))) float fma_loop_ymm(long iters, float seed) {
    __m256 acc[16], a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 16; i++) acc[i] = _mm256_set1_ps(seed + (float)i);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 16; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float out[8];
    __m256 s = acc[0];
    for (int i = 1; i < 16; i++) s = _mm256_add_ps(s, acc[i]);
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

bool have_avx512() {
    return __builtin_cpu_supports("avx512f");
}

// FLOPs of one fma_loop call on one thread.
double fma_loop_flops(long iters) {
    return 2.0 * (have_avx512() ? 16 : 8) * 16 * (double)iters;
}

// GFLOP/s of `threads` threads each running the loop, best of 5 (the peak is a maximum).
double measure_peak(int threads) {
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = omp_get_wtime();
        float sink = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += have_avx512() ? fma_loop_zmm(kFmaIters / 4, (float)omp_get_thread_num())
                              : fma_loop_ymm(kFmaIters / 4, (float)omp_get_thread_num());
        double dt = omp_get_wtime() - t0;
        benchmark::DoNotOptimize(sink);
        best = std::max(best, threads * fma_loop_flops(kFmaIters / 4) / dt / 1e9);
    }
    return best;
}

double g_peak[3]; // GFLOP/s at 1 and 2 threads, measured in main() before the cases

void BM_fma_peak(benchmark::State &state) {
    const int threads = (int)state.range(0);
    for (auto _ : state) {
        float sink = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += have_avx512() ? fma_loop_zmm(kFmaIters / 16, (float)omp_get_thread_num())
                              : fma_loop_ymm(kFmaIters / 16, (float)omp_get_thread_num());
        benchmark::DoNotOptimize(sink);
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(threads * fma_loop_flops(kFmaIters / 16) * state.iterations() / 1e9,
                           benchmark::Counter::kIsRate);
    state.SetLabel(have_avx512() ? "zmm" : "ymm");
}

// The cost of moving a cache line between two cores: two threads pass a flag back and forth
// (ns per round trip). On the 2-vCPU VMs of this project it is bimodal by the host's placement of
// the vCPUs (~70 ns, or ~330 ns when they sit far apart), and every 2-thread figure follows it
// (784-100-10 step: ~435 us against ~700 us), so it is recorded beside them, like the FMA peak.
void BM_core_link(benchmark::State &state) {
    if (omp_get_num_procs() < 2) {
        state.SkipWithError("one core: nothing to link");
        return;
    }
    constexpr int kTrips = 20000;
    alignas(64) static std::atomic<int> flag{0};
    double seconds = 0.0;
    std::atomic<bool> pair{true};
    for (auto _ : state) {
        const double t0 = omp_get_wtime();
#pragma omp parallel num_threads(2)
        {
            const int me = omp_get_thread_num();
            if (omp_get_num_threads() != 2) pair = false; // alone it would wait forever
            const bool two = pair;
            for (int i = 0; two && i < kTrips; i++) {
                while (flag.load(std::memory_order_acquire) != me) {
                }
                flag.store(1 - me, std::memory_order_release);
            }
        }
        seconds += omp_get_wtime() - t0;
        if (!pair) {
            state.SkipWithError("OpenMP gave one thread: nothing to link");
            return;
        }
    }
    state.counters["ns/trip"] = seconds * 1e9 / ((double)kTrips * (double)state.iterations());
}

// Adds the "peak" counter: this case's GFLOP/s over the FMA peak at its thread count.
void add_peak_fraction(benchmark::State &state, int threads, double flops_per_iter) {
    double peak = g_peak[threads < 3 ? threads : 2];
    if (peak <= 0.0) return;
    state.counters["peak"] = benchmark::Counter(flops_per_iter * state.iterations() / 1e9 / peak,
                                                benchmark::Counter::kIsRate);
}

struct Net {
    mlp_net *net = nullptr;
    Net(std::vector<size_t> sizes, uint64_t seed) {
        std::vector<mlp_activation> acts(sizes.size() - 1, MLP_ACT_RELU);
        acts.back() = MLP_ACT_SOFTMAX;
        mlp_net_config cfg{sizes.size() - 1,    sizes.data(),    acts.data(),
                           MLP_LOSS_SOFTMAX_CE, MLP_INIT_GLOROT, seed};
        if (mlp_net_create(&net, &cfg) != MLP_OK) net = nullptr;
    }
    ~Net() {
        mlp_net_free(net);
    }
};

// Random inputs in [0, 16] (digits-like pixel range) and one-hot targets.
struct Batch {
    std::vector<float> X, Y;
    Batch(size_t n, size_t in, size_t k, uint64_t seed) : X(n * in), Y(n * k, 0.0f) {
        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<float> u(0.0f, 16.0f);
        for (auto &x : X) x = u(rng);
        for (size_t i = 0; i < n; i++) Y[i * k + rng() % k] = 1.0f;
    }
};

bool setup_threads(benchmark::State &state, int threads) {
    if (mlp_set_num_threads(threads) != MLP_OK) {
        state.SkipWithError(mlp_last_error());
        return false;
    }
    state.SetLabel(mlp_blas_corename());
    return true;
}

// FLOPs of one training step: forward GEMMs, weight-gradient GEMMs, and input-gradient GEMMs for
// every layer but the first (no gradient is needed for the data).
double step_flops(const std::vector<size_t> &sizes, size_t n) {
    double f = 0.0;
    for (size_t l = 0; l + 1 < sizes.size(); l++) {
        double mnk = 2.0 * n * sizes[l] * sizes[l + 1];
        f += l == 0 ? 2 * mnk : 3 * mnk;
    }
    return f;
}

// weighted: the same step with per-row sample weights (mlp_train_step_weighted), which scale the
// output delta as it is made: the cost of the weights is this minus the plain step.
void train_step(benchmark::State &state, std::vector<size_t> sizes, size_t n, bool weighted = false,
                mlp_precision precision = MLP_PRECISION_F32) {
    if (!setup_threads(state, (int)state.range(0))) return;
    Net net(sizes, 42);
    if (precision != MLP_PRECISION_F32) {
        if (mlp_net_set_precision(net.net, precision) != MLP_OK) {
            state.SkipWithError(mlp_last_error());
            return;
        }
        state.SetLabel(std::string(mlp_blas_corename()) + " bf16 " + mlp_precision_isa());
    }
    Batch b(n, sizes.front(), sizes.back(), 1);
    std::vector<float> w(n);
    for (size_t i = 0; i < n; i++) w[i] = 0.5f + (float)(i % 3);
    mlp_net_reserve(net.net, n);
    float loss = 0.0f;
    for (auto _ : state) {
        if (weighted)
            mlp_train_step_weighted(net.net, b.X.data(), b.Y.data(), w.data(), n, &loss);
        else
            mlp_train_step(net.net, b.X.data(), b.Y.data(), n, &loss);
        benchmark::DoNotOptimize(loss);
    }
    state.counters["samples/s"] =
        benchmark::Counter((double)n * state.iterations(), benchmark::Counter::kIsRate);
    state.counters["GFLOP/s"] = benchmark::Counter(step_flops(sizes, n) * state.iterations() / 1e9,
                                                   benchmark::Counter::kIsRate);
    add_peak_fraction(state, (int)state.range(0), step_flops(sizes, n));
}

// The GEMMs of one training step, with the library's shapes and flags, and nothing else.
void gemm_floor(benchmark::State &state, std::vector<size_t> sizes, size_t n) {
    if (!setup_threads(state, (int)state.range(0))) return;
    size_t L = sizes.size() - 1, maxw = *std::max_element(sizes.begin(), sizes.end());
    std::vector<std::vector<float>> W(L), dW(L), A(L + 1);
    std::vector<float> D0(n * maxw, 0.01f), D1(n * maxw, 0.01f);
    for (size_t l = 0; l < L; l++) {
        W[l].assign(sizes[l] * sizes[l + 1], 0.01f);
        dW[l].assign(sizes[l] * sizes[l + 1], 0.0f);
    }
    for (size_t l = 0; l <= L; l++) A[l].assign(n * sizes[l], 0.5f);
    const int N = (int)n;
    for (auto _ : state) {
        for (size_t l = 0; l < L; l++) {
            int in = (int)sizes[l], out = (int)sizes[l + 1];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, out, in, 1.0f, A[l].data(),
                        in, W[l].data(), out, 0.0f, A[l + 1].data(), out);
        }
        for (size_t l = L; l-- > 0;) {
            int in = (int)sizes[l], out = (int)sizes[l + 1];
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, N, 1.0f / N, A[l].data(),
                        in, D0.data(), out, 1.0f, dW[l].data(), out);
            if (l > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, in, out, 1.0f, D0.data(),
                            out, W[l].data(), out, 0.0f, D1.data(), in);
        }
        benchmark::ClobberMemory();
    }
    state.counters["samples/s"] =
        benchmark::Counter((double)n * state.iterations(), benchmark::Counter::kIsRate);
    state.counters["GFLOP/s"] = benchmark::Counter(step_flops(sizes, n) * state.iterations() / 1e9,
                                                   benchmark::Counter::kIsRate);
    add_peak_fraction(state, (int)state.range(0), step_flops(sizes, n));
}

void predict(benchmark::State &state, std::vector<size_t> sizes,
             mlp_precision precision = MLP_PRECISION_F32) {
    size_t n = (size_t)state.range(0);
    if (!setup_threads(state, (int)state.range(1))) return;
    Net net(sizes, 42);
    if (mlp_net_set_predict_precision(net.net, precision) != MLP_OK) {
        state.SkipWithError(mlp_last_error());
        return;
    }
    Batch b(n, sizes.front(), sizes.back(), 2);
    std::vector<float> out(n * sizes.back());
    mlp_net_reserve(net.net, n);
    for (auto _ : state) {
        mlp_predict(net.net, b.X.data(), n, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["samples/s"] =
        benchmark::Counter((double)n * state.iterations(), benchmark::Counter::kIsRate);
    // Seconds per sample (kIsRate | kInvert): the inference latency figure.
    state.counters["s/sample"] = benchmark::Counter(
        (double)n * state.iterations(), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

const std::vector<size_t> kDigits = {64, 50, 10};
const std::vector<size_t> kF100 = {784, 100, 10};
const std::vector<size_t> kF256 = {784, 256, 128, 10};
const std::vector<size_t> kBig = {784, 1024, 1024, 10};

void BM_f100_step(benchmark::State &s) {
    train_step(s, kF100, 200);
}
void BM_f100_floor(benchmark::State &s) {
    gemm_floor(s, kF100, 200);
}
void BM_f256_step(benchmark::State &s) {
    train_step(s, kF256, 256);
}
void BM_f256_floor(benchmark::State &s) {
    gemm_floor(s, kF256, 256);
}

void BM_digits_bf16_step(benchmark::State &s) {
    train_step(s, kDigits, 200, false, MLP_PRECISION_BF16);
}
void BM_f100_bf16_step(benchmark::State &s) {
    train_step(s, kF100, 200, false, MLP_PRECISION_BF16);
}
void BM_f256_bf16_step(benchmark::State &s) {
    train_step(s, kF256, 256, false, MLP_PRECISION_BF16);
}
void BM_big_bf16_step(benchmark::State &s) {
    train_step(s, kBig, 256, false, MLP_PRECISION_BF16);
}
void BM_digits_step(benchmark::State &s) {
    train_step(s, kDigits, 200);
}
void BM_digits_step_weighted(benchmark::State &s) {
    train_step(s, kDigits, 200, true);
}
void BM_digits_floor(benchmark::State &s) {
    gemm_floor(s, kDigits, 200);
}
void BM_big_step(benchmark::State &s) {
    train_step(s, kBig, 256);
}
void BM_big_floor(benchmark::State &s) {
    gemm_floor(s, kBig, 256);
}
void BM_digits_predict(benchmark::State &s) {
    predict(s, kDigits);
}
void BM_big_predict(benchmark::State &s) {
    predict(s, kBig);
}
void BM_big_predict_bf16(benchmark::State &s) {
    predict(s, kBig, MLP_PRECISION_BF16);
}

// One epoch as fit() runs it: shuffle, gather each batch of 200 (the last one 37), train step.
void BM_digits_epoch(benchmark::State &state) {
    if (!setup_threads(state, (int)state.range(0))) return;
    const size_t n = 1437, bs = 200, in = 64, k = 10;
    Net net(kDigits, 42);
    Batch data(n, in, k, 3);
    std::vector<float> Xb(bs * in), Yb(bs * k);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(7);
    mlp_net_reserve(net.net, bs);
    float loss = 0.0f;
    for (auto _ : state) {
        std::shuffle(order.begin(), order.end(), rng);
        for (size_t b0 = 0; b0 < n; b0 += bs) {
            size_t nb = std::min(bs, n - b0);
            for (size_t i = 0; i < nb; i++) {
                std::memcpy(&Xb[i * in], &data.X[order[b0 + i] * in], in * sizeof(float));
                std::memcpy(&Yb[i * k], &data.Y[order[b0 + i] * k], k * sizeof(float));
            }
            mlp_train_step(net.net, Xb.data(), Yb.data(), nb, &loss);
        }
        benchmark::DoNotOptimize(loss);
    }
    state.counters["samples/s"] =
        benchmark::Counter((double)n * state.iterations(), benchmark::Counter::kIsRate);
}

// Serial vs 2-thread fused bias+ReLU over n elements (rows of 64): where threading starts to pay.
void BM_omp_crossover(benchmark::State &state) {
    const size_t n = (size_t)state.range(0), m = 64, rows = n / m;
    const int threads = (int)state.range(1);
    std::vector<float> Z(n, -0.25f), bias(m, 0.5f);
    for (auto _ : state) {
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel : threads > 1)
        for (long i = 0; i < (long)rows; i++) {
            float *z = &Z[(size_t)i * m];
#pragma omp simd
            for (size_t j = 0; j < m; j++) {
                float v = z[j] + bias[j];
                z[j] = v > 0.0f ? v : 0.0f;
            }
        }
        benchmark::ClobberMemory();
    }
    state.counters["elems/s"] =
        benchmark::Counter((double)n * state.iterations(), benchmark::Counter::kIsRate);
}

} // namespace

BENCHMARK(BM_fma_peak)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_core_link)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_digits_step)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_digits_bf16_step)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_f100_bf16_step)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_f256_bf16_step)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_big_bf16_step)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_digits_step_weighted)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_digits_floor)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_digits_epoch)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_digits_predict)
    ->ArgsProduct({{1, 200, 1797}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_f100_step)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_f100_floor)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_f256_step)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_f256_floor)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_big_step)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_big_floor)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_big_predict)
    ->ArgsProduct({{256, 1797}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_big_predict_bf16)
    ->ArgsProduct({{256, 1797}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_omp_crossover)
    ->ArgsProduct({{1 << 10, 1 << 12, 1 << 13, 1 << 14, 1 << 15, 1 << 16, 1 << 18, 1 << 20},
                   {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// The FMA peak is measured first, in this process, so that every case can report its fraction of
// it (the second vCPU of these machines is sometimes an SMT sibling: only a peak measured in the
// same run says what two threads can reach).
int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    g_peak[1] = measure_peak(1);
    g_peak[2] = measure_peak(2);
    benchmark::AddCustomContext("fma_peak_1t_gflops", std::to_string(g_peak[1]));
    benchmark::AddCustomContext("fma_peak_2t_gflops", std::to_string(g_peak[2]));
    benchmark::AddCustomContext("blas_core", mlp_blas_corename());
    benchmark::AddCustomContext("bf16_isa", mlp_precision_isa());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
