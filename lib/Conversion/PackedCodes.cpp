//===- PackedCodes.cpp - IR that reads codes from packed storage ----------===//

#include "PackedCodes.h"

#include "tessera/Dialect/Tessera.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

Value mlir::tessera::emitReadPackedCode(OpBuilder &b, Location loc,
                                        Value storage, Value element,
                                        unsigned bits, bool isSigned) {
  Type i32 = b.getI32Type();
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  auto int32 = [&](int64_t v) {
    return arith::ConstantIntOp::create(b, loc, i32, v);
  };
  Value bitPos = arith::MulIOp::create(b, loc, element, index(bits));
  Value byteIdx = arith::ShRUIOp::create(b, loc, bitPos, index(3));
  Value shift = arith::IndexCastUIOp::create(
      b, loc, i32, arith::AndIOp::create(b, loc, bitPos, index(7)));
  auto loadByte = [&](Value at) -> Value {
    if (isa<BaseMemRefType>(storage.getType()))
      return memref::LoadOp::create(b, loc, storage, ValueRange{at});
    return tensor::ExtractOp::create(b, loc, storage, ValueRange{at});
  };
  Value word = arith::ExtUIOp::create(b, loc, i32, loadByte(byteIdx));
  if (8 % bits != 0) {
    // The code may straddle into the next byte.
    int64_t numBytes = cast<ShapedType>(storage.getType()).getDimSize(0);
    Value next = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, byteIdx, index(1)),
        index(numBytes - 1));
    Value hi = arith::ExtUIOp::create(b, loc, i32, loadByte(next));
    word = arith::OrIOp::create(b, loc, word,
                                arith::ShLIOp::create(b, loc, hi, int32(8)));
  }
  // Move the code's top bit to bit 31 and shift back: mask and sign
  // extension in one pair of shifts.
  Value code = arith::ShRUIOp::create(b, loc, word, shift);
  Value up = int32(32 - bits);
  code = arith::ShLIOp::create(b, loc, code, up);
  return isSigned ? Value(arith::ShRSIOp::create(b, loc, code, up))
                  : Value(arith::ShRUIOp::create(b, loc, code, up));
}

Value mlir::tessera::canonicalStorage(Value lowBit) {
  auto unpack = lowBit.getDefiningOp<UnpackOp>();
  if (!unpack || unpack.getLayout())
    return Value();
  return unpack.getStorage();
}

Value mlir::tessera::canonicalStorageOfRows(Value lowBit, OpFoldResult &firstRow) {
  firstRow = OpFoldResult(IntegerAttr::get(IndexType::get(lowBit.getContext()), 0));
  auto slice = lowBit.getDefiningOp<tensor::ExtractSliceOp>();
  if (!slice)
    return canonicalStorage(lowBit);
  auto sourceType = cast<RankedTensorType>(slice.getSourceType());
  if (sourceType.getRank() != 2 || slice.getResultType().getRank() != 2 ||
      !slice.hasUnitStride() || !isConstantIntValue(slice.getMixedOffsets()[1], 0) ||
      !isConstantIntValue(slice.getMixedSizes()[1], sourceType.getDimSize(1)))
    return Value();
  firstRow = slice.getMixedOffsets()[0];
  return canonicalStorage(slice.getSource());
}

Value mlir::tessera::bitPlaneStorage(Value lowBit, int64_t &tileRows, int64_t &tileCols) {
  auto unpack = lowBit.getDefiningOp<UnpackOp>();
  if (!unpack || !unpack.getLayout())
    return Value();
  LayoutAttr layout = *unpack.getLayout();
  ArrayRef<int64_t> tile = layout.getTile();
  if (!layout.getBitPlanes() || tile.size() != 2 || (tile[1] != 8 && tile[1] != 32) ||
      tile[0] % 8)
    return Value();
  tileRows = tile[0];
  tileCols = tile[1];
  return unpack.getStorage();
}

Value mlir::tessera::interleavedStorage(Value lowBit, int64_t groupSize, bool byteTiles,
                                        bool &bitPlanes, bool &bytes) {
  auto unpack = lowBit.getDefiningOp<UnpackOp>();
  if (!unpack || !unpack.getLayout())
    return Value();
  auto type = cast<RankedTensorType>(lowBit.getType());
  LayoutAttr layout = getDequantizeKernelLayout(type, groupSize, byteTiles);
  if (!layout || *unpack.getLayout() != layout)
    return Value();
  bitPlanes = layout.getBitPlanes();
  // Tiles of 16 x 4 at 5, 6 and 7 bits.
  unsigned bits = getLowBitWidth(type.getElementType());
  bytes = !bitPlanes && bits >= 5 && bits <= 7;
  return unpack.getStorage();
}

Value mlir::tessera::emitToF32(OpBuilder &b, Location loc, Value v) {
  Type f32 = b.getF32Type();
  if (auto vector = dyn_cast<VectorType>(v.getType()))
    f32 = vector.clone(f32);
  return v.getType() == f32 ? v : arith::ExtFOp::create(b, loc, f32, v);
}

tessera::WeightPrefetcher::WeightPrefetcher(OpBuilder &b, Location loc, Value storage,
                                            bool enabled) {
  auto type = cast<RankedTensorType>(storage.getType());
  if (!enabled || !type.hasStaticShape())
    return;
  buffer = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(type.getShape(), type.getElementType()), storage,
      /*read_only=*/true);
}

void tessera::WeightPrefetcher::emit(OpBuilder &b, Location loc, Value byte,
                                     int64_t distance) const {
  emitAt(b, loc, clampedBase(b, loc, byte, distance, 0), 0);
}

Value tessera::WeightPrefetcher::clampedBase(OpBuilder &b, Location loc, Value byte,
                                             int64_t distance, int64_t span) const {
  if (!buffer)
    return Value();
  // The storage holds at least `span` bytes past a prefetched tile's first.
  int64_t last = cast<MemRefType>(buffer.getType()).getNumElements() - 1;
  Value ahead =
      arith::AddIOp::create(b, loc, byte, arith::ConstantIndexOp::create(b, loc, distance));
  return arith::MinUIOp::create(
      b, loc, ahead, arith::ConstantIndexOp::create(b, loc, std::max<int64_t>(0, last - span)));
}

void tessera::WeightPrefetcher::emitAt(OpBuilder &b, Location loc, Value base,
                                       int64_t offset) const {
  if (!buffer || !base)
    return;
  Value at = offset ? Value(arith::AddIOp::create(b, loc, base,
                                                  arith::ConstantIndexOp::create(b, loc, offset)))
                    : base;
  memref::PrefetchOp::create(b, loc, buffer, ValueRange{at},
                             /*isWrite=*/false, /*localityHint=*/3, /*isDataCache=*/true);
}
