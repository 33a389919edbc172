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

#include "GemmTiles.h"
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
// Fewer rows of X than this take the kernel vectorized over the block (at 6
// and more, the one vectorized over the rows of X is faster); the
// rows of a block go in groups of this many accumulators there.
constexpr int64_t kFewRows = 6;
constexpr int64_t kFewRowsGroup = 16;

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

/// What the kernels of one bsr_mm share: its shapes, its pattern and the
/// chunks of block rows that the threads take.
struct BsrKernel {
  mutable BsrMmOp op; // op accessors are not const
  int64_t blockRows, blockCols, rows, blockColumnCount, chunks;
  BsrPattern pat;
  Value starts; // the chunks' first rows, for a constant pattern

  /// The block rows [first, last) of chunk c.
  std::pair<Value, Value> chunkRows(OpBuilder &b, Location loc, Value c) const {
    Value next = arith::AddIOp::create(b, loc, c, cIndex(b, loc, 1));
    if (pat.trusted)
      return {tensor::ExtractOp::create(b, loc, starts, c),
              tensor::ExtractOp::create(b, loc, starts, next)};
    Value first = emitChunkStart(b, loc, pat, c, chunks, rows);
    Value last =
        arith::MaxUIOp::create(b, loc, emitChunkStart(b, loc, pat, next, chunks, rows), first);
    return {first, last};
  }

  /// The stored blocks of block row i: a loop carrying `acc`, calling
  /// `body(b, loc, p, col0, acc)` for each block p whose column index is in
  /// range (col0 = its first column of X).
  using BlockBody = function_ref<SmallVector<Value>(OpBuilder &, Location, Value p, Value col0,
                                                    ArrayRef<Value> acc)>;
  SmallVector<Value> emitBlocksOfRow(OpBuilder &b, Location loc, Value i, ValueRange acc,
                                     BlockBody body) const {
    Value c1 = cIndex(b, loc, 1);
    Value begin = pat.rowStart(b, loc, i, cIndex(b, loc, 0));
    Value end = pat.rowStart(b, loc, arith::AddIOp::create(b, loc, i, c1), begin);
    auto loop = scf::ForOp::create(
        b, loc, begin, end, c1, acc, [&](OpBuilder &b, Location loc, Value p, ValueRange accIn) {
          Value j = pat.load(b, loc, pat.indices, p);
          auto accumulate = [&](OpBuilder &b, Location loc) {
            Value col0 = arith::MulIOp::create(b, loc, j, cIndex(b, loc, blockCols));
            return body(b, loc, p, col0, SmallVector<Value>(accIn));
          };
          if (pat.trusted) {
            scf::YieldOp::create(b, loc, accumulate(b, loc));
            return;
          }
          Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, j,
                                              cIndex(b, loc, blockColumnCount)); // and j >= 0
          auto ifOp = scf::IfOp::create(
              b, loc, valid,
              [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, accumulate(b, loc)); },
              [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, accIn); });
          scf::YieldOp::create(b, loc, ifOp.getResults());
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// An scf.forall over the chunks whose body returns the new tile of
  /// `shared` for block rows [first, last) (`tileOf` gives the slice).
  using ChunkBody = function_ref<Value(OpBuilder &, Location, Value first, Value last, Value tile)>;
  using TileOf = function_ref<std::pair<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>(
      OpBuilder &, Location, Value first, Value last)>;
  Value emitChunks(OpBuilder &b, Location loc, Value shared, TileOf tileOf, ChunkBody body) const {
    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(chunks)}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)},
        ValueRange{shared}, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    auto [first, last] = chunkRows(b, loc, forall.getInductionVar(0));
    Value out = forall.getRegionIterArgs()[0];
    auto [offsets, sizes] = tileOf(b, loc, first, last);
    SmallVector<OpFoldResult> ones(offsets.size(), b.getIndexAttr(1));
    Value tile = tensor::ExtractSliceOp::create(b, loc, out, offsets, sizes, ones);
    tile = body(b, loc, first, last, tile);
    b.setInsertionPointToEnd(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, tile, out, offsets, sizes, ones);
    return forall.getResult(0);
  }

  /// Many rows of X: vectorized over them (X^T in panels), the block's
  /// entries broadcast.
  Value emitManyRows(OpBuilder &b, Location loc, int64_t vectorRegisters,
                     ResultDestination dest) const;
  /// Few rows of X (C a multiple of 8): vectorized over the block's columns,
  /// one vector accumulator per row of the block, reduced once per block row.
  Value emitFewRows(OpBuilder &b, Location loc, ResultDestination dest) const;
};

Value BsrKernel::emitManyRows(OpBuilder &b, Location loc, int64_t vectorRegisters,
                              ResultDestination dest) const {
  int64_t n = op.getInit().getType().getDimSize(1), k = op.getX().getType().getDimSize(1);
  Value blocks = op.getBlocks();
  BroadcastTile tile = broadcastTileFor(vectorRegisters);
  tile.rows = std::min(tile.rows, blockRows);
  Value xt = emitTransposeIn(b, loc, op.getX(), roundUpToLanes(k), tile.width());
  Value lanes = emitPaddedRows(b, loc, op.getX());
  Value panels = tensor::DimOp::create(b, loc, xt, 0);
  Value yt = tensor::EmptyOp::create(b, loc,
                                     ArrayRef<int64_t>{ShapedType::kDynamic, roundUpToLanes(n), tile.width()},
                                     b.getF32Type(), ValueRange{panels});
  Value rowR = cIndex(b, loc, blockRows);
  auto tileOf = [&](OpBuilder &b, Location loc, Value first, Value last) {
    SmallVector<OpFoldResult> offsets = {
        b.getIndexAttr(0), arith::MulIOp::create(b, loc, first, rowR).getResult(),
        b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {
        panels,
        arith::MulIOp::create(b, loc, arith::SubIOp::create(b, loc, last, first), rowR).getResult(),
        b.getIndexAttr(tile.width())};
    return std::pair{offsets, sizes};
  };
  yt = emitChunks(b, loc, yt, tileOf, [&](OpBuilder &b, Location loc, Value first, Value last,
                                          Value ytTile) {
    return emitTensorLoop(b, loc, first, last, b.getIndexAttr(1), ytTile,
                          [&](OpBuilder &b, Location loc, Value i, Value out) {
      Value rowBase = arith::MulIOp::create(b, loc, arith::SubIOp::create(b, loc, i, first), rowR);
      return emitTiles(
          b, loc, out, blockRows, lanes, tile,
          [&](OpBuilder &b, Location loc, Value out, Value row0, LanePosition at,
              BroadcastTile shape) -> Value {
            SmallVector<Value> acc = emitBlocksOfRow(
                b, loc, i, emitZeroTile(b, loc, shape),
                [&](OpBuilder &b, Location loc, Value p, Value col0, ArrayRef<Value> accIn) {
                  SmallVector<Value> acc(accIn);
                  auto step = [&](OpBuilder &b, Location loc, Value cc) {
                    SmallVector<Value> a;
                    for (int64_t r = 0; r < shape.rows; ++r)
                      a.push_back(tensor::ExtractOp::create(
                          b, loc, blocks,
                          ValueRange{p, arith::AddIOp::create(b, loc, row0, cIndex(b, loc, r)), cc}));
                    emitBroadcastStep(b, loc, acc, a, xt, arith::AddIOp::create(b, loc, col0, cc),
                                      at, shape.vectors);
                  };
                  if (blockCols <= kMaxUnrolledColumns) {
                    for (int64_t cc = 0; cc < blockCols; ++cc)
                      step(b, loc, cIndex(b, loc, cc));
                    return acc;
                  }
                  auto colLoop = scf::ForOp::create(
                      b, loc, cIndex(b, loc, 0), cIndex(b, loc, blockCols), cIndex(b, loc, 1), acc,
                      [&](OpBuilder &b, Location loc, Value cc, ValueRange colAcc) {
                        acc.assign(colAcc.begin(), colAcc.end());
                        step(b, loc, cc);
                        scf::YieldOp::create(b, loc, acc);
                      });
                  return SmallVector<Value>(colLoop.getResults());
                });
            return emitStoreTile(b, loc, acc, out, arith::AddIOp::create(b, loc, rowBase, row0),
                                 at, shape.vectors);
          });
    });
  });
  return emitTransposeOut(b, loc, yt, dest.tensor, dest.accumulate);
}

Value BsrKernel::emitFewRows(OpBuilder &b, Location loc, ResultDestination dest) const {
  Value x = op.getX(), blocks = op.getBlocks();
  Value m = tensor::DimOp::create(b, loc, x, 0);
  Value rowR = cIndex(b, loc, blockRows);
  auto vec8 = VectorType::get({8}, b.getF32Type());
  Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value zeroVec = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vec8, b.getF32FloatAttr(0)));
  bool inBounds[] = {true};
  auto tileOf = [&](OpBuilder &b, Location loc, Value first, Value last) {
    SmallVector<OpFoldResult> offsets = {
        b.getIndexAttr(0), arith::MulIOp::create(b, loc, first, rowR).getResult()};
    SmallVector<OpFoldResult> sizes = {
        m, arith::MulIOp::create(b, loc, arith::SubIOp::create(b, loc, last, first), rowR)
               .getResult()};
    return std::pair{offsets, sizes};
  };
  return emitChunks(b, loc, dest.tensor, tileOf, [&](OpBuilder &b, Location loc, Value first,
                                                     Value last, Value yTile) {
    return emitTensorLoop(b, loc, first, last, b.getIndexAttr(1), yTile,
                          [&](OpBuilder &b, Location loc, Value i, Value out) {
      Value rowBase = arith::MulIOp::create(b, loc, arith::SubIOp::create(b, loc, i, first), rowR);
      return emitTensorLoop(b, loc, cIndex(b, loc, 0), m, b.getIndexAttr(1), out,
                            [&](OpBuilder &b, Location loc, Value row, Value out) {
        // Rows of the block in groups of up to 16 accumulators.
        for (int64_t r0 = 0; r0 < blockRows; r0 += kFewRowsGroup) {
          int64_t count = std::min(kFewRowsGroup, blockRows - r0);
          SmallVector<Value> acc = emitBlocksOfRow(
              b, loc, i, SmallVector<Value>(count, zeroVec),
              [&](OpBuilder &b, Location loc, Value p, Value col0, ArrayRef<Value> accIn) {
                SmallVector<Value> acc(accIn);
                for (int64_t c = 0; c < blockCols; c += 8) {
                  Value xv = vector::TransferReadOp::create(
                      b, loc, vec8, x,
                      ValueRange{row, arith::AddIOp::create(b, loc, col0, cIndex(b, loc, c))}, zeroF,
                      ArrayRef<bool>(inBounds));
                  for (int64_t r = 0; r < count; ++r) {
                    Value bv = vector::TransferReadOp::create(
                        b, loc, vec8, blocks,
                        ValueRange{p, cIndex(b, loc, r0 + r), cIndex(b, loc, c)}, zeroF,
                        ArrayRef<bool>(inBounds));
                    acc[r] = vector::FMAOp::create(b, loc, bv, xv, acc[r]);
                  }
                }
                return acc;
              });
          for (int64_t r = 0; r < count; ++r) {
            Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc[r]);
            Value col = arith::AddIOp::create(b, loc, rowBase, cIndex(b, loc, r0 + r));
            if (dest.accumulate)
              sum = arith::AddFOp::create(
                  b, loc, tensor::ExtractOp::create(b, loc, out, ValueRange{row, col}), sum);
            out = tensor::InsertOp::create(b, loc, sum, out, ValueRange{row, col});
          }
        }
        return out;
      });
    });
  });
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
    BsrKernel kernel{op};
    kernel.blockRows = op.getBlockRows();
    kernel.blockCols = op.getBlockColumns();
    kernel.rows = op.getInit().getType().getDimSize(1) / kernel.blockRows;
    kernel.blockColumnCount = op.getX().getType().getDimSize(1) / kernel.blockCols;
    kernel.chunks = std::min(kernel.rows, kMaxChunks);

    DenseIntElementsAttr constIndptr, constIndices;
    bool trusted = matchPattern(op.getIndptr(), m_Constant(&constIndptr)) &&
                   matchPattern(op.getIndices(), m_Constant(&constIndices));
    Value nnz = arith::MinUIOp::create(
        rewriter, loc, tensor::DimOp::create(rewriter, loc, op.getIndices(), 0),
        tensor::DimOp::create(rewriter, loc, op.getBlocks(), 0));
    kernel.pat = BsrPattern{op.getIndptr(), op.getIndices(), nnz, trusted};
    if (trusted) {
      SmallVector<int64_t> ptr = llvm::to_vector(llvm::map_range(
          constIndptr.getValues<APInt>(), [](APInt v) { return v.getSExtValue(); }));
      SmallVector<APInt> starts = llvm::to_vector(llvm::map_range(
          chunkStarts(ptr, kernel.chunks), [](int64_t v) { return APInt(64, v); }));
      kernel.starts = arith::ConstantOp::create(
          rewriter, loc,
          DenseElementsAttr::get(
              RankedTensorType::get({kernel.chunks + 1}, rewriter.getIndexType()), starts));
    }

    ResultDestination dest = getResultDestination(op.getInit());
    Value result;
    if (kernel.blockCols % 8 == 0) {
      // Fewer rows of X than a vector has lanes: vectorize over the block.
      Value m = tensor::DimOp::create(rewriter, loc, op.getX(), 0);
      Value few = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult, m,
                                        cIndex(rewriter, loc, kFewRows));
      auto ifOp = scf::IfOp::create(
          rewriter, loc, few,
          [&](OpBuilder &b, Location loc) {
            scf::YieldOp::create(b, loc, kernel.emitFewRows(b, loc, dest));
          },
          [&](OpBuilder &b, Location loc) {
            scf::YieldOp::create(b, loc, kernel.emitManyRows(b, loc, vectorRegisters, dest));
          });
      result = ifOp.getResult(0);
    } else {
      result = kernel.emitManyRows(rewriter, loc, vectorRegisters, dest);
    }
    rewriter.replaceOp(op, result);
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
