//===- InterleavedCodes.cpp - Decoding interleaved weight tiles -----------===//
//
// Bit planes: code j of a tile has its bit p in bit j of plane p. Putting
// its b bits side by side plane by plane costs two operations per plane and
// code. Instead, per tile, the planes are shifted (plane p by p) and mixed
// into b words, mix c taking bit i from the shifted plane (i - c) mod b:
// code j then sits whole at bits [j, j + b) of mix j mod b, one AND away.
// The low 16 codes come from such mixes; the high 16 (whose top bits would
// pass bit 31) from mixes of the planes shifted right by b - p, where code j
// sits at bits [j - b, j). 2b mixes of b planes per 32 codes: at 3 bits one
// operation per code besides the AND.
//
//===----------------------------------------------------------------------===//

#include "InterleavedCodes.h"

#include "tessera/Dialect/Tessera.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <numeric>

using namespace mlir;
using namespace mlir::tessera;

namespace {
constexpr int64_t kTileBytes = 32; // one vector of 8 i32 lanes
constexpr int64_t kHalf = 16;      // bit planes: codes [0, 16) low, the rest high

constexpr int64_t kTileLanes = 8;  // columns of a tile, an i32 lane each

/// v in every lane of a vector of `like`'s type.
Value splat(OpBuilder &b, Location loc, Value like, uint32_t v) {
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(cast<VectorType>(like.getType()), b.getI32IntegerAttr(int32_t(v))));
}

Value index(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
} // namespace

InterleavedCodes::InterleavedCodes(Value storage, unsigned bits, bool isSigned, Form form,
                                   int64_t k)
    : storage(storage), bits(bits), isSigned(isSigned), form(form),
      bitPlanes(form == Form::BitPlanes), k(k), tileCodes(form == Form::Dense       ? 32 / bits
                                                          : form == Form::BitPlanes ? 32
                                                                                    : 8) {}

int64_t InterleavedCodes::tileBytes() const {
  // 32 (dense), 32 b (planes, plane p 32 p on), 16 b (bytes, 16 columns).
  return form == Form::Dense ? kTileBytes : form == Form::BitPlanes ? kTileBytes * bits : 16 * bits;
}

SmallVector<int64_t> InterleavedCodes::streamOffsets(int64_t tiles) const {
  // Bytes: one stream of 16 b bytes (two cache lines at most) per step.
  if (form == Form::Bytes)
    return {0, 64};
  SmallVector<int64_t> offsets;
  for (int64_t t = 0; t < tiles; ++t)
    offsets.push_back(t * bytesPerColumnBlock());
  return offsets;
}

Value InterleavedCodes::tileByte(OpBuilder &b, Location loc, Value column, Value kk) const {
  // Tile (column / 8, kk / codes): the 8 columns' K * b bytes from
  // column * K * b / 8, the tile's bytes at kk / codes times theirs.
  return arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, column, index(b, loc, k * bits / 8)),
      arith::MulIOp::create(b, loc, arith::DivUIOp::create(b, loc, kk, index(b, loc, tileCodes)),
                            index(b, loc, tileBytes())));
}

InterleavedCodes::Tile InterleavedCodes::loadBytes(OpBuilder &b, Location loc, Value base,
                                                   bool flipSigns, int64_t tiles) const {
  assert(tiles == 2 && "tiles of 16 x 4 hold 16 columns");
  (void)tiles;
  Type i8 = b.getI8Type();
  // Each half's 8b bytes as 64, masked: no read past the half (the last
  // one ends the storage).
  auto bytesType = VectorType::get({64}, i8);
  Value mask = vector::ConstantMaskOp::create(b, loc, VectorType::get({64}, b.getI1Type()),
                                              ArrayRef<int64_t>{8 * int64_t(bits)});
  Value padding = arith::ConstantIntOp::create(b, loc, i8, 0);
  // Word q: its b bytes from b q (the rest repeats the last; the shifts
  // never reach it); byte i of a word takes the code at bit b i.
  SmallVector<int64_t> gather;
  SmallVector<int8_t> shifts;
  for (int64_t q = 0; q < 8; ++q)
    for (int64_t i = 0; i < 8; ++i) {
      gather.push_back(bits * q + std::min<int64_t>(i, bits - 1));
      shifts.push_back(int8_t(i * bits));
    }
  Value shiftVec =
      arith::ConstantOp::create(b, loc, DenseElementsAttr::get(bytesType, ArrayRef(shifts)));
  auto laneType = VectorType::get({2 * kTileLanes}, b.getI32Type());
  uint32_t codeMask = ((uint32_t(1) << bits) - 1) * 0x01010101u;
  Tile tile;
  for (int64_t h = 0; h < 2; ++h) {
    Value at = h ? Value(arith::AddIOp::create(b, loc, base, index(b, loc, 8 * bits))) : base;
    Value half = vector::TransferReadOp::create(b, loc, bytesType, storage, ValueRange{at},
                                                b.getMultiDimIdentityMap(1), padding, mask,
                                                b.getBoolArrayAttr({true}));
    Value words = vector::ShuffleOp::create(b, loc, half, half, gather);
    Value codes = vector::BitCastOp::create(b, loc, laneType,
                                            MultishiftBytesOp::create(b, loc, words, shiftVec));
    codes = arith::AndIOp::create(b, loc, codes, splat(b, loc, codes, codeMask));
    if (flipSigns && isSigned)
      codes = arith::XOrIOp::create(
          b, loc, codes, splat(b, loc, codes, (uint32_t(1) << (bits - 1)) * 0x01010101u));
    tile.words.push_back(codes);
  }
  return tile;
}

InterleavedCodes::Tile InterleavedCodes::load(OpBuilder &b, Location loc, Value column,
                                              Value kk, bool flipSigns, int64_t tiles) const {
  Value base = tileByte(b, loc, column, kk);
  if (form == Form::Bytes)
    return loadBytes(b, loc, base, flipSigns, tiles);
  int64_t words = bitPlanes ? bits : 1;
  bool inBounds[] = {true};
  Tile tile;
  auto laneType = VectorType::get({kTileLanes}, b.getI32Type());
  for (int64_t p = 0; p < words; ++p) {
    // Word p of each of the `tiles` tiles (the next 8 columns' tile is
    // K * b bytes on), side by side.
    Value word;
    for (int64_t t = 0; t < tiles; ++t) {
      int64_t offset = kTileBytes * p + t * bytesPerColumnBlock();
      Value at = offset ? Value(arith::AddIOp::create(b, loc, base, index(b, loc, offset))) : base;
      Value bytes = vector::TransferReadOp::create(
          b, loc, VectorType::get({kTileBytes}, b.getI8Type()), storage, ValueRange{at},
          arith::ConstantIntOp::create(b, loc, b.getI8Type(), 0), ArrayRef<bool>(inBounds));
      Value lanes = vector::BitCastOp::create(b, loc, laneType, bytes);
      if (word) {
        SmallVector<int64_t> both((t + 1) * kTileLanes);
        std::iota(both.begin(), both.end(), 0);
        word = vector::ShuffleOp::create(b, loc, word, lanes, both);
      } else {
        word = lanes;
      }
    }
    tile.words.push_back(word);
  }
  if (flipSigns && isSigned) {
    // Dense: the top bit of every code; bit planes: the top plane.
    uint32_t signBits = 0;
    for (int64_t j = 0; j < tileCodes; ++j)
      signBits |= uint32_t(1) << (bitPlanes ? j : j * bits + bits - 1);
    Value top = tile.words.back();
    tile.words.back() = arith::XOrIOp::create(b, loc, top, splat(b, loc, top, signBits));
  }
  return tile;
}

SmallVector<int64_t> InterleavedCodes::codeOrder() const {
  SmallVector<int64_t> order;
  if (!bitPlanes) {
    for (int64_t j = 0; j < tileCodes; ++j)
      order.push_back(j);
    return order;
  }
  for (int64_t begin : {int64_t(0), kHalf})
    for (int64_t c = 0; c < bits; ++c)
      for (int64_t j = begin; j < begin + kHalf; ++j)
        if (j % bits == c)
          order.push_back(j);
  return order;
}

Value InterleavedCodes::mix(OpBuilder &b, Location loc, Tile &tile, int64_t j) const {
  bool high = j >= kHalf;
  SmallVector<Value> &mixes = high ? tile.mixHigh : tile.mixLow;
  SmallVector<Value> &shifted = high ? tile.shiftedHigh : tile.shiftedLow;
  if (mixes.empty()) {
    mixes.resize(bits);
    for (int64_t p = 0; p < bits; ++p) {
      // Low: plane p << p; high: plane p >> (b - p).
      Value plane = tile.words[p];
      if (high)
        shifted.push_back(arith::ShRUIOp::create(b, loc, plane, splat(b, loc, plane, bits - p)));
      else
        shifted.push_back(p ? Value(arith::ShLIOp::create(b, loc, plane, splat(b, loc, plane, p)))
                            : plane);
    }
  }
  int64_t c = j % bits;
  if (!mixes[c]) {
    Value word;
    for (int64_t p = 0; p < bits; ++p) {
      // Bits i with (i - c) mod b = p come from shifted plane p.
      uint32_t mask = 0;
      for (int64_t i = 0; i < 32; ++i)
        if ((i - c + bits * 32) % bits == p)
          mask |= uint32_t(1) << i;
      Value part = arith::AndIOp::create(b, loc, shifted[p], splat(b, loc, shifted[p], mask));
      word = word ? Value(arith::OrIOp::create(b, loc, word, part)) : part;
    }
    mixes[c] = word;
  }
  return mixes[c];
}

int64_t InterleavedCodes::inPlaceExponent(int64_t j) const {
  if (bitPlanes)
    return j < kHalf ? j : j - bits;
  assert(form == Form::Dense && "bytes are read by byte dot products only");
  // Dense: the last code is shifted down (its top bit would be bit 31).
  return j + 1 == tileCodes ? 0 : j * bits;
}

Value InterleavedCodes::codeInPlace(OpBuilder &b, Location loc, Tile &tile, int64_t j) const {
  uint32_t mask = (uint32_t(1) << bits) - 1;
  if (bitPlanes)
    return arith::AndIOp::create(b, loc, mix(b, loc, tile, j),
                                 splat(b, loc, tile.words[0], mask << inPlaceExponent(j)));
  Value lanes = tile.words[0];
  if (j + 1 == tileCodes)
    return arith::ShRUIOp::create(b, loc, lanes, splat(b, loc, lanes, j * bits));
  return arith::AndIOp::create(b, loc, lanes, splat(b, loc, lanes, mask << (j * bits)));
}

Value InterleavedCodes::code(OpBuilder &b, Location loc, Tile &tile, int64_t j) const {
  // The code at bits [at, at + b) of `word`.
  Value word = bitPlanes             ? mix(b, loc, tile, j)
               : form == Form::Bytes ? tile.words[j / 4]
                                     : tile.words[0];
  int64_t at = form == Form::Dense ? j * bits : form == Form::Bytes ? j % 4 * 8 : inPlaceExponent(j);
  if (isSigned) {
    // Its top bit to bit 31, then back with the sign.
    int64_t up = 32 - int64_t(bits) - at;
    Value top = up ? Value(arith::ShLIOp::create(b, loc, word, splat(b, loc, word, up))) : word;
    return arith::ShRSIOp::create(b, loc, top, splat(b, loc, word, 32 - bits));
  }
  Value shifted = at ? Value(arith::ShRUIOp::create(b, loc, word, splat(b, loc, word, at))) : word;
  if (at + bits == 32)
    return shifted;
  return arith::AndIOp::create(b, loc, shifted, splat(b, loc, word, (uint32_t(1) << bits) - 1));
}
