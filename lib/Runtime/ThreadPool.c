/*===- ThreadPool.c - The runtime's thread pool (pthreads) ---------------===*
 *
 * One pool per library (the runtime is linked statically with hidden
 * symbols). Workers start lazily on the first parallel_for that needs them
 * and wait for jobs on a condition variable, after spinning for about 50 us
 * (so that the parallel loops of one call, often a few hundred
 * microseconds apart, do not each pay a futex wake-up); a job hands out
 * guided chunks (a share of what is left) through an atomic counter, and
 * the caller works on it too and spins as briefly for the workers to
 * finish.
 *
 *===----------------------------------------------------------------------===*/

#include "tessera/Runtime/Runtime.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define TESSERA_MAX_THREADS 256
/* Polls before sleeping: about 50 us. */
#define TESSERA_SPIN_POLLS 20000

static inline void cpuRelax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

typedef struct {
  void (*body)(void *, int64_t, int64_t);
  void *context;
  int64_t n, chunk;     /* chunk: the smallest chunk taken */
  int threads;          /* threads taking part (the caller included) */
  int helpers;          /* workers 0 .. helpers-1 take part */
  atomic_llong next;    /* next chunk start */
  atomic_int pending;   /* workers that have not yet seen this job through */
} Job;

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t submit = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static Job *current;
static atomic_ulong generation;
static int started;           /* workers running */
static int requested;         /* threads wanted, 0 = default */
static _Thread_local int insideJob;

static int defaultThreads(void) {
  const char *env = getenv("TESSERA_NUM_THREADS");
  if (env) {
    int n = atoi(env);
    if (n >= 1)
      return n < TESSERA_MAX_THREADS ? n : TESSERA_MAX_THREADS;
  }
  /* Counted once: glibc's sysconf reads /sys/devices/system/cpu/online on
   * every call (open, read, close: ~10 us of a 256 x 256 mpmm call's 13). */
  static int cores;
  int n = __atomic_load_n(&cores, __ATOMIC_RELAXED);
  if (n == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus < 1 ? 1 : cpus < TESSERA_MAX_THREADS ? (int)cpus : TESSERA_MAX_THREADS;
    __atomic_store_n(&cores, n, __ATOMIC_RELAXED);
  }
  return n;
}

int32_t tessera_rt_num_threads(void) {
  int n = __atomic_load_n(&requested, __ATOMIC_RELAXED);
  return n >= 1 ? n : defaultThreads();
}

void tessera_rt_set_num_threads(int32_t threads) {
  if (threads > TESSERA_MAX_THREADS)
    threads = TESSERA_MAX_THREADS;
  __atomic_store_n(&requested, threads >= 1 ? threads : 0, __ATOMIC_RELAXED);
}

/* Guided self-scheduling: a thread takes 1 / (2 * threads) of what is left
 * (at least job->chunk), so chunks start large (few atomics) and end small
 * (the threads finish together: with a fixed chunk of n / (4 * threads), 43
 * column tiles on 2 threads went out as 7 chunks of 6 and one of 1, and one
 * thread did 24 of them). */
static void runChunks(Job *job) {
  insideJob = 1;
  long long begin = atomic_load(&job->next); /* the counter's type */
  while (begin < job->n) {
    int64_t size = (job->n - begin) / (2 * (int64_t)job->threads);
    if (size < job->chunk)
      size = job->chunk;
    int64_t end = size < job->n - begin ? begin + size : job->n;
    /* On failure `begin` is reloaded with the current start. */
    if (!atomic_compare_exchange_weak(&job->next, &begin, end))
      continue;
    job->body(job->context, begin, end);
    begin = atomic_load(&job->next);
  }
  insideJob = 0;
}

static void *worker(void *argument) {
  int id = (int)(intptr_t)argument;
  unsigned long seen = 0;
  for (;;) {
    for (int i = 0; i < TESSERA_SPIN_POLLS && atomic_load(&generation) == seen; ++i)
      cpuRelax();
    pthread_mutex_lock(&mutex);
    while (atomic_load(&generation) == seen)
      pthread_cond_wait(&wake, &mutex);
    seen = atomic_load(&generation);
    Job *job = current;
    pthread_mutex_unlock(&mutex);
    if (job) {
      if (id < job->helpers)
        runChunks(job);
      if (atomic_fetch_sub(&job->pending, 1) == 1) {
        pthread_mutex_lock(&mutex);
        pthread_cond_broadcast(&done);
        pthread_mutex_unlock(&mutex);
      }
    }
  }
  return NULL;
}

void tessera_rt_parallel_for(int64_t n, int64_t grain, int32_t max_threads,
                             void (*body)(void *, int64_t, int64_t),
                             void *context) {
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  int threads = tessera_rt_num_threads();
  if (max_threads >= 1 && threads > max_threads)
    threads = max_threads;
  int64_t maxChunks = (n + grain - 1) / grain;
  if (threads > maxChunks)
    threads = (int)maxChunks;
  if (threads <= 1 || insideJob) {
    body(context, 0, n);
    return;
  }

  pthread_mutex_lock(&submit);
  pthread_mutex_lock(&mutex);
  while (started < threads - 1) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, (void *)(intptr_t)started) != 0)
      break;
    pthread_detach(thread);
    ++started;
  }
  int helpers = threads - 1 < started ? threads - 1 : started;
  /* Chunks of at least `grain` and n / (32 * threads) iterations: guided
   * scheduling (runChunks) without atomics per iteration of a long loop. */
  int64_t chunk = n / (32 * (int64_t)threads);
  Job job;
  job.body = body;
  job.context = context;
  job.n = n;
  job.chunk = chunk > grain ? chunk : grain;
  job.threads = helpers + 1;
  job.helpers = helpers;
  atomic_init(&job.next, 0);
  atomic_init(&job.pending, started);
  current = &job;
  atomic_fetch_add(&generation, 1);
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&mutex);

  runChunks(&job);

  for (int i = 0; i < TESSERA_SPIN_POLLS && atomic_load(&job.pending) > 0; ++i)
    cpuRelax();
  pthread_mutex_lock(&mutex);
  while (atomic_load(&job.pending) > 0)
    pthread_cond_wait(&done, &mutex);
  current = NULL;
  pthread_mutex_unlock(&mutex);
  pthread_mutex_unlock(&submit);
}
