/*===- Allocator.c - Tessera runtime: memory of compiled code ------------===*\
|*                                                                            *|
|* Compiled code allocates its buffers through MLIR's generic allocation      *|
|* functions (finalize-memref-to-llvm with use-generic-functions). Blocks of  *|
|* 256 KiB or more are kept for reuse when freed, up to 16 blocks and 256     *|
|* MiB: a kernel that needs the same scratch buffers on every call then gets  *|
|* them back without a round trip through mmap and the page faults of fresh   *|
|* pages, which cost as much as the arithmetic of a small matmul.             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "tessera/Runtime/Runtime.h"

#include <pthread.h>
#include <stdlib.h>

/* Each block carries its size in front of it; 16 bytes keep malloc's
 * alignment (compiled code aligns further itself). */
#define HEADER 16
#define MIN_CACHED ((size_t)256 << 10)
#define SLOTS 16
#define MAX_CACHED_BYTES ((size_t)256 << 20)

static struct {
  char *block; /* the malloc'ed block, header included */
  size_t size; /* usable bytes */
} cache[SLOTS];
static size_t cachedBytes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* A cached block of at least `size` and at most 5/4 of it, the smallest. */
static char *takeCached(size_t size) {
  char *found = NULL;
  pthread_mutex_lock(&lock);
  int best = -1;
  for (int i = 0; i < SLOTS; ++i)
    if (cache[i].block && cache[i].size >= size && cache[i].size <= size + size / 4 &&
        (best < 0 || cache[i].size < cache[best].size))
      best = i;
  if (best >= 0) {
    found = cache[best].block;
    cachedBytes -= cache[best].size;
    cache[best].block = NULL;
  }
  pthread_mutex_unlock(&lock);
  return found;
}

void *_mlir_memref_to_llvm_alloc(size_t size) {
  char *block = size >= MIN_CACHED ? takeCached(size) : NULL;
  if (!block) {
    block = (char *)malloc(size + HEADER);
    if (!block)
      return NULL;
    *(size_t *)block = size;
  }
  return block + HEADER;
}

void _mlir_memref_to_llvm_free(void *pointer) {
  if (!pointer)
    return;
  char *block = (char *)pointer - HEADER;
  size_t size = *(size_t *)block;
  if (size >= MIN_CACHED) {
    pthread_mutex_lock(&lock);
    int slot = -1;
    for (int i = 0; i < SLOTS && slot < 0; ++i)
      if (!cache[i].block)
        slot = i;
    if (slot >= 0 && cachedBytes + size <= MAX_CACHED_BYTES) {
      cache[slot].block = block;
      cache[slot].size = size;
      cachedBytes += size;
      block = NULL;
    }
    pthread_mutex_unlock(&lock);
  }
  free(block);
}

void tessera_rt_release_memory(void) {
  pthread_mutex_lock(&lock);
  for (int i = 0; i < SLOTS; ++i) {
    free(cache[i].block);
    cache[i].block = NULL;
  }
  cachedBytes = 0;
  pthread_mutex_unlock(&lock);
}
