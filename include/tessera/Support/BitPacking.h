//===- BitPacking.h - Canonical dense LSB-first packing ---------*- C++ -*-===//
//
// Plain C++ (no MLIR, no LLVM): the one implementation of Tessera's canonical
// storage of low-bit codes, used by the compiler's tools, the runtime, the
// Python package and the tests.
//
// A tensor of n codes of b bits (1 <= b <= 8) is flattened in row-major order
// and code i occupies bits [i*b, (i+1)*b) of a byte array, least significant
// bit first; a code may straddle two bytes. The array has ceil(n*b/8) bytes
// and the unused high bits of its last byte are zero.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_SUPPORT_BITPACKING_H
#define TESSERA_SUPPORT_BITPACKING_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::tessera {

/// Bytes needed to store `numElements` codes of `bits` bits.
constexpr size_t packedSizeInBytes(size_t numElements, unsigned bits) {
  return (numElements * bits + 7) / 8;
}

/// Smallest and largest code value of a b-bit integer type.
constexpr int32_t minCodeValue(unsigned bits, bool isSigned) {
  return isSigned ? -(int32_t(1) << (bits - 1)) : 0;
}
constexpr int32_t maxCodeValue(unsigned bits, bool isSigned) {
  return isSigned ? (int32_t(1) << (bits - 1)) - 1 : (int32_t(1) << bits) - 1;
}

/// Packs `n` codes into `out` (packedSizeInBytes(n, bits) bytes). Only the low
/// `bits` bits of each code are stored, so signed codes are stored in two's
/// complement. Returns false if `bits` is not in [1, 8].
bool packCodes(const int32_t *codes, size_t n, unsigned bits, uint8_t *out);

/// Unpacks `n` codes from `packed`, sign-extending them when `isSigned`.
/// Returns false if `bits` is not in [1, 8].
bool unpackCodes(const uint8_t *packed, size_t n, unsigned bits, bool isSigned,
                 int32_t *out);

/// Reads the single code `index` from packed storage.
int32_t readCode(const uint8_t *packed, size_t index, unsigned bits,
                 bool isSigned);

//===----------------------------------------------------------------------===//
// Layouts
//===----------------------------------------------------------------------===//

/// A storage layout composed of two independent choices:
///   - `tile`: when not empty (one size per dimension, each dividing the
///     shape), elements are enumerated tile by tile, tiles in row-major order
///     over the tile grid and row-major inside a tile; when empty, the whole
///     tensor is one tile (plain row-major order).
///   - `bitPlanes`: when false, each tile's codes are packed densely, element
///     e of the enumeration at bits [e*b, (e+1)*b) (the canonical packing is
///     the untiled dense layout); when true, each tile is stored as b planes,
///     plane p holding bit p of every code of the tile, one bit per element
///     in enumeration order, LSB first, each plane starting on a byte.
struct PackedLayout {
  std::vector<int64_t> tile;
  bool bitPlanes = false;

  bool isCanonical() const { return tile.empty() && !bitPlanes; }
};

/// Checks `layout` against `shape`; on failure returns false and explains
/// in `error` (a tile of the wrong rank, a tile size that does not divide).
bool verifyLayout(const std::vector<int64_t> &shape, const PackedLayout &layout,
                  std::string &error);

/// Bytes of the storage of `shape` with `bits`-bit codes in `layout`.
size_t packedSizeInBytes(const std::vector<int64_t> &shape, unsigned bits,
                         const PackedLayout &layout);

/// Packs row-major `codes` of `shape` into `out` (packedSizeInBytes bytes).
bool packCodes(const int32_t *codes, const std::vector<int64_t> &shape,
               unsigned bits, const PackedLayout &layout, uint8_t *out);

/// Unpacks storage in `layout` into row-major codes.
bool unpackCodes(const uint8_t *packed, const std::vector<int64_t> &shape,
                 unsigned bits, bool isSigned, const PackedLayout &layout,
                 int32_t *out);

} // namespace mlir::tessera

#endif // TESSERA_SUPPORT_BITPACKING_H
