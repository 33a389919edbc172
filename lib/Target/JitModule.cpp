//===- JitModule.cpp - In-process compilation and calls -------------------===//

#include "tessera/Target/JitModule.h"
#include "tessera/Target/DiagnosticCapture.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "tessera/Runtime/Runtime.h"
#include "llvm/ExecutionEngine/Orc/Core.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/TargetSelect.h"

#include <cstdlib>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::tessera;
using mlir::tessera::DType;
using mlir::tessera::HostTensor;
using mlir::tessera::TensorView;

JitModule::~JitModule() = default;

FailureOr<std::unique_ptr<JitModule>>
JitModule::compile(ModuleOp module, const CpuPipelineOptions &options,
                   std::string &error) {
  MLIRContext *ctx = module.getContext();
  llvm::raw_string_ostream errors(error);
  DiagnosticCapture capture(ctx, error);

  std::unique_ptr<JitModule> jit(new JitModule());

  // Fix the ABI first so that the signatures are the host-visible ones.
  FailureOr<std::vector<FunctionSignature>> signatures =
      lowerSignatures(module, options);
  if (failed(signatures))
    return failure();
  jit->functionList = std::move(*signatures);

  if (failed(runCpuPipeline(module, options, error)))
    return failure();

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  registerBuiltinDialectTranslation(*ctx);
  registerLLVMDialectTranslation(*ctx);

  auto transformer = makeOptimizingTransformer(3, 0, nullptr);
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine) {
    errors << "JIT compilation failed: " << llvm::toString(engine.takeError())
           << "\n";
    return failure();
  }
  jit->engine = std::move(*engine);
  // Runtime functions compiled code may call (as a library would link them).
  jit->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    symbols[interner("memrefCopy")] = {
        llvm::orc::ExecutorAddr::fromPtr(&memrefCopy),
        llvm::JITSymbolFlags::Exported};
    symbols[interner("_mlir_memref_to_llvm_alloc")] = {
        llvm::orc::ExecutorAddr::fromPtr(&_mlir_memref_to_llvm_alloc),
        llvm::JITSymbolFlags::Exported};
    symbols[interner("_mlir_memref_to_llvm_free")] = {
        llvm::orc::ExecutorAddr::fromPtr(&_mlir_memref_to_llvm_free),
        llvm::JITSymbolFlags::Exported};
    symbols[interner("tessera_rt_parallel_for")] = {
        llvm::orc::ExecutorAddr::fromPtr(&tessera_rt_parallel_for),
        llvm::JITSymbolFlags::Exported};
    return symbols;
  });
  // Look every entry point up now: this materializes the code, so that
  // compile time is spent here and not in the first call.
  for (const FunctionSignature &sig : jit->functionList) {
    auto entryPoint = jit->engine->lookupPacked(sig.name);
    if (!entryPoint) {
      errors << "JIT compilation of '" << sig.name
             << "' failed: " << llvm::toString(entryPoint.takeError()) << "\n";
      return failure();
    }
    jit->entryPoints.push_back(*entryPoint);
  }
  return jit;
}

const FunctionSignature *JitModule::lookup(StringRef name) const {
  for (const FunctionSignature &sig : functionList)
    if (sig.name == name)
      return &sig;
  return nullptr;
}

/// Whether a host tensor of `dtype` may be passed where `expected` is.
/// Packed low-bit storage is bytes, so u8 arrays pass for i8.
static bool dtypeAccepts(DType expected, DType dtype) {
  return expected == dtype || (expected == DType::I8 && dtype == DType::U8);
}

LogicalResult JitModule::invoke(StringRef name,
                                ArrayRef<TensorView> inputs,
                                std::vector<HostTensor> &results,
                                std::string &error) {
  results.clear();
  return invoke(
      name, inputs,
      [&](DType dtype, ArrayRef<int64_t> shape) -> void * {
        results.emplace_back(dtype, std::vector<int64_t>(shape.begin(), shape.end()));
        return results.back().data.data();
      },
      error);
}

LogicalResult JitModule::invoke(StringRef name, ArrayRef<TensorView> inputs,
                                ResultBuffer resultBuffer, std::string &error) {
  const FunctionSignature *sig = lookup(name);
  if (!sig) {
    error = "no public function named '" + name.str() + "'";
    return failure();
  }
  if (inputs.size() != sig->inputs.size()) {
    error = "'" + sig->name + "' takes " + std::to_string(sig->inputs.size()) +
            " arguments, got " + std::to_string(inputs.size());
    return failure();
  }

  // Each memref argument is passed expanded: allocated and aligned pointers,
  // offset, sizes, strides. `scalars` holds them; `packed` points at them.
  size_t numScalars = 0;
  for (const TensorSpec &spec : sig->inputs)
    numScalars += 3 + 2 * spec.shape.size();
  std::vector<int64_t> scalars;
  scalars.reserve(numScalars);
  std::vector<void *> packed;
  for (auto [i, spec] : llvm::enumerate(sig->inputs)) {
    const TensorView &t = inputs[i];
    std::string argName =
        "argument '" + spec.name + "' (" + std::to_string(i) + ")";
    if (!dtypeAccepts(spec.dtype, t.dtype)) {
      error = argName + " of '" + sig->name + "': expected dtype " +
              mlir::tessera::dtypeName(spec.dtype) + ", got " +
              mlir::tessera::dtypeName(t.dtype);
      return failure();
    }
    bool shapeOk = t.shape.size() == spec.shape.size();
    for (size_t d = 0; shapeOk && d < t.shape.size(); ++d)
      shapeOk = t.shape[d] >= 0 && (ShapedType::isDynamic(spec.shape[d]) ||
                                    spec.shape[d] == t.shape[d]);
    if (!shapeOk) {
      error = argName + " of '" + sig->name + "': expected shape " +
              spec.toString() + ", got " + mlir::tessera::typeString(t.shape, t.dtype);
      return failure();
    }
    auto push = [&](int64_t v) {
      scalars.push_back(v);
      packed.push_back(&scalars.back());
    };
    int64_t ptr = int64_t(reinterpret_cast<intptr_t>(t.data));
    push(ptr); // allocated
    push(ptr); // aligned
    push(0);   // offset
    for (int64_t d : t.shape)
      push(d);
    int64_t stride = 1;
    std::vector<int64_t> strides(t.shape.size());
    for (size_t d = t.shape.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= t.shape[d];
    }
    for (int64_t s : strides)
      push(s);
  }

  // Sizes the function needs equal (the results' are what it computes).
  std::map<int, std::pair<size_t, size_t>> firstOfClass;
  for (auto [i, spec] : llvm::enumerate(sig->inputs))
    for (auto [d, c] : llvm::enumerate(spec.dimClasses)) {
      if (c < 0)
        continue;
      auto [it, inserted] = firstOfClass.try_emplace(c, i, d);
      auto [j, e] = it->second;
      if (inserted || inputs[i].shape[d] == inputs[j].shape[e])
        continue;
      error = "argument '" + spec.name + "' (" + std::to_string(i) + ") of '" +
              sig->name + "': dimension " + std::to_string(d) + " is " +
              std::to_string(inputs[i].shape[d]) +
              ", but it must equal dimension " + std::to_string(e) +
              " of argument '" + sig->inputs[j].name + "', which is " +
              std::to_string(inputs[j].shape[e]);
      return failure();
    }

  // Results come back as descriptors the callee allocated.
  size_t resultWords = 0;
  for (const TensorSpec &spec : sig->results)
    resultWords += 3 + 2 * spec.shape.size();
  std::vector<int64_t> resultStorage(resultWords + 1);
  if (!sig->results.empty())
    packed.push_back(resultStorage.data());

  entryPoints[sig - functionList.data()](packed.data());

  std::set<void *> freed;
  std::set<const void *> inputBuffers;
  for (const TensorView &t : inputs)
    inputBuffers.insert(t.data);
  const int64_t *desc = resultStorage.data();
  bool buffersOk = true;
  for (const TensorSpec &spec : sig->results) {
    size_t rank = spec.shape.size();
    auto *allocated = reinterpret_cast<uint8_t *>(desc[0]);
    std::vector<int64_t> shape(desc + 3, desc + 3 + rank);
    void *out = buffersOk ? resultBuffer(spec.dtype, shape) : nullptr;
    buffersOk = out != nullptr;
    if (out) {
      // Into the dense row-major buffer, by the runtime's strided copy
      // (whole contiguous runs at a time).
      std::vector<int64_t> dense(3 + 2 * rank);
      dense[0] = dense[1] = static_cast<int64_t>(reinterpret_cast<uintptr_t>(out));
      int64_t stride = 1;
      for (size_t d = rank; d-- > 0;) {
        dense[3 + d] = shape[d];
        dense[3 + rank + d] = stride;
        stride *= shape[d];
      }
      TesseraUnrankedMemRef source{static_cast<int64_t>(rank), const_cast<int64_t *>(desc)};
      TesseraUnrankedMemRef destination{static_cast<int64_t>(rank), dense.data()};
      memrefCopy(static_cast<int64_t>(mlir::tessera::dtypeSize(spec.dtype)), &source,
                 &destination);
    }
    // Globals are returned with the marker 0xdeadbeef as their allocation.
    bool isGlobal = reinterpret_cast<uintptr_t>(allocated) == 0xdeadbeef;
    if (allocated && !isGlobal && !inputBuffers.count(allocated) &&
        freed.insert(allocated).second)
      _mlir_memref_to_llvm_free(allocated);
    desc += 3 + 2 * rank;
  }
  if (!buffersOk) {
    error = "no buffer for a result of '" + sig->name + "'";
    return failure();
  }
  return success();
}
