//===- StructuredToLinalg.h - Reference lowering of structured matmuls ---===//
//
// Private to lib/Conversion: the patterns of tessera-lower-to-linalg for
// tessera.monarch_mm and tessera.bsr_mm.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_CONVERSION_STRUCTUREDTOLINALG_H
#define TESSERA_LIB_CONVERSION_STRUCTUREDTOLINALG_H

namespace mlir {
class RewritePatternSet;
namespace tessera {

/// monarch_mm as two linalg.generic contractions on reshaped views (the
/// permutation folded into their indexing maps); bsr_mm as loops over block
/// rows and stored blocks, each block a linalg.generic on slices.
void populateStructuredToLinalgPatterns(RewritePatternSet &patterns);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_LIB_CONVERSION_STRUCTUREDTOLINALG_H
