/*===- CudaDriver.c - Tessera runtime: the CUDA driver, opened at run time -===*\
|*                                                                            *|
|* MLIR's GPU host code (gpu-to-llvm) calls mgpu* functions; upstream ships    *|
|* them in libmlir_cuda_runtime, linked against libcuda. Here they are written *|
|* on the driver API opened with dlopen, so that a library compiled for CUDA  *|
|* builds and loads on a machine without a GPU or driver and says so when     *|
|* called. The mgpu* functions return nothing: the first failure of a call is *|
|* kept per thread, the CUDA work after it is skipped, and tessera_rt_call    *|
|* turns it into TESSERA_CUDA_ERROR.                                           *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "RuntimeInternal.h"
#include "tessera/Runtime/Runtime.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The driver API, as much as is used (cuda.h is not needed to build). */
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext, *CUmodule, *CUfunction, *CUstream, *CUmemoryPool;
typedef unsigned long long CUdeviceptr;

static struct {
  CUresult (*init)(unsigned);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*memsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*getErrorString)(CUresult, const char **);
  /* Stream-ordered allocation (CUDA 11.2 and later drivers); optional. */
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*deviceGetDefaultMemPool)(CUmemoryPool *, CUdevice);
  CUresult (*memPoolSetAttribute)(CUmemoryPool, int, void *);
} cu;

static pthread_once_t driverOnce = PTHREAD_ONCE_INIT;
static CUcontext context;     /* the primary context of device 0 */
static char driverError[256]; /* why the driver is unusable, or "" */
/* Whether buffers come from the device's stream-ordered pool. */
static bool asyncPool;

/* One stream per thread, made on its first use and destroyed when the
 * thread exits: a call's host code asks for a stream per group of launches
 * (MLIR's gpu-async-region), and creating and destroying one costs more
 * than a small kernel. Every call synchronizes before it returns, so reusing
 * the stream only orders work that is ordered anyway. */
static pthread_key_t streamKey;
static _Thread_local CUstream threadStream;
/* Whether the host code asked to wait for its stream since the call began:
 * every launch, copy and stream-ordered allocation of a call is on the
 * thread's one stream and the host code never touches device memory, so
 * its waits are deferred to one at the end of the call. */
static _Thread_local bool streamWaitPending;

/* The first failure of the current call on this thread. */
static _Thread_local char callError[512];

static void setCallError(const char *format, ...) {
  if (callError[0])
    return; /* keep the first */
  va_list ap;
  va_start(ap, format);
  vsnprintf(callError, sizeof(callError), format, ap);
  va_end(ap);
}

static const char *resultName(CUresult r) {
  const char *name = NULL, *text = NULL;
  static _Thread_local char buffer[160];
  if (cu.getErrorName)
    cu.getErrorName(r, &name);
  if (cu.getErrorString)
    cu.getErrorString(r, &text);
  snprintf(buffer, sizeof(buffer), "%s (%d): %s", name ? name : "CUDA error", r,
           text ? text : "unknown");
  return buffer;
}

static void destroyThreadStream(void *stream) {
  if (stream && cu.ctxSetCurrent(context) == 0)
    cu.streamDestroy(stream);
}

static void openDriver(void) {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(driverError, sizeof(driverError),
             "no CUDA driver: %s (a GPU and NVIDIA's driver are needed to run "
             "code compiled for CUDA)",
             why ? why : "libcuda.so.1 not found");
    return;
  }
  struct {
    void **slot;
    const char *name;
  } symbols[] = {
      {(void **)&cu.init, "cuInit"},
      {(void **)&cu.deviceGet, "cuDeviceGet"},
      {(void **)&cu.primaryCtxRetain, "cuDevicePrimaryCtxRetain"},
      {(void **)&cu.ctxSetCurrent, "cuCtxSetCurrent"},
      {(void **)&cu.moduleLoadData, "cuModuleLoadData"},
      {(void **)&cu.moduleUnload, "cuModuleUnload"},
      {(void **)&cu.moduleGetFunction, "cuModuleGetFunction"},
      {(void **)&cu.launchKernel, "cuLaunchKernel"},
      {(void **)&cu.streamCreate, "cuStreamCreate"},
      {(void **)&cu.streamDestroy, "cuStreamDestroy_v2"},
      {(void **)&cu.streamSynchronize, "cuStreamSynchronize"},
      {(void **)&cu.memAlloc, "cuMemAlloc_v2"},
      {(void **)&cu.memAllocManaged, "cuMemAllocManaged"},
      {(void **)&cu.memFree, "cuMemFree_v2"},
      {(void **)&cu.memcpy, "cuMemcpy"},
      {(void **)&cu.memcpyAsync, "cuMemcpyAsync"},
      {(void **)&cu.memsetD32Async, "cuMemsetD32Async"},
      {(void **)&cu.memsetD16Async, "cuMemsetD16Async"},
      {(void **)&cu.getErrorName, "cuGetErrorName"},
      {(void **)&cu.getErrorString, "cuGetErrorString"},
  };
  for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); ++i) {
    *symbols[i].slot = dlsym(lib, symbols[i].name);
    if (!*symbols[i].slot) {
      snprintf(driverError, sizeof(driverError),
               "the CUDA driver lacks %s (too old a driver?)", symbols[i].name);
      return;
    }
  }
  cu.memAllocAsync = dlsym(lib, "cuMemAllocAsync");
  cu.memFreeAsync = dlsym(lib, "cuMemFreeAsync");
  cu.deviceGetDefaultMemPool = dlsym(lib, "cuDeviceGetDefaultMemPool");
  cu.memPoolSetAttribute = dlsym(lib, "cuMemPoolSetAttribute");
  CUresult r = cu.init(0);
  CUdevice device;
  if (r == 0)
    r = cu.deviceGet(&device, 0);
  if (r == 0)
    r = cu.primaryCtxRetain(&context, device);
  if (r != 0) {
    snprintf(driverError, sizeof(driverError), "no usable GPU: %s",
             resultName(r));
    return;
  }
  pthread_key_create(&streamKey, destroyThreadStream);
  /* Buffers from the device's default pool, kept there when freed (a
   * call's temporaries and results are the same sizes call after call):
   * allocation then costs no driver round trip. Without the pool (an old
   * driver, or a device without it), cuMemAlloc / cuMemFree. */
  CUmemoryPool pool;
  unsigned long long keep = ~0ull;
  asyncPool =
      cu.memAllocAsync && cu.memFreeAsync && cu.deviceGetDefaultMemPool &&
      cu.memPoolSetAttribute && cu.ctxSetCurrent(context) == 0 &&
      cu.deviceGetDefaultMemPool(&pool, device) == 0 &&
      cu.memPoolSetAttribute(pool, 4 /* RELEASE_THRESHOLD */, &keep) == 0;
}

/* True when the driver is usable, with this thread on its context; else the
 * call's error is set. */
static bool ready(void) {
  if (callError[0])
    return false;
  pthread_once(&driverOnce, openDriver);
  if (driverError[0]) {
    setCallError("%s", driverError);
    return false;
  }
  CUresult r = cu.ctxSetCurrent(context);
  if (r != 0) {
    setCallError("cuCtxSetCurrent: %s", resultName(r));
    return false;
  }
  return true;
}

static bool check(CUresult r, const char *what) {
  if (r == 0)
    return true;
  setCallError("%s: %s", what, resultName(r));
  return false;
}

/*===-- What tessera_rt_call uses ------------------------------------------===*/

void tessera_rt_cuda_begin_call(void) {
  callError[0] = 0;
  streamWaitPending = false;
}

void tessera_rt_cuda_end_call(void) {
  /* Waits even after a failure, so that no kernel of the call still reads
   * the caller's buffers when it returns; the first error is the one
   * reported. */
  if (!streamWaitPending || !threadStream)
    return;
  streamWaitPending = false;
  CUresult r = cu.ctxSetCurrent(context);
  if (r == 0)
    r = cu.streamSynchronize(threadStream);
  if (r != 0 && !callError[0])
    setCallError("running the kernels: %s", resultName(r));
}

const char *tessera_rt_cuda_call_error(void) { return callError; }

int32_t tessera_rt_cuda_copy_result(void *dst, const void *src, size_t bytes) {
  if (bytes && ready())
    check(cu.memcpy((CUdeviceptr)dst, (CUdeviceptr)src, bytes),
          "copying a result");
  return callError[0] ? TESSERA_CUDA_ERROR : TESSERA_OK;
}

/* Frees a buffer of mgpuMemAlloc: back to the pool in the order of the
 * thread's stream, or cuMemFree. */
static void freeBuffer(void *pointer) {
  if (asyncPool && threadStream)
    cu.memFreeAsync((CUdeviceptr)pointer, threadStream);
  else
    cu.memFree((CUdeviceptr)pointer);
}

void tessera_rt_cuda_free_result(void *pointer) {
  /* Freed even after a failure of the call, when the driver works. */
  pthread_once(&driverOnce, openDriver);
  if (pointer && !driverError[0] && cu.ctxSetCurrent(context) == 0)
    freeBuffer(pointer);
}

/*===-- Public helpers ------------------------------------------------------===*/

int32_t tessera_rt_cuda_available(void) {
  tessera_rt_cuda_begin_call();
  if (ready())
    return TESSERA_OK;
  return tessera_rt_fail(TESSERA_CUDA_ERROR, "%s", callError);
}

void *tessera_rt_cuda_malloc(size_t bytes) {
  tessera_rt_cuda_begin_call();
  CUdeviceptr p = 0;
  if (ready())
    check(cu.memAlloc(&p, bytes ? bytes : 1), "cuMemAlloc");
  if (callError[0]) {
    tessera_rt_fail(TESSERA_CUDA_ERROR, "%s", callError);
    return NULL;
  }
  return (void *)p;
}

void tessera_rt_cuda_free(void *pointer) {
  /* From tessera_rt_cuda_malloc: cuMemAlloc, never the pool. */
  pthread_once(&driverOnce, openDriver);
  if (pointer && !driverError[0] && cu.ctxSetCurrent(context) == 0)
    cu.memFree((CUdeviceptr)pointer);
}

int32_t tessera_rt_cuda_memcpy(void *dst, const void *src, size_t bytes) {
  tessera_rt_cuda_begin_call();
  if (bytes && ready())
    check(cu.memcpy((CUdeviceptr)dst, (CUdeviceptr)src, bytes), "cuMemcpy");
  if (callError[0])
    return tessera_rt_fail(TESSERA_CUDA_ERROR, "%s", callError);
  return TESSERA_OK;
}

/*===-- MLIR's mgpu* ABI ----------------------------------------------------===*/
/* Modules are loaded by a constructor of the library, before any call: a
 * failure there is remembered in the module handle (NULL) and reported by
 * the launch that needs it. */

void *mgpuModuleLoad(void *data, size_t size) {
  (void)size;
  pthread_once(&driverOnce, openDriver);
  CUmodule module = NULL;
  if (!driverError[0] && cu.ctxSetCurrent(context) == 0 &&
      cu.moduleLoadData(&module, data) != 0)
    module = NULL;
  return module;
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  (void)optLevel;
  return mgpuModuleLoad(data, 0);
}

void mgpuModuleUnload(void *module) {
  if (module && !driverError[0])
    cu.moduleUnload(module);
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  CUfunction function = NULL;
  if (module && cu.moduleGetFunction(&function, module, name) != 0)
    function = NULL;
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t paramsCount) {
  (void)paramsCount;
  if (!ready())
    return;
  if (!function) {
    setCallError("the library's GPU code could not be loaded on this GPU "
                 "(compiled for another architecture?)");
    return;
  }
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return; /* an empty tensor: nothing to do */
  check(cu.launchKernel(function, (unsigned)gridX, (unsigned)gridY,
                        (unsigned)gridZ, (unsigned)blockX, (unsigned)blockY,
                        (unsigned)blockZ, (unsigned)sharedBytes, stream, params,
                        extra),
        "launching a kernel");
}

void *mgpuStreamCreate(void) {
  if (threadStream || !ready())
    return threadStream;
  if (check(cu.streamCreate(&threadStream, 1 /* CU_STREAM_NON_BLOCKING */),
            "cuStreamCreate"))
    pthread_setspecific(streamKey, threadStream);
  return threadStream;
}

void mgpuStreamDestroy(void *stream) {
  (void)stream; /* the thread's stream lives as long as the thread */
}

void mgpuStreamSynchronize(void *stream) {
  /* Deferred to tessera_rt_cuda_end_call: the stream is the thread's. */
  if (stream)
    streamWaitPending = true;
}

void *mgpuMemAlloc(uint64_t bytes, void *stream, bool isHostShared) {
  (void)stream;
  CUdeviceptr p = 0;
  if (!ready())
    return NULL;
  if (bytes == 0)
    bytes = 1;      /* a distinct, freeable pointer for an empty tensor */
  if (isHostShared) /* not generated by the CUDA pipeline */
    check(cu.memAllocManaged(&p, bytes, 1 /* CU_MEM_ATTACH_GLOBAL */),
          "cuMemAllocManaged");
  else if (asyncPool && mgpuStreamCreate())
    check(cu.memAllocAsync(&p, bytes, threadStream),
          "allocating device memory");
  else
    check(cu.memAlloc(&p, bytes), "allocating device memory");
  return (void *)p;
}

void mgpuMemFree(void *pointer, void *stream) {
  (void)stream;
  /* Temporaries are freed even when a kernel failed. */
  if (pointer && !driverError[0] && cu.ctxSetCurrent(context) == 0)
    freeBuffer(pointer);
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, void *stream) {
  if (bytes && ready())
    check(cu.memcpyAsync((CUdeviceptr)dst, (CUdeviceptr)src, bytes, stream),
          "copying device memory");
}

void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream) {
  if (count && ready())
    check(cu.memsetD32Async((CUdeviceptr)dst, value, count, stream),
          "cuMemsetD32Async");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream) {
  if (count && ready())
    check(cu.memsetD16Async((CUdeviceptr)dst, value, count, stream),
          "cuMemsetD16Async");
}
