//===- AotCompiler.h - Ahead-of-time compilation to a library ----*- C++ -*-===//
//
// Compiles a module with the CPU pipeline into an object file and links it,
// with the Tessera runtime, into a shared library whose public functions are
// plain C functions (see docs/abi.md), plus a C header that declares them.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_TARGET_AOTCOMPILER_H
#define TESSERA_TARGET_AOTCOMPILER_H

#include "tessera/Target/Signature.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::tessera {

struct AotOptions {
  /// What to write to `outputPath`.
  enum class Emit { MLIR, LLVM, Object, SharedLibrary, PTX };
  Emit emit = Emit::SharedLibrary;
  std::string outputPath;
  /// The C header; none when empty.
  std::string headerPath;
  /// The input's name, for the header's first line.
  std::string sourceName = "a Tessera module";
  /// Where to keep every stage (input, lowered MLIR, LLVM IR, object).
  std::string dumpDir;
  /// "host" (this machine's CPU and features), or an LLVM CPU name such as
  /// "x86-64", "x86-64-v3", "skylake-avx512", "znver4".
  std::string cpu = "host";
  /// The GPU architecture ("sm_80", "sm_89", "sm_90a", ...) to compile for
  /// with the CUDA pipeline, its kernels embedded in the library as a
  /// fatbin; empty for the CPU pipeline. The host side is compiled for
  /// `cpu`. Emit::PTX writes the kernels' PTX instead.
  std::string cudaChip;
  unsigned optLevel = 3;
  /// Prefix of every exported symbol: <prefix>_<function>,
  /// <prefix>_last_error, <prefix>_abi_version. Defaults to the output's
  /// base name without "lib" and extension.
  std::string prefix;
  /// Where to write an MLIR reproducer if a pass fails or crashes.
  std::string crashReproducer;
  /// Threads for parallel loops (CpuPipelineOptions::threads): 1 serial
  /// code, 0 the runtime's count at each call, N at most N.
  int64_t threads = 0;
  /// CpuPipelineOptions::mpmmStrategy.
  std::string mpmmStrategy = "dequantize";
  /// CpuPipelineOptions::dequantizeLayouts.
  bool dequantizeLayouts = true;
  /// The runtime archive and the linker; found next to the tools if empty.
  std::string runtimeLibrary;
  std::string linker;
};

/// Compiles `module` (lowered in place). On failure, `error` holds the
/// diagnostics with their locations, or what the linker printed.
LogicalResult compileAot(ModuleOp module, const AotOptions &options,
                         std::string &error);

/// The C header of `signatures` for exported symbol prefix `prefix`;
/// `cudaChip` non-empty for a library of CUDA functions (device pointers).
std::string generateCHeader(ArrayRef<FunctionSignature> signatures,
                            StringRef prefix, StringRef source,
                            StringRef cudaChip = "");

/// The C type of a host element of `spec`, e.g. "float", "uint8_t".
std::string cElementType(const TensorSpec &spec);

} // namespace mlir::tessera

#endif // TESSERA_TARGET_AOTCOMPILER_H
