//===- Passes.h - Tessera passes and pipelines -------------------*- C++ -*-===//

#ifndef TESSERA_PASSES_H
#define TESSERA_PASSES_H

#include "mlir/Pass/Pass.h"
#include "llvm/ADT/StringExtras.h"

#include <string>

namespace mlir {
namespace affine {
class AffineDialect;
} // namespace affine
namespace arith {
class ArithDialect;
} // namespace arith
namespace bufferization {
class BufferizationDialect;
} // namespace bufferization
namespace func {
class FuncDialect;
} // namespace func
namespace gpu {
class GPUDialect;
} // namespace gpu
namespace LLVM {
class LLVMDialect;
} // namespace LLVM
namespace linalg {
class LinalgDialect;
} // namespace linalg
namespace math {
class MathDialect;
} // namespace math
namespace memref {
class MemRefDialect;
} // namespace memref
namespace nvgpu {
class NVGPUDialect;
} // namespace nvgpu
namespace scf {
class SCFDialect;
} // namespace scf
namespace vector {
class VectorDialect;
} // namespace vector
namespace tensor {
class TensorDialect;
} // namespace tensor

namespace tessera {
class TesseraDialect;

/// The unit attribute that marks a function outlined from a parallel loop
/// (by tessera-outline-parallel-loops, for tessera-lower-parallel-calls).
inline constexpr llvm::StringLiteral kParallelBodyAttrName =
    "tessera.parallel_body";

/// The argument/result attribute that gives a low-bit tensor at a function
/// boundary a storage layout other than the canonical one (a
/// #tessera.layout), honoured by tessera-pack-function-boundaries.
inline constexpr llvm::StringLiteral kLayoutAttrName = "tessera.layout";

/// The name of the function that converts canonical storage of argument
/// `arg` of `func` into the layout its kernel reads (created by
/// tessera-assign-lut-layouts): `prepack_<func>_<arg>`, with every character
/// that cannot be in a C identifier replaced by `_`.
inline std::string prepackFunctionName(llvm::StringRef func, llvm::StringRef arg) {
  std::string name = ("prepack_" + func + "_" + arg).str();
  for (char &c : name)
    if (!llvm::isAlnum(c) && c != '_')
      c = '_';
  return name;
}

#define GEN_PASS_DECL
#include "tessera/Dialect/TesseraPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "tessera/Dialect/TesseraPasses.h.inc"

} // namespace tessera
} // namespace mlir

#endif // TESSERA_PASSES_H
