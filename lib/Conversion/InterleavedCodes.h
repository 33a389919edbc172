//===- InterleavedCodes.h - Decoding interleaved weight tiles ----*- C++ -*-===//
//
// Private to lib/Conversion: how the dequantize kernel reads a tile of
// weights interleaved by 8 columns (getDequantizeKernelLayout), in one of
// its three forms:
//  - dense (b = 1, 2, 4, 8; `#tessera.layout<tile = [8, 32 / b]>`): a tile is
//    one 32-byte vector whose i32 lane r holds 32 / b codes of column r,
//    code j at bits [j b, (j + 1) b);
//  - bit planes (`#tessera.layout<tile = [8, 32], bit_planes>`, any b; the
//    layout gives it to 3 bits): a tile is b such vectors, plane p's lane r
//    holding bit p of the 32 codes of column r, code j in bit j;
//  - bytes (b = 5, 6, 7 for byte dot products; `#tessera.layout<tile = [16,
//    4]>`): a tile here is two of the layout's, 8 codes of 16 columns in 16b
//    bytes (always loaded as two tiles of 8 columns side by side), codes 4h
//    to 4h + 3 of columns 2q and 2q + 1 in the b bytes from 8b h + b q.
//    Loading it (AVX512-VBMI) puts those b bytes in 64-bit word q of vector
//    h (a byte permute) and takes code 4h + i of each column to byte i of
//    its lane (tessera.multishift_bytes, vpmultishiftqb): two vectors of 16
//    i32 lanes holding four codes each as bytes.
// Either way code j of a tile comes out for its 8 columns at once, in one
// vector of i32 lanes: exactly (for the GEMM's panel), or in place, as
// code * 2^e for a known e (for the row kernel, which scales x by 2^-e
// instead of shifting the code down).
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_CONVERSION_INTERLEAVEDCODES_H
#define TESSERA_LIB_CONVERSION_INTERLEAVEDCODES_H

#include "mlir/IR/Builders.h"

namespace mlir::tessera {

class InterleavedCodes {
public:
  enum class Form { Dense, BitPlanes, Bytes };

  /// Codes of `bits` bits (signed or not) in `storage` (tensor<B x i8>), K
  /// codes per column, in `form`.
  InterleavedCodes(Value storage, unsigned bits, bool isSigned, Form form, int64_t k);

  Form getForm() const { return form; }

  /// Codes of a column per tile (32 / b dense, 32 in bit planes, 8 bytes).
  int64_t codesPerTile() const { return tileCodes; }

  /// The tile of 8 columns from `column` (a multiple of 8) and codes from
  /// `kk` (a multiple of codesPerTile()); with `tiles` = 2 the tiles of 16
  /// columns, side by side in 16 lanes (AVX-512: every operation on the
  /// codes then does the work of two). With `flipSigns` (signed codes only)
  /// each code q reads as the unsigned q + 2^(b-1), its sign bit flipped
  /// once for the tile. Bytes: the two vectors of four codes a lane, each
  /// code in a byte (flipped or not).
  struct Tile {
    SmallVector<Value> words;
    // Bit planes: the planes shifted for the low and high codes, and the
    // mixes of them built from those (created at first use).
    SmallVector<Value> shiftedLow, shiftedHigh, mixLow, mixHigh;
  };
  Tile load(OpBuilder &b, Location loc, Value column, Value kk, bool flipSigns,
            int64_t tiles = 1) const;

  /// The byte of the storage where the tile of `column` and `kk` starts (as
  /// load reads it); the next 8 columns' tile is bytesPerColumnBlock()
  /// bytes on (bytes: `column` a multiple of 16, whose tile holds the next
  /// 8 columns too).
  Value tileByte(OpBuilder &b, Location loc, Value column, Value kk) const;
  int64_t bytesPerColumnBlock() const { return k * bits; }

  /// Where, from tileByte, the cache lines that a step of `tiles` tiles
  /// reads start, one per stream and line (for prefetches): each tile's
  /// stream; bytes, one stream of two lines.
  SmallVector<int64_t> streamOffsets(int64_t tiles) const;

  /// The order to visit a tile's codes in: bit planes decode codes in
  /// batches that share a mix, so that few values are live at once.
  SmallVector<int64_t> codeOrder() const;

  /// Code j of the tile's columns as i32 lanes: sign-extended for signed
  /// codes (from a tile loaded without `flipSigns`).
  Value code(OpBuilder &b, Location loc, Tile &tile, int64_t j) const;

  /// Code j as an unsigned multiple of 2^inPlaceExponent(j), below 2^31
  /// (from a tile loaded with `flipSigns` for signed codes); dense or bit
  /// planes (bytes go to byte dot products).
  Value codeInPlace(OpBuilder &b, Location loc, Tile &tile, int64_t j) const;
  int64_t inPlaceExponent(int64_t j) const;

private:
  Tile loadBytes(OpBuilder &b, Location loc, Value base, bool flipSigns, int64_t tiles) const;
  Value mix(OpBuilder &b, Location loc, Tile &tile, int64_t j) const;

  /// Bytes of a tile's 8 columns.
  int64_t tileBytes() const;

  Value storage;
  unsigned bits;
  bool isSigned;
  Form form;
  bool bitPlanes; // form == Form::BitPlanes
  int64_t k;
  int64_t tileCodes;
};

} // namespace mlir::tessera

#endif // TESSERA_LIB_CONVERSION_INTERLEAVEDCODES_H
