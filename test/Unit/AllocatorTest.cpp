//===- AllocatorTest.cpp - The runtime's allocator of compiled code --------===//

#include "tessera/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

TEST(Allocator, SmallBlocksAreUsableAndFreed) {
  for (size_t size : {size_t(0), size_t(1), size_t(63), size_t(4096)}) {
    auto *p = static_cast<unsigned char *>(_mlir_memref_to_llvm_alloc(size));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    std::memset(p, 0xab, size);
    _mlir_memref_to_llvm_free(p);
  }
  _mlir_memref_to_llvm_free(nullptr);
}

TEST(Allocator, LargeBlocksAreReusedWhenTheSizeFits) {
  tessera_rt_release_memory();
  const size_t size = 1 << 20;
  void *first = _mlir_memref_to_llvm_alloc(size);
  std::memset(first, 1, size);
  _mlir_memref_to_llvm_free(first);
  // The same size, and up to a quarter less, get the cached block back.
  void *again = _mlir_memref_to_llvm_alloc(size - size / 8);
  EXPECT_EQ(again, first);
  _mlir_memref_to_llvm_free(again);
  // A larger request, or one less than 4/5 of the block, gets a new one.
  void *larger = _mlir_memref_to_llvm_alloc(size + 1);
  EXPECT_NE(larger, first);
  void *smaller = _mlir_memref_to_llvm_alloc(size / 2);
  EXPECT_NE(smaller, first);
  std::memset(larger, 2, size + 1);
  std::memset(smaller, 3, size / 2);
  _mlir_memref_to_llvm_free(larger);
  _mlir_memref_to_llvm_free(smaller);
  tessera_rt_release_memory();
}

TEST(Allocator, ManyThreadsAllocateAndFree) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        size_t size = (size_t(256) << 10) + size_t(i % 7) * 4096 + size_t(t);
        auto *p = static_cast<unsigned char *>(_mlir_memref_to_llvm_alloc(size));
        ASSERT_NE(p, nullptr);
        p[0] = static_cast<unsigned char>(t);
        p[size - 1] = static_cast<unsigned char>(i);
        EXPECT_EQ(p[0], t);
        _mlir_memref_to_llvm_free(p);
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  tessera_rt_release_memory();
}

} // namespace
