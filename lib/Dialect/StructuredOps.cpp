//===- StructuredOps.cpp - Monarch and block-sparse matmul ----------------===//
//
// Verifiers of tessera.monarch_mm and tessera.bsr_mm.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"

#include "OpVerification.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::tessera;

/// Checks the 2-D activations x (B x K) and init (B x N) of a structured
/// matmul: static K and N, agreeing B.
static LogicalResult verifyActivations(Operation *op, RankedTensorType xType,
                                       RankedTensorType initType) {
  if (xType.getRank() != 2)
    return op->emitOpError("expects x to be a 2-D tensor, got rank ") << xType.getRank();
  if (initType.getRank() != 2)
    return op->emitOpError("expects init to be a 2-D tensor, got rank ")
           << initType.getRank();
  if (ShapedType::isDynamic(xType.getDimSize(1)) ||
      ShapedType::isDynamic(initType.getDimSize(1)))
    return op->emitOpError("expects static columns of x and init, got ")
           << shapeStr(xType.getShape()) << " and " << shapeStr(initType.getShape());
  if (!dimsAgree(xType.getDimSize(0), initType.getDimSize(0)))
    return op->emitOpError("expects x and init to have the same rows, got ")
           << shapeStr(xType.getShape()) << " and " << shapeStr(initType.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// MonarchMmOp
//===----------------------------------------------------------------------===//

LogicalResult MonarchMmOp::verify() {
  RankedTensorType xType = getX().getType(), initType = getInit().getType();
  if (failed(verifyActivations(*this, xType, initType)))
    return failure();
  RankedTensorType w1Type = getW1().getType(), w2Type = getW2().getType();
  for (auto [name, type] : {std::pair{"w1", w1Type}, std::pair{"w2", w2Type}})
    if (type.getRank() != 3 || !type.hasStaticShape())
      return emitOpError("expects ") << name << " to be a 3-D tensor of static shape, got "
                                     << shapeStr(type.getShape());
  int64_t k = w1Type.getDimSize(0), q = w1Type.getDimSize(1), p = w1Type.getDimSize(2);
  int64_t l = w2Type.getDimSize(0), s = w2Type.getDimSize(1), r = w2Type.getDimSize(2);
  if (llvm::any_of(ArrayRef<int64_t>{k, q, p, l, s, r}, [](int64_t d) { return d == 0; }))
    return emitOpError("expects non-empty factors, got w1 ")
           << shapeStr(w1Type.getShape()) << " and w2 " << shapeStr(w2Type.getShape());
  if (k * q != l * r)
    return emitOpError("expects k * q = l * r for w1 (k x q x p) and w2 (l x s x r), got ")
           << k << " * " << q << " != " << l << " * " << r;
  if (xType.getDimSize(1) > k * p)
    return emitOpError("expects x to have at most k * p = ")
           << k * p << " columns, got " << xType.getDimSize(1);
  if (initType.getDimSize(1) > l * s)
    return emitOpError("expects init to have at most l * s = ")
           << l * s << " columns, got " << initType.getDimSize(1);
  return success();
}

//===----------------------------------------------------------------------===//
// BsrMmOp
//===----------------------------------------------------------------------===//

LogicalResult BsrMmOp::verify() {
  RankedTensorType xType = getX().getType(), initType = getInit().getType();
  if (failed(verifyActivations(*this, xType, initType)))
    return failure();
  RankedTensorType blocksType = getBlocks().getType();
  if (blocksType.getRank() != 3 || ShapedType::isDynamic(blocksType.getDimSize(1)) ||
      ShapedType::isDynamic(blocksType.getDimSize(2)) || blocksType.getDimSize(1) == 0 ||
      blocksType.getDimSize(2) == 0)
    return emitOpError("expects blocks of shape nnz x R x C with static R, C > 0, got ")
           << shapeStr(blocksType.getShape());
  int64_t rows = getBlockRows(), cols = getBlockColumns();
  int64_t n = initType.getDimSize(1), k = xType.getDimSize(1);
  if (n % rows || k % cols)
    return emitOpError("expects the block shape ")
           << rows << "x" << cols << " to divide the weights' shape " << n << "x" << k
           << " (N x K)";
  int64_t blockRows = n / rows, blockCols = k / cols;
  RankedTensorType indptrType = getIndptr().getType(), indicesType = getIndices().getType();
  if (indptrType.getDimSize(0) != blockRows + 1)
    return emitOpError("expects indptr of N/R + 1 = ")
           << blockRows + 1 << " entries, got " << dimStr(indptrType.getDimSize(0));
  int64_t nnz = indicesType.getDimSize(0);
  if (!dimsAgree(nnz, blocksType.getDimSize(0)))
    return emitOpError("expects one block per index, got ")
           << nnz << " indices and " << blocksType.getDimSize(0) << " blocks";

  // A constant pattern is checked here, once, instead of by the kernel.
  DenseIntElementsAttr indptr, indices;
  if (!matchPattern(getIndptr(), m_Constant(&indptr)))
    return success();
  SmallVector<int64_t> ptr = llvm::to_vector(
      llvm::map_range(indptr.getValues<APInt>(), [](APInt v) { return v.getSExtValue(); }));
  if (ptr.front() != 0)
    return emitOpError("expects indptr[0] = 0, got ") << ptr.front();
  for (int64_t i = 0; i < blockRows; ++i)
    if (ptr[i + 1] < ptr[i])
      return emitOpError("expects non-decreasing indptr, got indptr[")
             << i + 1 << "] = " << ptr[i + 1] << " < indptr[" << i << "] = " << ptr[i];
  if (!dimsAgree(nnz, ptr.back()) || !dimsAgree(blocksType.getDimSize(0), ptr.back()))
    return emitOpError("expects indptr[N/R] = nnz, got ")
           << ptr.back() << " for " << dimStr(nnz) << " indices and "
           << dimStr(blocksType.getDimSize(0)) << " blocks";
  if (!matchPattern(getIndices(), m_Constant(&indices)))
    return success();
  for (auto [p, v] : llvm::enumerate(indices.getValues<APInt>()))
    if (v.getSExtValue() < 0 || v.getSExtValue() >= blockCols)
      return emitOpError("expects block column indices in [0, K/C = ")
             << blockCols << "), got indices[" << p << "] = " << v.getSExtValue();
  return success();
}
