//===- Signature.cpp - Host-visible function signatures -------------------===//

#include "tessera/Target/Signature.h"
#include "DimensionClasses.h"
#include "tessera/Dialect/Tessera.h"
#include "tessera/Pipelines/Pipelines.h"
#include "tessera/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace mlir::tessera;

std::string TensorSpec::toString() const {
  std::string s;
  for (int64_t d : shape)
    s += (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d)) +
         "x";
  return s + dtypeName(dtype);
}

static FailureOr<DType> toDType(Type type) {
  if (type.isF64())
    return DType::F64;
  if (type.isF32())
    return DType::F32;
  if (type.isF16())
    return DType::F16;
  if (type.isBF16())
    return DType::BF16;
  if (auto intType = dyn_cast<IntegerType>(type)) {
    switch (intType.getWidth()) {
    case 64:
      return DType::I64;
    case 32:
      return DType::I32;
    case 16:
      return DType::I16;
    case 8:
      return DType::I8;
    case 1:
      return DType::Bool;
    }
  }
  return failure();
}

static std::string nameOf(DictionaryAttr attrs, const char *fallback,
                          unsigned index) {
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("tessera.name"))
      return name.str();
  return fallback + std::to_string(index);
}

static std::vector<std::string> dimNamesOf(DictionaryAttr attrs, size_t rank) {
  std::vector<std::string> names(rank);
  if (!attrs)
    return names;
  if (auto dims = attrs.getAs<ArrayAttr>("tessera.dims"))
    for (auto [i, d] : llvm::enumerate(dims))
      if (auto s = dyn_cast<StringAttr>(d); s && i < rank)
        names[i] = s.str();
  return names;
}

std::string mlir::tessera::signaturesToJson(ArrayRef<FunctionSignature> sigs) {
  std::string out;
  llvm::raw_string_ostream os(out);
  auto quoted = [&](StringRef s) {
    os << '"';
    for (char c : s) {
      if (c == '"' || c == '\\')
        os << '\\';
      os << c;
    }
    os << '"';
  };
  auto tensors = [&](const std::vector<TensorSpec> &specs) {
    os << "[";
    for (auto [i, spec] : llvm::enumerate(specs)) {
      os << (i ? ", " : "") << "{\"name\": ";
      quoted(spec.name);
      os << ", \"dtype\": \"" << dtypeName(spec.dtype) << "\", \"shape\": [";
      for (auto [d, size] : llvm::enumerate(spec.shape))
        os << (d ? ", " : "")
           << (ShapedType::isDynamic(size) ? std::string("null")
                                           : std::to_string(size));
      os << "], \"dims\": [";
      for (auto [d, name] : llvm::enumerate(spec.dimNames)) {
        os << (d ? ", " : "");
        quoted(name);
      }
      os << "], \"logical\": ";
      std::string logical;
      llvm::raw_string_ostream ls(logical);
      ls << spec.logicalType;
      quoted(logical);
      os << ", \"layout\": ";
      quoted(spec.layout);
      os << ", \"prepack\": ";
      quoted(spec.prepackFunction);
      os << "}";
    }
    os << "]";
  };
  os << "[";
  for (auto [i, sig] : llvm::enumerate(sigs)) {
    os << (i ? ", " : "") << "{\"name\": ";
    quoted(sig.name);
    os << ", \"inputs\": ";
    tensors(sig.inputs);
    os << ", \"results\": ";
    tensors(sig.results);
    os << "}";
  }
  os << "]";
  return out;
}

FailureOr<std::vector<FunctionSignature>>
mlir::tessera::lowerSignatures(ModuleOp module,
                               const CpuPipelineOptions &options) {
  // Strategies and layouts (which may add prepack functions), then the
  // logical types, before packing, for documentation.
  PassManager layouts(module.getContext());
  buildAbiPipeline(layouts, options, /*packBoundaries=*/false);
  if (failed(layouts.run(module)))
    return failure();
  llvm::StringMap<FunctionType> logical;
  for (auto func : module.getOps<func::FuncOp>())
    logical[func.getName()] = func.getFunctionType();

  PassManager abi(module.getContext());
  abi.addPass(createTesseraPackFunctionBoundaries());
  if (failed(abi.run(module)))
    return failure();

  std::vector<FunctionSignature> signatures;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || !func.isPublic())
      continue;
    FunctionSignature sig;
    sig.name = func.getName().str();
    FunctionType type = func.getFunctionType();
    FunctionType before = logical[func.getName()];
    for (bool isResult : {false, true}) {
      ArrayRef<Type> types = isResult ? type.getResults() : type.getInputs();
      for (auto [i, t] : llvm::enumerate(types)) {
        auto tensorType = dyn_cast<RankedTensorType>(t);
        FailureOr<DType> dtype =
            tensorType ? toDType(tensorType.getElementType())
                       : FailureOr<DType>(failure());
        if (failed(dtype)) {
          func.emitError("function '")
              << sig.name << "' has a " << t
              << " at its boundary; compiled functions take and return "
                 "ranked tensors of f64/f32/f16/bf16/i64/i32/i16/i8/i1 or "
                 "low-bit codes";
          return failure();
        }
        Type logicalType = isResult ? before.getResult(i) : before.getInput(i);
        DictionaryAttr attrs =
            isResult ? func.getResultAttrDict(i) : func.getArgAttrDict(i);
        TensorSpec spec{*dtype, llvm::to_vector(tensorType.getShape()),
                        nameOf(attrs, isResult ? "result" : "arg", i),
                        cast<RankedTensorType>(logicalType),
                        dimNamesOf(attrs, size_t(tensorType.getRank()))};
        if (auto layout = attrs ? attrs.getAs<LayoutAttr>(kLayoutAttrName) : LayoutAttr()) {
          llvm::raw_string_ostream ls(spec.layout);
          ls << layout;
          if (!isResult)
            spec.prepackFunction = prepackFunctionName(sig.name, spec.name);
        }
        (isResult ? sig.results : sig.inputs).push_back(std::move(spec));
      }
    }
    assignDimensionClasses(func, sig);
    signatures.push_back(std::move(sig));
    // The names have been read; LLVM translation does not know them.
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      for (StringRef attr : {"tessera.name", "tessera.dims", "tessera.layout"})
        func.removeArgAttr(i, attr);
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
      for (StringRef attr : {"tessera.name", "tessera.dims", "tessera.layout"})
        func.removeResultAttr(i, StringAttr::get(module.getContext(), attr));
  }
  return signatures;
}
