//===- LowerMpmmToParallelLoops.cpp - mpmm kernels for GPU threads --------===//
//
// tessera.mpmm as scf.parallel nests whose iterations are GPU threads (the
// CUDA pipeline maps them to blocks and threads), chosen from the codes and
// at run time from M:
//
// - M < mma-min-rows, integer codes of 1, 2, 4 or 8 bits, no float offsets:
//   tensor cores for few rows of x (MpmmSkinnyMmaKernel.cpp), the weights
//   as the mma's A operand and up to 8 rows of x as B.
// - Other codes, M = 1 and M < mma-min-rows, K and the group multiples of
//   32: the warp
//   kernel (MpmmWarpKernel.cpp): a warp per strip of 1024 codes and group
//   of weight rows, runs of codes interleaved across the lanes, warp sums
//   by shuffles, one atomic add per row.
// - Otherwise below mma-min-rows: the fused split-K nest on CUDA cores.
//   Nothing is materialized: each iteration reads the packed codes of one
//   weight row for a chunk of K (whole groups, about kChunkCodes codes),
//   decodes 8 codes at a time from b bytes (any width 1-8, integer, float
//   format or codebook) and accumulates R rows of x:
//
//     gacc[r] = sum_k x[m+r, k] * v(q[n, k]),  xsum[r] = sum_k x[m+r, k]
//     acc[r] += s[n,g] * (gacc[r] - z[n,g] * xsum[r])    integer zero point
//     acc[r] += s[n,g] * gacc[r] + z[n,g] * xsum[r]      float offset
//     acc[r] += s[n,g] * gacc[r]                         symmetric
//
//   then adds acc[r] into Y[m+r, n] atomically (the chunks of a row of Y
//   are summed in any order: results are not bitwise reproducible on a
//   GPU). The iteration space is (ceil(M/R), N * chunks) with the chunk
//   innermost, so consecutive threads read consecutive bytes of W
//   (coalesced). R = 1 when M = 1 (decoding, memory-bound), 4 otherwise.
//   On a CPU the nest runs as loops, which is how it is tested without a
//   GPU.
// - M >= mma-min-rows: the tensor-core kernel (MpmmGpuKernels.cpp), blocks
//   and threads already mapped; with emulate-mma its warps run lane by lane
//   on a CPU instead.
//
// Taken: f32 results, f32/f16/bf16 activations, scales and offsets, K and
// the group size multiples of 8 (of 32 for the tensor-core kernel), weights
// and integer zero points from canonical storage (a tessera.unpack without
// layout). Others are left for the reference lowering.
//
//===----------------------------------------------------------------------===//

#include "MpmmGpuKernels.h"
#include "PackedCodes.h"
#include "TensorCoreKernel.h"
#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"
#include "tessera/Support/FloatFormat.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERMPMMTOPARALLELLOOPS
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kChunkCodes = 256; // codes of K per iteration, at least

/// The f32 decode table of a float format, as a private constant global.
Value decodeTableGlobal(OpBuilder &b, Location loc, ModuleOp module,
                        const FloatFormat &format) {
  std::vector<float> table = format.decodeTable();
  auto type = MemRefType::get({int64_t(table.size())}, b.getF32Type());
  std::string name = "__tessera_decode_e" +
                     std::to_string(format.getExponentBits()) + "m" +
                     std::to_string(format.getMantissaBits());
  SymbolTable symbols(module);
  if (!symbols.lookup(name)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    memref::GlobalOp::create(
        b, loc, name, b.getStringAttr("private"), type,
        DenseElementsAttr::get(
            RankedTensorType::get(type.getShape(), b.getF32Type()),
            ArrayRef<float>(table)),
        /*constant=*/true, /*alignment=*/nullptr);
  }
  return memref::GetGlobalOp::create(b, loc, type, name);
}

/// The split-K nest for `rows` rows of x per iteration (CUDA cores).
void emitSplitKNest(OpBuilder &b, Location loc, const MpmmGpuOperands &o,
                    Value m, int64_t rows) {
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto f32c = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  int64_t numGroups = o.k / o.group;
  int64_t groupsPerChunk = std::max<int64_t>(1, kChunkCodes / o.group);
  int64_t chunks = (numGroups + groupsPerChunk - 1) / groupsPerChunk;
  Value c0 = index(0), c1 = index(1);
  Value rowTiles = arith::CeilDivUIOp::create(b, loc, m, index(rows));
  Value lastRow = arith::SubIOp::create(b, loc, m, c1);

  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{rowTiles, index(o.n * chunks)},
      ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value n = arith::DivUIOp::create(b, loc, ivs[1], index(chunks));
        Value chunk = arith::RemUIOp::create(b, loc, ivs[1], index(chunks));
        Value m0 = arith::MulIOp::create(b, loc, ivs[0], index(rows));
        SmallVector<Value> rowIndex;
        for (int64_t r = 0; r < rows; ++r)
          rowIndex.push_back(arith::MinUIOp::create(
              b, loc, arith::AddIOp::create(b, loc, m0, index(r)), lastRow));
        Value gBegin =
            arith::MulIOp::create(b, loc, chunk, index(groupsPerChunk));
        Value gEnd = arith::MinUIOp::create(
            b, loc,
            arith::AddIOp::create(b, loc, gBegin, index(groupsPerChunk)),
            index(numGroups));
        SmallVector<Value> zeros(rows, f32c(0));
        auto groups = scf::ForOp::create(
            b, loc, gBegin, gEnd, c1, zeros,
            [&](OpBuilder &b, Location loc, Value g, ValueRange acc) {
              // Codes of this group: runs of 8, b bytes each.
              Value kGroup = arith::MulIOp::create(b, loc, g, index(o.group));
              SmallVector<Value> init(2 * rows, f32c(0));
              auto runs = scf::ForOp::create(
                  b, loc, c0, index(o.group / kMpmmRunCodes), c1, init,
                  [&](OpBuilder &b, Location loc, Value j, ValueRange sums) {
                    Value k0 = arith::AddIOp::create(
                        b, loc, kGroup,
                        arith::MulIOp::create(b, loc, j, index(kMpmmRunCodes)));
                    SmallVector<Value> out(sums.begin(), sums.end());
                    emitDecodeRun(
                        b, loc, o, n, k0, [&](int64_t l, Value value) {
                          Value kk =
                              arith::AddIOp::create(b, loc, k0, index(l));
                          for (int64_t r = 0; r < rows; ++r) {
                            Value xv = emitToF32(
                                b, loc,
                                memref::LoadOp::create(
                                    b, loc, o.x, ValueRange{rowIndex[r], kk}));
                            out[r] =
                                math::FmaOp::create(b, loc, xv, value, out[r]);
                            out[rows + r] = arith::AddFOp::create(
                                b, loc, out[rows + r], xv);
                          }
                        });
                    scf::YieldOp::create(b, loc, out);
                  });
              // The group's scale and zero point, applied once.
              auto [s, z] = emitGroupScaleZero(b, loc, o, n, g);
              SmallVector<Value> next;
              for (int64_t r = 0; r < rows; ++r) {
                Value dot = runs.getResult(r), xsum = runs.getResult(rows + r);
                Value term;
                switch (o.zeroMode) {
                case ZeroPointMode::Int:
                  term = arith::MulFOp::create(
                      b, loc, s,
                      arith::SubFOp::create(
                          b, loc, dot, arith::MulFOp::create(b, loc, z, xsum)));
                  break;
                case ZeroPointMode::Float:
                  term = math::FmaOp::create(
                      b, loc, z, xsum, arith::MulFOp::create(b, loc, s, dot));
                  break;
                case ZeroPointMode::None:
                  term = arith::MulFOp::create(b, loc, s, dot);
                  break;
                }
                next.push_back(arith::AddFOp::create(b, loc, acc[r], term));
              }
              scf::YieldOp::create(b, loc, next);
            });
        // Into Y, for the rows that exist.
        for (int64_t r = 0; r < rows; ++r) {
          Value row = arith::AddIOp::create(b, loc, m0, index(r));
          Value inside =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, m);
          scf::IfOp::create(b, loc, inside, [&](OpBuilder &b, Location loc) {
            memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addf,
                                        groups.getResult(r), o.y,
                                        ValueRange{row, n});
            scf::YieldOp::create(b, loc);
          });
        }
      });
}

/// `then` when `condition`, else `otherwise`, as an scf.if.
void emitIf(OpBuilder &b, Location loc, Value condition,
            function_ref<void()> then, function_ref<void()> otherwise) {
  scf::IfOp::create(
      b, loc, condition,
      [&](OpBuilder &b, Location loc) {
        then();
        scf::YieldOp::create(b, loc);
      },
      [&](OpBuilder &b, Location loc) {
        otherwise();
        scf::YieldOp::create(b, loc);
      });
}

LogicalResult lowerMpmm(MpmmOp op, ModuleOp module, int64_t mmaMinRows,
                        bool emulateMma, bool emulateWarps) {
  Value weights = canonicalStorage(op.getWeights());
  auto yType = op.getInit().getType();
  Type codeType = op.getWeights().getType().getElementType();
  int64_t n = op.getWeights().getType().getDimSize(0);
  int64_t k = op.getWeights().getType().getDimSize(1);
  int64_t group = op.getGroupSize();
  ZeroPointMode zeroMode = op.getZeroPointMode();
  Value zeroStorage = zeroMode == ZeroPointMode::Int
                          ? canonicalStorage(op.getZeros())
                          : Value();
  Type xElement = op.getX().getType().getElementType();
  if (!weights || !yType.getElementType().isF32() ||
      !isa<FloatType>(xElement) || xElement.getIntOrFloatBitWidth() > 32 ||
      k % kMpmmRunCodes || group % kMpmmRunCodes ||
      (zeroMode == ZeroPointMode::Int && !zeroStorage))
    return failure();

  OpBuilder b(op);
  Location loc = op.getLoc();
  MpmmGpuOperands o;
  o.bits = getLowBitWidth(codeType);
  o.signedCodes = codeType.isSignedInteger();
  o.zeroMode = zeroMode;
  o.signedZeros = zeroMode == ZeroPointMode::Int &&
                  cast<ShapedType>(op.getZeros().getType())
                      .getElementType()
                      .isSignedInteger();
  o.n = n;
  o.k = k;
  o.group = group;
  o.x = emitReadBuffer(b, loc, op.getX(), /*contiguousRows=*/true);
  o.weights = emitReadBuffer(b, loc, weights, /*contiguousRows=*/true);
  o.scales = emitReadBuffer(b, loc, op.getScales());
  if (zeroMode == ZeroPointMode::Int)
    o.zeros = emitReadBuffer(b, loc, zeroStorage);
  else if (zeroMode == ZeroPointMode::Float)
    o.zeros = emitReadBuffer(b, loc, op.getZeros());
  if (op.getCodebook())
    o.table = emitReadBuffer(b, loc, op.getCodebook());
  else if (FailureOr<FloatFormat> format = getFloatFormat(codeType);
           succeeded(format))
    o.table = decodeTableGlobal(b, loc, module, *format);

  // Y starts as a copy of init; the kernels add into it.
  Value m = tensor::DimOp::create(b, loc, op.getX(), 0);
  auto yBufferType = MemRefType::get(yType.getShape(), yType.getElementType());
  SmallVector<Value> dynamicSizes;
  if (yType.isDynamicDim(0))
    dynamicSizes.push_back(m);
  o.y = memref::AllocOp::create(b, loc, yBufferType, dynamicSizes);
  memref::CopyOp::create(b, loc, emitReadBuffer(b, loc, op.getInit()), o.y);

  // M = 1: one row of x per warp (or thread); at least mma-min-rows rows:
  // tensor cores; in between, four rows per warp (or thread).
  bool mma = mmaMinRows > 0 && mmaKernelFits(o);
  bool warps = warpKernelFits(o);
  auto tensorCores = [&] { emitMmaNest(b, loc, module, o, m, emulateMma); };
  auto fewRows = [&](int64_t rows) {
    if (warps)
      emitWarpNest(b, loc, o, m, rows, emulateWarps);
    else
      emitSplitKNest(b, loc, o, m, rows);
  };
  auto fourRows = [&] { fewRows(4); };
  auto manyRows = [&] {
    if (!mma)
      return fourRows();
    if (mmaMinRows <= 2)
      return tensorCores();
    Value many = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::uge, m,
        arith::ConstantIndexOp::create(b, loc, mmaMinRows));
    emitIf(b, loc, many, tensorCores, fourRows);
  };
  if (mma && mmaMinRows == 1) {
    tensorCores();
  } else if (mma && skinnyMmaKernelFits(o)) {
    // Fewer rows than mma-min-rows: tensor cores with x as the mma's B.
    Value many = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::uge, m,
        arith::ConstantIndexOp::create(b, loc, mmaMinRows));
    emitIf(b, loc, many, tensorCores,
           [&] { emitSkinnyMmaNest(b, loc, o, m, emulateMma); });
  } else {
    Value single =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, m,
                              arith::ConstantIndexOp::create(b, loc, 1));
    emitIf(
        b, loc, single, [&] { fewRows(1); }, manyRows);
  }
  Value result = bufferization::ToTensorOp::create(
      b, loc, yType, o.y, /*restrict=*/true, /*writable=*/true);
  op.getResult().replaceAllUsesWith(result);
  op.erase();
  return success();
}

struct LowerMpmmToParallelLoopsPass
    : tessera::impl::TesseraLowerMpmmToParallelLoopsBase<
          LowerMpmmToParallelLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<MpmmOp> ops;
    module.walk([&](MpmmOp op) { ops.push_back(op); });
    for (MpmmOp op : ops) // ops that do not fit stay for the reference
      (void)lowerMpmm(op, module, mmaMinRows, emulateMma, emulateWarps);
  }
};

} // namespace
