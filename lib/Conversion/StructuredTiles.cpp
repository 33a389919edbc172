//===- StructuredTiles.cpp - Vector tiles of the structured matmuls -------===//

#include "StructuredTiles.h"

#include "GemmTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kLanes = kGemmLanes;
// The transposes work on a panel of rows of X (or of the result) and chunks
// of this many columns at a time.
constexpr int64_t kTransposeColumns = 1024;

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

VectorType vec8(OpBuilder &b) { return VectorType::get({kLanes}, b.getF32Type()); }

Value add(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::AddIOp::create(b, loc, x, y);
}

/// v rounded up to a multiple of 8.
Value roundUp8(OpBuilder &b, Location loc, Value v) {
  Value up = add(b, loc, v, cIndex(b, loc, kLanes - 1));
  return arith::MulIOp::create(b, loc, arith::DivUIOp::create(b, loc, up, cIndex(b, loc, kLanes)),
                               cIndex(b, loc, kLanes));
}


Value readVector(OpBuilder &b, Location loc, Value t, ValueRange indices, bool inBounds) {
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  bool flags[] = {inBounds};
  return vector::TransferReadOp::create(b, loc, vec8(b), t, indices, zero,
                                        ArrayRef<bool>(flags));
}

Value writeVector(OpBuilder &b, Location loc, Value v, Value t, ValueRange indices,
                  bool inBounds) {
  bool flags[] = {inBounds};
  return vector::TransferWriteOp::create(b, loc, v, t, indices, ArrayRef<bool>(flags))
      .getResult();
}

/// An scf.forall over the work units [0, end) with `shared` as its shared
/// output; `body(b, loc, out, unit)` returns the unit's tile and where it
/// goes: offsets, sizes and strides of the parallel insert.
struct ChunkTile {
  Value tile;
  SmallVector<OpFoldResult> offsets, sizes, strides;
};
Value emitChunks(OpBuilder &b, Location loc, Value shared, OpFoldResult end,
                 function_ref<ChunkTile(OpBuilder &, Location, Value out, Value begin)> body) {
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)}, ArrayRef<OpFoldResult>{end},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)}, ValueRange{shared}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  ChunkTile t = body(b, loc, forall.getRegionIterArgs()[0], forall.getInductionVar(0));
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, t.tile, forall.getRegionIterArgs()[0],
                                        t.offsets, t.sizes, t.strides);
  return forall.getResult(0);
}

} // namespace

int64_t mlir::tessera::roundUpToLanes(int64_t v) {
  return (v + kLanes - 1) / kLanes * kLanes;
}

BroadcastTile mlir::tessera::broadcastTileFor(int64_t vectorRegisters) {
  return vectorRegisters >= 32 ? BroadcastTile{6, 4} : BroadcastTile{3, 3};
}

Value mlir::tessera::emitPaddedRows(OpBuilder &b, Location loc, Value x) {
  return roundUp8(b, loc, tensor::DimOp::create(b, loc, x, 0));
}

/// The work units of a transpose: panel x chunk of `chunk` columns of X (or
/// of the result), linearized for a one-dimensional scf.forall; returns
/// (panel, first column).
static std::pair<Value, Value> panelAndColumn(OpBuilder &b, Location loc, Value unit,
                                              int64_t chunks, int64_t chunk) {
  Value panel = arith::DivUIOp::create(b, loc, unit, cIndex(b, loc, chunks));
  Value column = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, unit, cIndex(b, loc, chunks)), cIndex(b, loc, chunk));
  return {panel, column};
}

Value mlir::tessera::emitTransposeIn(OpBuilder &b, Location loc, Value x, int64_t rows,
                                     int64_t width) {
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t k = xType.getDimSize(1), k8 = roundUpToLanes(k);
  assert(rows >= k8 && "xt must hold K rounded up to 8 rows");
  Value m = tensor::DimOp::create(b, loc, x, 0);
  Value m8 = roundUp8(b, loc, m);
  Value widthV = cIndex(b, loc, width);
  Value panels = arith::DivUIOp::create(b, loc, add(b, loc, m8, cIndex(b, loc, width - 1)), widthV);
  Value xt = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{ShapedType::kDynamic, rows, width}, b.getF32Type(),
      ValueRange{panels});
  SmallVector<OpFoldResult> ones(3, b.getIndexAttr(1));
  if (rows > k8) {
    // Rows past K (a padded input) are zero.
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(k8),
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {panels, b.getIndexAttr(rows - k8),
                                       b.getIndexAttr(width)};
    Value pad = tensor::ExtractSliceOp::create(b, loc, xt, offsets, sizes, ones);
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    pad = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{pad}).getResult(0);
    xt = tensor::InsertSliceOp::create(b, loc, pad, xt, offsets, sizes, ones);
  }
  bool inBounds = k % kLanes == 0;
  int64_t chunks = (k8 + kTransposeColumns - 1) / kTransposeColumns;
  Value units = arith::MulIOp::create(b, loc, panels, cIndex(b, loc, chunks));
  // Per unit: the rows of X of one panel (long contiguous reads), a chunk of
  // its columns.
  return emitChunks(b, loc, xt, units, [&](OpBuilder &b, Location loc, Value shared, Value unit) {
    auto [panel, kc] = panelAndColumn(b, loc, unit, chunks, kTransposeColumns);
    Value len = arith::MinUIOp::create(b, loc, cIndex(b, loc, kTransposeColumns),
                                       arith::SubIOp::create(b, loc, cIndex(b, loc, k8), kc));
    SmallVector<OpFoldResult> offsets = {panel, kc, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), len, b.getIndexAttr(width)};
    Value tile = tensor::ExtractSliceOp::create(b, loc, shared, offsets, sizes, ones);
    Value lastRow = arith::SubIOp::create(b, loc, m, cIndex(b, loc, 1));
    Value zeroVec = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(vec8(b), b.getF32FloatAttr(0)));
    Value first = arith::MulIOp::create(b, loc, panel, widthV);
    Value end = arith::MinUIOp::create(b, loc, add(b, loc, first, widthV), m8);
    // Blocks of 8 rows of X; in the last, partial one, rows past M read the
    // last row and are replaced by zeros.
    auto rowBlock = [&](OpBuilder &b, Location loc, Value m0, Value tile, bool partial) {
      Value lane0 = arith::SubIOp::create(b, loc, m0, first);
      return emitTensorLoop(b, loc, cIndex(b, loc, 0), len, b.getIndexAttr(kLanes), tile,
                            [&](OpBuilder &b, Location loc, Value k0, Value tile) {
        Value col = add(b, loc, kc, k0);
        SmallVector<Value> in;
        for (int64_t j = 0; j < kLanes; ++j) {
          Value row = add(b, loc, m0, cIndex(b, loc, j));
          if (!partial) {
            in.push_back(readVector(b, loc, x, ValueRange{row, col}, inBounds));
            continue;
          }
          Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, m);
          Value v = readVector(b, loc, x, ValueRange{arith::MinUIOp::create(b, loc, row, lastRow), col},
                               inBounds);
          in.push_back(arith::SelectOp::create(b, loc, valid, v, zeroVec));
        }
        SmallVector<Value> out = emitTranspose8x8(b, loc, in);
        for (int64_t i = 0; i < kLanes; ++i)
          tile = writeVector(b, loc, out[i], tile,
                             ValueRange{cIndex(b, loc, 0), add(b, loc, k0, cIndex(b, loc, i)), lane0},
                             true);
        return tile;
      });
    };
    Value mFull = arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, m, cIndex(b, loc, kLanes)), cIndex(b, loc, kLanes));
    Value fullEnd = arith::MaxUIOp::create(b, loc, arith::MinUIOp::create(b, loc, end, mFull), first);
    tile = emitTensorLoop(b, loc, first, fullEnd, b.getIndexAttr(kLanes), tile,
                          [&](OpBuilder &b, Location loc, Value m0, Value tile) {
                            return rowBlock(b, loc, m0, tile, false);
                          });
    tile = emitTensorLoop(b, loc, fullEnd, end, b.getIndexAttr(kLanes), tile,
                          [&](OpBuilder &b, Location loc, Value m0, Value tile) {
                            return rowBlock(b, loc, m0, tile, true);
                          });
    return ChunkTile{tile, offsets, sizes, ones};
  });
}

ResultDestination mlir::tessera::getResultDestination(Value init) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    if (matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
      return {fill.getOutputs()[0], false};
  return {init, true};
}

Value mlir::tessera::emitTransposeOut(OpBuilder &b, Location loc, Value yt, Value init,
                                      bool accumulate) {
  auto initType = cast<RankedTensorType>(init.getType());
  int64_t n = initType.getDimSize(1);
  int64_t width = cast<RankedTensorType>(yt.getType()).getDimSize(2);
  bool inBounds = n % kLanes == 0;
  Value m = tensor::DimOp::create(b, loc, init, 0);
  Value widthV = cIndex(b, loc, width);
  Value panels = arith::DivUIOp::create(b, loc, add(b, loc, m, cIndex(b, loc, width - 1)), widthV);
  int64_t chunks = (n + kTransposeColumns - 1) / kTransposeColumns;
  Value units = arith::MulIOp::create(b, loc, panels, cIndex(b, loc, chunks));
  SmallVector<OpFoldResult> ones(2, b.getIndexAttr(1));
  // Per unit: the rows of the result of one panel, a chunk of its columns.
  return emitChunks(b, loc, init, units, [&](OpBuilder &b, Location loc, Value shared, Value unit) {
    auto [panel, nc] = panelAndColumn(b, loc, unit, chunks, kTransposeColumns);
    Value columns = arith::MinUIOp::create(b, loc, cIndex(b, loc, kTransposeColumns),
                                           arith::SubIOp::create(b, loc, cIndex(b, loc, n), nc));
    Value len = roundUp8(b, loc, columns);
    Value first = arith::MulIOp::create(b, loc, panel, widthV);
    Value rowCount = arith::MinUIOp::create(b, loc, widthV, arith::SubIOp::create(b, loc, m, first));
    Value fullRows = arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, rowCount, cIndex(b, loc, kLanes)),
        cIndex(b, loc, kLanes));
    SmallVector<OpFoldResult> offsets = {first, nc};
    SmallVector<OpFoldResult> sizes = {rowCount, columns};
    Value tile = tensor::ExtractSliceOp::create(b, loc, shared, offsets, sizes, ones);
    // Full blocks of 8 rows: 8 x 8 transposes.
    tile = emitTensorLoop(b, loc, cIndex(b, loc, 0), fullRows, b.getIndexAttr(kLanes), tile,
                          [&](OpBuilder &b, Location loc, Value m0, Value tile) {
      return emitTensorLoop(b, loc, cIndex(b, loc, 0), len, b.getIndexAttr(kLanes), tile,
                            [&](OpBuilder &b, Location loc, Value n0, Value tile) {
        SmallVector<Value> in;
        for (int64_t j = 0; j < kLanes; ++j)
          in.push_back(readVector(
              b, loc, yt, ValueRange{panel, add(b, loc, add(b, loc, nc, n0), cIndex(b, loc, j)), m0},
              true));
        SmallVector<Value> out = emitTranspose8x8(b, loc, in);
        for (int64_t i = 0; i < kLanes; ++i) {
          SmallVector<Value> at = {add(b, loc, m0, cIndex(b, loc, i)), n0};
          Value sum = accumulate ? arith::AddFOp::create(b, loc, readVector(b, loc, tile, at, inBounds),
                                                         out[i])
                                 : out[i];
          tile = writeVector(b, loc, sum, tile, at, inBounds);
        }
        return tile;
      });
    });
    // The rows past them (in the last panel), one element at a time.
    return ChunkTile{
        emitTensorLoop(b, loc, fullRows, rowCount, b.getIndexAttr(1), tile,
                       [&](OpBuilder &b, Location loc, Value row, Value tile) {
          return emitTensorLoop(b, loc, cIndex(b, loc, 0), columns, b.getIndexAttr(1), tile,
                                [&](OpBuilder &b, Location loc, Value col, Value tile) {
            Value v = tensor::ExtractOp::create(b, loc, yt,
                                                ValueRange{panel, add(b, loc, nc, col), row});
            if (accumulate)
              v = arith::AddFOp::create(b, loc, tensor::ExtractOp::create(b, loc, tile, ValueRange{row, col}),
                                        v);
            return tensor::InsertOp::create(b, loc, v, tile, ValueRange{row, col}).getResult();
          });
        }),
        offsets, sizes, ones};
  });
}

void mlir::tessera::emitBroadcastStep(OpBuilder &b, Location loc, MutableArrayRef<Value> acc,
                                      ArrayRef<Value> a, Value xt, Value row, LanePosition at,
                                      int64_t vectors) {
  SmallVector<Value> xv;
  for (int64_t v = 0; v < vectors; ++v)
    xv.push_back(readVector(
        b, loc, xt, ValueRange{at.panel, row, add(b, loc, at.lane0, cIndex(b, loc, v * kLanes))},
        true));
  for (auto [r, scalar] : llvm::enumerate(a)) {
    Value av = vector::BroadcastOp::create(b, loc, vec8(b), scalar);
    for (int64_t v = 0; v < vectors; ++v)
      acc[r * vectors + v] = vector::FMAOp::create(b, loc, av, xv[v], acc[r * vectors + v]);
  }
}

Value mlir::tessera::emitStoreTile(OpBuilder &b, Location loc, ArrayRef<Value> acc, Value out,
                                   Value row0, LanePosition at, int64_t vectors) {
  int64_t rows = acc.size() / vectors;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < vectors; ++v)
      out = writeVector(b, loc, acc[r * vectors + v], out,
                        ValueRange{at.panel, add(b, loc, row0, cIndex(b, loc, r)),
                                   add(b, loc, at.lane0, cIndex(b, loc, v * kLanes))},
                        true);
  return out;
}

SmallVector<Value> mlir::tessera::emitZeroTile(OpBuilder &b, Location loc, BroadcastTile tile) {
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vec8(b), b.getF32FloatAttr(0)));
  return SmallVector<Value>(tile.rows * tile.vectors, zero);
}

Value mlir::tessera::emitTiles(OpBuilder &b, Location loc, Value out, int64_t rowCount,
                               Value lanes, BroadcastTile tile, TileBody body) {
  int64_t rowsFull = rowCount / tile.rows * tile.rows, rowsLeft = rowCount % tile.rows;
  auto rowBlocks = [&](OpBuilder &b, Location loc, LanePosition at, Value out,
                       int64_t vectors) -> Value {
    if (rowsFull)
      out = emitTensorLoop(b, loc, cIndex(b, loc, 0), cIndex(b, loc, rowsFull),
                           b.getIndexAttr(tile.rows), out,
                           [&](OpBuilder &b, Location loc, Value row0, Value out) {
                             return body(b, loc, out, row0, at, {tile.rows, vectors});
                           });
    if (rowsLeft)
      out = body(b, loc, out, cIndex(b, loc, rowsFull), at, {rowsLeft, vectors});
    return out;
  };
  Value width = cIndex(b, loc, tile.width()), c0 = cIndex(b, loc, 0);
  Value fullPanels = arith::DivUIOp::create(b, loc, lanes, width);
  out = emitTensorLoop(b, loc, c0, fullPanels, b.getIndexAttr(1), out,
                       [&](OpBuilder &b, Location loc, Value panel, Value out) {
                         return rowBlocks(b, loc, {panel, c0}, out, tile.vectors);
                       });
  // The vectors of the last, partial panel one at a time.
  Value used = arith::RemUIOp::create(b, loc, lanes, width);
  return emitTensorLoop(b, loc, c0, used, b.getIndexAttr(kLanes), out,
                        [&](OpBuilder &b, Location loc, Value lane0, Value out) {
                          return rowBlocks(b, loc, {fullPanels, lane0}, out, 1);
                        });
}
