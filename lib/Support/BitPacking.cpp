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

//===----------------------------------------------------------------------===//
// Layouts
//===----------------------------------------------------------------------===//

namespace {
/// The enumeration order of a layout: the row-major flat index of the
/// element at position `e` of the enumeration.
struct Enumeration {
  std::vector<int64_t> shape, tile, grid;
  int64_t tileElements = 1, numElements = 1;

  Enumeration(const std::vector<int64_t> &shape, const PackedLayout &layout)
      : shape(shape), tile(layout.tile.empty() ? shape : layout.tile) {
    for (size_t d = 0; d < shape.size(); ++d) {
      grid.push_back(shape[d] / tile[d]);
      tileElements *= tile[d];
      numElements *= shape[d];
    }
  }
  int64_t numTiles() const {
    return tileElements ? numElements / tileElements : 0;
  }

  int64_t flatIndex(int64_t e) const {
    int64_t t = e / tileElements, o = e % tileElements;
    int64_t flat = 0;
    // Decompose t over the grid and o over the tile, both row-major.
    std::vector<int64_t> index(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
      index[d] = (t % grid[d]) * tile[d] + o % tile[d];
      t /= grid[d];
      o /= tile[d];
    }
    for (size_t d = 0; d < shape.size(); ++d)
      flat = flat * shape[d] + index[d];
    return flat;
  }
};
} // namespace

bool verifyLayout(const std::vector<int64_t> &shape, const PackedLayout &layout,
                  std::string &error) {
  if (layout.tile.empty())
    return true;
  if (layout.tile.size() != shape.size()) {
    error = "a tile of rank " + std::to_string(layout.tile.size()) +
            " for a tensor of rank " + std::to_string(shape.size());
    return false;
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (layout.tile[d] <= 0 || shape[d] % layout.tile[d] != 0) {
      error = "tile size " + std::to_string(layout.tile[d]) +
              " does not divide dimension " + std::to_string(d) + " of size " +
              std::to_string(shape[d]);
      return false;
    }
  }
  return true;
}

size_t packedSizeInBytes(const std::vector<int64_t> &shape, unsigned bits,
                         const PackedLayout &layout) {
  Enumeration en(shape, layout);
  if (!layout.bitPlanes)
    return packedSizeInBytes(size_t(en.numElements), bits);
  return size_t(en.numTiles()) * bits *
         packedSizeInBytes(size_t(en.tileElements), 1);
}

bool packCodes(const int32_t *codes, const std::vector<int64_t> &shape,
               unsigned bits, const PackedLayout &layout, uint8_t *out) {
  std::string error;
  if (bits < 1 || bits > 8 || !verifyLayout(shape, layout, error))
    return false;
  Enumeration en(shape, layout);
  std::vector<int32_t> ordered(size_t(en.numElements));
  for (int64_t e = 0; e < en.numElements; ++e)
    ordered[e] = codes[en.flatIndex(e)];
  if (!layout.bitPlanes)
    return packCodes(ordered.data(), ordered.size(), bits, out);
  size_t planeBytes = packedSizeInBytes(size_t(en.tileElements), 1);
  std::memset(out, 0, packedSizeInBytes(shape, bits, layout));
  for (int64_t t = 0; t < en.numTiles(); ++t)
    for (unsigned p = 0; p < bits; ++p) {
      uint8_t *plane = out + (size_t(t) * bits + p) * planeBytes;
      for (int64_t o = 0; o < en.tileElements; ++o)
        if ((uint32_t(ordered[t * en.tileElements + o]) >> p) & 1u)
          plane[o / 8] |= uint8_t(1u << (o % 8));
    }
  return true;
}

bool unpackCodes(const uint8_t *packed, const std::vector<int64_t> &shape,
                 unsigned bits, bool isSigned, const PackedLayout &layout,
                 int32_t *out) {
  std::string error;
  if (bits < 1 || bits > 8 || !verifyLayout(shape, layout, error))
    return false;
  Enumeration en(shape, layout);
  size_t planeBytes = packedSizeInBytes(size_t(en.tileElements), 1);
  for (int64_t e = 0; e < en.numElements; ++e) {
    int32_t code;
    if (!layout.bitPlanes) {
      code = readCode(packed, size_t(e), bits, isSigned);
    } else {
      int64_t t = e / en.tileElements, o = e % en.tileElements;
      uint32_t u = 0;
      for (unsigned p = 0; p < bits; ++p) {
        const uint8_t *plane = packed + (size_t(t) * bits + p) * planeBytes;
        u |= uint32_t((plane[o / 8] >> (o % 8)) & 1) << p;
      }
      code = (isSigned && (u >> (bits - 1))) ? int32_t(u) - (1 << bits)
                                             : int32_t(u);
    }
    out[en.flatIndex(e)] = code;
  }
  return true;
}

} // namespace mlir::tessera
