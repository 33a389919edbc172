//===- HostTensor.cpp - Dense host arrays and .npy files ------------------===//

#include "tessera/Support/HostTensor.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mlir::tessera {

namespace {
struct DTypeInfo {
  DType dtype;
  const char *name;
  const char *npyDescr;
  unsigned size;
};
// BF16 is stored as uint16 bit patterns.
constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "f64", "<f8", 8}, {DType::F32, "f32", "<f4", 4},
    {DType::F16, "f16", "<f2", 2}, {DType::BF16, "bf16", "<u2", 2},
    {DType::I64, "i64", "<i8", 8}, {DType::I32, "i32", "<i4", 4},
    {DType::I16, "i16", "<i2", 2}, {DType::I8, "i8", "|i1", 1},
    {DType::U8, "u8", "|u1", 1},   {DType::Bool, "bool", "|b1", 1},
};

const DTypeInfo &info(DType dtype) {
  for (const DTypeInfo &i : kDTypes)
    if (i.dtype == dtype)
      return i;
  return kDTypes[0];
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal: value = mant * 2^-24.
    float f = float(mant) * (1.0f / 16777216.0f);
    return sign ? -f : f;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
} // namespace

unsigned dtypeSize(DType dtype) { return info(dtype).size; }
const char *dtypeName(DType dtype) { return info(dtype).name; }

bool parseDTypeName(const std::string &name, DType &dtype) {
  for (const DTypeInfo &i : kDTypes)
    if (name == i.name) {
      dtype = i.dtype;
      return true;
    }
  return false;
}

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape)
    : dtype(dtype), shape(std::move(shape)) {
  data.resize(size_t(numElements()) * dtypeSize(dtype));
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string typeString(const std::vector<int64_t> &shape, DType dtype) {
  std::string s;
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + dtypeName(dtype);
}

float elementAsFloat(const HostTensor &t, int64_t i) {
  switch (t.dtype) {
  case DType::F64:
    return float(t.as<double>()[i]);
  case DType::F32:
    return t.as<float>()[i];
  case DType::F16:
    return halfToFloat(t.as<uint16_t>()[i]);
  case DType::BF16: {
    uint32_t bits = uint32_t(t.as<uint16_t>()[i]) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case DType::I64:
    return float(t.as<int64_t>()[i]);
  case DType::I32:
    return float(t.as<int32_t>()[i]);
  case DType::I16:
    return float(t.as<int16_t>()[i]);
  case DType::I8:
    return float(t.as<int8_t>()[i]);
  case DType::U8:
  case DType::Bool:
    return float(t.as<uint8_t>()[i]);
  }
  return 0.0f;
}

/// Extracts the value of `key` from a .npy header dictionary.
static bool headerField(const std::string &header, const std::string &key,
                        std::string &value) {
  size_t pos = header.find("'" + key + "'");
  if (pos == std::string::npos)
    return false;
  pos = header.find(':', pos);
  if (pos == std::string::npos)
    return false;
  ++pos;
  while (pos < header.size() && header[pos] == ' ')
    ++pos;
  size_t end;
  if (header[pos] == '\'') {
    end = header.find('\'', pos + 1);
    if (end == std::string::npos)
      return false;
    value = header.substr(pos + 1, end - pos - 1);
  } else if (header[pos] == '(') {
    end = header.find(')', pos);
    if (end == std::string::npos)
      return false;
    value = header.substr(pos + 1, end - pos - 1);
  } else {
    end = header.find_first_of(",}", pos);
    value = header.substr(pos, end - pos);
  }
  return true;
}

bool readNpy(const std::string &path, HostTensor &tensor, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "'";
    return false;
  }
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    error = "'" + path + "' is not a .npy file";
    return false;
  }
  uint32_t headerLen = 0;
  if (magic[6] == 1) {
    unsigned char len[2];
    in.read(reinterpret_cast<char *>(len), 2);
    headerLen = len[0] | (len[1] << 8);
  } else {
    unsigned char len[4];
    in.read(reinterpret_cast<char *>(len), 4);
    headerLen = len[0] | (len[1] << 8) | (len[2] << 16) | (uint32_t(len[3]) << 24);
  }
  std::string header(headerLen, '\0');
  if (!in.read(&header[0], headerLen)) {
    error = "'" + path + "': truncated header";
    return false;
  }
  std::string descr, order, shapeStr;
  if (!headerField(header, "descr", descr) ||
      !headerField(header, "fortran_order", order) ||
      !headerField(header, "shape", shapeStr)) {
    error = "'" + path + "': malformed header";
    return false;
  }
  if (order.find("True") != std::string::npos) {
    error = "'" + path + "': Fortran-order arrays are not supported";
    return false;
  }
  if (descr == "<u1" || descr == "u1")
    descr = "|u1";
  if (descr == "<i1" || descr == "i1")
    descr = "|i1";
  bool found = false;
  for (const auto &i : kDTypes)
    if (descr == i.npyDescr) {
      tensor.dtype = i.dtype;
      found = true;
    }
  if (!found) {
    error = "'" + path + "': unsupported dtype '" + descr + "'";
    return false;
  }
  tensor.shape.clear();
  std::stringstream dims(shapeStr);
  std::string dim;
  while (std::getline(dims, dim, ',')) {
    size_t b = dim.find_first_not_of(' ');
    if (b == std::string::npos)
      continue;
    tensor.shape.push_back(std::stoll(dim.substr(b)));
  }
  tensor.data.resize(size_t(tensor.numElements()) * dtypeSize(tensor.dtype));
  if (!in.read(reinterpret_cast<char *>(tensor.data.data()),
               std::streamsize(tensor.data.size()))) {
    error = "'" + path + "': truncated data";
    return false;
  }
  return true;
}

bool writeNpy(const std::string &path, const HostTensor &tensor,
              std::string &error) {
  std::string shape = "(";
  for (int64_t d : tensor.shape)
    shape += std::to_string(d) + ", ";
  if (tensor.shape.size() > 1)
    shape.resize(shape.size() - 2);
  else if (tensor.shape.size() == 1)
    shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '" + std::string(info(tensor.dtype).npyDescr) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so that the data starts on a 64-byte boundary; end with '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) {
    error = "cannot write '" + path + "'";
    return false;
  }
  unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                uint8_t(header.size() & 0xff),
                                uint8_t(header.size() >> 8)};
  out.write(reinterpret_cast<const char *>(preamble), 10);
  out.write(header.data(), std::streamsize(header.size()));
  out.write(reinterpret_cast<const char *>(tensor.data.data()),
            std::streamsize(tensor.data.size()));
  if (!out) {
    error = "error writing '" + path + "'";
    return false;
  }
  return true;
}

} // namespace mlir::tessera
