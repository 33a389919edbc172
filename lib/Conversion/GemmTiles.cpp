//===- GemmTiles.cpp - Register-blocked GEMM tiles on tensors -------------===//

#include "GemmTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace {

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

} // namespace

Value mlir::tessera::emitTensorLoop(
    OpBuilder &b, Location loc, Value begin, Value end, OpFoldResult step, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  return scf::ForOp::create(b, loc, begin, end,
                            getValueOrCreateConstantIndexOp(b, loc, step), ValueRange{init},
                            [&](OpBuilder &b, Location loc, Value iv, ValueRange args) {
                              scf::YieldOp::create(b, loc, body(b, loc, iv, args[0]));
                            })
      .getResult(0);
}

Value mlir::tessera::emitColumnTiles(OpBuilder &b, Location loc, Value y, Value rows,
                                     int64_t columnsEnd, ColumnTileBody body,
                                     int64_t tileColumns) {
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(columnsEnd)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(tileColumns)}, ValueRange{y}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value nTile = forall.getInductionVar(0);
  OpFoldResult columns = b.getIndexAttr(tileColumns);
  if (columnsEnd % tileColumns) {
    Value end = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, nTile, cIndex(b, loc, tileColumns)),
        cIndex(b, loc, columnsEnd));
    columns = arith::SubIOp::create(b, loc, end, nTile).getResult();
  }
  Value shared = forall.getRegionIterArgs()[0];
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), nTile};
  SmallVector<OpFoldResult> sizes = {rows, columns};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  Value yTile = tensor::ExtractSliceOp::create(b, loc, shared, offsets, sizes, strides);
  yTile = body(b, loc, nTile, columns, yTile);
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, yTile, shared, offsets, sizes, strides);
  return forall.getResult(0);
}

int64_t mlir::tessera::vectorLanes(int64_t vectorRegisters) {
  return vectorRegisters >= 32 ? 2 * kGemmLanes : kGemmLanes;
}

mlir::tessera::GemmMicroKernel mlir::tessera::gemmMicroKernel(int64_t vectorRegisters) {
  if (vectorRegisters >= 32)
    return {kGemmRows, vectorLanes(vectorRegisters)};
  return {kGemmRows / 2, vectorLanes(vectorRegisters)};
}

Value mlir::tessera::emitPackRowBlocks(OpBuilder &b, Location loc, Value x, int64_t k,
                                       bool padded) {
  Type f32 = b.getF32Type();
  Value m = tensor::DimOp::create(b, loc, x, 0);
  Value blocks = padded ? Value(arith::CeilDivUIOp::create(b, loc, m, cIndex(b, loc, kGemmRows)))
                        : Value(arith::DivUIOp::create(b, loc, m, cIndex(b, loc, kGemmRows)));
  auto packedType = RankedTensorType::get(
      {ShapedType::kDynamic, k / kGemmLanes, kGemmRows, kGemmLanes}, f32);
  Value empty = tensor::EmptyOp::create(b, loc, packedType, ValueRange{blocks});
  MLIRContext *ctx = b.getContext();
  AffineExpr mb, kb, r, l;
  bindDims(ctx, mb, kb, r, l);
  auto outMap = AffineMap::getMultiDimIdentityMap(4, ctx);
  auto parallel = SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel);
  if (!padded) {
    auto inMap = AffineMap::get(4, 0, {mb * kGemmRows + r, kb * kGemmLanes + l}, ctx);
    return linalg::GenericOp::create(
               b, loc, packedType, ValueRange{x}, ValueRange{empty},
               ArrayRef<AffineMap>{inMap, outMap}, parallel,
               [](OpBuilder &b, Location loc, ValueRange args) {
                 linalg::YieldOp::create(b, loc, args[0]);
               })
        .getResult(0);
  }
  // Rows from M on (in the last block) are zero.
  return linalg::GenericOp::create(
             b, loc, packedType, ValueRange{}, ValueRange{empty}, ArrayRef<AffineMap>{outMap},
             parallel,
             [&](OpBuilder &b, Location loc, ValueRange) {
               auto index = [&](int64_t dim) { return linalg::IndexOp::create(b, loc, dim); };
               Value row = arith::AddIOp::create(
                   b, loc, arith::MulIOp::create(b, loc, index(0), cIndex(b, loc, kGemmRows)),
                   index(2));
               Value col = arith::AddIOp::create(
                   b, loc, arith::MulIOp::create(b, loc, index(1), cIndex(b, loc, kGemmLanes)),
                   index(3));
               Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, m);
               Value last = arith::SubIOp::create(b, loc, m, cIndex(b, loc, 1));
               Value v = tensor::ExtractOp::create(
                   b, loc, x, ValueRange{arith::MinUIOp::create(b, loc, row, last), col});
               Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
               linalg::YieldOp::create(b, loc,
                                       ValueRange{arith::SelectOp::create(b, loc, inside, v, zero)});
             })
      .getResult(0);
}

Value mlir::tessera::emitGemmColumnTile(OpBuilder &b, Location loc, Value xPacked,
                                        Value rowsEnd, int64_t k, GemmMicroKernel micro,
                                        Value y, PanelFill fill, int64_t tileColumns) {
  Type f32 = b.getF32Type();
  int64_t microRows = micro.rows;
  auto vecF32 = VectorType::get({micro.lanes}, f32);
  Value c0 = cIndex(b, loc, 0);
  Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value zeroVec = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vecF32, b.getF32FloatAttr(0)));
  bool inBounds[] = {true};
  Value kV = cIndex(b, loc, k);
  assert(tileColumns % micro.columns() == 0 && "a tile of whole micro kernels");
  int64_t panels = tileColumns / kPanelColumns;
  auto panelType = RankedTensorType::get({panels, kPanelK, kPanelColumns}, f32);

  return emitTensorLoop(b, loc, c0, kV, b.getIndexAttr(kPanelK), y, [&](OpBuilder &b, Location loc, Value kc,
                                                     Value y) -> Value {
    Value kcEnd = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, kc, cIndex(b, loc, kPanelK)), kV);
    Value kcLen = arith::SubIOp::create(b, loc, kcEnd, kc);
    Value panel = fill(b, loc, kc, kcLen,
                       tensor::EmptyOp::create(b, loc, panelType, ValueRange{}));
    // The micro kernel's columns (one or two micro panels, which stay in
    // L1) times register blocks of rows. Vector h of the micro kernel at
    // `which` reads micro panel panelOf[h] from lane laneOf[h]. (A panel
    // of 32 columns filled and used at once, in L1, rather than a tile of
    // 256 columns' 256 KiB in L2, measured the same: 4096 x 4096, one
    // thread, M = 16 at 2 and 4 bits and M = 256 at 4 bits and dense f32,
    // within 3%.)
    int64_t panelsPerMicro = micro.columns() / kPanelColumns;
    int64_t panelOf[2], laneOf[2];
    for (int64_t h = 0; h < 2; ++h) {
      panelOf[h] = h * micro.lanes / kPanelColumns;
      laneOf[h] = h * micro.lanes % kPanelColumns;
    }
    return emitTensorLoop(b, loc, c0, cIndex(b, loc, panels), b.getIndexAttr(panelsPerMicro), y,
                          [&](OpBuilder &b, Location loc, Value which, Value y) -> Value {
      // The register block of rows [mStart, mStart + microRows); with
      // `guarded`, rows from rowsEnd on are computed (x is zero there) but
      // not stored.
      auto microBlock = [&](OpBuilder &b, Location loc, Value mStart, Value y,
                            bool guarded) -> Value {
        Value mBlock = arith::DivUIOp::create(b, loc, mStart, cIndex(b, loc, kGemmRows));
        Value rowBase = arith::RemUIOp::create(b, loc, mStart, cIndex(b, loc, kGemmRows));
        auto kLoop = scf::ForOp::create(
            b, loc, c0, kcLen, cIndex(b, loc, kGemmLanes),
            SmallVector<Value>(2 * microRows, zeroVec),
            [&](OpBuilder &b, Location loc, Value k8, ValueRange acc) {
              SmallVector<Value> next(acc.begin(), acc.end());
              Value kStep = arith::DivUIOp::create(
                  b, loc, arith::AddIOp::create(b, loc, kc, k8), cIndex(b, loc, kGemmLanes));
              for (int64_t l = 0; l < kGemmLanes; ++l) {
                Value kIdx = arith::AddIOp::create(b, loc, k8, cIndex(b, loc, l));
                Value bv[2];
                for (int64_t h = 0; h < 2; ++h)
                  bv[h] = vector::TransferReadOp::create(
                      b, loc, vecF32, panel,
                      ValueRange{panelOf[h] ? Value(arith::AddIOp::create(
                                                  b, loc, which, cIndex(b, loc, panelOf[h])))
                                            : which,
                                 kIdx, cIndex(b, loc, laneOf[h])},
                      zeroF, ArrayRef<bool>(inBounds));
                for (int64_t r = 0; r < microRows; ++r) {
                  Value row = arith::AddIOp::create(b, loc, rowBase, cIndex(b, loc, r));
                  Value a = tensor::ExtractOp::create(
                      b, loc, xPacked, ValueRange{mBlock, kStep, row, cIndex(b, loc, l)});
                  Value av = vector::BroadcastOp::create(b, loc, vecF32, a);
                  for (int64_t h = 0; h < 2; ++h)
                    next[2 * r + h] = vector::FMAOp::create(b, loc, av, bv[h], next[2 * r + h]);
                }
              }
              scf::YieldOp::create(b, loc, next);
            });
        // y[rows, columns of the micro kernel] += acc.
        Value col0 = arith::MulIOp::create(b, loc, which, cIndex(b, loc, kPanelColumns));
        for (int64_t r = 0; r < microRows; ++r) {
          Value row = arith::AddIOp::create(b, loc, mStart, cIndex(b, loc, r));
          auto store = [&](OpBuilder &b, Location loc, Value y) -> Value {
            for (int64_t h = 0; h < 2; ++h) {
              Value col = arith::AddIOp::create(b, loc, col0, cIndex(b, loc, h * micro.lanes));
              Value old = vector::TransferReadOp::create(b, loc, vecF32, y,
                                                         ValueRange{row, col}, zeroF,
                                                         ArrayRef<bool>(inBounds));
              Value sum = arith::AddFOp::create(b, loc, old, kLoop.getResult(2 * r + h));
              y = vector::TransferWriteOp::create(b, loc, sum, y, ValueRange{row, col},
                                                  ArrayRef<bool>(inBounds))
                      .getResult();
            }
            return y;
          };
          if (!guarded || r == 0) {
            y = store(b, loc, y);
            continue;
          }
          Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, rowsEnd);
          y = scf::IfOp::create(
                  b, loc, inside,
                  [&](OpBuilder &b, Location loc) {
                    scf::YieldOp::create(b, loc, store(b, loc, y));
                  },
                  [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, y); })
                  .getResult(0);
        }
        return y;
      };
      Value step = cIndex(b, loc, microRows);
      Value fullEnd = arith::MulIOp::create(
          b, loc, arith::DivUIOp::create(b, loc, rowsEnd, step), step);
      y = emitTensorLoop(b, loc, c0, fullEnd, b.getIndexAttr(microRows), y,
                         [&](OpBuilder &b, Location loc, Value mStart, Value y) {
                           return microBlock(b, loc, mStart, y, /*guarded=*/false);
                         });
      // The last, partial register block.
      Value partial = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, fullEnd, rowsEnd);
      return scf::IfOp::create(
                 b, loc, partial,
                 [&](OpBuilder &b, Location loc) {
                   scf::YieldOp::create(b, loc, microBlock(b, loc, fullEnd, y, /*guarded=*/true));
                 },
                 [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, y); })
          .getResult(0);
    });
  });
}

SmallVector<Value> mlir::tessera::emitTranspose8x8(OpBuilder &b, Location loc,
                                                   ArrayRef<Value> in) {
  auto shuffle = [&](Value x, Value y, ArrayRef<int64_t> mask) -> Value {
    return vector::ShuffleOp::create(b, loc, x, y, mask);
  };
  const int64_t lo[] = {0, 8, 1, 9, 4, 12, 5, 13}, hi[] = {2, 10, 3, 11, 6, 14, 7, 15};
  const int64_t even[] = {0, 1, 8, 9, 4, 5, 12, 13}, odd[] = {2, 3, 10, 11, 6, 7, 14, 15};
  const int64_t low[] = {0, 1, 2, 3, 8, 9, 10, 11}, high[] = {4, 5, 6, 7, 12, 13, 14, 15};
  SmallVector<Value> t, u(8), out(8);
  for (int i = 0; i < 8; i += 2) {
    t.push_back(shuffle(in[i], in[i + 1], lo));
    t.push_back(shuffle(in[i], in[i + 1], hi));
  }
  for (int half = 0; half < 2; ++half) {
    Value *tt = &t[4 * half];
    u[4 * half + 0] = shuffle(tt[0], tt[2], even);
    u[4 * half + 1] = shuffle(tt[0], tt[2], odd);
    u[4 * half + 2] = shuffle(tt[1], tt[3], even);
    u[4 * half + 3] = shuffle(tt[1], tt[3], odd);
  }
  for (int i = 0; i < 4; ++i) {
    out[i] = shuffle(u[i], u[i + 4], low);
    out[i + 4] = shuffle(u[i], u[i + 4], high);
  }
  return out;
}
