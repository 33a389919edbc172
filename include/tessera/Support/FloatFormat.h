//===- FloatFormat.h - Low-bit floating-point formats ------------*- C++ -*-===//
//
// Plain C++ (no MLIR, no LLVM): the one implementation of Tessera's low-bit
// float formats, used by the compiler (decode tables, constant folding) and
// the tools.
//
// A format has a sign bit, E exponent bits and M mantissa bits, 3 <= 1+E+M
// <= 8, E >= 1, M >= 1, and bias 2^(E-1) - 1. Exponent field 0 holds zero and
// subnormals (value = M-bit fraction * 2^(1 - bias)). Special values:
//   - E = 5 formats are IEEE-style: the all-ones exponent is inf (mantissa 0)
//     or NaN (mantissa != 0);
//   - e4m3 is OCP E4M3FN: only S.1111.111 is NaN, the largest value is 448;
//   - every other format has no inf or NaN: the all-ones exponent is normal.
// Encoding from f32 rounds to nearest, ties to even, and saturates finite
// values to the largest finite value; +-inf encodes as inf where the format
// has it and saturates otherwise; NaN encodes as NaN where the format has it
// and as +0 otherwise. Decoding is exact.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_SUPPORT_FLOATFORMAT_H
#define TESSERA_SUPPORT_FLOATFORMAT_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::tessera {

class FloatFormat {
public:
  enum class Specials {
    None,     ///< no inf, no NaN: every code is a finite number
    IEEE,     ///< all-ones exponent: inf (mantissa 0) or NaN
    NaNOnlyFN ///< only the all-ones code (per sign) is NaN (OCP E4M3FN)
  };

  FloatFormat(unsigned exponentBits, unsigned mantissaBits)
      : exponentBits(exponentBits), mantissaBits(mantissaBits) {}

  /// Whether E and M describe a supported format.
  static bool isValid(unsigned exponentBits, unsigned mantissaBits);
  /// Parses "e2m1" (or "f4e2m1"); returns false when not a valid format.
  static bool parse(const std::string &name, unsigned &exponentBits,
                    unsigned &mantissaBits);

  unsigned getExponentBits() const { return exponentBits; }
  unsigned getMantissaBits() const { return mantissaBits; }
  unsigned getBitWidth() const { return 1 + exponentBits + mantissaBits; }
  int getBias() const { return (1 << (exponentBits - 1)) - 1; }
  Specials getSpecials() const;
  /// "e2m1".
  std::string getName() const;

  /// The value of `code` (only the low getBitWidth() bits are read).
  float decode(uint32_t code) const;
  /// The code of the nearest value (ties to even), saturating.
  uint32_t encode(float value) const;
  /// The values of all 2^bits codes, in code order.
  std::vector<float> decodeTable() const;

  float getLargest() const;
  float getSmallestSubnormal() const;
  float getSmallestNormal() const;
  /// The code of the largest finite value of the given sign.
  uint32_t getLargestCode(bool negative) const;

private:
  unsigned exponentBits;
  unsigned mantissaBits;
};

} // namespace mlir::tessera

#endif // TESSERA_SUPPORT_FLOATFORMAT_H
