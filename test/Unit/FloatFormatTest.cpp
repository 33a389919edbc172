//===- FloatFormatTest.cpp - Low-bit floats against independent models ----===//
//
// Two independent references:
//   - llvm::APFloat, for the formats MLIR has builtin types for (e2m1, e3m2,
//     e2m3, e4m3 = Float8E4M3FN, e5m2 = Float8E5M2);
//   - for every format, a brute-force model: the set of finite values built
//     from the bit fields by repeated halving/doubling, and encoding as the
//     nearest of them (ties to the even code), saturating.
//
//===----------------------------------------------------------------------===//

#include "tessera/Support/FloatFormat.h"

#include "llvm/ADT/APFloat.h"
#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <random>

using namespace mlir::tessera;

namespace {

std::vector<std::pair<unsigned, unsigned>> allFormats() {
  std::vector<std::pair<unsigned, unsigned>> formats;
  for (unsigned e = 1; e <= 6; ++e)
    for (unsigned m = 1; m <= 6; ++m)
      if (FloatFormat::isValid(e, m))
        formats.push_back({e, m});
  return formats;
}

/// Bit-level model of one code: sign, exponent field and mantissa field are
/// read one bit at a time; the value is built by doubling and halving.
double modelDecode(unsigned e, unsigned m, uint32_t code) {
  unsigned expField = 0, manField = 0;
  for (unsigned i = 0; i < m; ++i)
    manField |= ((code >> i) & 1u) << i;
  for (unsigned i = 0; i < e; ++i)
    expField |= ((code >> (m + i)) & 1u) << i;
  bool negative = (code >> (e + m)) & 1u;
  unsigned allOnes = (1u << e) - 1;
  if (e == 5 && expField == allOnes)
    return manField ? NAN : (negative ? -INFINITY : INFINITY);
  if (e == 4 && m == 3 && expField == allOnes && manField == (1u << m) - 1)
    return NAN;
  int bias = (1 << (e - 1)) - 1;
  // significand = (implicit bit).mantissa as a fraction of 2^m
  double significand = double(manField) / double(1u << m);
  if (expField != 0)
    significand += 1.0;
  int exponent = expField == 0 ? 1 - bias : int(expField) - bias;
  double value = significand;
  for (int i = 0; i < exponent; ++i)
    value *= 2.0;
  for (int i = 0; i > exponent; --i)
    value /= 2.0;
  return negative ? -value : value;
}

/// Brute-force encoding: nearest finite value; ties go to the even code;
/// beyond the largest finite value, saturate.
uint32_t modelEncode(unsigned e, unsigned m, float x) {
  unsigned bits = 1 + e + m;
  bool negative = std::signbit(x);
  uint32_t best = 0;
  double bestErr = INFINITY;
  double largest = 0;
  uint32_t largestCode = 0;
  for (uint32_t code = 0; code < (1u << bits); ++code) {
    double v = modelDecode(e, m, code);
    if (!std::isfinite(v) || std::signbit(v) != negative)
      continue;
    if (std::fabs(v) > largest) {
      largest = std::fabs(v);
      largestCode = code;
    }
    double err = std::fabs(v - double(x));
    if (err < bestErr || (err == bestErr && (code & 1u) == 0)) {
      best = code;
      bestErr = err;
    }
  }
  if (std::fabs(double(x)) >= largest)
    return largestCode;
  return best;
}

bool sameValue(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

} // namespace

TEST(FloatFormat, EveryCodeOfEveryFormatDecodesLikeTheModel) {
  for (auto [e, m] : allFormats()) {
    FloatFormat format(e, m);
    std::vector<float> table = format.decodeTable();
    ASSERT_EQ(table.size(), size_t(1) << (1 + e + m));
    for (uint32_t code = 0; code < table.size(); ++code)
      EXPECT_TRUE(sameValue(table[code], modelDecode(e, m, code)))
          << format.getName() << " code " << code << ": " << table[code]
          << " vs " << modelDecode(e, m, code);
  }
}

TEST(FloatFormat, BuiltinFormatsAgreeWithAPFloat) {
  struct Builtin {
    unsigned e, m;
    const llvm::fltSemantics &semantics;
  };
  const Builtin builtins[] = {
      {2, 1, llvm::APFloat::Float4E2M1FN()},
      {3, 2, llvm::APFloat::Float6E3M2FN()},
      {2, 3, llvm::APFloat::Float6E2M3FN()},
      {4, 3, llvm::APFloat::Float8E4M3FN()},
      {5, 2, llvm::APFloat::Float8E5M2()},
  };
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Builtin &b : builtins) {
    FloatFormat format(b.e, b.m);
    unsigned bits = format.getBitWidth();
    for (uint32_t code = 0; code < (1u << bits); ++code) {
      llvm::APFloat ap(b.semantics, llvm::APInt(bits, code));
      EXPECT_TRUE(sameValue(format.decode(code), ap.convertToFloat()))
          << format.getName() << " code " << code;
    }
    // Encoding of in-range values agrees with APFloat's round-to-nearest-even
    // (APFloat does not saturate, so stay within the largest value).
    float largest = format.getLargest();
    for (int i = 0; i < 20000; ++i) {
      float x = normal(rng) * largest * 0.3f;
      if (std::fabs(x) >= largest)
        continue;
      llvm::APFloat ap(x);
      bool losesInfo;
      ap.convert(b.semantics, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
      uint32_t apCode = uint32_t(ap.bitcastToAPInt().getZExtValue());
      EXPECT_EQ(format.encode(x), apCode) << format.getName() << " x = " << x;
    }
  }
}

TEST(FloatFormat, EncodingMatchesTheModel) {
  std::mt19937 rng(11);
  for (auto [e, m] : allFormats()) {
    FloatFormat format(e, m);
    std::vector<float> table = format.decodeTable();
    std::vector<float> probes = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e30f, -1e30f};
    // Every value, every midpoint between neighbours (the ties), a little
    // either side of each midpoint, and past the largest value.
    std::vector<float> finite;
    for (float v : table)
      if (std::isfinite(v) && v >= 0)
        finite.push_back(v);
    std::sort(finite.begin(), finite.end());
    for (size_t i = 0; i < finite.size(); ++i) {
      probes.push_back(finite[i]);
      probes.push_back(-finite[i]);
      if (i + 1 < finite.size()) {
        float mid = (finite[i] + finite[i + 1]) / 2;
        for (float p : {mid, std::nextafter(mid, 0.0f),
                        std::nextafter(mid, INFINITY)}) {
          probes.push_back(p);
          probes.push_back(-p);
        }
      }
    }
    float largest = format.getLargest();
    for (float p : {largest * 1.01f, largest * 2.0f, largest * 1e6f}) {
      probes.push_back(p);
      probes.push_back(-p);
    }
    std::uniform_real_distribution<float> uni(-largest * 1.2f, largest * 1.2f);
    for (int i = 0; i < 2000; ++i)
      probes.push_back(uni(rng));
    for (float p : probes)
      EXPECT_EQ(format.encode(p), modelEncode(e, m, p))
          << format.getName() << " x = " << p;
  }
}

TEST(FloatFormat, TiesGoToEven) {
  FloatFormat e2m1(2, 1); // values 0, .5, 1, 1.5, 2, 3, 4, 6
  EXPECT_EQ(e2m1.decode(e2m1.encode(0.25f)), 0.0f);  // tie 0 / 0.5 -> 0
  EXPECT_EQ(e2m1.decode(e2m1.encode(0.75f)), 1.0f);  // tie .5 / 1 -> 1
  EXPECT_EQ(e2m1.decode(e2m1.encode(1.25f)), 1.0f);  // tie 1 / 1.5 -> 1
  EXPECT_EQ(e2m1.decode(e2m1.encode(2.5f)), 2.0f);   // tie 2 / 3 -> 2
  EXPECT_EQ(e2m1.decode(e2m1.encode(3.5f)), 4.0f);   // tie 3 / 4 -> 4
  EXPECT_EQ(e2m1.decode(e2m1.encode(5.0f)), 4.0f);   // tie 4 / 6 -> 4
  EXPECT_EQ(e2m1.decode(e2m1.encode(-5.0f)), -4.0f);
}

TEST(FloatFormat, SaturationAndSpecials) {
  FloatFormat e4m3(4, 3), e5m2(5, 2), e2m1(2, 1), e3m2(3, 2), e2m3(2, 3);
  EXPECT_EQ(e4m3.getLargest(), 448.0f);
  EXPECT_EQ(e5m2.getLargest(), 57344.0f);
  EXPECT_EQ(e2m1.getLargest(), 6.0f);
  EXPECT_EQ(e3m2.getLargest(), 28.0f);
  EXPECT_EQ(e2m3.getLargest(), 7.5f);
  EXPECT_EQ(e4m3.decode(e4m3.encode(1000.0f)), 448.0f);
  EXPECT_EQ(e4m3.decode(e4m3.encode(-1e9f)), -448.0f);
  EXPECT_TRUE(std::isnan(e4m3.decode(0x7F)));
  EXPECT_TRUE(std::isnan(e4m3.decode(0xFF)));
  EXPECT_EQ(e4m3.decode(0x7E), 448.0f);
  EXPECT_EQ(e5m2.decode(e5m2.encode(1e6f)), 57344.0f);
  EXPECT_TRUE(std::isinf(e5m2.decode(e5m2.encode(INFINITY))));
  EXPECT_TRUE(std::isnan(e5m2.decode(e5m2.encode(NAN))));
  EXPECT_EQ(e2m1.decode(e2m1.encode(INFINITY)), 6.0f);
  EXPECT_EQ(e2m1.encode(NAN), 0u);
  // Zero of both signs round-trips with its sign.
  for (auto [e, m] : allFormats()) {
    FloatFormat f(e, m);
    EXPECT_EQ(f.encode(0.0f), 0u);
    EXPECT_EQ(f.encode(-0.0f), 1u << (e + m));
    EXPECT_TRUE(std::signbit(f.decode(f.encode(-0.0f))));
    // The smallest subnormal, and half of it (a tie with zero: to even).
    EXPECT_EQ(f.encode(f.getSmallestSubnormal()), 1u);
    EXPECT_EQ(f.encode(f.getSmallestSubnormal() / 2), 0u);
    EXPECT_EQ(f.encode(f.getSmallestSubnormal() * 0.75f), 1u);
  }
}

TEST(FloatFormat, Names) {
  unsigned e, m;
  EXPECT_TRUE(FloatFormat::parse("e2m1", e, m));
  EXPECT_EQ(e, 2u);
  EXPECT_EQ(m, 1u);
  EXPECT_TRUE(FloatFormat::parse("f7e3m3", e, m));
  EXPECT_FALSE(FloatFormat::parse("f6e3m3", e, m)); // 1+3+3 = 7 bits
  EXPECT_FALSE(FloatFormat::parse("e6m2", e, m));   // 9 bits
  EXPECT_FALSE(FloatFormat::parse("e0m3", e, m));
  EXPECT_FALSE(FloatFormat::parse("e3m0", e, m));
  EXPECT_EQ(FloatFormat(3, 2).getName(), "e3m2");
  EXPECT_EQ(allFormats().size(), 21u); // every split of 3..8 bits
}
