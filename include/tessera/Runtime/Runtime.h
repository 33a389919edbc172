/*===- Runtime.h - Tessera runtime ABI (C) -------------------------------===*\
|*                                                                            *|
|* Plain C, no MLIR or LLVM: this runtime is linked statically, with hidden   *|
|* visibility, into every library tessera-compile produces. The compiler      *|
|* emits, per public function, a constant TesseraFunctionDesc and a C entry   *|
|* point that gathers its arguments and calls tessera_rt_call.                *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef TESSERA_RUNTIME_RUNTIME_H
#define TESSERA_RUNTIME_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the calling convention below; exported as <prefix>_abi_version. */
#define TESSERA_ABI_VERSION 1

/* Status codes returned by every entry point. */
enum {
  TESSERA_OK = 0,
  TESSERA_INVALID_ARGUMENT = 1, /* null, misaligned, wrong or overflowing size */
  TESSERA_INTERNAL_ERROR = 2,
  TESSERA_CUDA_ERROR = 3 /* no driver or GPU, or a CUDA call failed */
};

/* One tensor at the boundary: dims[i] < 0 means dynamic. */
typedef struct {
  int32_t rank;
  int32_t elementSize; /* bytes; also the required alignment */
  const int64_t *dims;
  const char *name;    /* for messages: "x" or "argument 0" */
  const char *dtype;   /* for messages: "f32", "i8 (packed ui3)" */
  /* Per dimension: dimensions of the function's tensors with the same class
   * number (>= 0) must have the same size; -1 for none. */
  const int32_t *dimClasses;
} TesseraTensorDesc;

typedef struct {
  const char *name;
  void (*packed)(void **); /* arguments as pointers to expanded memref fields */
  int32_t numInputs;
  int32_t numResults;
  const TesseraTensorDesc *tensors; /* inputs, then results */
  /* Where the tensors live: TESSERA_MEMORY_HOST, or TESSERA_MEMORY_CUDA for
   * functions of the CUDA pipeline (pointers are device pointers, results
   * are copied on the device, failures of the driver are reported). */
  int32_t memory;
} TesseraFunctionDesc;

enum { TESSERA_MEMORY_HOST = 0, TESSERA_MEMORY_CUDA = 1 };

/* The alignment tessera_rt_call requires of every device pointer (the GPU
 * kernels read x and packed weights in 16-byte vectors); cuMemAlloc and the
 * frameworks' allocators give at least 256. */
#define TESSERA_CUDA_ALIGNMENT 16

/* The caller's arguments, in order: for each input its pointer, then one
 * int64 per dynamic dimension; then the same for each result (a buffer the
 * result is copied into, with the dimensions the caller expects). Checks
 * them, calls fn->packed, copies the results out. Returns a status; on
 * failure the message is available from tessera_rt_last_error. */
int32_t tessera_rt_call(const TesseraFunctionDesc *fn, void **args);

/* tessera_rt_call of function `index` of the `count` in `fns` (a library's
 * functions, in the order of its signature), or TESSERA_INVALID_ARGUMENT
 * for an index out of range. Behind <prefix>_invoke: one entry point that
 * loaders call with the arguments already in an array. */
int32_t tessera_rt_invoke(const TesseraFunctionDesc *const *fns, int32_t count,
                          int32_t index, void **args);

/* The message of the last failure on this thread, or "" after a success. */
const char *tessera_rt_last_error(void);

/* The thread pool. Runs body(context, begin, end) on disjoint chunks of at
 * least `grain` iterations covering [0, n), on the calling thread and the
 * pool's workers (at most max_threads threads in all, if it is 1 or more),
 * and returns when all are done. A parallel_for inside a body runs serially
 * on its thread. Compiled code calls it for its parallel loops. */
void tessera_rt_parallel_for(int64_t n, int64_t grain, int32_t max_threads,
                             void (*body)(void *context, int64_t begin,
                                          int64_t end),
                             void *context);

/* Threads used by parallel_for, the caller included: by default the
 * TESSERA_NUM_THREADS environment variable, else the online CPUs. A value
 * below 1 restores the default. Exported by libraries as
 * <prefix>_set_num_threads / <prefix>_num_threads. */
void tessera_rt_set_num_threads(int32_t threads);
int32_t tessera_rt_num_threads(void);

/* What compiled code calls to allocate and free its buffers (MLIR's generic
 * allocation functions). Freed blocks of 256 KiB or more are kept for reuse
 * (at most 16 blocks, 256 MiB); tessera_rt_release_memory returns them to
 * the system. Buffers a compiled function returns are freed with
 * _mlir_memref_to_llvm_free. */
void *_mlir_memref_to_llvm_alloc(size_t size);
void _mlir_memref_to_llvm_free(void *pointer);
void tessera_rt_release_memory(void);

/* What compiled code calls for a memref.copy between non-contiguous memrefs
 * (MLIR's runner-utils ABI): copies element by element, any rank. */
typedef struct {
  int64_t rank;
  void *descriptor; /* {allocated, aligned, offset, sizes[rank], strides[rank]} */
} TesseraUnrankedMemRef;
void memrefCopy(int64_t elementSize, TesseraUnrankedMemRef *source,
                TesseraUnrankedMemRef *destination);

/* The CUDA driver, opened with dlopen on first use (nothing needs a GPU or
 * libcuda to build or load a library). Code compiled by the CUDA pipeline
 * calls MLIR's mgpu* functions (mgpuModuleLoad, mgpuLaunchKernel,
 * mgpuMemAlloc, ...), which lib/Runtime/CudaDriver.c implements on the
 * driver API; they return nothing, so the first failure during a call is
 * kept per thread, later CUDA work of that call is skipped, and
 * tessera_rt_call returns TESSERA_CUDA_ERROR with its message. */

/* 0 when the driver and a GPU are usable, else TESSERA_CUDA_ERROR with the
 * reason in tessera_rt_last_error(). */
int32_t tessera_rt_cuda_available(void);
/* Device memory for callers (tests, the Python package): NULL and an error
 * on failure. */
void *tessera_rt_cuda_malloc(size_t bytes);
void tessera_rt_cuda_free(void *pointer);
/* Copies between any two pointers (unified addressing); a status. */
int32_t tessera_rt_cuda_memcpy(void *dst, const void *src, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_RUNTIME_RUNTIME_H */
