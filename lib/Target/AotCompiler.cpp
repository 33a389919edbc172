//===- AotCompiler.cpp - Ahead-of-time compilation to a library -----------===//
//
// module -> CPU pipeline -> LLVM IR + ABI glue -> optimized object -> ld.lld
// -shared with the runtime archive. The glue, per public function `f`:
//   - `_tessera_packed_f(void **)`: calls `f` with each expanded memref field
//     read through a pointer (the ExecutionEngine convention);
//   - a constant TesseraFunctionDesc describing every tensor at the boundary;
//   - `<prefix>_f(...)`: the exported C function; it gathers its parameters
//     into an array and calls the runtime's tessera_rt_call, which checks
//     them, calls the packed function and copies the results out.
//
//===----------------------------------------------------------------------===//

#include "tessera/Target/AotCompiler.h"
#include "tessera/Pipelines/Pipelines.h"
#include "tessera/Target/DiagnosticCapture.h"
#include "tessera/Runtime/Runtime.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#ifndef TESSERA_RUNTIME_LIBRARY
#define TESSERA_RUNTIME_LIBRARY ""
#endif

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Writes `text` to `path`.
LogicalResult writeFile(StringRef path, StringRef text, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    error += "cannot write '" + path.str() + "': " + ec.message() + "\n";
    return failure();
  }
  os << text;
  return success();
}

std::string defaultPrefix(StringRef output) {
  StringRef stem = llvm::sys::path::stem(output);
  stem.consume_front("lib");
  std::string prefix;
  for (char c : stem)
    prefix += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (prefix.empty() || std::isdigit(static_cast<unsigned char>(prefix[0])))
    prefix = "tessera_" + prefix;
  return prefix;
}

/// Finds a file next to the running tool (../lib or the same folder), else
/// returns `fallback`.
std::string findNextToTool(StringRef name, StringRef fallback) {
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, &anchor);
  StringRef dir = llvm::sys::path::parent_path(exe);
  for (StringRef rel : {"../lib", "."}) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, rel, name);
    if (llvm::sys::fs::exists(path))
      return std::string(path);
  }
  return fallback.str();
}

/// ExecutionEngine-style wrapper: void _tessera_packed_f(void **args).
llvm::Function *emitPackedWrapper(llvm::Module &m, llvm::Function *f) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  auto *type =
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy}, false);
  auto *wrapper =
      llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage,
                             "_tessera_packed_" + f->getName(), m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  llvm::Value *argList = wrapper->getArg(0);
  SmallVector<llvm::Value *> args;
  for (auto [i, arg] : llvm::enumerate(f->args())) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, argList, i);
    llvm::Value *argPtr = b.CreateLoad(ptrTy, slot);
    args.push_back(b.CreateLoad(arg.getType(), argPtr));
  }
  llvm::Value *result = b.CreateCall(f, args);
  if (!result->getType()->isVoidTy()) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, argList, f->arg_size());
    b.CreateStore(result, b.CreateLoad(ptrTy, slot));
  }
  b.CreateRetVoid();
  return wrapper;
}

llvm::Constant *cString(llvm::Module &m, StringRef s, const Twine &name) {
  auto *array = llvm::ConstantDataArray::getString(m.getContext(), s);
  auto *global = new llvm::GlobalVariable(m, array->getType(), true,
                                          llvm::GlobalValue::PrivateLinkage,
                                          array, name);
  global->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  return global;
}

/// The constant TesseraFunctionDesc of `sig` (layout of Runtime.h).
llvm::GlobalVariable *emitDescriptor(llvm::Module &m,
                                     const FunctionSignature &sig,
                                     llvm::Function *packed, bool cuda) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *i32 = llvm::Type::getInt32Ty(ctx);
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  auto *tensorTy =
      llvm::StructType::get(ctx, {i32, i32, ptrTy, ptrTy, ptrTy, ptrTy});
  auto *fnTy = llvm::StructType::get(ctx, {ptrTy, ptrTy, i32, i32, ptrTy, i32});
  std::string base = "_tessera_desc_" + sig.name;

  SmallVector<llvm::Constant *> tensors;
  unsigned index = 0;
  for (bool isResult : {false, true})
    for (const TensorSpec &spec : isResult ? sig.results : sig.inputs) {
      SmallVector<int64_t> dims;
      for (int64_t d : spec.shape)
        dims.push_back(ShapedType::isDynamic(d) ? -1 : d);
      auto *dimsInit = llvm::ConstantDataArray::get(ctx, ArrayRef(dims));
      auto *dimsGlobal = new llvm::GlobalVariable(
          m, dimsInit->getType(), true, llvm::GlobalValue::PrivateLinkage,
          dimsInit, base + "_dims" + Twine(index));
      SmallVector<int32_t> classes(spec.dimClasses.begin(),
                                   spec.dimClasses.end());
      classes.resize(spec.shape.size(), -1);
      auto *classesInit = llvm::ConstantDataArray::get(ctx, ArrayRef(classes));
      auto *classesGlobal = new llvm::GlobalVariable(
          m, classesInit->getType(), true, llvm::GlobalValue::PrivateLinkage,
          classesInit, base + "_classes" + Twine(index));
      std::string dtype = dtypeName(spec.dtype);
      Type logical = spec.logicalType.getElementType();
      if (logical != mlir::Type() && dtype == "i8" &&
          !logical.isInteger(8)) {
        std::string s;
        llvm::raw_string_ostream os(s);
        os << "bytes of packed " << logical << " codes";
        dtype = s;
      }
      tensors.push_back(llvm::ConstantStruct::get(
          tensorTy,
          {llvm::ConstantInt::get(i32, spec.shape.size()),
           llvm::ConstantInt::get(i32, dtypeSize(spec.dtype)), dimsGlobal,
           cString(m, spec.name, base + "_name" + Twine(index)),
           cString(m, dtype, base + "_dtype" + Twine(index)),
           classesGlobal}));
      ++index;
    }
  auto *tensorArrayTy = llvm::ArrayType::get(tensorTy, tensors.size());
  auto *tensorArray = new llvm::GlobalVariable(
      m, tensorArrayTy, true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantArray::get(tensorArrayTy, tensors), base + "_tensors");
  auto *desc = new llvm::GlobalVariable(
      m, fnTy, true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantStruct::get(
          fnTy, {cString(m, sig.name, base + "_fname"), packed,
                 llvm::ConstantInt::get(i32, sig.inputs.size()),
                 llvm::ConstantInt::get(i32, sig.results.size()), tensorArray,
                 llvm::ConstantInt::get(i32, cuda ? TESSERA_MEMORY_CUDA
                                                  : TESSERA_MEMORY_HOST)}),
      base);
  return desc;
}

/// int32_t <prefix>_<f>(ptr, dims..., ...): gathers its parameters into an
/// array and calls tessera_rt_call.
void emitEntryPoint(llvm::Module &m, const FunctionSignature &sig,
                    llvm::GlobalVariable *desc, StringRef prefix) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *i32 = llvm::Type::getInt32Ty(ctx);
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  SmallVector<llvm::Type *> params;
  for (bool isResult : {false, true})
    for (const TensorSpec &spec : isResult ? sig.results : sig.inputs) {
      params.push_back(ptrTy);
      for (int64_t d : spec.shape)
        if (ShapedType::isDynamic(d))
          params.push_back(i64);
    }
  auto *type = llvm::FunctionType::get(i32, params, false);
  auto *entry = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                                       prefix + "_" + sig.name, m);
  entry->setVisibility(llvm::GlobalValue::DefaultVisibility);
  llvm::FunctionCallee call = m.getOrInsertFunction(
      "tessera_rt_call", llvm::FunctionType::get(i32, {ptrTy, ptrTy}, false));
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
  auto *arrayTy = llvm::ArrayType::get(ptrTy, std::max<size_t>(1, params.size()));
  llvm::Value *array = b.CreateAlloca(arrayTy);
  for (auto [i, arg] : llvm::enumerate(entry->args())) {
    llvm::Value *v = &arg;
    if (v->getType() != ptrTy)
      v = b.CreateIntToPtr(v, ptrTy);
    b.CreateStore(v, b.CreateConstGEP2_64(arrayTy, array, 0, i));
  }
  b.CreateRet(b.CreateCall(call, {desc, array}));
}

/// What every library exports after its prefix (emitInvoke and
/// emitLibraryFunctions): no public function may take one of these names.
constexpr llvm::StringLiteral kLibrarySymbols[] = {
    "invoke", "last_error", "abi_version", "set_num_threads", "num_threads", "signature", "target"};

/// int32_t <prefix>_invoke(int32_t index, void **args): function `index`
/// (the order of the signature) with its parameters already gathered, for
/// loaders (tessera.load) that would otherwise build a C call per call.
void emitInvoke(llvm::Module &m, ArrayRef<llvm::GlobalVariable *> descs, StringRef prefix) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *i32 = llvm::Type::getInt32Ty(ctx);
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  auto *tableTy = llvm::ArrayType::get(ptrTy, descs.size());
  SmallVector<llvm::Constant *> entries(descs.begin(), descs.end());
  auto *table =
      new llvm::GlobalVariable(m, tableTy, /*isConstant=*/true, llvm::GlobalValue::InternalLinkage,
                               llvm::ConstantArray::get(tableTy, entries), "_tessera_functions");
  auto *invoke = llvm::Function::Create(llvm::FunctionType::get(i32, {i32, ptrTy}, false),
                                        llvm::GlobalValue::ExternalLinkage, prefix + "_invoke", m);
  llvm::FunctionCallee call = m.getOrInsertFunction(
      "tessera_rt_invoke", llvm::FunctionType::get(i32, {ptrTy, i32, i32, ptrTy}, false));
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", invoke));
  b.CreateRet(b.CreateCall(call, {table, llvm::ConstantInt::get(i32, descs.size()),
                                  invoke->getArg(0), invoke->getArg(1)}));
}

/// <prefix>_last_error, <prefix>_abi_version and <prefix>_signature (the
/// functions' signatures as JSON, for loaders such as tessera.load).
void emitLibraryFunctions(llvm::Module &m, StringRef prefix, int32_t version,
                          StringRef signatureJson, StringRef target) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *i32 = llvm::Type::getInt32Ty(ctx);
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  llvm::FunctionCallee lastError = m.getOrInsertFunction(
      "tessera_rt_last_error", llvm::FunctionType::get(ptrTy, {}, false));
  auto *errorFn = llvm::Function::Create(
      llvm::FunctionType::get(ptrTy, {}, false),
      llvm::GlobalValue::ExternalLinkage, prefix + "_last_error", m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", errorFn));
  b.CreateRet(b.CreateCall(lastError));
  auto *versionFn = llvm::Function::Create(
      llvm::FunctionType::get(i32, {}, false),
      llvm::GlobalValue::ExternalLinkage, prefix + "_abi_version", m);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", versionFn));
  b.CreateRet(llvm::ConstantInt::get(i32, version));
  // <prefix>_set_num_threads(int32_t) and <prefix>_num_threads(void).
  auto *voidTy = llvm::Type::getVoidTy(ctx);
  llvm::FunctionCallee setThreads = m.getOrInsertFunction(
      "tessera_rt_set_num_threads", llvm::FunctionType::get(voidTy, {i32}, false));
  auto *setFn = llvm::Function::Create(
      llvm::FunctionType::get(voidTy, {i32}, false),
      llvm::GlobalValue::ExternalLinkage, prefix + "_set_num_threads", m);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", setFn));
  b.CreateCall(setThreads, {setFn->getArg(0)});
  b.CreateRetVoid();
  llvm::FunctionCallee getThreads = m.getOrInsertFunction(
      "tessera_rt_num_threads", llvm::FunctionType::get(i32, {}, false));
  auto *getFn = llvm::Function::Create(
      llvm::FunctionType::get(i32, {}, false),
      llvm::GlobalValue::ExternalLinkage, prefix + "_num_threads", m);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", getFn));
  b.CreateRet(b.CreateCall(getThreads));
  auto *signatureFn = llvm::Function::Create(
      llvm::FunctionType::get(ptrTy, {}, false),
      llvm::GlobalValue::ExternalLinkage, prefix + "_signature", m);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", signatureFn));
  b.CreateRet(cString(m, signatureJson, "_tessera_signature"));
  // <prefix>_target(void): "cpu", or "cuda:<arch>" (device pointers).
  auto *targetFn = llvm::Function::Create(
      llvm::FunctionType::get(ptrTy, {}, false),
      llvm::GlobalValue::ExternalLinkage, prefix + "_target", m);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", targetFn));
  b.CreateRet(cString(m, target, "_tessera_target"));
}

/// The PTX of every kernel of `module` (after the CUDA pipeline with the
/// isa format), one after the other, each headed by its module's name.
LogicalResult writePtx(ModuleOp module, StringRef path, std::string &error) {
  std::string text;
  llvm::raw_string_ostream os(text);
  for (auto binary : module.getOps<gpu::BinaryOp>())
    for (Attribute attr : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(attr);
      if (object.getFormat() != gpu::CompilationTarget::Assembly)
        continue;
      os << "// ---- kernel module " << binary.getName() << "\n"
         << object.getObject().getValue() << "\n";
    }
  if (text.empty()) {
    error += "error: the module has no GPU kernels\n";
    return failure();
  }
  return writeFile(path, text, error);
}

} // namespace

LogicalResult mlir::tessera::compileAot(ModuleOp module,
                                        const AotOptions &options,
                                        std::string &error) {
  MLIRContext *ctx = module.getContext();
  llvm::raw_string_ostream errors(error);
  DiagnosticCapture capture(ctx, error);
  auto dump = [&](StringRef name, auto print) -> LogicalResult {
    if (options.dumpDir.empty())
      return success();
    llvm::sys::fs::create_directories(options.dumpDir);
    llvm::SmallString<256> path(options.dumpDir);
    llvm::sys::path::append(path, name);
    std::string text;
    llvm::raw_string_ostream os(text);
    print(os);
    return writeFile(path, text, error);
  };

  if (failed(dump("0-input.mlir", [&](llvm::raw_ostream &os) { os << module; })))
    return failure();
  if (!options.cudaChip.empty() && options.mpmmStrategy != "dequantize") {
    errors << "error: the CUDA target computes every mpmm by dequantizing "
              "(strategy '"
           << options.mpmmStrategy << "' is a CPU kernel)\n";
    return failure();
  }
  // Target machine: the host, or the named CPU.
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string targetError;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, targetError);
  if (!target) {
    errors << targetError << "\n";
    return failure();
  }
  std::string cpu = options.cpu, features;
  if (cpu == "host") {
    cpu = llvm::sys::getHostCPUName().str();
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") +
                  std::string(feature.second ? "+" : "-") +
                  feature.first().str();
  }
  auto codegenLevel = options.optLevel == 0   ? llvm::CodeGenOptLevel::None
                      : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                      : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                              : llvm::CodeGenOptLevel::Aggressive;
  // Constructors (the CUDA pipeline's module loading) in .init_array: the
  // .ctors section of the default is not run by today's loaders.
  llvm::TargetOptions targetOptions;
  targetOptions.UseInitArray = true;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_,
      std::nullopt, codegenLevel));
  if (!tm || !tm->getMCSubtargetInfo()->isCPUStringValid(cpu)) {
    errors << "error: unknown target CPU '" << options.cpu
           << "' (use host, or an LLVM CPU name such as x86-64, x86-64-v3, "
              "skylake-avx512)\n";
    return failure();
  }
  CpuPipelineOptions pipelineOptions;
  pipelineOptions.crashReproducer = options.crashReproducer;
  pipelineOptions.threads = options.threads;
  pipelineOptions.vectorRegisters =
      tm->getMCSubtargetInfo()->checkFeatures("+avx512vl") ? 32 : 16;
  pipelineOptions.mpmmStrategy = options.mpmmStrategy;
  pipelineOptions.dequantizeLayouts = options.dequantizeLayouts;
  pipelineOptions.lutLanes =
      tm->getMCSubtargetInfo()->checkFeatures("+avx512bw") ? 64
      : tm->getMCSubtargetInfo()->checkFeatures("+avx2")   ? 32
                                                           : 0;
  pipelineOptions.lutBytePermute =
      tm->getMCSubtargetInfo()->checkFeatures("+avx512vbmi,+avx512vnni");
  pipelineOptions.byteDots = tm->getMCSubtargetInfo()->checkFeatures("+avx512vnni");
  FailureOr<std::vector<FunctionSignature>> signatures = lowerSignatures(
      module, options.cudaChip.empty() ? pipelineOptions : getCudaAbiOptions());
  if (failed(signatures))
    return failure();
  std::string prefix = options.prefix.empty()
                           ? defaultPrefix(options.outputPath)
                           : options.prefix;
  // <prefix>_<function> must not be one of the library's own symbols.
  for (const FunctionSignature &sig : *signatures)
    if (llvm::is_contained(kLibrarySymbols, sig.name)) {
      errors << "error: function '" << sig.name << "' would export " << prefix << "_" << sig.name
             << ", a symbol every library defines (docs/abi.md); rename it\n";
      return failure();
    }

  if (!options.headerPath.empty() &&
      failed(writeFile(options.headerPath,
                       generateCHeader(*signatures, prefix,
                                       options.sourceName, options.cudaChip),
                       error)))
    return failure();

  if (options.cudaChip.empty()) {
    if (failed(runCpuPipeline(module, pipelineOptions, error)))
      return failure();
  } else {
    CudaPipelineOptions cudaOptions;
    cudaOptions.chip = options.cudaChip;
    cudaOptions.format = options.emit == AotOptions::Emit::PTX ? "isa" : "fatbin";
    cudaOptions.optLevel = options.optLevel;
    cudaOptions.crashReproducer = options.crashReproducer;
    if (failed(runCudaPipeline(module, cudaOptions, error)))
      return failure();
  }
  if (options.emit == AotOptions::Emit::PTX)
    return writePtx(module, options.outputPath, error);
  if (failed(dump("1-lowered.mlir", [&](llvm::raw_ostream &os) { os << module; })))
    return failure();
  if (options.emit == AotOptions::Emit::MLIR) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << module;
    return writeFile(options.outputPath, text, error);
  }

  // LLVM IR, with the ABI glue.
  registerBuiltinDialectTranslation(*ctx);
  registerLLVMDialectTranslation(*ctx);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "tessera");
  if (!llvmModule) {
    errors << "translation to LLVM IR failed\n";
    return failure();
  }
  // A fixed source name keeps paths out of the object (reproducible builds).
  llvmModule->setSourceFileName("tessera");
  for (llvm::Function &f : *llvmModule)
    if (!f.isDeclaration())
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  SmallVector<llvm::GlobalVariable *> descs;
  for (const FunctionSignature &sig : *signatures) {
    llvm::Function *f = llvmModule->getFunction(sig.name);
    if (!f) {
      errors << "internal error: no LLVM function for '" << sig.name << "'\n";
      return failure();
    }
    llvm::Function *packed = emitPackedWrapper(*llvmModule, f);
    descs.push_back(emitDescriptor(*llvmModule, sig, packed, !options.cudaChip.empty()));
    emitEntryPoint(*llvmModule, sig, descs.back(), prefix);
  }
  emitInvoke(*llvmModule, descs, prefix);
  emitLibraryFunctions(*llvmModule, prefix, TESSERA_ABI_VERSION,
                       signaturesToJson(*signatures),
                       options.cudaChip.empty() ? "cpu"
                                                : "cuda:" + options.cudaChip);
  if (llvm::verifyModule(*llvmModule, &errors))
    return failure();

  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(tm->createDataLayout());
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, tm.get());
  if (llvm::Error err = optimize(llvmModule.get())) {
    errors << "LLVM optimization failed: " << llvm::toString(std::move(err))
           << "\n";
    return failure();
  }
  if (failed(dump("2-module.ll",
                  [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); })))
    return failure();
  if (options.emit == AotOptions::Emit::LLVM) {
    std::string text;
    llvm::raw_string_ostream os(text);
    llvmModule->print(os, nullptr);
    return writeFile(options.outputPath, text, error);
  }

  // Object code.
  llvm::SmallString<256> objectPath;
  if (options.emit == AotOptions::Emit::Object) {
    objectPath = options.outputPath;
  } else if (!options.dumpDir.empty()) {
    llvm::sys::fs::create_directories(options.dumpDir);
    objectPath = options.dumpDir;
    llvm::sys::path::append(objectPath, "3-module.o");
  } else if (llvm::sys::fs::createTemporaryFile("tessera", "o", objectPath)) {
    errors << "cannot create a temporary object file\n";
    return failure();
  }
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(objectPath, ec);
    if (ec) {
      errors << "cannot write '" << objectPath << "': " << ec.message() << "\n";
      return failure();
    }
    llvm::legacy::PassManager codegen;
    if (tm->addPassesToEmitFile(codegen, os, nullptr,
                                llvm::CodeGenFileType::ObjectFile)) {
      errors << "the target cannot emit object files\n";
      return failure();
    }
    codegen.run(*llvmModule);
  }
  if (options.emit == AotOptions::Emit::Object)
    return success();

  // Link: the object, the runtime archive, libc and libm; nothing else.
  std::string runtime = options.runtimeLibrary.empty()
                            ? findNextToTool("libTesseraRuntime.a",
                                             TESSERA_RUNTIME_LIBRARY)
                            : options.runtimeLibrary;
  std::string linker = options.linker;
  if (linker.empty()) {
    auto found = llvm::sys::findProgramByName("ld.lld", {"/usr/lib/llvm-22/bin"});
    if (!found)
      found = llvm::sys::findProgramByName("ld.lld");
    if (!found) {
      errors << "cannot find ld.lld (install lld-22)\n";
      return failure();
    }
    linker = *found;
  }
  std::string soname =
      "-soname=" + llvm::sys::path::filename(options.outputPath).str();
  SmallVector<StringRef> argv = {linker,
                                 "-shared",
                                 "-o",
                                 options.outputPath,
                                 soname,
                                 "--build-id=none",
                                 "--hash-style=gnu",
                                 "-z",
                                 "now",
                                 "-z",
                                 "relro",
                                 "--no-undefined",
                                 "--as-needed",
                                 objectPath,
                                 runtime,
                                 "-L/lib/x86_64-linux-gnu",
                                 "-L/usr/lib/x86_64-linux-gnu",
                                 "-lm",
                                 "-lc"};
  // Builtins such as __extendhfsf2, linked in and not exported.
  if (llvm::sys::fs::exists(TESSERA_COMPILER_SUPPORT_LIBRARY)) {
    argv.push_back(TESSERA_COMPILER_SUPPORT_LIBRARY);
    argv.push_back("--exclude-libs=ALL");
  }
  llvm::SmallString<256> linkLog;
  llvm::sys::fs::createTemporaryFile("tessera-link", "log", linkLog);
  std::optional<StringRef> redirects[] = {std::nullopt, linkLog.str(),
                                          linkLog.str()};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(linker, argv, std::nullopt, redirects, 0,
                                     0, &execError);
  auto log = llvm::MemoryBuffer::getFile(linkLog);
  llvm::sys::fs::remove(linkLog);
  if (options.dumpDir.empty())
    llvm::sys::fs::remove(objectPath);
  if (rc != 0) {
    errors << "linking failed (" << linker << "): " << execError << "\n";
    if (log)
      errors << (*log)->getBuffer();
    return failure();
  }
  return success();
}
