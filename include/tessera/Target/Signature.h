//===- Signature.h - Host-visible function signatures ------------*- C++ -*-===//
//
// The types of the public functions of a module as a host sees them: every
// argument and result a ranked tensor of a host dtype, low-bit tensors as
// their packed i8 storage. Shared by the JIT and ahead-of-time compilation.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_TARGET_SIGNATURE_H
#define TESSERA_TARGET_SIGNATURE_H

#include "tessera/Pipelines/Pipelines.h"
#include "tessera/Support/HostTensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace mlir::tessera {

/// The host-visible type of one argument or result. Dynamic dimensions are
/// ShapedType::kDynamic. `logicalType` is the type before packing (a low-bit
/// tensor for packed storage), for documentation.
struct TensorSpec {
  DType dtype;
  SmallVector<int64_t> shape;
  std::string name;
  RankedTensorType logicalType;
  /// Per dimension, the name of a dynamic size ("M") from the
  /// `tessera.dims` attribute, or "" when unnamed.
  std::vector<std::string> dimNames;
  /// Per dimension, a class number shared by the dimensions of the
  /// function's tensors that must have the same size (same name, or related
  /// by the body), or -1; numbered per function.
  std::vector<int> dimClasses;
  /// For low-bit storage in a layout other than the canonical one (weights
  /// of a LUT kernel), the layout as MLIR prints it and the public function
  /// of the module that converts canonical storage into it; else empty.
  std::string layout, prepackFunction;
  std::string toString() const;
};

struct FunctionSignature {
  std::string name;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> results;
};

/// The signatures as JSON: [{"name", "inputs": [{"name", "dtype", "shape"
/// (null for dynamic), "dims" (dimension names), "logical", "layout",
/// "prepack"}], "results"}].
std::string signaturesToJson(ArrayRef<FunctionSignature> signatures);

/// Runs the ABI passes (low-bit tensors packed at function boundaries) on
/// `module` and returns the signatures of its public functions. Names come
/// from `tessera.name` argument/result attributes, else `arg<i>` and
/// `result<i>`; dimension names from `tessera.dims` (an array of strings,
/// "" for an unnamed dimension). Fails, with a diagnostic, on a type a host cannot pass.
/// `options` decide the strategies and layouts that shape the ABI (pass
/// the options the module is then compiled with).
FailureOr<std::vector<FunctionSignature>>
lowerSignatures(ModuleOp module, const CpuPipelineOptions &options = {});

} // namespace mlir::tessera

#endif // TESSERA_TARGET_SIGNATURE_H
