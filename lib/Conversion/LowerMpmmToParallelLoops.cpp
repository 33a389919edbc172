//===- LowerMpmmToParallelLoops.cpp - Fused split-K mpmm for GPU threads --===//
//
// tessera.mpmm as one scf.parallel nest whose iterations are independent
// threads (the CUDA pipeline maps them to blocks and threads; on a CPU the
// nest runs as loops, which is how it is tested without a GPU). Nothing is
// materialized: each iteration reads the packed codes of one weight row for
// a chunk of K (whole groups, about kChunkCodes codes), decodes 8 codes at a
// time from b bytes (any width 1-8, integer, float format or codebook) and
// accumulates R rows of x:
//
//   gacc[r] = sum_k x[m+r, k] * v(q[n, k]),  xsum[r] = sum_k x[m+r, k]
//   acc[r] += s[n,g] * (gacc[r] - z[n,g] * xsum[r])    integer zero point
//   acc[r] += s[n,g] * gacc[r] + z[n,g] * xsum[r]      float offset
//   acc[r] += s[n,g] * gacc[r]                         symmetric
//
// then adds acc[r] into Y[m+r, n] atomically (the chunks of a row of Y are
// summed in any order: results are not bitwise reproducible on a GPU).
// The iteration space is (ceil(M/R), N * chunks) with the chunk innermost,
// so consecutive threads read consecutive bytes of W (coalesced). R = 1
// when M = 1 (decoding, memory-bound) and R = 4 otherwise (each decoded
// code used four times), chosen at run time.
//
// Taken: f32 results, f32/f16/bf16 activations, scales and offsets, K and
// the group size multiples of 8, weights and integer zero points from
// canonical storage (a tessera.unpack without layout). Others are left for
// the reference lowering.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"
#include "PackedCodes.h"
#include "tessera/Support/FloatFormat.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERMPMMTOPARALLELLOOPS
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kRun = 8;          // codes decoded from one run of b bytes
constexpr int64_t kChunkCodes = 256; // codes of K per iteration, at least

/// A read-only buffer of `tensor` with any layout.
Value readBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memrefType = MemRefType::get(
      type.getShape(), type.getElementType(),
      StridedLayoutAttr::get(
          b.getContext(), ShapedType::kDynamic,
          SmallVector<int64_t>(type.getRank(), ShapedType::kDynamic)));
  return bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                           /*readOnly=*/true);
}

Value toF32(OpBuilder &b, Location loc, Value v) {
  return v.getType().isF32() ? v : arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

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
        DenseElementsAttr::get(RankedTensorType::get(type.getShape(), b.getF32Type()),
                               ArrayRef<float>(table)),
        /*constant=*/true, /*alignment=*/nullptr);
  }
  return memref::GetGlobalOp::create(b, loc, type, name);
}

struct Operands {
  Value x, weights, scales, zeros, codebook, table, y;
  unsigned bits;
  bool signedCodes, signedZeros;
  ZeroPointMode zeroMode;
  int64_t n, k, group;
};

/// The parallel nest for `rows` rows of x per iteration.
void emitNest(OpBuilder &b, Location loc, const Operands &o, Value m,
              int64_t rows) {
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
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
      ValueRange{c1, c1},
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value n = arith::DivUIOp::create(b, loc, ivs[1], index(chunks));
        Value chunk = arith::RemUIOp::create(b, loc, ivs[1], index(chunks));
        Value m0 = arith::MulIOp::create(b, loc, ivs[0], index(rows));
        SmallVector<Value> rowIndex;
        for (int64_t r = 0; r < rows; ++r)
          rowIndex.push_back(arith::MinUIOp::create(
              b, loc, arith::AddIOp::create(b, loc, m0, index(r)), lastRow));
        Value gBegin = arith::MulIOp::create(b, loc, chunk, index(groupsPerChunk));
        Value gEnd = arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, gBegin, index(groupsPerChunk)),
            index(numGroups));
        SmallVector<Value> zeros(rows, f32c(0));
        auto groups = scf::ForOp::create(
            b, loc, gBegin, gEnd, c1, zeros,
            [&](OpBuilder &b, Location loc, Value g, ValueRange acc) {
              // Codes of this group: runs of 8, b bytes each.
              Value kGroup = arith::MulIOp::create(b, loc, g, index(o.group));
              SmallVector<Value> init(2 * rows, f32c(0));
              auto runs = scf::ForOp::create(
                  b, loc, c0, index(o.group / kRun), c1, init,
                  [&](OpBuilder &b, Location loc, Value j, ValueRange sums) {
                    Value k0 = arith::AddIOp::create(
                        b, loc, kGroup, arith::MulIOp::create(b, loc, j, index(kRun)));
                    // First byte of the run: (n*K + k0) * b / 8, exact.
                    Value element = arith::AddIOp::create(
                        b, loc, arith::MulIOp::create(b, loc, n, index(o.k)), k0);
                    Value byte = arith::DivUIOp::create(
                        b, loc, arith::MulIOp::create(b, loc, element, index(o.bits)),
                        index(8));
                    Value word = arith::ConstantIntOp::create(b, loc, i64, 0);
                    // 8-bit codes are their bytes; narrower ones are
                    // gathered into one 64-bit word.
                    for (unsigned i = 0; o.bits < 8 && i < o.bits; ++i) {
                      Value at = arith::AddIOp::create(b, loc, byte, index(i));
                      Value v = arith::ExtUIOp::create(
                          b, loc, i64,
                          memref::LoadOp::create(b, loc, o.weights, ValueRange{at}));
                      word = arith::OrIOp::create(
                          b, loc, word,
                          arith::ShLIOp::create(
                              b, loc, v, arith::ConstantIntOp::create(b, loc, i64, 8 * i)));
                    }
                    SmallVector<Value> out(sums.begin(), sums.end());
                    for (int64_t l = 0; l < kRun; ++l) {
                      bool signedValue = o.signedCodes && !o.table;
                      Value code;
                      if (o.bits == 8) {
                        Value at = arith::AddIOp::create(b, loc, byte, index(l));
                        Value v = memref::LoadOp::create(b, loc, o.weights, ValueRange{at});
                        code = signedValue ? Value(arith::ExtSIOp::create(b, loc, i64, v))
                                           : Value(arith::ExtUIOp::create(b, loc, i64, v));
                      } else {
                        // Code l: bits [l*b, (l+1)*b), to the top and back.
                        int64_t top = 64 - (l + 1) * o.bits;
                        code = arith::ShLIOp::create(
                            b, loc, word, arith::ConstantIntOp::create(b, loc, i64, top));
                        Value down =
                            arith::ConstantIntOp::create(b, loc, i64, 64 - o.bits);
                        code = signedValue
                                   ? Value(arith::ShRSIOp::create(b, loc, code, down))
                                   : Value(arith::ShRUIOp::create(b, loc, code, down));
                      }
                      Value value;
                      if (o.table) {
                        Value idx = arith::IndexCastUIOp::create(
                            b, loc, b.getIndexType(), code);
                        value = toF32(b, loc, memref::LoadOp::create(
                                                  b, loc, o.table, ValueRange{idx}));
                      } else {
                        value = signedValue
                                    ? Value(arith::SIToFPOp::create(b, loc, f32, code))
                                    : Value(arith::UIToFPOp::create(b, loc, f32, code));
                      }
                      Value kk = arith::AddIOp::create(b, loc, k0, index(l));
                      for (int64_t r = 0; r < rows; ++r) {
                        Value xv = toF32(b, loc,
                                         memref::LoadOp::create(
                                             b, loc, o.x, ValueRange{rowIndex[r], kk}));
                        out[r] = math::FmaOp::create(b, loc, xv, value, out[r]);
                        out[rows + r] = arith::AddFOp::create(b, loc, out[rows + r], xv);
                      }
                    }
                    scf::YieldOp::create(b, loc, out);
                  });
              // The group's scale and zero point, applied once.
              Value s = toF32(b, loc, memref::LoadOp::create(b, loc, o.scales,
                                                             ValueRange{n, g}));
              Value z;
              if (o.zeroMode == ZeroPointMode::Int) {
                Value at = arith::AddIOp::create(
                    b, loc, arith::MulIOp::create(b, loc, n, index(numGroups)), g);
                Value code = emitReadPackedCode(b, loc, o.zeros, at, o.bits,
                                                o.signedZeros);
                z = arith::SIToFPOp::create(b, loc, f32, code);
              } else if (o.zeroMode == ZeroPointMode::Float) {
                z = toF32(b, loc, memref::LoadOp::create(b, loc, o.zeros,
                                                         ValueRange{n, g}));
              }
              SmallVector<Value> next;
              for (int64_t r = 0; r < rows; ++r) {
                Value dot = runs.getResult(r), xsum = runs.getResult(rows + r);
                Value term;
                switch (o.zeroMode) {
                case ZeroPointMode::Int:
                  term = arith::MulFOp::create(
                      b, loc, s,
                      arith::SubFOp::create(b, loc, dot,
                                            arith::MulFOp::create(b, loc, z, xsum)));
                  break;
                case ZeroPointMode::Float:
                  term = math::FmaOp::create(b, loc, z, xsum,
                                             arith::MulFOp::create(b, loc, s, dot));
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
          Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, m);
          scf::IfOp::create(b, loc, inside, [&](OpBuilder &b, Location loc) {
            memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addf,
                                        groups.getResult(r), o.y,
                                        ValueRange{row, n});
            scf::YieldOp::create(b, loc);
          });
        }
      });
}

LogicalResult lowerMpmm(MpmmOp op, ModuleOp module) {
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
      k % kRun || group % kRun ||
      (zeroMode == ZeroPointMode::Int && !zeroStorage))
    return failure();

  OpBuilder b(op);
  Location loc = op.getLoc();
  Operands o;
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
  o.x = readBuffer(b, loc, op.getX());
  o.weights = readBuffer(b, loc, weights);
  o.scales = readBuffer(b, loc, op.getScales());
  if (zeroMode == ZeroPointMode::Int)
    o.zeros = readBuffer(b, loc, zeroStorage);
  else if (zeroMode == ZeroPointMode::Float)
    o.zeros = readBuffer(b, loc, op.getZeros());
  if (op.getCodebook())
    o.table = readBuffer(b, loc, op.getCodebook());
  else if (FailureOr<FloatFormat> format = getFloatFormat(codeType);
           succeeded(format))
    o.table = decodeTableGlobal(b, loc, module, *format);

  // Y starts as a copy of init; the nest adds into it.
  Value m = tensor::DimOp::create(b, loc, op.getX(), 0);
  auto yBufferType = MemRefType::get(yType.getShape(), yType.getElementType());
  SmallVector<Value> dynamicSizes;
  if (yType.isDynamicDim(0))
    dynamicSizes.push_back(m);
  o.y = memref::AllocOp::create(b, loc, yBufferType, dynamicSizes);
  memref::CopyOp::create(b, loc, readBuffer(b, loc, op.getInit()), o.y);

  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value single = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, m, one);
  scf::IfOp::create(
      b, loc, single,
      [&](OpBuilder &b, Location loc) {
        emitNest(b, loc, o, m, 1);
        scf::YieldOp::create(b, loc);
      },
      [&](OpBuilder &b, Location loc) {
        emitNest(b, loc, o, m, 4);
        scf::YieldOp::create(b, loc);
      });
  Value result = bufferization::ToTensorOp::create(
      b, loc, yType, o.y, /*restrict=*/true, /*writable=*/true);
  op.getResult().replaceAllUsesWith(result);
  op.erase();
  return success();
}

struct LowerMpmmToParallelLoopsPass
    : tessera::impl::TesseraLowerMpmmToParallelLoopsBase<
          LowerMpmmToParallelLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<MpmmOp> ops;
    module.walk([&](MpmmOp op) { ops.push_back(op); });
    for (MpmmOp op : ops)
      (void)lowerMpmm(op, module); // ops that do not fit stay for the reference
  }
};

} // namespace
