"""NVIDIA GPUs: device memory for functions compiled with target="cuda".

Functions compiled for CUDA take numpy arrays (copied to the GPU and the
results copied back) or device arrays: any object with
``__cuda_array_interface__`` (CuPy, PyTorch, Numba, or DeviceArray here), C
contiguous, on device 0. Given a device array, a function returns its results
as DeviceArrays. Everything goes through the CUDA driver that Tessera's
runtime opens at run time, so nothing here needs CUDA to import or compile.
"""

import numpy as np

from . import _tessera

__all__ = ["DeviceArray", "available", "reason_unavailable", "to_device"]


def reason_unavailable():
    """"" when the CUDA driver and a GPU are usable, else why not."""
    return _tessera.cuda_available()


def available():
    """Whether compiled CUDA functions can run here."""
    return reason_unavailable() == ""


class DeviceArray:
    """A C-contiguous array in the memory of GPU 0, freed with the object."""

    def __init__(self, shape, dtype):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self.ptr = 0
        self.ptr = _tessera.cuda_malloc(self.nbytes)

    @classmethod
    def from_numpy(cls, array):
        array = np.ascontiguousarray(array)
        out = cls(array.shape, array.dtype)
        if array.nbytes:
            _tessera.cuda_memcpy(out.ptr, array.ctypes.data, array.nbytes)
        return out

    def numpy(self):
        """A copy in host memory."""
        out = np.empty(self.shape, self.dtype)
        if self.nbytes:
            _tessera.cuda_memcpy(out.ctypes.data, self.ptr, self.nbytes)
        return out

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str,
                "data": (self.ptr, False), "version": 3, "strides": None}

    def __del__(self):
        if self.ptr:
            _tessera.cuda_free(self.ptr)
            self.ptr = 0

    def __repr__(self):
        return f"<tessera.cuda.DeviceArray shape={self.shape} dtype={self.dtype}>"


def to_device(array):
    """A DeviceArray holding a copy of `array`."""
    return DeviceArray.from_numpy(array)


def device_view(value):
    """(pointer, shape, numpy dtype) of a device array, or None for others.
    Raises ValueError for a strided one."""
    interface = getattr(value, "__cuda_array_interface__", None)
    if interface is None:
        return None
    shape = tuple(interface["shape"])
    dtype = np.dtype(interface["typestr"])
    strides = interface.get("strides")
    if strides is not None:
        expected, step = [], dtype.itemsize
        for d in reversed(shape):
            expected.append(step)
            step *= d
        if tuple(reversed(expected)) != tuple(strides):
            raise ValueError("device arrays must be C-contiguous")
    return interface["data"][0], shape, dtype
