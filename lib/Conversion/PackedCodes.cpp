//===- PackedCodes.cpp - IR that reads codes from packed storage ----------===//

#include "PackedCodes.h"

#include "tessera/Dialect/Tessera.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/Sequence.h"

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

Value mlir::tessera::groupTermsStorage(Value terms, int64_t &span) {
  auto type = cast<RankedTensorType>(terms.getType());
  LayoutAttr layout = getGroupTermsKernelLayout(type);
  if (!layout)
    return Value();
  int64_t tileRows = layout.getTile()[0];
  Value storage;
  if (auto unpack = terms.getDefiningOp<UnpackOp>()) {
    if (unpack.getLayout() == layout)
      storage = unpack.getStorage();
  } else if (auto unpack = terms.getDefiningOp<linalg::UnPackOp>()) {
    if (unpack.getInnerDimsPos() == ArrayRef<int64_t>{0} &&
        unpack.getStaticInnerTiles() == ArrayRef<int64_t>{tileRows} &&
        unpack.getOuterDimsPerm().empty())
      storage = unpack.getSource();
  }
  if (storage)
    span = tileRows;
  return storage;
}

FailureOr<mlir::tessera::GroupTermsInSpans> mlir::tessera::getGroupTermsInSpans(Value scales,
                                                                                Value zeros) {
  GroupTermsInSpans spans;
  spans.scaleTiles = groupTermsStorage(scales, spans.span);
  if (!zeros)
    return spans;
  int64_t zeroSpan = 0;
  Value zeroTerms = groupTermsStorage(zeros, zeroSpan);
  if (zeroSpan != spans.span)
    return failure();
  if (isLowBitType(cast<ShapedType>(zeros.getType()).getElementType()))
    spans.zeroStorage = zeroTerms;
  else
    spans.offsetTiles = zeroTerms;
  return spans;
}

SmallVector<Value> mlir::tessera::emitSpanTileIndices(OpBuilder &b, Location loc, Value n, Value g,
                                                      int64_t span) {
  Value s = arith::ConstantIndexOp::create(b, loc, span);
  return {arith::DivUIOp::create(b, loc, n, s), g, arith::RemUIOp::create(b, loc, n, s)};
}

Value mlir::tessera::emitSpanElementIndex(OpBuilder &b, Location loc, Value n, Value g,
                                          int64_t numGroups, int64_t span) {
  auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  SmallVector<Value> at = emitSpanTileIndices(b, loc, n, g, span);
  Value tileGroup =
      arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, at[0], index(numGroups)), g);
  return arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, tileGroup, index(span)),
                               at[2]);
}

Value mlir::tessera::emitReadSpanTerms(OpBuilder &b, Location loc, Value tiles, Value n, Value g,
                                       int64_t lanes) {
  Type element = cast<ShapedType>(tiles.getType()).getElementType();
  auto tileType = cast<ShapedType>(tiles.getType());
  bool inBounds[] = {true};
  return emitToF32(
      b, loc,
      vector::TransferReadOp::create(
          b, loc, VectorType::get({lanes}, element), tiles,
          emitSpanTileIndices(b, loc, n, g, tileType.getDimSize(tileType.getRank() - 1)),
          arith::ConstantOp::create(b, loc, b.getZeroAttr(element)), ArrayRef<bool>(inBounds)));
}

Value mlir::tessera::emitReadSpanZeroPoints(OpBuilder &b, Location loc, Value storage, Value n,
                                            Value g, int64_t numGroups, int64_t span, int64_t lanes,
                                            unsigned bits, bool isSigned) {
  auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  Type i32 = b.getI32Type();
  auto type = VectorType::get({lanes}, i32);
  auto firstBit = [&](Value column) -> Value {
    return arith::MulIOp::create(b, loc, emitSpanElementIndex(b, loc, column, g, numGroups, span),
                                 index(bits));
  };
  int64_t runBytes = lanes * bits / 8;
  if (runBytes == 1 || runBytes == 2 || runBytes == 4) {
    // Zero point l in bits [l b, (l + 1) b) of the word: moved to the top
    // of lane l, then down (arithmetically where signed).
    Value byte = arith::DivUIOp::create(b, loc, firstBit(n), index(8));
    Value word = emitReadBytesAsWord(b, loc, storage, byte, runBytes);
    if (runBytes < 4)
      word = arith::ExtUIOp::create(b, loc, i32, word);
    SmallVector<int32_t> ups;
    for (int64_t l = 0; l < lanes; ++l)
      ups.push_back(int32_t(32 - bits * (l + 1)));
    Value up = arith::ShLIOp::create(
        b, loc, vector::BroadcastOp::create(b, loc, type, word),
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, ArrayRef<int32_t>(ups))));
    Value down = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, b.getI32IntegerAttr(int32_t(32 - bits))));
    return isSigned ? Value(arith::ShRSIOp::create(b, loc, up, down))
                    : Value(arith::ShRUIOp::create(b, loc, up, down));
  }
  Value z;
  for (int64_t r = 0; r < lanes; r += 8) {
    Value first = r ? Value(arith::AddIOp::create(b, loc, n, index(r))) : n;
    Value run = emitReadCodeRun8(b, loc, storage, firstBit(first), bits, isSigned,
                                 /*onByte=*/true);
    if (lanes == 8)
      return run;
    if (!z)
      z = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, b.getI32IntegerAttr(0)));
    z = vector::InsertStridedSliceOp::create(b, loc, run, z, ArrayRef<int64_t>{r},
                                             ArrayRef<int64_t>{1});
  }
  return z;
}

Value mlir::tessera::emitReadBytesAsWord(OpBuilder &b, Location loc, Value storage, Value byte,
                                         int64_t bytes) {
  Type i8 = b.getI8Type();
  bool inBounds[] = {true};
  Value read = vector::TransferReadOp::create(
      b, loc, VectorType::get({bytes}, i8), storage, ValueRange{byte},
      arith::ConstantIntOp::create(b, loc, i8, 0), ArrayRef<bool>(inBounds));
  return vector::ExtractOp::create(
      b, loc,
      vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getIntegerType(8 * bytes)), read),
      ArrayRef<int64_t>{0});
}

Value mlir::tessera::emitReadCodeRunWord(OpBuilder &b, Location loc, Value storage, Value firstBit,
                                         unsigned bits, bool onByte) {
  assert(bits < 8 && "a run of 8-bit codes is 8 bytes");
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Type wordType = bits <= 4 ? i32 : i64;
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  Value byte = arith::ShRUIOp::create(b, loc, firstBit, index(3));
  if (onByte) {
    Value read = emitReadBytesAsWord(b, loc, storage, byte, bits);
    return read.getType() == wordType ? read : arith::ExtUIOp::create(b, loc, wordType, read);
  }
  // b + 1 bytes from its first hold the run wherever it starts.
  Value shift =
      arith::IndexCastUIOp::create(b, loc, i64, arith::AndIOp::create(b, loc, firstBit, index(7)));
  Value read = emitReadBytesAsWord(b, loc, storage, byte, bits + 1);
  if (bits < 7)
    read = arith::ExtUIOp::create(b, loc, i64, read);
  Value word = arith::ShRUIOp::create(b, loc, read, shift);
  return wordType == i32 ? Value(arith::TruncIOp::create(b, loc, i32, word)) : word;
}

Value mlir::tessera::emitReadCodeRun8(OpBuilder &b, Location loc, Value storage, Value firstBit,
                                      unsigned bits, bool isSigned, bool onByte) {
  constexpr int64_t kRun = 8;
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto runI32 = VectorType::get({kRun}, i32);
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  auto lanes = [&](Type element, function_ref<int64_t(int64_t)> value) -> Value {
    auto type = VectorType::get({kRun}, element);
    SmallVector<Attribute> values;
    for (int64_t l = 0; l < kRun; ++l)
      values.push_back(b.getIntegerAttr(element, value(l)));
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
  };
  int64_t width = bits;
  if (bits == 8) {
    bool inBounds[] = {true};
    Value read = vector::TransferReadOp::create(
        b, loc, VectorType::get({kRun}, b.getI8Type()), storage,
        ValueRange{arith::ShRUIOp::create(b, loc, firstBit, index(3))},
        arith::ConstantIntOp::create(b, loc, b.getI8Type(), 0), ArrayRef<bool>(inBounds));
    return isSigned ? Value(arith::ExtSIOp::create(b, loc, runI32, read))
                    : Value(arith::ExtUIOp::create(b, loc, runI32, read));
  }
  // The run in the low 8 b bits of `word` (bits above it undefined).
  Value word = emitReadCodeRunWord(b, loc, storage, firstBit, bits, onByte);
  if (bits <= 4) {
    // Every code within an i32: signed, its top bit to bit 31 and back down
    // arithmetically; unsigned, down and masked.
    Value all = vector::BroadcastOp::create(b, loc, runI32, word);
    if (isSigned)
      return arith::ShRSIOp::create(
          b, loc,
          arith::ShLIOp::create(b, loc, all,
                                lanes(i32, [&](int64_t l) { return 32 - width * (l + 1); })),
          lanes(i32, [&](int64_t) { return 32 - width; }));
    return arith::AndIOp::create(
        b, loc,
        arith::ShRUIOp::create(b, loc, all, lanes(i32, [&](int64_t l) { return l * width; })),
        lanes(i32, [&](int64_t) { return (int64_t(1) << width) - 1; }));
  }
  // 40-56 bits: in i64 lanes, each code down to bit 0, then in i32.
  Value all = vector::BroadcastOp::create(b, loc, VectorType::get({kRun}, i64), word);
  Value codes = arith::TruncIOp::create(
      b, loc, runI32,
      arith::ShRUIOp::create(b, loc, all, lanes(i64, [&](int64_t l) { return l * width; })));
  if (!isSigned)
    return arith::AndIOp::create(b, loc, codes,
                                 lanes(i32, [&](int64_t) { return (int64_t(1) << width) - 1; }));
  Value up = lanes(i32, [&](int64_t) { return 32 - width; });
  return arith::ShRSIOp::create(b, loc, arith::ShLIOp::create(b, loc, codes, up), up);
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
  // Prefetches index the elements in row-major order.
  if (type.getRank() != 1) {
    ReassociationIndices all = llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
    type = RankedTensorType::get({type.getNumElements()}, type.getElementType());
    storage =
        tensor::CollapseShapeOp::create(b, loc, type, storage, ArrayRef<ReassociationIndices>{all});
  }
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

void tessera::WeightPrefetcher::emitRowsShare(OpBuilder &b, Location loc, Value firstRow,
                                              int64_t rows, int64_t rowBits, Value part,
                                              int64_t parts) const {
  if (!buffer)
    return;
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  int64_t elementBits = cast<MemRefType>(buffer.getType()).getElementTypeBitWidth();
  int64_t regionElements = llvm::divideCeil(rows * rowBits, elementBits);
  int64_t lineElements = std::max<int64_t>(1, 512 / elementBits);
  int64_t lines = llvm::divideCeil(regionElements, parts * lineElements);
  Value first = arith::AddIOp::create(
      b, loc,
      arith::DivUIOp::create(b, loc, arith::MulIOp::create(b, loc, firstRow, index(rowBits)),
                             index(elementBits)),
      arith::DivUIOp::create(b, loc, arith::MulIOp::create(b, loc, part, index(regionElements)),
                             index(parts)));
  Value base = clampedBase(b, loc, first, 0, (lines - 1) * lineElements);
  for (int64_t l = 0; l < lines; ++l)
    emitAt(b, loc, base, l * lineElements);
}
