/* The machine's two ceilings, measured in the same run as the benchmarks:
 * memory read bandwidth (several concurrent read streams per thread over
 * arrays far past the last-level cache) and peak f32 FMA rate (independent
 * FMA chains). Built by bench/mpmm_bench.py with the system compiler,
 * -O3 -march=native, and loaded with ctypes. The vectors are the widest the
 * CPU has (16 f32 lanes with AVX-512, else 8): a peak measured with 8 lanes
 * on an AVX-512 machine is half of its FMA rate. The read buffers are
 * aligned to 2 MiB and advised MADV_HUGEPAGE, as Tessera's prepacked
 * weights are (tessera.runtime._on_huge_pages): with 4 KiB pages a thread
 * of an Intel Xeon read 13.5-14.5 GB/s here against 15.1-16.6 on huge
 * pages. */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifdef __AVX512F__
#define LANES 16
#else
#define LANES 8
#endif
typedef float vf __attribute__((vector_size(4 * LANES)));

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
  const float *data;
  size_t count;
  int repeat;
  float sink;
} ReadJob;

static void *readWorker(void *arg) {
  ReadJob *job = arg;
  vf acc[4] = {{0}, {0}, {0}, {0}};
  const vf *p = (const vf *)job->data;
  size_t n = job->count / LANES, quarter = n / 4;
  for (int r = 0; r < job->repeat; ++r)
    for (size_t i = 0; i < quarter; ++i) { /* four streams */
      acc[0] += p[i];
      acc[1] += p[i + quarter];
      acc[2] += p[i + 2 * quarter];
      acc[3] += p[i + 3 * quarter];
    }
  vf s = acc[0] + acc[1] + acc[2] + acc[3];
  job->sink = 0;
  for (int l = 0; l < LANES; ++l)
    job->sink += s[l];
  return NULL;
}

/* GB/s reading `bytesPerThread` per thread, `threads` threads. */
double read_bandwidth(size_t bytesPerThread, int threads, int repeat) {
  pthread_t tid[64];
  ReadJob jobs[64];
  float *buffers[64];
  size_t hugePage = (size_t)2 << 20;
  bytesPerThread = (bytesPerThread + hugePage - 1) / hugePage * hugePage;
  for (int t = 0; t < threads; ++t) {
    buffers[t] = aligned_alloc(hugePage, bytesPerThread);
#ifdef MADV_HUGEPAGE
    madvise(buffers[t], bytesPerThread, MADV_HUGEPAGE);
#endif
    memset(buffers[t], 1, bytesPerThread);
    jobs[t] = (ReadJob){buffers[t], bytesPerThread / 4, repeat, 0};
  }
  double best = 1e30;
  for (int trial = 0; trial < 3; ++trial) {
    double start = now();
    for (int t = 0; t < threads; ++t)
      pthread_create(&tid[t], NULL, readWorker, &jobs[t]);
    for (int t = 0; t < threads; ++t)
      pthread_join(tid[t], NULL);
    double elapsed = now() - start;
    if (elapsed < best)
      best = elapsed;
  }
  for (int t = 0; t < threads; ++t)
    free(buffers[t]);
  return (double)bytesPerThread * threads * repeat / best / 1e9;
}

typedef struct {
  long iterations;
  float sink;
} RateJob;

static void *fmaWorker(void *arg) {
  RateJob *job = arg;
  vf a[10], b = (vf){0} + 1.0001f, c = (vf){0} + 1e-7f;
  for (int i = 0; i < 10; ++i)
    a[i] = c * (float)i;
  for (long it = 0; it < job->iterations; ++it)
    for (int i = 0; i < 10; ++i) /* ten independent chains hide the latency */
      a[i] = a[i] * b + c;
  vf s = {0};
  for (int i = 0; i < 10; ++i)
    s += a[i];
  job->sink = s[0];
  return NULL;
}

/* The best of three timings of `worker` on `threads` threads, each given
 * `iterations`. */
static double bestSeconds(void *(*worker)(void *), int threads, long iterations) {
  pthread_t tid[64];
  RateJob jobs[64];
  double best = 1e30;
  for (int trial = 0; trial < 3; ++trial) {
    double start = now();
    for (int t = 0; t < threads; ++t) {
      jobs[t].iterations = iterations;
      pthread_create(&tid[t], NULL, worker, &jobs[t]);
    }
    for (int t = 0; t < threads; ++t)
      pthread_join(tid[t], NULL);
    double elapsed = now() - start;
    if (elapsed < best)
      best = elapsed;
  }
  return best;
}

/* Peak f32 GFLOP/s (an FMA counts 2) with `threads` threads. */
double peak_gflops(int threads, long iterations) {
  return 2.0 * LANES * 10 * (double)iterations * threads /
         bestSeconds(fmaWorker, threads, iterations) / 1e9;
}

/* The dequantize strategy's own ceiling at one row of x: the least work per
 * vector of weights of a kernel that multiplies f32 codes (one AND to take a code
 * out of its word where it lies, one conversion to f32, one FMA into one of
 * ten accumulators; x pre-scaled, codes and x in L1), four codes per word.
 * Over the FMA peak, this bounds such a kernel's roofline efficiency where
 * the floor is the FMA rate (M = 1 on one core): the AND and the
 * conversion take vector issue slots that the peak gives to FMAs. */
typedef int vi __attribute__((vector_size(4 * LANES)));

#define STEP_WORDS 60 /* vectors of packed codes, in L1 */

static void *stepWorker(void *arg) {
  RateJob *job = arg;
  vi *words = aligned_alloc(64, STEP_WORDS * sizeof(vi));
  for (int i = 0; i < STEP_WORDS; ++i)
    for (int l = 0; l < LANES; ++l)
      words[i][l] = (int)(2654435761u * (unsigned)(i * LANES + l + 1));
  vf a[10] = {{0}};
  vf x = (vf){0} + 1e-3f;
  const vi mask[4] = {(vi){0} + 0xff, (vi){0} + 0xff00, (vi){0} + 0xff0000,
                      (vi){0} + 0x7f000000};
  for (long it = 0; it < job->iterations; ++it) {
    const vi *p = words;
    __asm__ volatile("" : "+r"(p)); /* the codes are new to the compiler */
    for (int w = 0; w < STEP_WORDS; w += 5) /* 20 codes, two per chain */
      for (int h = 0; h < 5; ++h)
        for (int j = 0; j < 4; ++j) {
          vf code = __builtin_convertvector(p[w + h] & mask[j], vf);
          a[(4 * h + j) % 10] = code * x + a[(4 * h + j) % 10];
        }
  }
  vf s = {0};
  for (int i = 0; i < 10; ++i)
    s += a[i];
  job->sink = s[0];
  free(words);
  return NULL;
}

/* GFLOP/s (2 per weight) of that step with `threads` threads. */
double dequantize_step_gflops(int threads, long iterations) {
  return 2.0 * LANES * 4 * STEP_WORDS * (double)iterations * threads /
         bestSeconds(stepWorker, threads, iterations) / 1e9;
}
