/*===- Runtime.c - Tessera runtime: argument checks and calls ------------===*/

#include "tessera/Runtime/Runtime.h"
#include "RuntimeInternal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TESSERA_MAX_RANK 8
#define TESSERA_MAX_TENSORS 64

static _Thread_local char lastError[512];

const char *tessera_rt_last_error(void) { return lastError; }

int32_t tessera_rt_fail(int32_t status, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  vsnprintf(lastError, sizeof(lastError), format, ap);
  va_end(ap);
  return status;
}
#define fail tessera_rt_fail

/* CudaDriver.c, present in libraries with CUDA code (which call its mgpu*
 * functions), absent from CPU-only ones. */
#pragma weak tessera_rt_cuda_begin_call
#pragma weak tessera_rt_cuda_end_call
#pragma weak tessera_rt_cuda_call_error
#pragma weak tessera_rt_cuda_copy_result
#pragma weak tessera_rt_cuda_free_result

/* A memref descriptor as the compiled code passes it: allocated and aligned
 * pointers, offset, sizes, strides. */
typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[TESSERA_MAX_RANK];
  int64_t strides[TESSERA_MAX_RANK];
} Descriptor;

/* Reads the caller's shape of tensor `t` (static dims from the descriptor,
 * dynamic ones from args) and checks pointer, sizes and alignment. */
static int32_t checkTensor(const TesseraFunctionDesc *fn,
                           const TesseraTensorDesc *t, const char *role,
                           void **args, int *next, void **pointer,
                           int64_t *shape) {
  *pointer = args[(*next)++];
  int64_t elements = 1;
  for (int32_t d = 0; d < t->rank; ++d) {
    int64_t size = t->dims[d];
    if (size < 0) {
      size = (int64_t)(intptr_t)args[(*next)++];
      if (size < 0)
        return fail(TESSERA_INVALID_ARGUMENT,
                    "%s: %s '%s': dimension %d is negative (%lld)", fn->name,
                    role, t->name, d, (long long)size);
    }
    shape[d] = size;
    if (__builtin_mul_overflow(elements, size, &elements))
      return fail(TESSERA_INVALID_ARGUMENT,
                  "%s: %s '%s': its size overflows 64 bits", fn->name, role,
                  t->name);
  }
  int64_t bytes;
  if (__builtin_mul_overflow(elements, (int64_t)t->elementSize, &bytes))
    return fail(TESSERA_INVALID_ARGUMENT,
                "%s: %s '%s': its size in bytes overflows 64 bits", fn->name,
                role, t->name);
  if (!*pointer && elements != 0)
    return fail(TESSERA_INVALID_ARGUMENT, "%s: %s '%s' is a null pointer",
                fn->name, role, t->name);
  if ((uintptr_t)*pointer % (uintptr_t)t->elementSize != 0)
    return fail(TESSERA_INVALID_ARGUMENT,
                "%s: %s '%s' is misaligned: %s needs %d-byte alignment",
                fn->name, role, t->name, t->dtype, t->elementSize);
  /* GPU kernels read whole 16-byte vectors of x and of packed weights. */
  if (fn->memory == TESSERA_MEMORY_CUDA &&
      (uintptr_t)*pointer % TESSERA_CUDA_ALIGNMENT != 0)
    return fail(TESSERA_INVALID_ARGUMENT,
                "%s: %s '%s' is misaligned: device pointers need %d-byte "
                "alignment",
                fn->name, role, t->name, TESSERA_CUDA_ALIGNMENT);
  return TESSERA_OK;
}

static void formatShape(char *buffer, size_t size, const int64_t *shape,
                        int32_t rank) {
  size_t used = 0;
  buffer[0] = 0;
  for (int32_t d = 0; d < rank && used < size; ++d)
    used += (size_t)snprintf(buffer + used, size - used, d ? "x%lld" : "%lld",
                             (long long)shape[d]);
}

/* Copies a strided view (offset and strides in elements) into another, in
 * row-major order of `sizes`: the innermost dimensions that are contiguous in
 * both views are copied as one run with memcpy, the others element by
 * element. */
static void copyStrided(char *dst, int64_t dstOffset, const int64_t *dstStrides,
                        const char *src, int64_t srcOffset,
                        const int64_t *srcStrides, const int64_t *sizes,
                        int64_t rank, int64_t elementSize) {
  int64_t elements = 1;
  for (int64_t d = 0; d < rank; ++d)
    elements *= sizes[d];
  if (elements == 0)
    return;
  /* Dimensions [outer, rank) form one contiguous run of `run` elements. */
  int64_t run = 1, outer = rank;
  while (outer > 0 && srcStrides[outer - 1] == run &&
         dstStrides[outer - 1] == run) {
    run *= sizes[outer - 1];
    --outer;
  }
  int64_t index[rank > 0 ? rank : 1];
  memset(index, 0, sizeof(index));
  for (int64_t e = 0; e < elements; e += run) {
    int64_t s = srcOffset, t = dstOffset;
    for (int64_t d = 0; d < outer; ++d) {
      s += index[d] * srcStrides[d];
      t += index[d] * dstStrides[d];
    }
    memcpy(dst + t * elementSize, src + s * elementSize,
           (size_t)(run * elementSize));
    for (int64_t d = outer; d-- > 0;) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
  }
}

/* The first dimension of each class, then every other one against it. */
static int32_t checkDimensionClasses(const TesseraFunctionDesc *fn,
                                     int64_t shapes[][TESSERA_MAX_RANK]) {
  enum { MaxClasses = TESSERA_MAX_TENSORS * TESSERA_MAX_RANK };
  int32_t firstTensor[MaxClasses], firstDim[MaxClasses];
  for (int32_t c = 0; c < MaxClasses; ++c)
    firstTensor[c] = -1;
  int32_t numTensors = fn->numInputs + fn->numResults;
  for (int32_t i = 0; i < numTensors; ++i) {
    const TesseraTensorDesc *t = &fn->tensors[i];
    for (int32_t d = 0; t->dimClasses && d < t->rank; ++d) {
      int32_t c = t->dimClasses[d];
      if (c < 0 || c >= MaxClasses)
        continue;
      if (firstTensor[c] < 0) {
        firstTensor[c] = i;
        firstDim[c] = d;
        continue;
      }
      int32_t j = firstTensor[c];
      int64_t want = shapes[j][firstDim[c]];
      if (shapes[i][d] != want)
        return fail(TESSERA_INVALID_ARGUMENT,
                    "%s: %s '%s': dimension %d is %lld, but it must equal "
                    "dimension %d of %s '%s', which is %lld",
                    fn->name, i < fn->numInputs ? "input" : "result", t->name,
                    d, (long long)shapes[i][d], firstDim[c],
                    j < fn->numInputs ? "input" : "result", fn->tensors[j].name,
                    (long long)want);
    }
  }
  return TESSERA_OK;
}

int32_t tessera_rt_call(const TesseraFunctionDesc *fn, void **args) {
  lastError[0] = 0;
  int32_t numTensors = fn->numInputs + fn->numResults;
  if (numTensors > TESSERA_MAX_TENSORS)
    return fail(TESSERA_INTERNAL_ERROR, "%s: too many tensors", fn->name);

  void *pointers[TESSERA_MAX_TENSORS];
  int64_t shapes[TESSERA_MAX_TENSORS][TESSERA_MAX_RANK];
  int next = 0;
  for (int32_t i = 0; i < numTensors; ++i) {
    const TesseraTensorDesc *t = &fn->tensors[i];
    if (t->rank > TESSERA_MAX_RANK)
      return fail(TESSERA_INTERNAL_ERROR, "%s: rank %d is too large", fn->name,
                  t->rank);
    int32_t status = checkTensor(fn, t, i < fn->numInputs ? "input" : "result",
                                 args, &next, &pointers[i], shapes[i]);
    if (status != TESSERA_OK)
      return status;
  }

  /* Sizes the function needs equal (named alike or related by its body). */
  int32_t status = checkDimensionClasses(fn, shapes);
  if (status != TESSERA_OK)
    return status;

  /* Expanded memref arguments: each field is passed by address. */
  Descriptor inputs[TESSERA_MAX_TENSORS];
  void *packed[TESSERA_MAX_TENSORS * (3 + 2 * TESSERA_MAX_RANK) + 1];
  int p = 0;
  for (int32_t i = 0; i < fn->numInputs; ++i) {
    const TesseraTensorDesc *t = &fn->tensors[i];
    Descriptor *d = &inputs[i];
    d->allocated = d->aligned = pointers[i];
    d->offset = 0;
    int64_t stride = 1;
    for (int32_t k = t->rank; k-- > 0;) {
      d->sizes[k] = shapes[i][k];
      d->strides[k] = stride;
      stride *= shapes[i][k];
    }
    packed[p++] = &d->allocated;
    packed[p++] = &d->aligned;
    packed[p++] = &d->offset;
    for (int32_t k = 0; k < t->rank; ++k)
      packed[p++] = &d->sizes[k];
    for (int32_t k = 0; k < t->rank; ++k)
      packed[p++] = &d->strides[k];
  }
  /* Results come back as consecutive descriptors of their own rank. */
  int64_t resultWords[TESSERA_MAX_TENSORS * (3 + 2 * TESSERA_MAX_RANK)];
  memset(resultWords, 0, sizeof(resultWords));
  if (fn->numResults > 0)
    packed[p++] = resultWords;
  int device = fn->memory == TESSERA_MEMORY_CUDA;
  if (device && !tessera_rt_cuda_begin_call)
    return fail(TESSERA_INTERNAL_ERROR,
                "%s: CUDA code without the runtime's "
                "CUDA driver loader",
                fn->name);
  if (device)
    tessera_rt_cuda_begin_call();
  fn->packed(packed);
  if (device)
    tessera_rt_cuda_end_call();
  if (device && tessera_rt_cuda_call_error()[0])
    status = fail(TESSERA_CUDA_ERROR, "%s: %s", fn->name,
                  tessera_rt_cuda_call_error());

  /* Check each result's shape against the caller's buffer, copy, free. */
  const int64_t *word = resultWords;
  void *freed[TESSERA_MAX_TENSORS];
  int numFreed = 0;
  for (int32_t r = 0; r < fn->numResults; ++r) {
    int32_t i = fn->numInputs + r;
    const TesseraTensorDesc *t = &fn->tensors[i];
    char *allocated = (char *)(intptr_t)word[0];
    char *aligned = (char *)(intptr_t)word[1];
    int64_t offset = word[2];
    const int64_t *sizes = word + 3;
    const int64_t *strides = word + 3 + t->rank;
    word += 3 + 2 * t->rank;

    int sameShape = 1;
    for (int32_t k = 0; k < t->rank; ++k)
      sameShape &= sizes[k] == shapes[i][k];
    if (!sameShape && status == TESSERA_OK) {
      char got[128], want[128];
      formatShape(got, sizeof(got), sizes, t->rank);
      formatShape(want, sizeof(want), shapes[i], t->rank);
      status = fail(TESSERA_INVALID_ARGUMENT,
                    "%s: result '%s' has shape %s but the caller's buffer is "
                    "for %s",
                    fn->name, t->name, got, want);
    }
    if (sameShape && device && status == TESSERA_OK) {
      /* Device results are dense (identity layout at function boundaries):
       * one copy on the device. */
      int64_t elements = 1, dense = 1;
      for (int32_t k = t->rank; k-- > 0;) {
        dense &= sizes[k] <= 1 || strides[k] == elements;
        elements *= sizes[k];
      }
      if (!dense)
        status = fail(TESSERA_INTERNAL_ERROR,
                      "%s: result '%s' is not contiguous on the device",
                      fn->name, t->name);
      else
        status = tessera_rt_cuda_copy_result(
            pointers[i], aligned + offset * t->elementSize,
            (size_t)(elements * t->elementSize));
      if (status != TESSERA_OK && status != TESSERA_INTERNAL_ERROR)
        status = fail(status, "%s: %s", fn->name, tessera_rt_cuda_call_error());
    } else if (sameShape && !device) {
      /* Into the caller's dense row-major buffer. */
      int64_t dense[TESSERA_MAX_RANK], stride = 1;
      for (int32_t k = t->rank; k-- > 0;) {
        dense[k] = stride;
        stride *= sizes[k];
      }
      copyStrided((char *)pointers[i], 0, dense, aligned, offset, strides,
                  sizes, t->rank, t->elementSize);
    }
    /* Free what the callee allocated: not globals (marked 0xdeadbeef), not
     * the caller's inputs, and each allocation once. */
    int owned = allocated && (uintptr_t)allocated != 0xdeadbeef;
    for (int32_t k = 0; owned && k < fn->numInputs; ++k)
      owned = allocated != (char *)pointers[k];
    for (int k = 0; owned && k < numFreed; ++k)
      owned = allocated != (char *)freed[k];
    if (owned) {
      freed[numFreed++] = allocated;
      if (device)
        tessera_rt_cuda_free_result(allocated);
      else
        _mlir_memref_to_llvm_free(allocated);
    }
  }
  return status;
}

int32_t tessera_rt_invoke(const TesseraFunctionDesc *const *fns, int32_t count,
                          int32_t index, void **args) {
  if (index < 0 || index >= count)
    return fail(TESSERA_INVALID_ARGUMENT,
                "no function %d: the library has %d (0 to %d)", index, count,
                count - 1);
  return tessera_rt_call(fns[index], args);
}

void memrefCopy(int64_t elementSize, TesseraUnrankedMemRef *source,
                TesseraUnrankedMemRef *destination) {
  int64_t rank = source->rank;
  const int64_t *src = (const int64_t *)source->descriptor;
  const int64_t *dst = (const int64_t *)destination->descriptor;
  copyStrided((char *)(intptr_t)dst[1], dst[2], dst + 3 + rank,
              (const char *)(intptr_t)src[1], src[2], src + 3 + rank, src + 3,
              rank, elementSize);
}
