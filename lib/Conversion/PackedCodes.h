//===- PackedCodes.h - IR that reads codes from packed storage ---*- C++ -*-===//
//
// Shared by the lowerings (private to lib/Conversion): reading low-bit codes
// from their storage, and widening the values they scale.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_CONVERSION_PACKEDCODES_H
#define TESSERA_LIB_CONVERSION_PACKEDCODES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::tessera {

/// Emits the b-bit code at flat element index `element` (an index) of the
/// canonical packed storage `storage` (a tensor<B x i8> or memref<B x i8>),
/// as an i32 that is sign-extended for signed codes and zero-extended
/// otherwise. A code may straddle two bytes; the second byte's index is
/// clamped to the last byte.
Value emitReadPackedCode(OpBuilder &b, Location loc, Value storage,
                         Value element, unsigned bits, bool isSigned);

/// The canonical packed storage behind a low-bit value, if it is a
/// tessera.unpack without a layout; else null.
Value canonicalStorage(Value lowBit);

/// The canonical packed storage behind a low-bit matrix that is a
/// tessera.unpack without a layout, or a slice of whole rows of one (a tile
/// of it: offsets [r, 0], all columns, unit strides); `firstRow` is r (0 for
/// the unpack itself). Null otherwise.
Value canonicalStorageOfRows(Value lowBit, OpFoldResult &firstRow);

/// The packed storage behind a low-bit matrix that is a tessera.unpack in
/// the bit-plane layout `#tessera.layout<tile = [L, C], bit_planes>` (L a
/// multiple of 8, C = 8 or 32: the LUT kernels' tiles), with L in
/// `tileRows` and C in `tileCols`; else null. Byte C/8 r + j of plane p of
/// tile (i, t) holds bit p of codes tC + [8j, 8j + 8) of row iL + r, code
/// tC + 8j + c in bit c; a tile is b planes of L C / 8 bytes, tiles in
/// row-major order.
Value bitPlaneStorage(Value lowBit, int64_t &tileRows, int64_t &tileCols);

/// The packed storage behind a low-bit matrix that is a tessera.unpack in
/// the layout the dequantize kernel reads interleaved by 8 columns
/// (getDequantizeKernelLayout, the tiles of 16 x 4 for byte dot products
/// included where `byteTiles`; see InterleavedCodes.h), with whether it is
/// in bit planes in `bitPlanes` and in tiles of 16 x 4 in `bytes`; else
/// null.
Value interleavedStorage(Value lowBit, int64_t groupSize, bool byteTiles, bool &bitPlanes,
                         bool &bytes);

/// The storage behind group terms (an N x G matrix of scales or zero
/// points) in getGroupTermsKernelLayout's layout, with its tile of rows in
/// `span`: for low-bit terms a tessera.unpack in `#tessera.layout<tile =
/// [span, 1]>` (packed codes, [n, g] the element ((n / span) G + g) span +
/// n % span), for float ones a linalg.unpack of tiles [span] of dimension
/// 0 (an N/span x G x span tensor, [n, g] at [n / span, g, n % span]);
/// else null.
Value groupTermsStorage(Value terms, int64_t &span);

/// The storage of an op's group terms in spans (groupTermsStorage): the
/// span (0: canonical), the scales' and float offsets' tiles and the integer
/// zero points' packed storage (null where canonical or absent).
struct GroupTermsInSpans {
  int64_t span = 0;
  Value scaleTiles, offsetTiles, zeroStorage;
};

/// The spans of `scales` and `zeros` (null: none; low-bit integer zero
/// points or float offsets); fails where some are in spans and others not.
FailureOr<GroupTermsInSpans> getGroupTermsInSpans(Value scales, Value zeros);

/// Terms in spans (groupTermsStorage): the indices of [n, g] in a float's
/// tiles, {n / span, g, n % span}.
SmallVector<Value> emitSpanTileIndices(OpBuilder &b, Location loc, Value n, Value g, int64_t span);

/// Terms in spans: the element index of [n, g] in packed zero points,
/// ((n / span) G + g) span + n % span for G = `numGroups`.
Value emitSpanElementIndex(OpBuilder &b, Location loc, Value n, Value g, int64_t numGroups,
                           int64_t span);

/// The float terms [n, n + lanes) of group g from their tiles in spans, as
/// f32 lanes: one read (n a multiple of `lanes`, which divides the span).
Value emitReadSpanTerms(OpBuilder &b, Location loc, Value tiles, Value n, Value g, int64_t lanes);

/// The b-bit integer zero points [n, n + lanes) of group g from their
/// packed storage in spans (n a multiple of 8 and of `lanes`, which divides
/// the span), as i32 lanes, sign-extended for signed ones: one word
/// broadcast and shifted per lane where they fill 1, 2 or 4 bytes, else
/// runs of 8 (emitReadCodeRun8).
Value emitReadSpanZeroPoints(OpBuilder &b, Location loc, Value storage, Value n, Value g,
                             int64_t numGroups, int64_t span, int64_t lanes, unsigned bits,
                             bool isSigned);

/// Emits the `bytes` bytes of `storage` (a tensor<B x i8>) from byte `byte`
/// on, which must lie inside it, as one integer of 8 * `bytes` bits (byte i
/// in bits [8i, 8i + 8)).
Value emitReadBytesAsWord(OpBuilder &b, Location loc, Value storage, Value byte, int64_t bytes);

/// Emits the run of 8 b-bit codes (b < 8) from bit `firstBit` (an index) of
/// packed storage (a tensor<B x i8>) as one integer, code l in its bits
/// [l b, (l + 1) b) and the bits above the run undefined: an i32 up to 4
/// bits, an i64 from 5. `onByte`: firstBit is a multiple of 8 (b bytes are
/// read); else b + 1 bytes are read from its byte and shifted down, which
/// the storage holds where at least one code follows the run.
Value emitReadCodeRunWord(OpBuilder &b, Location loc, Value storage, Value firstBit, unsigned bits,
                          bool onByte);

/// Emits the run of 8 b-bit codes from bit `firstBit` (an index) of packed
/// storage (a tensor<B x i8>; code l in bits [firstBit + l b, firstBit +
/// (l + 1) b)) as a vector<8 x i32>, sign-extended for signed codes and
/// zero-extended otherwise: one read of the run's bytes
/// (emitReadCodeRunWord, `onByte` as there), broadcast to every lane (i64
/// lanes from 5 bits on) and shifted there.
Value emitReadCodeRun8(OpBuilder &b, Location loc, Value storage, Value firstBit, unsigned bits,
                       bool isSigned, bool onByte);

/// `v` (a float, or a vector of floats) as f32, extended if narrower.
Value emitToF32(OpBuilder &b, Location loc, Value v);

/// Software prefetches of packed weights (a tensor<B x i8>) for kernels
/// that do too few operations per byte to keep enough loads in flight for
/// the hardware prefetchers: the storage's buffer, read only, which
/// one-shot bufferization resolves to the weights' own. Any other static
/// 1-D tensor the kernel streams (a matrix of scales collapsed) works the
/// same way, "bytes" then counting its elements.
class WeightPrefetcher {
public:
  /// Prefetches nothing.
  WeightPrefetcher() = default;
  /// Prefetches nothing unless `storage` has a static shape and `enabled`.
  /// Element indices count `storage`'s elements in row-major order.
  WeightPrefetcher(OpBuilder &b, Location loc, Value storage, bool enabled = true);
  explicit operator bool() const { return bool(buffer); }
  /// Prefetches the byte `distance` past `byte` (at most the last).
  void emit(OpBuilder &b, Location loc, Value byte, int64_t distance) const;
  /// For prefetches at `base + offset`, 0 <= offset <= span: the byte
  /// `distance` past `byte`, at most `span` before the last, so that one
  /// clamp serves them all (a null value where nothing is prefetched).
  Value clampedBase(OpBuilder &b, Location loc, Value byte, int64_t distance, int64_t span) const;
  /// Prefetches the byte `offset` past `base` (from clampedBase).
  void emitAt(OpBuilder &b, Location loc, Value base, int64_t offset) const;
  /// For a storage of rows of `rowBits` bits each: prefetches share `part`
  /// of `parts` (0 <= part < parts) of rows [firstRow, firstRow + rows)
  /// (at most up to the last element), so that `parts` calls, one per step
  /// of a loop, prefetch them a line or a few at a time rather than in one
  /// burst.
  void emitRowsShare(OpBuilder &b, Location loc, Value firstRow, int64_t rows, int64_t rowBits,
                     Value part, int64_t parts) const;

private:
  Value buffer;
};

} // namespace mlir::tessera

#endif // TESSERA_LIB_CONVERSION_PACKEDCODES_H
