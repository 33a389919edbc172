//===- BitPackingTest.cpp - Canonical packing against a bit-level model ---===//
//
// The reference here works one bit at a time: bit t of code i goes to bit
// (i*b + t) of the stream, and bit p of the stream is bit (p % 8) of byte
// p / 8. It shares nothing with the implementation, which moves whole codes.
//
//===----------------------------------------------------------------------===//

#include "tessera/Support/BitPacking.h"

#include "gtest/gtest.h"

#include <random>
#include <vector>

using namespace mlir::tessera;

namespace {

std::vector<uint8_t> referencePack(const std::vector<int32_t> &codes,
                                   unsigned bits) {
  std::vector<uint8_t> out((codes.size() * bits + 7) / 8, 0);
  for (size_t i = 0; i < codes.size(); ++i)
    for (unsigned t = 0; t < bits; ++t) {
      size_t p = i * bits + t;
      if ((uint32_t(codes[i]) >> t) & 1u)
        out[p / 8] |= uint8_t(1u << (p % 8));
    }
  return out;
}

int32_t referenceRead(const std::vector<uint8_t> &bytes, size_t i,
                      unsigned bits, bool isSigned) {
  int64_t value = 0;
  for (unsigned t = 0; t < bits; ++t) {
    size_t p = i * bits + t;
    if ((bytes[p / 8] >> (p % 8)) & 1)
      value |= int64_t(1) << t;
  }
  if (isSigned && ((value >> (bits - 1)) & 1))
    value -= int64_t(1) << bits;
  return int32_t(value);
}

} // namespace

struct PackingCase {
  unsigned bits;
  bool isSigned;
};

class BitPackingTest : public ::testing::TestWithParam<PackingCase> {};

TEST_P(BitPackingTest, MatchesBitLevelReference) {
  auto [bits, isSigned] = GetParam();
  std::mt19937 rng(1234 + bits * 2 + isSigned);
  std::uniform_int_distribution<int32_t> dist(minCodeValue(bits, isSigned),
                                              maxCodeValue(bits, isSigned));
  // Lengths whose bit count does not end on a byte boundary included.
  for (size_t n : {1, 2, 3, 5, 7, 8, 9, 13, 31, 64, 257}) {
    std::vector<int32_t> codes(n);
    for (int32_t &c : codes)
      c = dist(rng);
    std::vector<uint8_t> packed(packedSizeInBytes(n, bits), 0xAB);
    ASSERT_TRUE(packCodes(codes.data(), n, bits, packed.data()));
    EXPECT_EQ(packed, referencePack(codes, bits)) << "n = " << n;

    std::vector<int32_t> unpacked(n);
    ASSERT_TRUE(unpackCodes(packed.data(), n, bits, isSigned, unpacked.data()));
    EXPECT_EQ(unpacked, codes) << "n = " << n;
    for (size_t i = 0; i < n; ++i)
      EXPECT_EQ(readCode(packed.data(), i, bits, isSigned),
                referenceRead(packed, i, bits, isSigned));
  }
}

TEST_P(BitPackingTest, EveryCodeAtEveryBitOffset) {
  auto [bits, isSigned] = GetParam();
  // Every code value at each of the 8 bit offsets a code can start at,
  // between neighbours of all ones so stray bits would show.
  for (int32_t v = minCodeValue(bits, isSigned);
       v <= maxCodeValue(bits, isSigned); ++v) {
    for (unsigned lead = 0; lead < 8; ++lead) {
      std::vector<int32_t> codes(lead + 2, isSigned ? -1 : maxCodeValue(bits, false));
      codes[lead] = v;
      std::vector<uint8_t> packed(packedSizeInBytes(codes.size(), bits));
      ASSERT_TRUE(packCodes(codes.data(), codes.size(), bits, packed.data()));
      EXPECT_EQ(packed, referencePack(codes, bits));
      EXPECT_EQ(readCode(packed.data(), lead, bits, isSigned), v);
    }
  }
}

TEST_P(BitPackingTest, UnusedHighBitsAreZero) {
  auto [bits, isSigned] = GetParam();
  std::vector<int32_t> codes(3, -1);
  std::vector<uint8_t> packed(packedSizeInBytes(3, bits));
  ASSERT_TRUE(packCodes(codes.data(), 3, bits, packed.data()));
  unsigned used = (3 * bits) % 8;
  if (used != 0)
    EXPECT_EQ(packed.back() >> used, 0);
}

static std::vector<PackingCase> allCases() {
  std::vector<PackingCase> cases;
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (bool isSigned : {false, true})
      cases.push_back({bits, isSigned});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(
    AllWidths, BitPackingTest, ::testing::ValuesIn(allCases()),
    [](const ::testing::TestParamInfo<PackingCase> &info) {
      return std::string(info.param.isSigned ? "s" : "u") +
             std::to_string(info.param.bits);
    });

TEST(BitPacking, SizesAndRanges) {
  EXPECT_EQ(packedSizeInBytes(64 * 128, 3), 3072u);
  EXPECT_EQ(packedSizeInBytes(3, 3), 2u);
  EXPECT_EQ(packedSizeInBytes(0, 5), 0u);
  EXPECT_EQ(minCodeValue(3, true), -4);
  EXPECT_EQ(maxCodeValue(3, true), 3);
  EXPECT_EQ(maxCodeValue(8, false), 255);
  EXPECT_EQ(minCodeValue(1, true), -1);
  EXPECT_EQ(maxCodeValue(1, true), 0);
}

TEST(BitPacking, RejectsBadWidths) {
  int32_t code = 0;
  uint8_t byte[2] = {0, 0};
  EXPECT_FALSE(packCodes(&code, 1, 0, byte));
  EXPECT_FALSE(packCodes(&code, 1, 9, byte));
  EXPECT_FALSE(unpackCodes(byte, 1, 9, false, &code));
}

TEST(BitPacking, KnownBytes) {
  // 3-bit codes 1..8 (8 wraps to 0): 001 010 011 100 101 110 111 000 ->
  // bits LSB first: 1,0,0, 0,1,0, 1,1,0, 0,0,1, 1,0,1, 0,1,1, 1,1,1, 0,0,0.
  std::vector<int32_t> codes = {1, 2, 3, 4, 5, 6, 7, 0};
  std::vector<uint8_t> packed(3);
  ASSERT_TRUE(packCodes(codes.data(), 8, 3, packed.data()));
  EXPECT_EQ(packed, (std::vector<uint8_t>{0xD1, 0x58, 0x1F}));
}

TEST(BitPackingLayout, KnownPlanes) {
  // 2 x 4 codes of 2 bits, tiles of 2 x 2, bit planes: tile 0 holds
  // (0,0) (0,1) (1,0) (1,1); plane p byte = bit p of those 4 codes.
  std::vector<int32_t> codes = {1, 2, 3, 0, //
                                3, 0, 1, 2};
  PackedLayout layout{{2, 2}, true};
  ASSERT_EQ(packedSizeInBytes({2, 4}, 2, layout), 4u);
  std::vector<uint8_t> out(4);
  ASSERT_TRUE(packCodes(codes.data(), {2, 4}, 2, layout, out.data()));
  // tile 0 = {1, 2, 3, 0}: plane 0 = bits 1,0,1,0 -> 0b0101; plane 1 = 0,1,1,0 -> 0b0110
  // tile 1 = {3, 0, 1, 2}: plane 0 = 1,0,1,0 -> 0b0101; plane 1 = 1,0,0,1 -> 0b1001
  EXPECT_EQ(out, (std::vector<uint8_t>{0x05, 0x06, 0x05, 0x09}));
}

TEST(BitPackingLayout, RoundTripEveryWidthAndLayout) {
  std::mt19937 rng(99);
  std::vector<std::pair<std::vector<int64_t>, PackedLayout>> cases = {
      {{6, 20}, {{}, false}},     {{6, 20}, {{2, 4}, false}},
      {{6, 20}, {{3, 10}, true}}, {{5, 7}, {{}, true}},
      {{8, 64}, {{4, 32}, true}}, {{3, 5, 4}, {{1, 5, 2}, true}},
  };
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (bool isSigned : {false, true})
      for (auto &[shape, layout] : cases) {
        size_t n = 1;
        for (int64_t d : shape)
          n *= size_t(d);
        std::uniform_int_distribution<int32_t> dist(minCodeValue(bits, isSigned),
                                                    maxCodeValue(bits, isSigned));
        std::vector<int32_t> codes(n), back(n);
        for (int32_t &c : codes)
          c = dist(rng);
        std::vector<uint8_t> packed(packedSizeInBytes(shape, bits, layout));
        ASSERT_TRUE(packCodes(codes.data(), shape, bits, layout, packed.data()));
        ASSERT_TRUE(
            unpackCodes(packed.data(), shape, bits, isSigned, layout, back.data()));
        EXPECT_EQ(back, codes);
        if (layout.isCanonical()) {
          std::vector<uint8_t> flat(packedSizeInBytes(n, bits));
          packCodes(codes.data(), n, bits, flat.data());
          EXPECT_EQ(flat, packed);
        }
      }
}

TEST(BitPackingLayout, RejectsNonDividingTiles) {
  std::string error;
  EXPECT_FALSE(verifyLayout({6, 20}, {{4, 4}, false}, error));
  EXPECT_EQ(error, "tile size 4 does not divide dimension 0 of size 6");
  EXPECT_FALSE(verifyLayout({6, 20}, {{6}, false}, error));
  int32_t codes[120] = {};
  uint8_t out[64];
  EXPECT_FALSE(packCodes(codes, {6, 20}, 3, {{4, 4}, false}, out));
}
