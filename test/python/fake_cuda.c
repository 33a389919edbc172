/* A stand-in for NVIDIA's libcuda.so.1 on machines without a GPU, for the
 * tests of the runtime's CUDA loader (test_cuda.py): device memory is host
 * memory, modules must be fatbins or PTX, kernels are counted, not run.
 * FAKE_CUDA_FAIL=launch|sync|alloc|init|pool makes that call fail (pool: the
 * default memory pool, so that the runtime falls back to cuMemAlloc); at
 * exit the counts are written to $FAKE_CUDA_LOG. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

static int launches, allocs, frees, modules, contextSets, streams;
static int poolAllocs, poolFrees, liveStreams, syncs;
static unsigned lastGrid[3], lastBlock[3];
static char moduleKinds[256];

static int failing(const char *what) {
  const char *f = getenv("FAKE_CUDA_FAIL");
  return f && strcmp(f, what) == 0;
}

__attribute__((destructor)) static void report(void) {
  const char *path = getenv("FAKE_CUDA_LOG");
  if (!path)
    return;
  FILE *f = fopen(path, "w");
  fprintf(f, "{\"launches\": %d, \"allocs\": %d, \"frees\": %d, \"modules\": %d, "
             "\"module_kinds\": \"%s\", \"context_sets\": %d, "
             "\"streams\": %d, \"live_streams\": %d, "
             "\"pool_allocs\": %d, \"pool_frees\": %d, \"syncs\": %d, "
             "\"last_grid\": [%u, %u, %u], \"last_block\": [%u, %u, %u]}\n",
          launches, allocs, frees, modules, moduleKinds, contextSets, streams,
          liveStreams, poolAllocs, poolFrees, syncs,
          lastGrid[0], lastGrid[1], lastGrid[2], lastBlock[0], lastBlock[1],
          lastBlock[2]);
  fclose(f);
}

CUresult cuInit(unsigned flags) { return failing("init") ? 100 : 0; }
CUresult cuDeviceGet(int *d, int i) { *d = i; return 0; }
CUresult cuDevicePrimaryCtxRetain(void **c, int d) { *c = (void *)0x1; return 0; }
CUresult cuCtxSetCurrent(void *c) { ++contextSets; return 0; }
CUresult cuModuleLoadData(void **m, const void *data) {
  const unsigned char *p = data;
  /* A fatbin starts with 0xBA55ED50, PTX is text. */
  int fatbin = p[0] == 0x50 && p[1] == 0xED && p[2] == 0x55 && p[3] == 0xBA;
  int ptx = strstr((const char *)data, ".target") != NULL;
  if (!fatbin && !ptx)
    return 200; /* CUDA_ERROR_INVALID_IMAGE */
  strncat(moduleKinds, fatbin ? "F" : "P", sizeof(moduleKinds) - strlen(moduleKinds) - 1);
  ++modules;
  *m = malloc(1);
  return 0;
}
CUresult cuModuleUnload(void *m) { free(m); return 0; }
CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
  *f = (void *)name;
  return 0;
}
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        void *stream, void **params, void **extra) {
  if (failing("launch"))
    return 719; /* CUDA_ERROR_LAUNCH_FAILED */
  ++launches;
  lastGrid[0] = gx, lastGrid[1] = gy, lastGrid[2] = gz;
  lastBlock[0] = bx, lastBlock[1] = by, lastBlock[2] = bz;
  return 0;
}
CUresult cuStreamCreate(void **s, unsigned flags) {
  ++streams, ++liveStreams;
  *s = malloc(1);
  return 0;
}
CUresult cuStreamDestroy_v2(void *s) {
  --liveStreams;
  free(s);
  return 0;
}
CUresult cuStreamSynchronize(void *s) {
  ++syncs;
  return failing("sync") ? 719 /* CUDA_ERROR_LAUNCH_FAILED */ : 0;
}
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  if (failing("alloc"))
    return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
  ++allocs;
  *p = (CUdeviceptr)calloc(1, bytes);
  return 0;
}
CUresult cuMemAllocManaged(CUdeviceptr *p, size_t bytes, unsigned flags) {
  return cuMemAlloc_v2(p, bytes);
}
CUresult cuMemFree_v2(CUdeviceptr p) { ++frees; free((void *)p); return 0; }
CUresult cuDeviceGetDefaultMemPool(void **pool, int d) {
  *pool = (void *)0x2;
  return failing("pool") ? 801 /* CUDA_ERROR_NOT_SUPPORTED */ : 0;
}
CUresult cuMemPoolSetAttribute(void *pool, int attribute, void *value) {
  return 0;
}
CUresult cuMemAllocAsync(CUdeviceptr *p, size_t bytes, void *stream) {
  if (failing("alloc"))
    return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
  ++poolAllocs;
  *p = (CUdeviceptr)calloc(1, bytes);
  return 0;
}
CUresult cuMemFreeAsync(CUdeviceptr p, void *stream) {
  ++poolFrees;
  free((void *)p);
  return 0;
}
CUresult cuMemcpy(CUdeviceptr d, CUdeviceptr s, size_t n) {
  memcpy((void *)d, (void *)s, n);
  return 0;
}
CUresult cuMemcpyAsync(CUdeviceptr d, CUdeviceptr s, size_t n, void *st) {
  return cuMemcpy(d, s, n);
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void *s) {
  for (size_t i = 0; i < n; ++i)
    ((unsigned *)d)[i] = v;
  return 0;
}
CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, void *s) {
  for (size_t i = 0; i < n; ++i)
    ((unsigned short *)d)[i] = v;
  return 0;
}
CUresult cuGetErrorName(CUresult r, const char **s) {
  *s = r == 719 ? "CUDA_ERROR_LAUNCH_FAILED" : r == 2 ? "CUDA_ERROR_OUT_OF_MEMORY"
       : r == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN";
  return 0;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
  *s = "reported by the fake driver";
  return 0;
}
