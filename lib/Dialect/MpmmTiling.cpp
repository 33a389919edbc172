//===- MpmmTiling.cpp - TilingInterface of tessera.mpmm -------------------===//
//
// tessera.mpmm as a tileable op: its iteration domain is (M, N), both
// parallel; K, the reduction, stays whole inside each tile. A tile of rows
// [m0, m0 + ms) and columns [n0, n0 + ns) is an mpmm of slices of its
// operands, so upstream tiling (scf::tileUsingSCF and the transform ops
// built on it) and producer/consumer fusion apply to it unchanged.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace mlir::tessera;

SmallVector<utils::IteratorType> MpmmOp::getLoopIteratorTypes() {
  return {utils::IteratorType::parallel, utils::IteratorType::parallel};
}

SmallVector<Range> MpmmOp::getIterationDomain(OpBuilder &b) {
  Location loc = getLoc();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult rows = tensor::getMixedSize(b, loc, getInit(), 0);
  OpFoldResult columns = b.getIndexAttr(getWeights().getType().getDimSize(0));
  return {Range{zero, rows, one}, Range{zero, columns, one}};
}

/// `value[rowOffset : rowSize, :]` (all of its columns).
static Value sliceRows(OpBuilder &b, Location loc, Value value,
                       OpFoldResult rowOffset, OpFoldResult rowSize) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult columns = tensor::getMixedSize(b, loc, value, 1);
  return tensor::ExtractSliceOp::create(b, loc, value, {rowOffset, zero},
                                        {rowSize, columns}, {one, one});
}

FailureOr<TilingResult>
MpmmOp::getTiledImplementation(OpBuilder &b, ArrayRef<OpFoldResult> offsets,
                               ArrayRef<OpFoldResult> sizes) {
  // The weights (and their scales and zero points) keep a static shape:
  // a tile of N of dynamic size (a tile size that does not divide N) is
  // not one. No diagnostic: fusion calls this to try one way among others
  // (tiling then reports that it failed to tile the op).
  if (!getConstantIntValue(sizes[1]))
    return failure();
  Location loc = getLoc();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult k = b.getIndexAttr(getWeights().getType().getDimSize(1));
  Value x = tensor::ExtractSliceOp::create(b, loc, getX(), {offsets[0], zero},
                                           {sizes[0], k}, {one, one});
  Value weights = sliceRows(b, loc, getWeights(), offsets[1], sizes[1]);
  Value scales = sliceRows(b, loc, getScales(), offsets[1], sizes[1]);
  Value zeros = getZeros() ? sliceRows(b, loc, getZeros(), offsets[1], sizes[1])
                           : Value();
  Value init = tensor::ExtractSliceOp::create(b, loc, getInit(), offsets, sizes,
                                              {one, one});
  SmallVector<Value> operands = {x, weights, scales};
  if (zeros)
    operands.push_back(zeros);
  if (getCodebook())
    operands.push_back(getCodebook());
  operands.push_back(init);
  // The same op (attributes, operand segments) on the slices.
  Operation *tiled = mlir::clone(b, getOperation(), {init.getType()}, operands);
  SmallVector<Operation *> sliceOps;
  for (Value v : {x, weights, scales, zeros, init})
    if (v)
      sliceOps.push_back(v.getDefiningOp());
  return TilingResult{{tiled}, {tiled->getResult(0)}, sliceOps};
}

LogicalResult MpmmOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  // The result is indexed by the iteration domain itself.
  resultOffsets.assign(offsets.begin(), offsets.end());
  resultSizes.assign(sizes.begin(), sizes.end());
  return success();
}

LogicalResult MpmmOp::getIterationDomainTileFromResultTile(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes,
    SmallVectorImpl<OpFoldResult> &iterDomainOffsets,
    SmallVectorImpl<OpFoldResult> &iterDomainSizes) {
  iterDomainOffsets.assign(offsets.begin(), offsets.end());
  iterDomainSizes.assign(sizes.begin(), sizes.end());
  return success();
}

FailureOr<TilingResult>
MpmmOp::generateResultTileValue(OpBuilder &b, unsigned resultNumber,
                                ArrayRef<OpFoldResult> offsets,
                                ArrayRef<OpFoldResult> sizes) {
  return getTiledImplementation(b, offsets, sizes);
}
