/*===- RuntimeInternal.h - Between the runtime's own files ---------------===*\
|*                                                                            *|
|* Hidden like the rest of the runtime; not for compiled code or callers.     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef TESSERA_LIB_RUNTIME_RUNTIMEINTERNAL_H
#define TESSERA_LIB_RUNTIME_RUNTIMEINTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Sets this thread's last error (printf-style) and returns `status`. */
int32_t tessera_rt_fail(int32_t status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* CudaDriver.c, for tessera_rt_call on functions of the CUDA pipeline. They
 * are declared weak where called, so that a CPU library does not link the
 * driver loader. */
void tessera_rt_cuda_begin_call(void);
/* Waits for the kernels of the call (the host code's waits are deferred to
 * here); an error becomes the call's. */
void tessera_rt_cuda_end_call(void);
const char *tessera_rt_cuda_call_error(void);
int32_t tessera_rt_cuda_copy_result(void *dst, const void *src, size_t bytes);
void tessera_rt_cuda_free_result(void *pointer);

#endif /* TESSERA_LIB_RUNTIME_RUNTIMEINTERNAL_H */
