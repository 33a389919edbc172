//===- FloatFormat.cpp - Low-bit floating-point formats -------------------===//

#include "tessera/Support/FloatFormat.h"

#include <cctype>
#include <cmath>
#include <limits>

namespace mlir::tessera {

bool FloatFormat::isValid(unsigned e, unsigned m) {
  return e >= 1 && m >= 1 && 1 + e + m >= 3 && 1 + e + m <= 8;
}

bool FloatFormat::parse(const std::string &name, unsigned &e, unsigned &m) {
  std::string s = name;
  // Accept an optional "fN" prefix whose N must match 1 + E + M.
  int declaredBits = -1;
  if (s.size() > 2 && s[0] == 'f' && std::isdigit(s[1])) {
    declaredBits = s[1] - '0';
    s = s.substr(2);
  }
  if (s.size() != 4 || s[0] != 'e' || s[2] != 'm' || !std::isdigit(s[1]) ||
      !std::isdigit(s[3]))
    return false;
  e = unsigned(s[1] - '0');
  m = unsigned(s[3] - '0');
  if (declaredBits >= 0 && unsigned(declaredBits) != 1 + e + m)
    return false;
  return isValid(e, m);
}

FloatFormat::Specials FloatFormat::getSpecials() const {
  if (exponentBits == 5)
    return Specials::IEEE;
  if (exponentBits == 4 && mantissaBits == 3)
    return Specials::NaNOnlyFN;
  return Specials::None;
}

std::string FloatFormat::getName() const {
  return "e" + std::to_string(exponentBits) + "m" +
         std::to_string(mantissaBits);
}

float FloatFormat::decode(uint32_t code) const {
  const uint32_t expMask = (1u << exponentBits) - 1;
  const uint32_t manMask = (1u << mantissaBits) - 1;
  bool negative = (code >> (exponentBits + mantissaBits)) & 1;
  uint32_t exp = (code >> mantissaBits) & expMask;
  uint32_t man = code & manMask;
  float magnitude;
  Specials specials = getSpecials();
  if (specials == Specials::IEEE && exp == expMask) {
    magnitude = man == 0 ? std::numeric_limits<float>::infinity()
                         : std::numeric_limits<float>::quiet_NaN();
  } else if (specials == Specials::NaNOnlyFN && exp == expMask &&
             man == manMask) {
    magnitude = std::numeric_limits<float>::quiet_NaN();
  } else if (exp == 0) {
    magnitude = std::ldexp(float(man), 1 - getBias() - int(mantissaBits));
  } else {
    magnitude = std::ldexp(float((1u << mantissaBits) + man),
                           int(exp) - getBias() - int(mantissaBits));
  }
  return negative ? -magnitude : magnitude;
}

uint32_t FloatFormat::getLargestCode(bool negative) const {
  const uint32_t expMask = (1u << exponentBits) - 1;
  const uint32_t manMask = (1u << mantissaBits) - 1;
  uint32_t exp = expMask, man = manMask;
  switch (getSpecials()) {
  case Specials::IEEE:
    exp = expMask - 1;
    break;
  case Specials::NaNOnlyFN:
    man = manMask - 1;
    break;
  case Specials::None:
    break;
  }
  uint32_t sign = negative ? 1u << (exponentBits + mantissaBits) : 0;
  return sign | (exp << mantissaBits) | man;
}

float FloatFormat::getLargest() const { return decode(getLargestCode(false)); }
float FloatFormat::getSmallestSubnormal() const { return decode(1); }
float FloatFormat::getSmallestNormal() const {
  return decode(1u << mantissaBits);
}

uint32_t FloatFormat::encode(float value) const {
  const uint32_t signBit = 1u << (exponentBits + mantissaBits);
  const uint32_t expMask = (1u << exponentBits) - 1;
  bool negative = std::signbit(value);
  uint32_t sign = negative ? signBit : 0;
  Specials specials = getSpecials();
  if (std::isnan(value)) {
    if (specials == Specials::IEEE)
      return sign | (expMask << mantissaBits) | (1u << (mantissaBits - 1));
    if (specials == Specials::NaNOnlyFN)
      return sign | (signBit - 1);
    return 0;
  }
  if (std::isinf(value) && specials == Specials::IEEE)
    return sign | (expMask << mantissaBits);

  double a = std::fabs(double(value));
  const double largest = getLargest();
  if (a >= largest)
    return getLargestCode(negative);

  // The quantum of a's binade, never below the subnormal quantum.
  const int minExp = 1 - getBias();
  int exp = a == 0 ? minExp : std::ilogb(a);
  if (exp < minExp)
    exp = minExp;
  double quantum = std::ldexp(1.0, exp - int(mantissaBits));
  double scaled = a / quantum; // exact: powers of two
  double rounded = std::floor(scaled);
  double fraction = scaled - rounded;
  if (fraction > 0.5 || (fraction == 0.5 && std::fmod(rounded, 2.0) != 0))
    rounded += 1;
  double result = rounded * quantum;
  if (result > largest)
    return getLargestCode(negative);

  // Re-derive the fields from the rounded value (rounding may carry into the
  // next binade, or from subnormal into normal).
  auto r = uint32_t(rounded);
  if (exp == minExp && r < (1u << mantissaBits))
    return sign | r; // zero or subnormal
  if (r == (2u << mantissaBits)) {
    r >>= 1;
    ++exp;
  }
  uint32_t expField = uint32_t(exp + getBias());
  return sign | (expField << mantissaBits) | (r - (1u << mantissaBits));
}

std::vector<float> FloatFormat::decodeTable() const {
  std::vector<float> table(size_t(1) << getBitWidth());
  for (uint32_t code = 0; code < table.size(); ++code)
    table[code] = decode(code);
  return table;
}

} // namespace mlir::tessera
