//===- HostTensorTest.cpp - .npy round trips ------------------------------===//

#include "tessera/Support/HostTensor.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstring>
#include <unistd.h>

using namespace mlir::tessera;

TEST(HostTensor, NpyRoundTripEveryDType) {
  for (DType dtype : {DType::F64, DType::F32, DType::F16, DType::BF16,
                      DType::I64, DType::I32, DType::I16, DType::I8, DType::U8,
                      DType::Bool}) {
    HostTensor t(dtype, {3, 5});
    for (size_t i = 0; i < t.data.size(); ++i)
      t.data[i] = uint8_t(i * 37 + 11);
    if (dtype == DType::Bool)
      for (uint8_t &b : t.data)
        b &= 1;
    std::string path = testing::TempDir() + "/tessera_ht_" +
                       std::to_string(getpid()) + dtypeName(dtype) + ".npy";
    std::string error;
    ASSERT_TRUE(writeNpy(path, t, error)) << error;
    HostTensor back;
    ASSERT_TRUE(readNpy(path, back, error)) << error;
    EXPECT_EQ(back.dtype, dtype);
    EXPECT_EQ(back.shape, t.shape);
    EXPECT_EQ(back.data, t.data);
    std::remove(path.c_str());
  }
}

TEST(HostTensor, ScalarAndVectorShapes) {
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{}, std::vector<int64_t>{7}}) {
    HostTensor t(DType::F32, shape);
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.as<float>()[i] = float(i) + 0.5f;
    std::string path = testing::TempDir() + "/tessera_ht_shape.npy";
    std::string error;
    ASSERT_TRUE(writeNpy(path, t, error)) << error;
    HostTensor back;
    ASSERT_TRUE(readNpy(path, back, error)) << error;
    EXPECT_EQ(back.shape, shape);
    EXPECT_EQ(back.data, t.data);
    std::remove(path.c_str());
  }
}

TEST(HostTensor, HalfAndBFloatDecode) {
  HostTensor h(DType::F16, {4});
  uint16_t halfBits[] = {0x3C00, 0xC000, 0x0001, 0x7BFF}; // 1, -2, 2^-24, 65504
  std::memcpy(h.data.data(), halfBits, sizeof(halfBits));
  EXPECT_EQ(elementAsFloat(h, 0), 1.0f);
  EXPECT_EQ(elementAsFloat(h, 1), -2.0f);
  EXPECT_EQ(elementAsFloat(h, 2), 5.9604644775390625e-08f);
  EXPECT_EQ(elementAsFloat(h, 3), 65504.0f);
  HostTensor b(DType::BF16, {1});
  uint16_t bf = 0x3FC0; // 1.5
  std::memcpy(b.data.data(), &bf, 2);
  EXPECT_EQ(elementAsFloat(b, 0), 1.5f);
}

TEST(HostTensor, ReadErrors) {
  HostTensor t;
  std::string error;
  EXPECT_FALSE(readNpy("/nonexistent/x.npy", t, error));
  EXPECT_NE(error.find("cannot open"), std::string::npos);
  std::string path = testing::TempDir() + "/tessera_ht_bad.npy";
  FILE *f = std::fopen(path.c_str(), "wb");
  std::fputs("not numpy", f);
  std::fclose(f);
  EXPECT_FALSE(readNpy(path, t, error));
  EXPECT_NE(error.find("not a .npy"), std::string::npos);
  std::remove(path.c_str());
}
