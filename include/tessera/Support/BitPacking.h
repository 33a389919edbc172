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

} // namespace mlir::tessera

#endif // TESSERA_SUPPORT_BITPACKING_H
