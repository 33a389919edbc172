//===- Passes.h - Tessera passes and pipelines -------------------*- C++ -*-===//

#ifndef TESSERA_PASSES_H
#define TESSERA_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace arith {
class ArithDialect;
} // namespace arith
namespace bufferization {
class BufferizationDialect;
} // namespace bufferization
namespace func {
class FuncDialect;
} // namespace func
namespace LLVM {
class LLVMDialect;
} // namespace LLVM
namespace linalg {
class LinalgDialect;
} // namespace linalg
namespace math {
class MathDialect;
} // namespace math
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

#define GEN_PASS_DECL
#include "tessera/Dialect/TesseraPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "tessera/Dialect/TesseraPasses.h.inc"

} // namespace tessera
} // namespace mlir

#endif // TESSERA_PASSES_H
