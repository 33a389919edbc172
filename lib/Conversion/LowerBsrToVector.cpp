//===- LowerBsrToVector.cpp - Vector kernel of tessera.bsr_mm -------------===//
//
// f32 bsr_mm over X^T, vectorized over the rows of X (see StructuredTiles.h):
//
//   xt = X^T                                        (K x M', zero padded)
//   yt[i*R + r, :] = sum_{p in row i} sum_c blocks[p, r, c] * xt[indices[p]*C + c, :]
//   Y = init + yt^T
//
// Block rows are split into chunks of about equal work (stored blocks plus
// one per row) by a binary search of indptr, and the chunks run in an
// scf.forall. Within a block row, a register tile (rows of the block x
// 8-lane vectors of X's rows) accumulates over all its blocks and is
// stored once; the C columns of a block are unrolled (C <= 16).
//
// A run-time pattern is used defensively: row ranges clamped to [0, nnz],
// blocks whose column is out of range skipped. A constant pattern (checked
// by the verifier) gets the partition computed at compile time and no
// checks.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "StructuredTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERBSRTOVECTOR
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

// Chunks of block rows for the threads (at most; fewer for few rows).
constexpr int64_t kMaxChunks = 64;
// Block columns unrolled up to this many.
constexpr int64_t kMaxUnrolledColumns = 16;

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// The pattern as index values, clamped unless it is a checked constant.
struct BsrPattern {
  Value indptr, indices, nnz;
  bool trusted;

  Value load(OpBuilder &b, Location loc, Value t, Value i) const {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                      tensor::ExtractOp::create(b, loc, t, i));
  }
  Value clamp(OpBuilder &b, Location loc, Value v, Value lo, Value hi) const {
    return arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, v, lo), hi);
  }
  /// indptr[i] (clamped to [lo, nnz] for a run-time pattern).
  Value rowStart(OpBuilder &b, Location loc, Value i, Value lo) const {
    Value v = load(b, loc, indptr, i);
    return trusted ? v : clamp(b, loc, v, lo, nnz);
  }
};

/// The first block row of chunk `c` of `chunks`: the smallest row i with
/// work(i) = indptr[i] + i >= c * work(rows) / chunks (a binary search).
Value emitChunkStart(OpBuilder &b, Location loc, const BsrPattern &pat, Value c, int64_t chunks,
                     int64_t rows) {
  Value c0 = cIndex(b, loc, 0), c1 = cIndex(b, loc, 1);
  auto work = [&](OpBuilder &b, Location loc, Value i) -> Value {
    return arith::AddIOp::create(b, loc, pat.rowStart(b, loc, i, c0), i);
  };
  Value total = work(b, loc, cIndex(b, loc, rows));
  Value target = arith::DivUIOp::create(b, loc, arith::MulIOp::create(b, loc, c, total),
                                        cIndex(b, loc, chunks));
  Type index = b.getIndexType();
  auto loop = scf::WhileOp::create(
      b, loc, TypeRange{index, index}, ValueRange{c0, cIndex(b, loc, rows)},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value more = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, args[0], args[1]);
        scf::ConditionOp::create(b, loc, more, args);
      },
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value mid = arith::DivUIOp::create(b, loc, arith::AddIOp::create(b, loc, args[0], args[1]),
                                           cIndex(b, loc, 2));
        Value below = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                            work(b, loc, mid), target);
        Value lo = arith::SelectOp::create(b, loc, below, arith::AddIOp::create(b, loc, mid, c1),
                                           args[0]);
        Value hi = arith::SelectOp::create(b, loc, below, args[1], mid);
        scf::YieldOp::create(b, loc, ValueRange{lo, hi});
      });
  return loop.getResult(0);
}

/// The same partition for a constant indptr, computed here.
SmallVector<int64_t> chunkStarts(ArrayRef<int64_t> indptr, int64_t chunks) {
  int64_t rows = indptr.size() - 1, total = indptr.back() + rows;
  SmallVector<int64_t> starts;
  for (int64_t c = 0; c <= chunks; ++c) {
    int64_t target = c * total / chunks, i = 0;
    while (i < rows && indptr[i] + i < target)
      ++i;
    starts.push_back(i);
  }
  return starts;
}

struct BsrToVector : public OpRewritePattern<BsrMmOp> {
  BsrToVector(MLIRContext *context, int64_t vectorRegisters)
      : OpRewritePattern(context), vectorRegisters(vectorRegisters) {}
  int64_t vectorRegisters;

  LogicalResult matchAndRewrite(BsrMmOp op, PatternRewriter &rewriter) const override {
    if (!op.getX().getType().getElementType().isF32() ||
        !op.getBlocks().getType().getElementType().isF32() ||
        !op.getInit().getType().getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not f32");
    Location loc = op.getLoc();
    int64_t blockRows = op.getBlockRows(), blockCols = op.getBlockColumns();
    int64_t n = op.getInit().getType().getDimSize(1), k = op.getX().getType().getDimSize(1);
    int64_t rows = n / blockRows, blockColumnCount = k / blockCols;
    int64_t chunks = std::min(rows, kMaxChunks);
    Value blocks = op.getBlocks();

    DenseIntElementsAttr constIndptr, constIndices;
    bool trusted = matchPattern(op.getIndptr(), m_Constant(&constIndptr)) &&
                   matchPattern(op.getIndices(), m_Constant(&constIndices));
    Value nnz = arith::MinUIOp::create(
        rewriter, loc, tensor::DimOp::create(rewriter, loc, op.getIndices(), 0),
        tensor::DimOp::create(rewriter, loc, blocks, 0));
    BsrPattern pat{op.getIndptr(), op.getIndices(), nnz, trusted};
    Value starts;
    if (trusted) {
      SmallVector<int64_t> ptr = llvm::to_vector(llvm::map_range(
          constIndptr.getValues<APInt>(), [](APInt v) { return v.getSExtValue(); }));
      SmallVector<int64_t> s = chunkStarts(ptr, chunks);
      starts = arith::ConstantOp::create(
          rewriter, loc,
          DenseElementsAttr::get(
              RankedTensorType::get({chunks + 1}, rewriter.getIndexType()),
              ArrayRef<APInt>(llvm::to_vector(llvm::map_range(
                  s, [](int64_t v) { return APInt(64, v); })))));
    }

    auto up8 = [](int64_t v) { return (v + 7) / 8 * 8; };
    BroadcastTile tile = broadcastTileFor(vectorRegisters);
    tile.rows = std::min(tile.rows, blockRows);
    Value xt = emitTransposeIn(rewriter, loc, op.getX(), up8(k), tile.width());
    Value lanes = emitPaddedRows(rewriter, loc, op.getX());
    Value panels = tensor::DimOp::create(rewriter, loc, xt, 0);
    Value yt = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<int64_t>{ShapedType::kDynamic, up8(n), tile.width()},
        rewriter.getF32Type(), ValueRange{panels});

    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(chunks)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)}, ValueRange{yt}, std::nullopt);
    {
      OpBuilder::InsertionGuard guard(rewriter);
      OpBuilder &b = rewriter;
      b.setInsertionPointToStart(forall.getBody());
      Value c = forall.getInductionVar(0), c1 = cIndex(b, loc, 1);
      Value next = arith::AddIOp::create(b, loc, c, c1);
      Value first, last;
      if (trusted) {
        first = tensor::ExtractOp::create(b, loc, starts, c);
        last = tensor::ExtractOp::create(b, loc, starts, next);
      } else {
        first = emitChunkStart(b, loc, pat, c, chunks, rows);
        last = arith::MaxUIOp::create(b, loc, emitChunkStart(b, loc, pat, next, chunks, rows),
                                      first);
      }
      Value shared = forall.getRegionIterArgs()[0];
      Value rowR = cIndex(b, loc, blockRows);
      SmallVector<OpFoldResult> offsets = {
          b.getIndexAttr(0), arith::MulIOp::create(b, loc, first, rowR).getResult(),
          b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {
          panels,
          arith::MulIOp::create(b, loc, arith::SubIOp::create(b, loc, last, first), rowR)
              .getResult(),
          b.getIndexAttr(tile.width())};
      SmallVector<OpFoldResult> ones(3, b.getIndexAttr(1));
      Value ytTile = tensor::ExtractSliceOp::create(b, loc, shared, offsets, sizes, ones);
      auto rowLoop = scf::ForOp::create(
          b, loc, first, last, c1, ValueRange{ytTile},
          [&](OpBuilder &b, Location loc, Value i, ValueRange rowArgs) {
            Value begin = pat.rowStart(b, loc, i, cIndex(b, loc, 0));
            Value end = pat.rowStart(b, loc, arith::AddIOp::create(b, loc, i, c1), begin);
            Value rowBase = arith::MulIOp::create(
                b, loc, arith::SubIOp::create(b, loc, i, first), rowR);
            Value out = emitTiles(
                b, loc, rowArgs[0], blockRows, lanes, tile,
                [&](OpBuilder &b, Location loc, Value out, Value row0, LanePosition at,
                    BroadcastTile shape) -> Value {
                  auto blockLoop = scf::ForOp::create(
                      b, loc, begin, end, c1, emitZeroTile(b, loc, shape),
                      [&](OpBuilder &b, Location loc, Value p, ValueRange accIn) {
                        Value j = pat.load(b, loc, pat.indices, p);
                        auto accumulate = [&](OpBuilder &b, Location loc) {
                          SmallVector<Value> acc(accIn.begin(), accIn.end());
                          Value col0 = arith::MulIOp::create(b, loc, j, cIndex(b, loc, blockCols));
                          auto step = [&](OpBuilder &b, Location loc, Value cc) {
                            SmallVector<Value> a;
                            for (int64_t r = 0; r < shape.rows; ++r)
                              a.push_back(tensor::ExtractOp::create(
                                  b, loc, blocks,
                                  ValueRange{p, arith::AddIOp::create(b, loc, row0, cIndex(b, loc, r)),
                                             cc}));
                            emitBroadcastStep(b, loc, acc, a, xt,
                                              arith::AddIOp::create(b, loc, col0, cc), at,
                                              shape.vectors);
                          };
                          if (blockCols <= kMaxUnrolledColumns) {
                            for (int64_t cc = 0; cc < blockCols; ++cc)
                              step(b, loc, cIndex(b, loc, cc));
                            return acc;
                          }
                          auto colLoop = scf::ForOp::create(
                              b, loc, cIndex(b, loc, 0), cIndex(b, loc, blockCols), c1, acc,
                              [&](OpBuilder &b, Location loc, Value cc, ValueRange colAcc) {
                                acc.assign(colAcc.begin(), colAcc.end());
                                step(b, loc, cc);
                                scf::YieldOp::create(b, loc, acc);
                              });
                          return SmallVector<Value>(colLoop.getResults());
                        };
                        if (pat.trusted) {
                          scf::YieldOp::create(b, loc, accumulate(b, loc));
                          return;
                        }
                        Value valid = arith::CmpIOp::create(
                            b, loc, arith::CmpIPredicate::ult, j,
                            cIndex(b, loc, blockColumnCount)); // unsigned: j >= 0 too
                        auto ifOp = scf::IfOp::create(
                            b, loc, valid,
                            [&](OpBuilder &b, Location loc) {
                              scf::YieldOp::create(b, loc, accumulate(b, loc));
                            },
                            [&](OpBuilder &b, Location loc) {
                              scf::YieldOp::create(b, loc, accIn);
                            });
                        scf::YieldOp::create(b, loc, ifOp.getResults());
                      });
                  return emitStoreTile(b, loc, SmallVector<Value>(blockLoop.getResults()), out,
                                       arith::AddIOp::create(b, loc, rowBase, row0), at,
                                       shape.vectors);
                });
            scf::YieldOp::create(b, loc, out);
          });
      b.setInsertionPointToEnd(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(b, loc, rowLoop.getResult(0), shared, offsets, sizes,
                                            ones);
    }
    ResultDestination dest = getResultDestination(op.getInit());
    rewriter.replaceOp(op, emitTransposeOut(rewriter, loc, forall.getResult(0), dest.tensor,
                                            dest.accumulate));
    return success();
  }
};

struct TesseraLowerBsrToVectorPass
    : public mlir::tessera::impl::TesseraLowerBsrToVectorBase<TesseraLowerBsrToVectorPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<BsrToVector>(&getContext(), vectorRegisters);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
