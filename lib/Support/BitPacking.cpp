//===- BitPacking.cpp - Canonical dense LSB-first packing -----------------===//

#include "tessera/Support/BitPacking.h"

#include <cstring>

namespace mlir::tessera {

static inline uint32_t codeMask(unsigned bits) { return (1u << bits) - 1u; }

bool packCodes(const int32_t *codes, size_t n, unsigned bits, uint8_t *out) {
  if (bits < 1 || bits > 8)
    return false;
  std::memset(out, 0, packedSizeInBytes(n, bits));
  const uint32_t mask = codeMask(bits);
  for (size_t i = 0; i < n; ++i) {
    size_t bitPos = i * bits;
    size_t byte = bitPos / 8;
    unsigned shift = bitPos % 8;
    // A code spans at most two bytes since bits <= 8.
    uint32_t value = (uint32_t(codes[i]) & mask) << shift;
    out[byte] |= uint8_t(value);
    if (shift + bits > 8)
      out[byte + 1] |= uint8_t(value >> 8);
  }
  return true;
}

int32_t readCode(const uint8_t *packed, size_t index, unsigned bits,
                 bool isSigned) {
  size_t bitPos = index * bits;
  size_t byte = bitPos / 8;
  unsigned shift = bitPos % 8;
  uint32_t word = packed[byte];
  if (shift + bits > 8)
    word |= uint32_t(packed[byte + 1]) << 8;
  uint32_t code = (word >> shift) & codeMask(bits);
  if (isSigned && (code >> (bits - 1)))
    return int32_t(code) - (int32_t(1) << bits);
  return int32_t(code);
}

bool unpackCodes(const uint8_t *packed, size_t n, unsigned bits, bool isSigned,
                 int32_t *out) {
  if (bits < 1 || bits > 8)
    return false;
  for (size_t i = 0; i < n; ++i)
    out[i] = readCode(packed, i, bits, isSigned);
  return true;
}

} // namespace mlir::tessera
