"""Compile graphs or MLIR text and call the result on numpy arrays.

tessera.compile(g) JIT-compiles in process (MLIR's ExecutionEngine);
tessera.compile(g, output="libx.so") compiles ahead of time through the same
path as tessera-compile, caching the library on disk, and returns the same
kind of callable as tessera.load("libx.so").
"""

import ctypes
import functools
import hashlib
import json
import mmap
import os
import pathlib
import re
import shutil
import tempfile

import numpy as np

from . import _tessera, cuda
from .graph import Graph

CompileError = _tessera.CompileError
_PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
_NUMPY = {"f64": np.float64, "f32": np.float32, "f16": np.float16, "bf16": np.uint16,
          "i64": np.int64, "i32": np.int32, "i16": np.int16, "i8": np.int8, "bool": np.bool_}


def _file_digest(path):
    """The SHA-256 of a file's contents (hex)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@functools.lru_cache(maxsize=None)
def _compiler_id():
    """Identifies this build of the compiler, for the cache key: by the
    contents of the extension module that holds it (about 8 ms once per
    process), not its size and time, which a copy that keeps both (`cp
    -p`, an archive) would leave the same for another build."""
    return f"abi{_tessera.ABI_VERSION}-{_file_digest(_tessera.__file__)[:32]}"


_HUGE_PAGE = 2 << 20


def _on_huge_pages(a):
    """A copy of `a` (C-contiguous) at an address aligned to 2 MiB, advised
    MADV_HUGEPAGE, so that Linux's transparent huge pages can back each
    whole 2 MiB of it: prepacked weights are read as long streams, and with
    4 KiB pages a thread of an Intel Xeon read 1-bit 4096 x 4096 weights
    (2 MiB, M = 1, the LUT kernel) in 0.257 ms against 0.229 on huge pages,
    2-bit ones in 0.400 against 0.370 (docs/abi.md). Arrays below 2 MiB,
    and systems without MADV_HUGEPAGE, keep `a` as it is. Huge pages are a
    hint: where transparent huge pages are off the copy is still correct,
    only aligned. Only for weights prepacked once: canonical storage passed
    at a call is converted for that call alone, without the copy."""
    return _together_on_huge_pages([a])[0]


def _together_on_huge_pages(arrays):
    """Copies of `arrays` (C-contiguous) side by side, each from a 64-byte
    boundary, in one region aligned to 2 MiB and advised MADV_HUGEPAGE
    (see _on_huge_pages), where together they take 2 MiB or more; else the
    arrays as they are. A function's bound parameters go there together:
    its scales and zero points are read with its weights, and on 4 KiB
    pages of their own each call met them in cold pages (4096 x 4096, one
    bit, M = 1, one thread: 0.195 ms against 0.179 with them on huge pages,
    docs/abi.md)."""
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    offsets, total = [], 0
    for a in arrays:
        offsets.append(total)
        total += -(-a.nbytes // 64) * 64
    if total < _HUGE_PAGE or advice is None:
        return list(arrays)
    region = mmap.mmap(-1, total + _HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    address = ctypes.addressof(ctypes.c_char.from_buffer(region))
    base = -address % _HUGE_PAGE
    try:
        region.madvise(advice, base, total)
    except OSError:
        pass  # a kernel without transparent huge pages: the copies are still right
    copies = []
    for a, offset in zip(arrays, offsets):
        copy = np.frombuffer(region, dtype=a.dtype, count=a.size,
                             offset=base + offset).reshape(a.shape)
        copy[...] = a
        copies.append(copy)
    return copies


class PrepackedWeights:
    """Weights converted once into the storage layout a compiled function's
    kernel reads (Function.prepack). Pass it in place of the packed weights."""

    def __init__(self, data, function, input):
        self.data = data
        self.function = function
        self.input = input

    def __repr__(self):
        return (f"<tessera.PrepackedWeights for input {self.input!r} of "
                f"{self.function}(), {self.data.nbytes} bytes>")


class Function:
    """A compiled function. Call it with the graph's inputs (positionally or
    by name) as numpy arrays; bound parameters (weights) are passed for you.
    Returns one array, or a tuple for several outputs.

    Weights that a kernel reads in another storage layout (the LUT strategy's
    bit planes) are converted by the module's prepack functions: bound
    parameters once, here; weights passed at each call are converted at each
    call unless they come from Function.prepack."""

    def __init__(self, name, signature, invoke, params=(), thread_control=None,
                 call_other=None, device=False):
        self.name = name
        # Compiled for CUDA: inputs may be device arrays; bound parameters
        # are copied to the device at the first call.
        self.device = device
        self._device_params = None
        # The bound parameters as _check returns them, and the sizes of
        # their named dimensions: checked at the first call, not at each.
        self._checked_params = None
        # call_other(function name, arrays) -> arrays: another public
        # function of the same module (the prepack functions).
        self._call_other = call_other
        # (set, get) of the thread pool this function runs on.
        self._thread_control = thread_control or (_tessera.set_num_threads,
                                                  _tessera.num_threads)
        self.inputs = signature["inputs"]
        self.results = signature["results"]
        self._invoke = invoke
        bound = [np.ascontiguousarray(a) for _, a in params]
        self.num_user_inputs = len(self.inputs) - len(bound)
        if self.num_user_inputs < 0:
            raise ValueError(f"'{name}' takes {len(self.inputs)} arguments but "
                             f"{len(bound)} parameters are bound")
        specs = self.inputs[self.num_user_inputs:]
        for i, spec in enumerate(specs):
            if spec.get("prepack"):
                bound[i] = self._prepacked(spec, bound[i])
        # Bound parameters (weights, scales, zero points) of 2 MiB or more
        # in all are copied together onto huge pages.
        if not device:
            bound = _together_on_huge_pages(bound)
        self._params = [PrepackedWeights(a, name, spec["name"]) if spec.get("prepack") else a
                        for a, spec in zip(bound, specs)]
        # Calls whose inputs are contiguous numpy arrays of dtypes and shapes
        # that passed _check before reuse its named sizes (a call of a small
        # function costs its Python more than its C): (dtype, shape) per
        # input -> sizes. Not for inputs converted per call (canonical
        # storage of prepacked weights) nor device functions.
        self._sizes_by_signature = {}
        self._fast_calls = not device and not any(
            spec.get("prepack") for spec in self.inputs[:self.num_user_inputs])

    def prepack(self, input, storage):
        """Converts the canonical packed storage of weights for `input` (a
        name) into the layout this function reads; returns PrepackedWeights
        to pass instead, so that calls skip the conversion."""
        specs = [s for s in self.inputs if s["name"] == input]
        if not specs:
            raise KeyError(f"{self.name}() has no input {input!r}")
        spec = specs[0]
        if not spec.get("prepack"):
            raise ValueError(f"input {input!r} of {self.name}() is read in its canonical "
                             "storage; it needs no prepacking")
        return PrepackedWeights(_on_huge_pages(self._prepacked(spec, storage)), self.name, input)

    def _prepacked(self, spec, storage):
        """The prepack function of input `spec` run on `storage`."""
        return self._call_other(spec["prepack"], [np.ascontiguousarray(storage)])[0]

    def set_num_threads(self, threads):
        """Threads for this function's parallel loops, the caller included
        (shared by every function of its library; for JIT-compiled ones, by
        all of them). 0 restores the default: TESSERA_NUM_THREADS, else the
        machine's cores. A compile-time threads=N still caps it."""
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
            raise ValueError(f"threads must be an int >= 0, got {threads!r}")
        self._thread_control[0](threads)

    def num_threads(self):
        """The thread count set_num_threads set, or the default."""
        return self._thread_control[1]()

    def __repr__(self):
        ins = ", ".join(i["name"] for i in self.inputs[:self.num_user_inputs])
        return f"<tessera.Function {self.name}({ins})>"

    def _arrange(self, args, kwargs):
        user = self.inputs[:self.num_user_inputs]
        if len(args) > len(user):
            raise TypeError(f"{self.name}() takes {len(user)} inputs, got {len(args)}")
        values = list(args) + [None] * (len(user) - len(args))
        for key, value in kwargs.items():
            names = [i["name"] for i in user]
            if key not in names:
                raise TypeError(f"{self.name}() has no input {key!r} (inputs: {', '.join(names)})")
            index = names.index(key)
            if values[index] is not None:
                raise TypeError(f"{self.name}() got input {key!r} twice")
            values[index] = value
        for spec, value in zip(user, values):
            if value is None:
                raise TypeError(f"{self.name}() is missing input {spec['name']!r}")
        return values

    def _check(self, values, specs=None, sizes=None):
        """Checks dtypes and shapes of `values` against `specs` (by default
        every input); returns the arrays to pass and the sizes of named
        dimensions (starting from `sizes`)."""
        sizes = dict(sizes or {})
        arrays = []
        for spec, value in zip(self.inputs if specs is None else specs, values):
            where = f"input {spec['name']!r} of {self.name}()"
            if isinstance(value, PrepackedWeights):
                if (value.function, value.input) != (self.name, spec["name"]):
                    raise TypeError(f"{where}: got {value!r}")
                arrays.append(value.data)
                continue
            if spec.get("prepack"):
                # Canonical storage: converted for this call (where it is
                # read once, not worth a copy onto huge pages).
                value = self._prepacked(spec, value)
            if self.device and not isinstance(value, np.ndarray):
                view = cuda.device_view(value)
                if view is None:
                    raise TypeError(f"{where}: expected a numpy or device array, "
                                    f"got {type(value).__name__}")
                value = _DeviceShape(view)
            if not isinstance(value, (np.ndarray, _DeviceShape)):
                raise TypeError(f"{where}: expected a numpy array, got {type(value).__name__}")
            want = np.dtype(_NUMPY[spec["dtype"]])
            ok = value.dtype == want or (spec["dtype"] == "i8" and value.dtype == np.uint8)
            if not ok:
                raise TypeError(f"{where}: expected dtype {want} ({spec['dtype']}), got {value.dtype}")
            if value.ndim != len(spec["shape"]):
                raise ValueError(f"{where}: expected {len(spec['shape'])} dimensions, got shape {value.shape}")
            for axis, (want_size, dim) in enumerate(zip(spec["shape"], spec["dims"])):
                got = value.shape[axis]
                if want_size is not None and got != want_size:
                    raise ValueError(f"{where}: dimension {axis} must be {want_size}, got shape {value.shape}")
                if dim:
                    if sizes.setdefault(dim, got) != got:
                        raise ValueError(f"{where}: dimension {axis} ({dim}) is {got}, but {dim} = "
                                         f"{sizes[dim]} in another input")
            arrays.append(value if isinstance(value, _DeviceShape) else np.ascontiguousarray(value))
        return arrays, sizes

    def _call_key(self, args):
        """The key of _sizes_by_signature for positional `args`, or None if
        they are not all contiguous numpy arrays."""
        if not self._fast_calls or len(args) != self.num_user_inputs:
            return None
        key = []
        for a in args:
            if type(a) is not np.ndarray or not a.flags.c_contiguous:
                return None
            key.append((a.dtype, a.shape))
        return tuple(key)

    def __call__(self, *args, **kwargs):
        key = None if kwargs else self._call_key(args)
        sizes = self._sizes_by_signature.get(key) if key is not None else None
        if sizes is not None:
            outs = self._invoke(list(args) + self._checked_params[0], sizes)
            return outs[0] if len(outs) == 1 else tuple(outs)
        params = self._params
        if self.device:
            if self._device_params is None:
                self._device_params = [cuda.DeviceArray.from_numpy(p) for p in self._params]
            params = self._device_params
        if self._checked_params is None:
            self._checked_params = self._check(params, self.inputs[self.num_user_inputs:])
        bound, bound_sizes = self._checked_params
        arrays, sizes = self._check(self._arrange(args, kwargs),
                                    self.inputs[:self.num_user_inputs], bound_sizes)
        if key is not None:
            if len(self._sizes_by_signature) >= 64:
                self._sizes_by_signature.clear()
            self._sizes_by_signature[key] = sizes
        outs = self._invoke(arrays + bound, sizes)
        return outs[0] if len(outs) == 1 else tuple(outs)


class _DeviceShape:
    """A device array as Function._check sees it: pointer, shape, dtype."""

    def __init__(self, view):
        self.ptr, self.shape, self.dtype = view
        self.ndim = len(self.shape)


def _signature_of(jit, name):
    for fname, inputs, results in jit.functions():
        if fname == name:
            conv = lambda specs: [{"name": n, "dtype": d, "shape": list(s), "dims": ["" for _ in s],
                                   "logical": lg, "layout": lay, "prepack": pre}
                                  for n, d, s, lg, lay, pre in specs]
            return {"inputs": conv(inputs), "results": conv(results)}
    raise KeyError(f"no public function {name!r}")


def _source(graph_or_mlir, entry):
    if isinstance(graph_or_mlir, Graph):
        return graph_or_mlir.mlir(), graph_or_mlir.name, graph_or_mlir.params, graph_or_mlir
    if isinstance(graph_or_mlir, str):
        text = graph_or_mlir
        if entry is None:
            match = re.search(r"func\.func\s+@([A-Za-z0-9_$.]+)", text)
            if not match:
                raise ValueError("the MLIR text has no function; pass entry=")
            entry = match.group(1)
        return text, entry, [], None
    raise TypeError(f"compile takes a Graph or MLIR text, got {type(graph_or_mlir).__name__}")


def _named_dims(signature, graph):
    """Copies the graph's dimension names into a JIT signature."""
    if graph is None:
        return signature
    specs = [(v.shape) for v, _ in graph._inputs] + [None] * len(graph.params)
    for spec, shape in zip(signature["inputs"], specs):
        if shape is not None:
            spec["dims"] = [d if isinstance(d, str) else "" for d in shape]
    for spec, (v, _) in zip(signature["results"], graph._outputs):
        spec["dims"] = [d if isinstance(d, str) else "" for d in v.shape]
    return signature


def _cache_dir():
    path = pathlib.Path(os.environ.get("TESSERA_CACHE_DIR",
                                       pathlib.Path.home() / ".cache" / "tessera"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _atomic_copy(src, dst):
    dst = pathlib.Path(dst)
    fd, tmp = tempfile.mkstemp(dir=dst.parent or ".", prefix=f".{dst.name}.")
    os.close(fd)
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o755)
    os.replace(tmp, dst)


def compile(graph_or_mlir, target="cpu", output=None, entry=None, cpu="host",
            opt_level=3, cache=True, header=None, threads=0, strategy="dequantize"):
    """Compiles a Graph (or MLIR text) and returns a Function.

    target: "cpu". output: None to JIT-compile in process, or the path of a
    shared library to build ahead of time (with `header`, its C header too);
    AOT libraries are cached on disk (TESSERA_CACHE_DIR, default
    ~/.cache/tessera) keyed by the IR, the options and the compiler build.
    cpu: the CPU a library is built for ("host", or an LLVM CPU name such as
    "x86-64-v3" or "skylake-avx512"); the JIT always compiles for this
    machine, so another cpu needs output=.
    threads: 1 compiles serial code; 0 (default) uses the thread pool's
    count at each call (set_num_threads for JIT code, Function.set_num_threads
    for a library, else TESSERA_NUM_THREADS, else the machine's cores); N
    uses at most N.
    strategy: how mpmm ops without a strategy attribute are computed:
    "dequantize" (default; exact up to f32 rounding, and, with AVX512-VNNI,
    below 64 rows at 1, 2, 3, 4, 8 bits, x rounded to 23 bits of its group's
    largest |x|, see reference.mpmm_error_bound; 1, 2, 3, 4 and 8-bit
    integer weights are read interleaved by 8 columns, bound weights
    prepacked once, see Function.prepack), "auto" (the compiler's heuristic: the LUT strategy
    with int8 tables where it is faster, which rounds table entries, see
    docs/lut.md, and reads weights prepacked), "lut" (always LUT, int8
    tables) or "lut_f32" (LUT with exact f32 tables; reference lowering).
    Raises CompileError with the diagnostics on invalid IR; when a pass
    fails, the message names the pipeline and the MLIR reproducer written
    under the cache's reproducers/ folder.
    """
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise ValueError(f"threads must be an int >= 0, got {threads!r}")
    if strategy not in ("auto", "dequantize", "lut", "lut_f32"):
        raise ValueError(f"strategy must be auto, dequantize, lut or lut_f32, got {strategy!r}")
    cuda_chip = ""
    if target == "cuda" or (isinstance(target, str) and target.startswith("cuda:")):
        cuda_chip = target[5:] or "sm_80"
        if not re.fullmatch(r"sm_\d+a?", cuda_chip):
            raise ValueError(f"target {target!r}: name the GPU architecture, as in 'cuda:sm_80'")
        if strategy != "dequantize":
            raise ValueError("the CUDA target computes every mpmm by dequantizing "
                             f"(strategy {strategy!r} is a CPU kernel)")
    elif target != "cpu":
        raise ValueError(f"target must be 'cpu', 'cuda' or 'cuda:<arch>', got {target!r}")
    text, name, params, graph = _source(graph_or_mlir, entry)
    # A failing or crashing pass leaves a reproducer here; the error says so.
    reproducer = str(_cache_dir() / "reproducers" /
                     (hashlib.sha256(text.encode()).hexdigest()[:16] + ".mlir"))
    (_cache_dir() / "reproducers").mkdir(exist_ok=True)
    if output is None and cuda_chip:
        # No JIT for GPU code: a cached library, as for output=.
        output = _cache_dir() / f"libcuda_{hashlib.sha256(text.encode()).hexdigest()[:16]}.so"
    if output is None and cpu != "host":
        raise ValueError(f"cpu={cpu!r} needs output=: the JIT compiles for this machine "
                         "(build a library for another CPU)")
    if output is None:
        jit = _tessera.JitModule(text, f"<{name}>", crash_reproducer=reproducer,
                                 threads=threads, strategy=strategy)
        signature = _named_dims(_signature_of(jit, name), graph)

        def invoke(arrays, sizes):
            return jit.call(name, arrays)
        return Function(name, signature, invoke, params, call_other=jit.call)

    output = pathlib.Path(output)
    prefix = re.sub(r"\W", "_", output.stem[3:] if output.stem.startswith("lib") else output.stem)
    options = {"cpu": cpu, "opt": opt_level, "prefix": prefix, "threads": threads,
               "strategy": strategy, "compiler": _compiler_id(), "cuda": cuda_chip}
    key = hashlib.sha256((text + json.dumps(options, sort_keys=True)).encode()).hexdigest()
    runtime = str(_PACKAGE_DIR / "libTesseraRuntime.a")
    cached = _cache_dir() / f"{key}.so"
    if not (cache and cached.exists()):
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".build-", suffix=".so")
        os.close(fd)
        try:
            _tessera.aot_compile(text, f"<{name}>", tmp, cpu=cpu, opt_level=opt_level,
                                 prefix=prefix, runtime_library=runtime,
                                 crash_reproducer=reproducer, threads=threads,
                                 strategy=strategy, cuda_chip=cuda_chip)
            os.replace(tmp, cached)  # atomic: readers see all or nothing
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    _atomic_copy(cached, output)
    if header:
        pathlib.Path(header).write_text(_tessera.c_header(text, f"<{name}>", prefix,
                                                          cuda_chip=cuda_chip,
                                                          strategy=strategy))
    # Load the cache entry (its path is unique to its content): dlopen of a
    # path it already opened returns the old library even if the file changed.
    return load(cached if cache else output, entry=name, params=params, prefix=prefix)


def load(path, entry=None, params=(), prefix=None):
    """Loads a library built by tessera.compile or tessera-compile and
    returns its function `entry` (default: the only or first one)."""
    path = pathlib.Path(path)
    if prefix is None:
        stem = path.stem
        prefix = re.sub(r"\W", "_", stem[3:] if stem.startswith("lib") else stem)
    lib = ctypes.CDLL(str(path.resolve()))
    try:
        sig_fn = getattr(lib, f"{prefix}_signature")
    except AttributeError:
        raise ValueError(f"{path} has no {prefix}_signature: not a Tessera library, "
                         "or built with another --prefix (pass prefix=)") from None
    sig_fn.restype = ctypes.c_char_p
    signatures = json.loads(sig_fn().decode())
    if entry is None:
        entry = signatures[0]["name"]
    matches = [s for s in signatures if s["name"] == entry]
    if not matches:
        raise KeyError(f"{path} has no function {entry!r}")
    signature = matches[0]
    by_name = {s["name"]: s for s in signatures}

    invokers = {}  # made at first use: prepack functions run at every call

    index_of = {s["name"]: i for i, s in enumerate(signatures)}

    def call_other(fname, arrays):
        if fname not in invokers:
            invokers[fname] = _library_invoker(lib, prefix, by_name[fname], index_of[fname])
        return invokers[fname](arrays, {})

    device = _library_target(lib, prefix).startswith("cuda")
    if device:
        invoke = _cuda_library_invoker(lib, prefix, signature,
                                       len(signature["inputs"]) - len(params))
    else:
        invoke = _library_invoker(lib, prefix, signature, index_of[entry], bound=len(params))
    set_threads = getattr(lib, f"{prefix}_set_num_threads")
    set_threads.argtypes = [ctypes.c_int32]
    get_threads = getattr(lib, f"{prefix}_num_threads")
    get_threads.restype = ctypes.c_int32
    function = Function(entry, signature, invoke, params, (set_threads, get_threads),
                        call_other=call_other, device=device)
    function.library = lib
    return function


def _entry_point(lib, prefix, entry):
    """The C function of `entry` and the library's last-error function."""
    fn = getattr(lib, f"{prefix}_{entry}")
    fn.restype = ctypes.c_int32
    last_error = getattr(lib, f"{prefix}_last_error")
    last_error.restype = ctypes.c_char_p
    return fn, last_error


def _library_invoker(lib, prefix, signature, index, bound=0):
    """A callable (arrays, named sizes) -> results for one function of a
    loaded library (function `index` of its signature); its last `bound`
    inputs are bound parameters, the same arrays at every call."""
    entry = signature["name"]
    dynamic = lambda spec: [d for d, s in enumerate(spec["shape"]) if s is None]
    invoke_all = getattr(lib, f"{prefix}_invoke", None)
    if invoke_all is not None:
        # Through <prefix>_invoke: the arguments gathered in C++
        # (_tessera.LibraryCall), not in a C call ctypes builds per call
        # (a call of 256 x 512 2-bit weights in cache: 12.7 -> 6.5 us). The
        # C pointers stay valid while the Function keeps `lib` (load).
        last_error = getattr(lib, f"{prefix}_last_error")
        address = lambda f: ctypes.cast(f, ctypes.c_void_p).value
        results = signature["results"]
        return _tessera.LibraryCall(
            address(invoke_all), address(last_error), index, entry,
            [dynamic(spec) for spec in signature["inputs"]],
            [np.dtype(_NUMPY[spec["dtype"]]) for spec in results],
            [[-1 if s is None else s for s in spec["shape"]] for spec in results],
            [list(spec["dims"]) for spec in results], [spec["name"] for spec in results])
    # Libraries from before <prefix>_invoke: a C call through ctypes.
    fn, last_error = _entry_point(lib, prefix, entry)
    # Worked out once, not per call (a call of a small function costs its
    # Python more than its C): each argument's dynamic dimensions, the
    # results' dtypes, and the C types, so that plain ints go to ctypes.
    input_dims = [dynamic(spec) for spec in signature["inputs"]]
    results = [(np.dtype(_NUMPY[spec["dtype"]]), dynamic(spec)) for spec in signature["results"]]
    argtypes = []
    for dims in input_dims + [dims for _, dims in results]:
        argtypes += [ctypes.c_void_p] + [ctypes.c_int64] * len(dims)
    fn.argtypes = argtypes
    # The bound parameters' data pointers, by position: (array, pointer),
    # taken again only if another array comes (a.ctypes.data costs ~1 us).
    first_bound = len(input_dims) - bound
    pointers = {}

    def invoke(arrays, sizes):
        args = []
        for i, (a, dims) in enumerate(zip(arrays, input_dims)):
            if i < first_bound:
                args.append(a.ctypes.data)
            else:
                known = pointers.get(i)
                if known is None or known[0] is not a:
                    known = pointers[i] = (a, a.ctypes.data)
                args.append(known[1])
            for d in dims:
                args.append(a.shape[d])
        outs = []
        for (dtype, dims), shape in zip(results, _output_shapes(entry, signature, sizes)):
            out = np.empty(shape, dtype=dtype)
            outs.append(out)
            args.append(out.ctypes.data if out.size else None)
            for d in dims:
                args.append(shape[d])
        if fn(*args) != 0:
            raise ValueError(last_error().decode())
        return outs
    return invoke


def _library_target(lib, prefix):
    """What a library was compiled for: "cpu" or "cuda:<arch>" (whose
    functions take device pointers)."""
    target = getattr(lib, f"{prefix}_target", None)
    if target is None:
        return "cpu"
    target.restype = ctypes.c_char_p
    return target().decode()


def _output_shapes(entry, signature, sizes):
    shapes = []
    for spec in signature["results"]:
        shape = []
        for d, (s, dim) in enumerate(zip(spec["shape"], spec["dims"])):
            if s is not None:
                shape.append(s)
            elif dim in sizes:
                shape.append(sizes[dim])
            else:
                raise ValueError(f"{entry}(): cannot tell the size of dimension {d} of "
                                 f"result {spec['name']!r}: name it with tessera.dims")
        shapes.append(shape)
    return shapes


def _cuda_library_invoker(lib, prefix, signature, num_user_inputs):
    """As _library_invoker, for a library compiled for CUDA: numpy inputs are
    copied to the device for the call; results come back as numpy arrays,
    or as DeviceArrays when any input was a device array."""
    entry = signature["name"]
    fn, last_error = _entry_point(lib, prefix, entry)

    def invoke(arrays, sizes):
        args, keep, user_device = [], [], False
        for i, (spec, a) in enumerate(zip(signature["inputs"], arrays)):
            if isinstance(a, _DeviceShape):
                pointer = a.ptr
                user_device = user_device or i < num_user_inputs
            else:
                copy = cuda.DeviceArray.from_numpy(a)
                keep.append(copy)
                pointer = copy.ptr
            args.append(ctypes.c_void_p(pointer))
            args += [ctypes.c_int64(a.shape[d]) for d, s in enumerate(spec["shape"]) if s is None]
        outs = []
        for spec, shape in zip(signature["results"], _output_shapes(entry, signature, sizes)):
            out = cuda.DeviceArray(shape, _NUMPY[spec["dtype"]])
            outs.append(out)
            args.append(ctypes.c_void_p(out.ptr))
            args += [ctypes.c_int64(shape[d]) for d, s in enumerate(spec["shape"]) if s is None]
        if fn(*args) != 0:
            raise RuntimeError(last_error().decode())
        return outs if user_device else [o.numpy() for o in outs]
    return invoke


def set_num_threads(threads):
    """Threads for the parallel loops of JIT-compiled functions (libraries
    have their own pool: Function.set_num_threads). 0 restores the default:
    TESSERA_NUM_THREADS, else the machine's cores."""
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise ValueError(f"threads must be an int >= 0, got {threads!r}")
    _tessera.set_num_threads(threads)


def num_threads():
    """The thread count of JIT-compiled functions."""
    return _tessera.num_threads()
