//===- abi_fuzzer.cpp - libFuzzer target: the C entry points' checks ------===//
//
// Calls the functions of abi_fuzz.mlir, compiled by tessera-compile and
// linked in with the (instrumented) runtime, the way a careless C caller
// would: sizes from the input (negative, huge, mismatched), null and
// misaligned pointers, and buffer contents from the input (so block-sparse
// patterns are arbitrary). Every buffer ends at a page that cannot be read,
// so an access past what the caller's sizes allow faults.
//
// The oracle: a call whose arguments are valid (non-null, aligned, sizes
// agreeing with each other and the static shape) must succeed; any other
// must fail with TESSERA_INVALID_ARGUMENT and a message naming the function,
// without touching memory it was not given.
//
//   scripts/fuzz.sh abi 1800    (build-fuzz/bin/tessera-abi-fuzzer)
//
//===----------------------------------------------------------------------===//

#include "abi_fuzz.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace {

// Buffers larger than this are not allocated: a call that would need one is
// skipped when valid (it cannot be made safely) and made with a small buffer
// when invalid (it must be refused before any access).
constexpr size_t kMaxBytes = 1 << 22;

[[noreturn]] void fail(const char *what, const char *function) {
  std::fprintf(stderr, "tessera-abi-fuzzer: %s: %s (last error: '%s')\n",
               function, what, fuzz_last_error());
  std::abort();
}

/// A buffer of `bytes` that ends where an unreadable page begins.
class GuardedBuffer {
public:
  explicit GuardedBuffer(size_t bytes) : bytes(bytes) {
    size_t page = size_t(sysconf(_SC_PAGESIZE));
    dataPages = (bytes + page - 1) / page * page;
    mapped = dataPages + page;
    base = static_cast<char *>(mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base == MAP_FAILED)
      std::abort();
    mprotect(base + dataPages, page, PROT_NONE);
  }
  ~GuardedBuffer() { munmap(base, mapped); }
  GuardedBuffer(const GuardedBuffer &) = delete;
  GuardedBuffer &operator=(const GuardedBuffer &) = delete;
  char *data() { return base + dataPages - bytes; }
  size_t size() const { return bytes; }

private:
  size_t bytes, dataPages, mapped;
  char *base;
};

/// One tensor argument or result of a call.
struct Tensor {
  std::vector<int64_t> shape; // as the caller claims it
  int elementSize;
  bool valid = true; // pointer non-null and aligned, sizes non-negative
  std::unique_ptr<GuardedBuffer> buffer;
  void *pointer = nullptr;

  /// Bytes of the claimed shape; kNegative or kOverflow (both invalid), or
  /// kTooLarge (valid, but more than this fuzzer allocates).
  static constexpr int64_t kNegative = -1, kOverflow = -2, kTooLarge = -3;
  int64_t bytes() const {
    // In the runtime's order: a negative size first, then the element
    // count, then the bytes.
    int64_t n = 1;
    for (int64_t d : shape) {
      if (d < 0)
        return kNegative;
      if (__builtin_mul_overflow(n, d, &n))
        return kOverflow;
    }
    if (__builtin_mul_overflow(n, int64_t(elementSize), &n))
      return kOverflow;
    return n > int64_t(kMaxBytes) ? kTooLarge : n;
  }
};

class Call {
public:
  explicit Call(FuzzedDataProvider &input) : input(input) {}

  /// A dynamic size: mostly small, sometimes anything.
  int64_t size() {
    switch (input.ConsumeIntegralInRange<int>(0, 7)) {
    case 0:
      return input.ConsumeIntegral<int64_t>();
    case 1:
      return -input.ConsumeIntegralInRange<int64_t>(1, 3);
    default:
      return input.ConsumeIntegralInRange<int64_t>(0, 40);
    }
  }

  /// The tensor of `shape` (claimed) with its buffer: of the claimed size
  /// when it is small enough, filled from the input; or null, or misaligned.
  Tensor &tensor(std::vector<int64_t> shape, int elementSize) {
    tensors.push_back(std::make_unique<Tensor>());
    Tensor &t = *tensors.back();
    t.shape = std::move(shape);
    t.elementSize = elementSize;
    int64_t bytes = t.bytes();
    t.valid = bytes != Tensor::kNegative && bytes != Tensor::kOverflow;
    tooLarge |= bytes == Tensor::kTooLarge;
    size_t allocate = bytes < 0 ? 64 : size_t(bytes);
    t.buffer = std::make_unique<GuardedBuffer>(allocate);
    std::vector<uint8_t> fill = input.ConsumeBytes<uint8_t>(
        input.ConsumeIntegralInRange<size_t>(0, allocate));
    char *p = t.buffer->data();
    for (size_t i = 0; !fill.empty() && i < allocate; i += fill.size())
      std::memcpy(p + i, fill.data(), std::min(fill.size(), allocate - i));
    t.pointer = p;
    switch (input.ConsumeIntegralInRange<int>(0, 15)) {
    case 0:
      t.pointer = nullptr;
      t.valid &= bytes == 0; // a null pointer to no elements is fine
      break;
    case 1:
      if (elementSize > 1) {
        // Misaligned, and one byte past the buffer at the end: must be
        // refused before the bytes are read.
        t.pointer = p + 1;
        t.valid = false;
      }
      break;
    default:
      break;
    }
    return t;
  }

  /// Sizes that must agree (one dynamic size used by several tensors).
  void same(int64_t a, int64_t b) { agree &= a == b; }

  bool valid() const {
    bool all = agree;
    for (const auto &t : tensors)
      all &= t->valid;
    return all;
  }
  /// A valid call this fuzzer cannot make (its buffers would be too large).
  bool skip() const { return tooLarge && valid(); }

  void check(int32_t status, const char *function) {
    bool ok = valid();
    if (ok && status != 0)
      fail("refused a valid call", function);
    if (!ok && status == 0)
      fail("accepted an invalid call", function);
    if (!ok && std::strstr(fuzz_last_error(), function + 5) == nullptr)
      fail("the error message does not name the function", function);
  }

private:
  FuzzedDataProvider &input;
  std::vector<std::unique_ptr<Tensor>> tensors;
  bool agree = true, tooLarge = false;
};

template <typename T> T *ptr(Tensor &t) { return static_cast<T *>(t.pointer); }

void callBsr(FuzzedDataProvider &input) {
  Call call(input);
  int64_t m = call.size(), nnz = call.size(), nnzBlocks = call.size(),
          mOut = call.size();
  if (input.ConsumeBool())
    nnzBlocks = nnz;
  if (input.ConsumeBool())
    mOut = m;
  Tensor &x = call.tensor({m, 64}, 4);
  Tensor &indptr = call.tensor({9}, 4);
  Tensor &indices = call.tensor({nnz}, 4);
  Tensor &blocks = call.tensor({nnzBlocks, 4, 8}, 4);
  Tensor &y = call.tensor({mOut, 32}, 4);
  call.same(m, mOut);
  call.same(nnz, nnzBlocks);
  if (call.skip())
    return;
  call.check(fuzz_bsr(ptr<float>(x), m, ptr<int32_t>(indptr),
                      ptr<int32_t>(indices), nnz, ptr<float>(blocks),
                      nnzBlocks, ptr<float>(y), mOut),
             "fuzz_bsr");
}

void callMonarch(FuzzedDataProvider &input) {
  Call call(input);
  int64_t b = call.size(), bOut = input.ConsumeBool() ? b : call.size();
  Tensor &x = call.tensor({b, 64}, 4);
  Tensor &w1 = call.tensor({4, 4, 16}, 4);
  Tensor &w2 = call.tensor({4, 12, 4}, 4);
  Tensor &y = call.tensor({bOut, 48}, 4);
  call.same(b, bOut);
  if (call.skip())
    return;
  call.check(fuzz_monarch(ptr<float>(x), b, ptr<float>(w1), ptr<float>(w2),
                          ptr<float>(y), bOut),
             "fuzz_monarch");
}

void callMpmm(FuzzedDataProvider &input) {
  Call call(input);
  int64_t m = call.size(), mOut = input.ConsumeBool() ? m : call.size();
  Tensor &x = call.tensor({m, 64}, 4);
  Tensor &codes = call.tensor({24 * 64 * 2 / 8}, 1);
  Tensor &scales = call.tensor({24, 2}, 4);
  Tensor &zeros = call.tensor({24 * 2 * 2 / 8}, 1);
  Tensor &y = call.tensor({mOut, 24}, 4);
  call.same(m, mOut);
  if (call.skip())
    return;
  call.check(fuzz_mpmm(ptr<float>(x), m, ptr<uint8_t>(codes),
                       ptr<float>(scales), ptr<uint8_t>(zeros), ptr<float>(y),
                       mOut),
             "fuzz_mpmm");
}

void callAdd(FuzzedDataProvider &input) {
  Call call(input);
  int64_t dims[6];
  for (int64_t &d : dims)
    d = call.size();
  // Mostly agreeing sizes, so that valid calls are common.
  for (int i = 2; i < 6; ++i)
    if (input.ConsumeIntegralInRange<int>(0, 3) != 0)
      dims[i] = dims[i % 2];
  Tensor &a = call.tensor({dims[0], dims[1]}, 4);
  Tensor &b = call.tensor({dims[2], dims[3]}, 4);
  Tensor &sum = call.tensor({dims[4], dims[5]}, 4);
  for (int i = 2; i < 6; ++i)
    call.same(dims[i], dims[i % 2]);
  if (call.skip())
    return;
  call.check(fuzz_add(ptr<float>(a), dims[0], dims[1], ptr<float>(b), dims[2],
                      dims[3], ptr<float>(sum), dims[4], dims[5]),
             "fuzz_add");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  fuzz_set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider input(data, size);
  switch (input.ConsumeIntegralInRange<int>(0, 3)) {
  case 0:
    callBsr(input);
    break;
  case 1:
    callMonarch(input);
    break;
  case 2:
    callMpmm(input);
    break;
  default:
    callAdd(input);
    break;
  }
  return 0;
}
