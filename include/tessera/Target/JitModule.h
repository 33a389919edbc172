//===- JitModule.h - In-process compilation and calls ------------*- C++ -*-===//
//
// Compiles a module with the CPU pipeline into an ExecutionEngine and calls
// its public functions on host tensors, checking every argument's dtype and
// shape against the function's signature first. Used by tessera-run, the
// tests and the Python bindings.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_TARGET_JITMODULE_H
#define TESSERA_TARGET_JITMODULE_H

#include "tessera/Pipelines/Pipelines.h"
#include "tessera/Support/HostTensor.h"
#include "tessera/Target/Signature.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;

namespace tessera {

class JitModule {
public:
  ~JitModule();

  /// Lowers `module` in place with the CPU pipeline and JIT-compiles it. On
  /// failure, `error` holds the diagnostics with their locations.
  static FailureOr<std::unique_ptr<JitModule>>
  compile(ModuleOp module, const CpuPipelineOptions &options,
          std::string &error);

  /// The signature of public function `name`, or null.
  const FunctionSignature *lookup(StringRef name) const;
  ArrayRef<FunctionSignature> functions() const { return functionList; }

  /// Calls `name` on `inputs` (read in place, never written). Checks their
  /// number, dtypes and shapes; on a mismatch returns failure with an
  /// `error` that names the argument.
  LogicalResult invoke(StringRef name, ArrayRef<TensorView> inputs,
                       std::vector<HostTensor> &results,
                       std::string &error);

  /// Where a result goes: a dense row-major buffer for a result of `dtype`
  /// and `shape`, which invoke copies the result into (null: an error).
  using ResultBuffer = llvm::function_ref<void *(DType dtype, ArrayRef<int64_t> shape)>;

  /// As above, each result copied once, into the buffer `resultBuffer`
  /// gives for it.
  LogicalResult invoke(StringRef name, ArrayRef<TensorView> inputs,
                       ResultBuffer resultBuffer, std::string &error);

private:
  JitModule() = default;
  std::unique_ptr<ExecutionEngine> engine;
  std::vector<FunctionSignature> functionList;
  /// The packed entry point of each function of functionList, in order.
  std::vector<void (*)(void **)> entryPoints;
};

} // namespace tessera
} // namespace mlir

#endif // TESSERA_TARGET_JITMODULE_H
