//===- HostTensor.h - Dense host arrays and .npy files -----------*- C++ -*-===//
//
// Plain C++ (no MLIR, no LLVM): a dense row-major array in host memory, its
// element type, and reading and writing numpy's .npy format (version 1-3,
// little endian, C order).
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_SUPPORT_HOSTTENSOR_H
#define TESSERA_SUPPORT_HOSTTENSOR_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::tessera {

/// Element types that cross the host boundary. BF16 has no numpy dtype; it is
/// stored in .npy files as uint16 bit patterns.
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

/// Size in bytes of one element.
unsigned dtypeSize(DType dtype);
/// A short name: "f32", "bf16", "i8", ...
const char *dtypeName(DType dtype);
/// Parses a short name; returns false if unknown.
bool parseDTypeName(const std::string &name, DType &dtype);

/// "2x3xf32".
std::string typeString(const std::vector<int64_t> &shape, DType dtype);

struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  HostTensor() = default;
  HostTensor(DType dtype, std::vector<int64_t> shape);

  int64_t numElements() const;
  std::string typeString() const {
    return mlir::tessera::typeString(shape, dtype);
  }
  template <typename T> T *as() { return reinterpret_cast<T *>(data.data()); }
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(data.data());
  }
};

/// A dense row-major array someone else owns: what a call reads its inputs
/// from, without copying them.
struct TensorView {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
};

inline TensorView viewOf(const HostTensor &t) {
  return TensorView{t.dtype, t.shape, t.data.data()};
}

/// Reads a .npy file. On failure returns false and sets `error`.
bool readNpy(const std::string &path, HostTensor &tensor, std::string &error);
/// Writes a .npy file. On failure returns false and sets `error`.
bool writeNpy(const std::string &path, const HostTensor &tensor,
              std::string &error);

/// Converts any floating-point element to f32 (f64, f16 and bf16 included).
float elementAsFloat(const HostTensor &tensor, int64_t index);

} // namespace mlir::tessera

#endif // TESSERA_SUPPORT_HOSTTENSOR_H
