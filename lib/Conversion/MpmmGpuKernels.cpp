//===- MpmmGpuKernels.cpp - Code decoding for the GPU mpmm kernels -------===//
//
// The decoding IR both GPU kernels of tessera-lower-mpmm-to-parallel-loops
// share, and the weight stager of its tensor-core kernel
// (TensorCoreKernel.cpp): per step of 32 columns, thread tid decodes the
// run of 8 codes 8 (tid % 4) .. + 7 of weight row n0 + tid / 4 (rows past N
// clamped to the last one), dequantizes it with the group's scale and zero
// point in registers (f32, rounded to f16) and stores it as one 16-byte row
// piece of the staging buffer.
//
//===----------------------------------------------------------------------===//

#include "MpmmGpuKernels.h"
#include "PackedCodes.h"
#include "TensorCoreKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::tessera;

void mlir::tessera::emitDecodeRun(OpBuilder &b, Location loc,
                                  const MpmmGpuOperands &o, Value row, Value k0,
                                  function_ref<void(int64_t, Value)> use) {
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto int64 = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i64, v);
  };
  // First byte of the run: (row*K + k0) * b / 8, exact for k0 % 8 == 0.
  Value element = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, row, index(o.k)), k0);
  Value byte = arith::DivUIOp::create(
      b, loc, arith::MulIOp::create(b, loc, element, index(o.bits)), index(8));
  // 8-bit codes are their bytes; narrower ones are gathered into one word.
  Value word = int64(0);
  for (unsigned i = 0; o.bits < 8 && i < o.bits; ++i) {
    Value at = arith::AddIOp::create(b, loc, byte, index(i));
    Value v = arith::ExtUIOp::create(
        b, loc, i64, memref::LoadOp::create(b, loc, o.weights, ValueRange{at}));
    word = arith::OrIOp::create(b, loc, word,
                                arith::ShLIOp::create(b, loc, v, int64(8 * i)));
  }
  bool signedValue = o.signedCodes && !o.table;
  for (int64_t l = 0; l < kMpmmRunCodes; ++l) {
    Value code;
    if (o.bits == 8) {
      Value at = arith::AddIOp::create(b, loc, byte, index(l));
      Value v = memref::LoadOp::create(b, loc, o.weights, ValueRange{at});
      code = signedValue ? Value(arith::ExtSIOp::create(b, loc, i64, v))
                         : Value(arith::ExtUIOp::create(b, loc, i64, v));
    } else {
      // Code l: bits [l*b, (l+1)*b), to the top and back.
      code = arith::ShLIOp::create(b, loc, word, int64(64 - (l + 1) * o.bits));
      Value down = int64(64 - o.bits);
      code = signedValue ? Value(arith::ShRSIOp::create(b, loc, code, down))
                         : Value(arith::ShRUIOp::create(b, loc, code, down));
    }
    if (o.table) {
      Value idx = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), code);
      use(l,
          emitToF32(b, loc,
                    memref::LoadOp::create(b, loc, o.table, ValueRange{idx})));
    } else {
      use(l, signedValue ? Value(arith::SIToFPOp::create(b, loc, f32, code))
                         : Value(arith::UIToFPOp::create(b, loc, f32, code)));
    }
  }
}

std::pair<Value, Value>
mlir::tessera::emitGroupScaleZero(OpBuilder &b, Location loc,
                                  const MpmmGpuOperands &o, Value row,
                                  Value group) {
  Value s = emitToF32(
      b, loc, memref::LoadOp::create(b, loc, o.scales, ValueRange{row, group}));
  Value z;
  if (o.zeroMode == ZeroPointMode::Int) {
    Value at = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(
            b, loc, row, arith::ConstantIndexOp::create(b, loc, o.k / o.group)),
        group);
    Value code = emitReadPackedCode(b, loc, o.zeros, at, o.bits, o.signedZeros);
    z = arith::SIToFPOp::create(b, loc, b.getF32Type(), code);
  } else if (o.zeroMode == ZeroPointMode::Float) {
    z = emitToF32(
        b, loc,
        memref::LoadOp::create(b, loc, o.zeros, ValueRange{row, group}));
  }
  return {s, z};
}

Value mlir::tessera::emitDequantize(OpBuilder &b, Location loc,
                                    ZeroPointMode mode, Value v, Value s,
                                    Value z) {
  switch (mode) {
  case ZeroPointMode::Int:
    return arith::MulFOp::create(b, loc, s,
                                 arith::SubFOp::create(b, loc, v, z));
  case ZeroPointMode::Float:
    return arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, s, v),
                                 z);
  case ZeroPointMode::None:
    break;
  }
  return arith::MulFOp::create(b, loc, s, v);
}

namespace {

/// Stages dequantized low-bit weights for the tensor-core kernel: thread
/// tid loads the b bytes of its run, then reads the scale and zero point of
/// its row for the step's group, decodes, dequantizes and stores them.
class QuantizedWeightStager final : public MmaWeightStager {
public:
  explicit QuantizedWeightStager(const MpmmGpuOperands &o) : o(o) {}

  SmallVector<Value> load(OpBuilder &b, Location loc, Value n0, Value tid,
                          Value kStep) override {
    // Nothing ahead: the run's few bytes (L2 hits mostly: every block of a
    // column reads them) are read with the scale and zero point in store(),
    // after the mma; holding them across it costs the registers that keep
    // the kernel within 128.
    return {};
  }

  void store(OpBuilder &b, Location loc, Value n0, Value tid, Value kStep,
             ArrayRef<Value>, Value staging, Value buffer) override {
    Value r = row(b, loc, n0, tid);
    auto [s, z] = emitGroupScaleZero(
        b, loc, o, r,
        arith::DivUIOp::create(b, loc, kStep, index(b, loc, o.group)));
    SmallVector<Value> w;
    emitDecodeRun(b, loc, o, r,
                  arith::AddIOp::create(b, loc, kStep, column(b, loc, tid)),
                  [&](int64_t, Value value) {
                    w.push_back(arith::TruncFOp::create(
                        b, loc, b.getF16Type(),
                        emitDequantize(b, loc, o.zeroMode, value, s, z)));
                  });
    auto run16 = VectorType::get({kMpmmRunCodes}, b.getF16Type());
    vector::StoreOp::create(
        b, loc, vector::FromElementsOp::create(b, loc, run16, w), staging,
        ValueRange{
            buffer,
            arith::DivUIOp::create(b, loc, tid, index(b, loc, kRunsPerRow)),
            column(b, loc, tid)},
        /*nontemporal=*/false, llvm::Align(16));
  }

private:
  static constexpr int64_t kRunsPerRow = kMmaStepK / kMpmmRunCodes;
  static_assert(kMmaThreads == kMmaBlockCols * kRunsPerRow,
                "one run of codes per thread and step");

  static Value index(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }

  /// The column of the step where thread `tid`'s run starts.
  static Value column(OpBuilder &b, Location loc, Value tid) {
    return arith::MulIOp::create(
        b, loc, arith::RemUIOp::create(b, loc, tid, index(b, loc, kRunsPerRow)),
        index(b, loc, kMpmmRunCodes));
  }

  /// The weight row thread `tid` decodes, clamped into W.
  Value row(OpBuilder &b, Location loc, Value n0, Value tid) {
    Value inBlock =
        arith::DivUIOp::create(b, loc, tid, index(b, loc, kRunsPerRow));
    return arith::MinUIOp::create(b, loc,
                                  arith::AddIOp::create(b, loc, n0, inBlock),
                                  index(b, loc, o.n - 1));
  }

  const MpmmGpuOperands &o;
};

} // namespace

bool mlir::tessera::mmaKernelFits(const MpmmGpuOperands &o) {
  return o.group % kMmaStepK == 0 && o.k % kMmaStepK == 0;
}

void mlir::tessera::emitMmaNest(OpBuilder &b, Location loc, ModuleOp module,
                                const MpmmGpuOperands &o, Value m,
                                bool emulate) {
  QuantizedWeightStager weights(o);
  emitTensorCoreKernel(b, loc, module, TensorCoreProblem{o.x, o.y, o.n, o.k},
                       weights, m, emulate);
}
