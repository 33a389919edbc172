//===- TesseraModule.cpp - The tessera._tessera Python extension ----------===//
//
// A thin binding over Pipelines, Target and Support: JIT-compile a module and
// call its functions on numpy arrays, compile ahead of time, and pack/unpack
// codes and encode/decode float formats with lib/Support. No compiler logic
// lives here. C++ exceptions never cross MLIR frames: diagnostics are
// collected into strings and raised here.
//
//===----------------------------------------------------------------------===//

#include "tessera/Pipelines/Registration.h"
#include "tessera/Runtime/Runtime.h"
#include "tessera/Support/BitPacking.h"
#include "tessera/Support/FloatFormat.h"
#include "tessera/Target/AotCompiler.h"
#include "tessera/Target/DiagnosticCapture.h"
#include "tessera/Target/JitModule.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

namespace py = pybind11;
using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Raised for invalid IR and failed passes; carries the diagnostics.
py::object compileError;

MLIRContext &makeContext(std::unique_ptr<MLIRContext> &owner) {
  DialectRegistry registry;
  registerAllTesseraDialects(registry);
  owner = std::make_unique<MLIRContext>(registry);
  owner->loadAllAvailableDialects();
  return *owner;
}

[[noreturn]] void raiseCompileError(const std::string &message) {
  PyErr_SetString(compileError.ptr(), message.c_str());
  throw py::error_already_set();
}

/// Parses `text`; raises CompileError with the diagnostics on failure.
OwningOpRef<ModuleOp> parseModule(MLIRContext &context, const std::string &text,
                                  const std::string &filename) {
  std::string diagnostics;
  OwningOpRef<ModuleOp> module;
  {
    DiagnosticCapture capture(&context, diagnostics);
    module = parseSourceString<ModuleOp>(text, &context, filename);
  }
  if (!module)
    raiseCompileError(diagnostics);
  return module;
}

py::dtype numpyDType(DType dtype) {
  switch (dtype) {
  case DType::F64:
    return py::dtype("float64");
  case DType::F32:
    return py::dtype("float32");
  case DType::F16:
    return py::dtype("float16");
  case DType::BF16:
    return py::dtype("uint16");
  case DType::I64:
    return py::dtype("int64");
  case DType::I32:
    return py::dtype("int32");
  case DType::I16:
    return py::dtype("int16");
  case DType::I8:
    return py::dtype("int8");
  case DType::U8:
    return py::dtype("uint8");
  case DType::Bool:
    return py::dtype("bool");
  }
  return py::dtype("float32");
}

/// The DType of a numpy array as the function at `spec` reads it, or raises
/// a TypeError naming the argument.
DType hostDType(const py::array &a, const TensorSpec &spec,
                const std::string &where) {
  py::dtype dt = a.dtype();
  std::string kind(1, dt.kind());
  size_t size = dt.itemsize();
  if (kind == "f" && size == 4)
    return DType::F32;
  if (kind == "f" && size == 8)
    return DType::F64;
  if (kind == "f" && size == 2)
    return DType::F16;
  if (kind == "i" && size == 8)
    return DType::I64;
  if (kind == "i" && size == 4)
    return DType::I32;
  if (kind == "i" && size == 2)
    return DType::I16;
  if (kind == "i" && size == 1)
    return DType::I8;
  if (kind == "u" && size == 1)
    return spec.dtype == DType::Bool ? DType::Bool : DType::U8;
  if (kind == "u" && size == 2 && spec.dtype == DType::BF16)
    return DType::BF16;
  if (kind == "b")
    return DType::Bool;
  throw py::type_error(where + ": numpy dtype " + std::string(py::str(dt)) +
                       " cannot be passed (expected " + dtypeName(spec.dtype) +
                       ")");
}

py::list specList(const std::vector<TensorSpec> &specs) {
  py::list out;
  for (const TensorSpec &spec : specs) {
    py::list shape;
    for (int64_t d : spec.shape)
      shape.append(ShapedType::isDynamic(d) ? py::object(py::none())
                                            : py::object(py::int_(d)));
    std::string logical;
    llvm::raw_string_ostream os(logical);
    os << spec.logicalType;
    out.append(py::make_tuple(spec.name, dtypeName(spec.dtype),
                              py::tuple(shape), logical, spec.layout,
                              spec.prepackFunction));
  }
  return out;
}

/// A JIT-compiled module: its context, and the ExecutionEngine.
class PyJitModule {
public:
  PyJitModule(const std::string &text, const std::string &filename,
              const std::string &crashReproducer, int64_t threads,
              const std::string &strategy) {
    MLIRContext &context = makeContext(contextOwner);
    OwningOpRef<ModuleOp> module = parseModule(context, text, filename);
    std::string error;
    CpuPipelineOptions options;
    options.crashReproducer = crashReproducer;
    options.threads = threads;
    options.mpmmStrategy = strategy;
    auto jit = JitModule::compile(*module, options, error);
    if (failed(jit))
      raiseCompileError(error);
    this->jit = std::move(*jit);
  }

  py::list functions() const {
    py::list out;
    for (const FunctionSignature &sig : jit->functions())
      out.append(py::make_tuple(sig.name, specList(sig.inputs),
                                specList(sig.results)));
    return out;
  }

  py::list call(const std::string &name, const std::vector<py::array> &args) {
    const FunctionSignature *sig = jit->lookup(name);
    if (!sig)
      throw py::key_error("no public function '" + name + "'");
    if (args.size() != sig->inputs.size())
      throw py::type_error("'" + name + "' takes " +
                           std::to_string(sig->inputs.size()) +
                           " arguments, got " + std::to_string(args.size()));
    // The arrays are read in place: `keep` holds them (and any contiguous
    // copy numpy had to make) until the call returns.
    std::vector<py::array> keep;
    std::vector<TensorView> views;
    for (size_t i = 0; i < args.size(); ++i) {
      const TensorSpec &spec = sig->inputs[i];
      std::string where = "argument '" + spec.name + "' of '" + name + "'";
      py::array a = py::array::ensure(args[i], py::array::c_style);
      if (!a)
        throw py::type_error(where + ": not convertible to a C-contiguous array");
      views.push_back(TensorView{hostDType(a, spec, where),
                                 std::vector<int64_t>(a.shape(), a.shape() + a.ndim()),
                                 a.data()});
      keep.push_back(std::move(a));
    }
    // Results are copied once, straight into numpy arrays made (with the
    // GIL) when the call returns them.
    py::list out;
    std::string error;
    {
      py::gil_scoped_release release;
      auto resultBuffer = [&](DType dtype, ArrayRef<int64_t> shape) -> void * {
        py::gil_scoped_acquire acquire;
        py::array a(numpyDType(dtype), std::vector<py::ssize_t>(shape.begin(), shape.end()));
        out.append(a);
        return a.mutable_data();
      };
      if (failed(jit->invoke(name, views, resultBuffer, error)))
        error = "error: " + error;
    }
    if (!error.empty())
      throw py::value_error(error.substr(7));
    return out;
  }

private:
  std::unique_ptr<MLIRContext> contextOwner;
  std::unique_ptr<JitModule> jit;
};

void aotCompile(const std::string &text, const std::string &filename,
                const std::string &output, const std::string &header,
                const std::string &emit, const std::string &cpu,
                unsigned optLevel, const std::string &prefix,
                const std::string &runtimeLibrary, const std::string &dumpDir,
                const std::string &crashReproducer, int64_t threads,
                const std::string &strategy, const std::string &cudaChip) {
  std::unique_ptr<MLIRContext> owner;
  MLIRContext &context = makeContext(owner);
  OwningOpRef<ModuleOp> module = parseModule(context, text, filename);
  AotOptions options;
  if (emit == "mlir")
    options.emit = AotOptions::Emit::MLIR;
  else if (emit == "llvm")
    options.emit = AotOptions::Emit::LLVM;
  else if (emit == "obj")
    options.emit = AotOptions::Emit::Object;
  else if (emit == "ptx")
    options.emit = AotOptions::Emit::PTX;
  else if (emit != "so")
    throw py::value_error("emit must be mlir, llvm, obj, so or ptx, got '" +
                          emit + "'");
  if (options.emit == AotOptions::Emit::PTX && cudaChip.empty())
    throw py::value_error("emit='ptx' needs cuda_chip");
  options.outputPath = output;
  options.headerPath = header;
  options.sourceName = filename;
  options.cpu = cpu;
  options.optLevel = optLevel;
  options.prefix = prefix;
  options.runtimeLibrary = runtimeLibrary;
  options.dumpDir = dumpDir;
  options.crashReproducer = crashReproducer;
  options.threads = threads;
  options.mpmmStrategy = strategy;
  options.cudaChip = cudaChip;
  if (!cudaChip.empty())
    options.cpu = "x86-64";
  std::string error;
  bool ok;
  {
    py::gil_scoped_release release;
    ok = succeeded(compileAot(*module, options, error));
  }
  if (!ok)
    raiseCompileError(error);
}

/// The C header tessera-compile would write for `text`, without compiling:
/// the ABI of the given strategy and target (CUDA kernels read canonical
/// weights).
std::string cHeader(const std::string &text, const std::string &filename,
                    const std::string &prefix, const std::string &cudaChip,
                    const std::string &strategy) {
  std::unique_ptr<MLIRContext> owner;
  MLIRContext &context = makeContext(owner);
  OwningOpRef<ModuleOp> module = parseModule(context, text, filename);
  std::string error;
  FailureOr<std::vector<FunctionSignature>> signatures;
  {
    DiagnosticCapture capture(&context, error);
    CpuPipelineOptions options;
    options.mpmmStrategy = strategy;
    signatures = lowerSignatures(
        *module, cudaChip.empty() ? options : getCudaAbiOptions());
  }
  if (failed(signatures))
    raiseCompileError(error);
  return generateCHeader(*signatures, prefix, filename, cudaChip);
}

std::vector<int64_t> shapeOf(const py::array &a) {
  return std::vector<int64_t>(a.shape(), a.shape() + a.ndim());
}

PackedLayout makeLayout(const std::vector<int64_t> &tile, bool bitPlanes,
                        const std::vector<int64_t> &shape) {
  PackedLayout layout{tile, bitPlanes};
  std::string error;
  if (!verifyLayout(shape, layout, error))
    throw py::value_error("layout: " + error);
  return layout;
}

void checkBits(int bits) {
  if (bits < 1 || bits > 8)
    throw py::value_error("bits must be 1 to 8, got " + std::to_string(bits));
}

py::array pack(py::array_t<int32_t, py::array::c_style | py::array::forcecast> codes,
               int bits, const std::vector<int64_t> &tile, bool bitPlanes) {
  checkBits(bits);
  std::vector<int64_t> shape = shapeOf(codes);
  PackedLayout layout = makeLayout(tile, bitPlanes, shape);
  py::array_t<uint8_t> out(
      py::ssize_t(packedSizeInBytes(shape, unsigned(bits), layout)));
  packCodes(codes.data(), shape, unsigned(bits), layout, out.mutable_data());
  return out;
}

py::array unpack(py::array_t<uint8_t, py::array::c_style | py::array::forcecast> packed,
                 const std::vector<int64_t> &shape, int bits, bool isSigned,
                 const std::vector<int64_t> &tile, bool bitPlanes) {
  checkBits(bits);
  PackedLayout layout = makeLayout(tile, bitPlanes, shape);
  size_t need = packedSizeInBytes(shape, unsigned(bits), layout);
  if (size_t(packed.size()) != need)
    throw py::value_error("packed storage has " + std::to_string(packed.size()) +
                          " bytes, expected " + std::to_string(need));
  py::array_t<int32_t> out(std::vector<py::ssize_t>(shape.begin(), shape.end()));
  unpackCodes(packed.data(), shape, unsigned(bits), isSigned, layout,
              out.mutable_data());
  return out;
}

/// One function of a library built by tessera-compile, called through its
/// <prefix>_invoke: the arguments are gathered here, not by a C call that
/// ctypes builds per call (a call of 256 x 512 2-bit weights in cache: 12.7
/// -> 6.5 us, of which the library's C takes about 3). The inputs are numpy
/// arrays that tessera.Function has checked (dtype, shape, C order); results
/// are allocated here from the named sizes.
class LibraryCall {
public:
  using Invoke = int32_t (*)(int32_t, void **);
  using LastError = const char *(*)();

  LibraryCall(uintptr_t invoke, uintptr_t lastError, int32_t index, std::string name,
              std::vector<std::vector<int64_t>> inputDims, std::vector<py::dtype> resultDTypes,
              std::vector<std::vector<int64_t>> resultShapes,
              std::vector<std::vector<std::string>> resultDims,
              std::vector<std::string> resultNames)
      : invoke(reinterpret_cast<Invoke>(invoke)), lastError(reinterpret_cast<LastError>(lastError)),
        index(index), name(std::move(name)), inputDims(std::move(inputDims)),
        resultDTypes(std::move(resultDTypes)), resultShapes(std::move(resultShapes)),
        resultDims(std::move(resultDims)), resultNames(std::move(resultNames)) {}

  /// Calls with `arrays` (every input, bound parameters included) and the
  /// sizes of named dimensions; returns the results.
  py::list operator()(const py::list &arrays, const py::dict &sizes) const {
    if (arrays.size() != inputDims.size())
      throw py::type_error(name + "() takes " + std::to_string(inputDims.size()) + " arrays, got " +
                           std::to_string(arrays.size()));
    std::vector<void *> args;
    auto size = [](int64_t v) { return reinterpret_cast<void *>(static_cast<intptr_t>(v)); };
    for (size_t i = 0; i < inputDims.size(); ++i) {
      py::handle item = arrays[i];
      if (!py::isinstance<py::array>(item))
        throw py::type_error(name + "(): argument " + std::to_string(i) + " is not a numpy array");
      auto a = py::reinterpret_borrow<py::array>(item);
      if (!(a.flags() & py::array::c_style))
        throw py::value_error(name + "(): argument " + std::to_string(i) + " is not C-contiguous");
      args.push_back(const_cast<void *>(a.data()));
      for (int64_t d : inputDims[i]) {
        if (d >= a.ndim())
          throw py::value_error(name + "(): argument " + std::to_string(i) + " has " +
                                std::to_string(a.ndim()) + " dimensions");
        args.push_back(size(a.shape(d)));
      }
    }
    py::list results;
    for (size_t r = 0; r < resultDTypes.size(); ++r) {
      std::vector<py::ssize_t> shape;
      std::vector<int64_t> dynamic;
      for (size_t d = 0; d < resultShapes[r].size(); ++d) {
        int64_t extent = resultShapes[r][d];
        if (extent < 0) {
          const std::string &dim = resultDims[r][d];
          if (dim.empty() || !sizes.contains(dim))
            throw py::value_error(name + "(): cannot tell the size of dimension " +
                                  std::to_string(d) + " of result '" + resultNames[r] +
                                  "': name it with tessera.dims");
          extent = sizes[py::str(dim)].cast<int64_t>();
          dynamic.push_back(extent);
        }
        shape.push_back(extent);
      }
      py::array out(resultDTypes[r], shape);
      args.push_back(out.size() ? out.mutable_data() : nullptr);
      for (int64_t extent : dynamic)
        args.push_back(size(extent));
      results.append(std::move(out));
    }
    int32_t status;
    std::string error;
    {
      py::gil_scoped_release release;
      status = invoke(index, args.data());
      if (status != TESSERA_OK) // the message is this thread's
        error = lastError();
    }
    if (status != TESSERA_OK)
      throw py::value_error(error);
    return results;
  }

private:
  Invoke invoke;
  LastError lastError;
  int32_t index;
  std::string name;
  std::vector<std::vector<int64_t>> inputDims;
  std::vector<py::dtype> resultDTypes;
  std::vector<std::vector<int64_t>> resultShapes;
  std::vector<std::vector<std::string>> resultDims;
  std::vector<std::string> resultNames;
};

FloatFormat floatFormat(int e, int m) {
  if (e < 1 || m < 1 || !FloatFormat::isValid(unsigned(e), unsigned(m)))
    throw py::value_error("not a float format: e" + std::to_string(e) + "m" +
                          std::to_string(m));
  return FloatFormat(unsigned(e), unsigned(m));
}

} // namespace

PYBIND11_MODULE(_tessera, m) {
  m.doc() = "Tessera compiler bindings (use the `tessera` package)";
  compileError = py::reinterpret_borrow<py::object>(PyErr_NewExceptionWithDoc(
      "tessera.CompileError",
      "Invalid IR or a failed compilation; the message holds the "
      "diagnostics with their locations.",
      PyExc_RuntimeError, nullptr));
  m.attr("CompileError") = compileError;
  m.attr("ABI_VERSION") = TESSERA_ABI_VERSION;

  py::class_<PyJitModule>(m, "JitModule")
      .def(py::init<const std::string &, const std::string &,
                    const std::string &, int64_t, const std::string &>(),
           py::arg("mlir"), py::arg("filename") = "<graph>",
           py::arg("crash_reproducer") = "", py::arg("threads") = 0,
           py::arg("strategy") = "dequantize")
      .def("functions", &PyJitModule::functions)
      .def("call", &PyJitModule::call, py::arg("name"), py::arg("args"));
  py::class_<LibraryCall>(m, "LibraryCall")
      .def(py::init<uintptr_t, uintptr_t, int32_t, std::string, std::vector<std::vector<int64_t>>,
                    std::vector<py::dtype>, std::vector<std::vector<int64_t>>,
                    std::vector<std::vector<std::string>>, std::vector<std::string>>(),
           py::arg("invoke"), py::arg("last_error"), py::arg("index"), py::arg("name"),
           py::arg("input_dims"), py::arg("result_dtypes"), py::arg("result_shapes"),
           py::arg("result_dims"), py::arg("result_names"))
      .def("__call__", &LibraryCall::operator(), py::arg("arrays"), py::arg("sizes"));
  m.def("aot_compile", &aotCompile, py::arg("mlir"), py::arg("filename"),
        py::arg("output"), py::arg("header") = "", py::arg("emit") = "so",
        py::arg("cpu") = "host", py::arg("opt_level") = 3,
        py::arg("prefix") = "", py::arg("runtime_library") = "",
        py::arg("dump_dir") = "", py::arg("crash_reproducer") = "",
        py::arg("threads") = 0, py::arg("strategy") = "dequantize",
        py::arg("cuda_chip") = "");
  // The CUDA driver, as libraries compiled for CUDA use it (device memory
  // as integers; errors raise RuntimeError with the driver's message).
  m.def("cuda_available", [] {
    return tessera_rt_cuda_available() == TESSERA_OK
               ? std::string()
               : std::string(tessera_rt_last_error());
  });
  m.def("cuda_malloc", [](size_t bytes) {
    void *p = tessera_rt_cuda_malloc(bytes);
    if (!p)
      throw std::runtime_error(tessera_rt_last_error());
    return reinterpret_cast<uintptr_t>(p);
  });
  m.def("cuda_free", [](uintptr_t p) {
    tessera_rt_cuda_free(reinterpret_cast<void *>(p));
  });
  m.def("cuda_memcpy", [](uintptr_t dst, uintptr_t src, size_t bytes) {
    if (tessera_rt_cuda_memcpy(reinterpret_cast<void *>(dst),
                               reinterpret_cast<const void *>(src),
                               bytes) != TESSERA_OK)
      throw std::runtime_error(tessera_rt_last_error());
  });
  // The thread pool of JIT-compiled code (this extension's runtime).
  m.def("set_num_threads", &tessera_rt_set_num_threads, py::arg("threads"));
  m.def("num_threads", &tessera_rt_num_threads);
  m.def("c_header", &cHeader, py::arg("mlir"), py::arg("filename"),
        py::arg("prefix"), py::arg("cuda_chip") = "", py::arg("strategy") = "dequantize");
  m.def("pack", &pack, py::arg("codes"), py::arg("bits"),
        py::arg("tile") = std::vector<int64_t>(), py::arg("bit_planes") = false);
  m.def("unpack", &unpack, py::arg("packed"), py::arg("shape"), py::arg("bits"),
        py::arg("signed"), py::arg("tile") = std::vector<int64_t>(),
        py::arg("bit_planes") = false);
  m.def("float_table", [](int e, int mant) {
    std::vector<float> table = floatFormat(e, mant).decodeTable();
    return py::array_t<float>(py::ssize_t(table.size()), table.data());
  });
  m.def("float_encode", [](py::array_t<float, py::array::c_style | py::array::forcecast> x,
                           int e, int mant) {
    FloatFormat format = floatFormat(e, mant);
    py::array_t<int32_t> out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    for (py::ssize_t i = 0; i < x.size(); ++i)
      out.mutable_data()[i] = int32_t(format.encode(x.data()[i]));
    return out;
  });
  m.def("float_largest", [](int e, int mant) { return floatFormat(e, mant).getLargest(); });
}
