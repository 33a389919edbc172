"""The CUDA driver API through ctypes: device memory for calling libraries
compiled by tessera-compile --target=cuda:<arch> on a machine that has a GPU
but no Tessera build (no MLIR, no compiled Python extension).

The libraries open the driver themselves and run on the primary context of
device 0; this module retains the same context, so pointers from here are
valid there. Needs only numpy and libcuda.so.1.
"""

import ctypes

import numpy as np


class CudaError(RuntimeError):
    pass


class Driver:
    def __init__(self):
        try:
            self.lib = ctypes.CDLL("libcuda.so.1")
        except OSError as e:
            raise CudaError(f"no CUDA driver: {e}") from None
        self._check(self.lib.cuInit(0), "cuInit")
        device = ctypes.c_int()
        self._check(self.lib.cuDeviceGet(ctypes.byref(device), 0), "cuDeviceGet")
        self.context = ctypes.c_void_p()
        self._check(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(self.context), device),
                    "cuDevicePrimaryCtxRetain")
        self._check(self.lib.cuCtxSetCurrent(self.context), "cuCtxSetCurrent")
        name = ctypes.create_string_buffer(256)
        self._check(self.lib.cuDeviceGetName(name, 256, device), "cuDeviceGetName")
        self.name = name.value.decode()
        major, minor = ctypes.c_int(), ctypes.c_int()
        self._check(self.lib.cuDeviceGetAttribute(ctypes.byref(major), 75, device), "attribute")
        self._check(self.lib.cuDeviceGetAttribute(ctypes.byref(minor), 76, device), "attribute")
        self.capability = (major.value, minor.value)
        self.lib.cuMemAlloc_v2.argtypes = [ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t]
        self.lib.cuMemFree_v2.argtypes = [ctypes.c_uint64]
        self.lib.cuMemcpy.argtypes = [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_size_t]
        self.lib.cuMemsetD8_v2.argtypes = [ctypes.c_uint64, ctypes.c_ubyte, ctypes.c_size_t]

    def _check(self, result, what):
        if result != 0:
            text = ctypes.c_char_p()
            self.lib.cuGetErrorName(result, ctypes.byref(text))
            raise CudaError(f"{what}: {text.value.decode() if text.value else result}")

    def alloc(self, nbytes):
        p = ctypes.c_uint64()
        self._check(self.lib.cuMemAlloc_v2(ctypes.byref(p), max(nbytes, 1)), "cuMemAlloc")
        return p.value

    def free(self, pointer):
        self._check(self.lib.cuMemFree_v2(pointer), "cuMemFree")

    def copy(self, dst, src, nbytes):
        """Between any two pointers (unified addressing); synchronous."""
        if nbytes:
            self._check(self.lib.cuMemcpy(dst, src, nbytes), "cuMemcpy")

    def fill_bytes(self, pointer, value, nbytes):
        self._check(self.lib.cuMemsetD8_v2(pointer, value, nbytes), "cuMemsetD8")

    def synchronize(self):
        self._check(self.lib.cuCtxSynchronize(), "cuCtxSynchronize")


class DeviceArray:
    """A C-contiguous array in device memory, freed with the object."""

    def __init__(self, driver, shape, dtype):
        self.driver, self.shape, self.dtype = driver, tuple(shape), np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self.ptr = 0
        self.ptr = driver.alloc(self.nbytes)

    @classmethod
    def of(cls, driver, array):
        array = np.ascontiguousarray(array)
        out = cls(driver, array.shape, array.dtype)
        driver.copy(out.ptr, array.ctypes.data, array.nbytes)
        return out

    def numpy(self):
        out = np.empty(self.shape, self.dtype)
        self.driver.copy(out.ctypes.data, self.ptr, self.nbytes)
        return out

    def __del__(self):
        if self.ptr:
            self.driver.free(self.ptr)
            self.ptr = 0


class HostMemory:
    """The Driver's interface on host memory, for running the same checks on
    libraries compiled for the CPU (to check the checks without a GPU)."""

    name = "host CPU (libraries compiled for the CPU)"
    capability = (0, 0)

    def __init__(self):
        self._blocks = {}

    def alloc(self, nbytes):
        block = np.empty(max(nbytes, 1) + 64, np.uint8)
        pointer = (block.ctypes.data + 63) // 64 * 64
        self._blocks[pointer] = block
        return pointer

    def free(self, pointer):
        del self._blocks[pointer]

    def copy(self, dst, src, nbytes):
        if nbytes:
            ctypes.memmove(dst, src, nbytes)

    def fill_bytes(self, pointer, value, nbytes):
        ctypes.memset(pointer, value, nbytes)

    def synchronize(self):
        pass
