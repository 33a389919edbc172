//===- LowerLutToVector.cpp - T-MAC lookups as byte shuffles --------------===//
//
// The vector kernel of the LUT strategy: a tessera.lut_combine fed by a
// tessera.lut_accumulate over int8 tables, with weights read from the
// bit-plane layout #tessera.layout<tile = [L, 8], bit_planes> (L = 32 for
// AVX2, 64 for AVX-512BW), becomes one loop nest:
//
//   column tiles of 256 weight rows (scf.forall, the thread pool's unit)
//    -> rows m of x -> blocks of L weight rows -> groups g
//       -> runs of 8 weights along K (two tables, j0 = 2kb and j1 = 2kb + 1)
//          -> planes i: 32/64 bytes of plane i = one byte per weight row,
//             its low nibble indexing table j0 and its high nibble j1;
//             two byte shuffles (tessera.shuffle_bytes: vpshufb) look up L
//             rows at once; the two results are interleaved and summed in
//             pairs into i16 lanes (tessera.sum_byte_pairs: vpmaddubsw
//             with the plane's weight within its set, see below; exact,
//             |entry| <= 127)
//       -> at the end of a group, the planes are combined in i32 (shifts),
//          converted, scaled by the table scale, the group scale and the
//          zero-point term, and added to L f32 accumulators.
//
// An i16 accumulator sums 2 * G / 8 entries of at most 127 per plane of
// its set, times the plane's relative weight: exact while that stays
// below 2^15 (one plane: G <= 1024). The interleave makes accumulator h
// hold, in its lanes [8q, 8q + 8), the rows 16q + 8h + [0, 8) of the block.
//
// With 64-byte permutes and byte dot products (AVX512-VBMI and -VNNI) and
// weights in tiles of 64 x 32 (#tessera.layout<tile = [64, 32],
// bit_planes>), a step is 32 codes (runs 8s .. 8s + 7) instead of 8: a
// plane of a tile is 4 vectors of 16 rows, row r's bytes 4r + j holding
// runs 2j (low nibble) and 2j + 1 (high nibble). The runs' tables are two
// 64-byte vectors (even runs, odd runs); `nibble | 16 j` indexes run 2j's
// (or 2j + 1's) table among the four (tessera.permute_bytes: vpermb), and
// the 4 lookups of a row, times the plane weight 2^i, go into the row's
// i32 accumulator in one tessera.dot_bytes (vpdpbusd). The top plane of
// signed codes, weight -2^(b-1), is looked up complemented (entry
// T[15 - p] = -T[p]) with the weight 2^(b-1). Accumulator q of a block
// holds its rows 16q + [0, 16), all planes summed.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "GemmTiles.h"
#include "PackedCodes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h" // dependent dialect
#include "mlir/Dialect/MemRef/IR/MemRef.h" // dependent dialect
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERLUTTOVECTOR
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kChunk = 8; // f32 lanes of an output chunk
// One row of x, permute kernel: the widths from which four blocks are looked
// up together rather than two. With 1 and 2 bits, whose lookups per group
// are short, four against two at 4096 x 4096, weights in the last-level
// cache: 1 bit 0.150 vs 0.152 ms, 2 bits 0.277 vs 0.265 on one thread,
// 0.080 vs 0.073 and 0.132 vs 0.123 on two; from memory within 2%.
constexpr unsigned kMinBitsForFourBlocks = 3;
// How far ahead both kernels (permute and shuffle) prefetch each block's
// stream of weights (bytes).
constexpr int64_t kLutPrefetchBytes = 2048;

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// Transposes 16 rows x 8 groups of f32, given as 8 vectors of 16 lanes
/// (vector p: rows 2p and 2p + 1, lane 8 * (r % 2) + g), into 8 vectors of
/// 16 lanes (vector g: group g of rows 0..15 in order). Three rounds of
/// two-source shuffles (vpermt2ps with AVX-512): round s pairs the vectors
/// whose indices differ in bit s, and gives the one with bit s clear the
/// lanes of both whose group has bit s clear, the other the rest.
SmallVector<Value> emitTransposeRowPairs(OpBuilder &b, Location loc, ArrayRef<Value> rowPairs) {
  // held[v][lane]: the (row, group) vector v holds there.
  SmallVector<SmallVector<std::pair<int64_t, int64_t>>> held(kChunk);
  for (int64_t p = 0; p < kChunk; ++p)
    for (int64_t lane = 0; lane < 16; ++lane)
      held[p].push_back({2 * p + lane / kChunk, lane % kChunk});
  SmallVector<Value> vectors(rowPairs);
  for (int64_t bit = 1; bit < kChunk; bit <<= 1) {
    auto nextHeld = held;
    SmallVector<Value> next(vectors);
    for (int64_t v = 0; v < kChunk; ++v) {
      if (v & bit)
        continue;
      int64_t w = v | bit;
      for (int64_t half = 0; half < 2; ++half) {
        // (row, group, lane of the concatenation of v and w), by row.
        SmallVector<std::tuple<int64_t, int64_t, int64_t>> lanes;
        for (int64_t lane = 0; lane < 16; ++lane) {
          if (bool(held[v][lane].second & bit) == bool(half))
            lanes.push_back({held[v][lane].first, held[v][lane].second, lane});
          if (bool(held[w][lane].second & bit) == bool(half))
            lanes.push_back({held[w][lane].first, held[w][lane].second, 16 + lane});
        }
        llvm::sort(lanes);
        SmallVector<int64_t> mask;
        int64_t to = half ? w : v;
        nextHeld[to].clear();
        for (auto [row, group, lane] : lanes) {
          mask.push_back(lane);
          nextHeld[to].push_back({row, group});
        }
        next[to] = vector::ShuffleOp::create(b, loc, vectors[v], vectors[w], mask);
      }
    }
    held = std::move(nextHeld);
    vectors = std::move(next);
  }
  return vectors;
}

struct LutToVector : public OpRewritePattern<LutCombineOp> {
  LutToVector(MLIRContext *context, int64_t lanes, bool bytePermute)
      : OpRewritePattern(context), lanes(lanes), bytePermute(bytePermute) {}
  int64_t lanes;
  bool bytePermute;

  LogicalResult matchAndRewrite(LutCombineOp op, PatternRewriter &rewriter) const override {
    auto accOp = op.getAcc().getDefiningOp<LutAccumulateOp>();
    if (!accOp || !accOp.getResult().hasOneUse())
      return rewriter.notifyMatchFailure(op, "acc not from a lut_accumulate");
    if (!accOp.getTables().getType().getElementType().isInteger(8))
      return rewriter.notifyMatchFailure(op, "not int8 tables");
    bool direct = accOp.isDirect();
    RankedTensorType wType = accOp.getWeights().getType();
    int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
    int64_t group = accOp.getGroupSize();
    // The shuffle kernel's layout, or the permute kernel's (weights shared
    // with a dequantize mpmm keep the former: tessera-assign-lut-layouts).
    LayoutAttr layout = getLutKernelLayout(wType, group, direct, lanes);
    LayoutAttr permuteLayout =
        bytePermute ? getLutKernelLayout(wType, group, direct, lanes, true) : nullptr;
    auto unpack = accOp.getWeights().getDefiningOp<UnpackOp>();
    if (!layout || !unpack ||
        (unpack.getLayout() != layout && unpack.getLayout() != permuteLayout))
      return rewriter.notifyMatchFailure(op, "weights not in the kernel's layout");
    bool permute = permuteLayout && permuteLayout != layout && unpack.getLayout() == permuteLayout;
    Value storage = unpack.getStorage();
    if (!op.getInit().getType().getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not an f32 result");
    ZeroPointMode zeroMode = op.getZeroPointMode();
    // Scales and zero points in spans of columns (getGroupTermsKernelLayout),
    // or canonical (termsSpan 0).
    FailureOr<GroupTermsInSpans> spans = getGroupTermsInSpans(op.getScales(), op.getZeros());
    if (failed(spans))
      return rewriter.notifyMatchFailure(op, "scales and zero points in different layouts");
    int64_t termsSpan = spans->span;
    Value scaleTiles = spans->scaleTiles, offsetTiles = spans->offsetTiles;
    Value zeroStorage = spans->zeroStorage;
    Type zeroType;
    if (zeroMode == ZeroPointMode::Int) {
      if (!zeroStorage)
        zeroStorage = canonicalStorage(op.getZeros());
      if (!zeroStorage)
        return rewriter.notifyMatchFailure(op, "zeros not canonical unpack");
      zeroType = cast<ShapedType>(op.getZeros().getType()).getElementType();
    }

    Location loc = op.getLoc();
    Type codeType = op.getCodeType();
    // Planes (one for per-activation tables, which are indexed by the code).
    unsigned bits = direct ? 1 : getLowBitWidth(codeType);
    bool signedCodes = codeType.isSignedInteger();
    int64_t numGroups = k / group;
    // Codes per step (one byte per row: two runs of 4 bit-plane bits, or
    // two 4-bit codes), and the factor of the table scale.
    int64_t stepK = direct ? 2 : 8;
    float tableFactor = direct ? 1.0f : 0.5f;
    // C = sum_i w_i / 2 over the plane weights w_i = 2^i (the top plane of
    // signed codes: -2^(b-1)); direct: 0.
    double cSum = 0;
    for (unsigned i = 0; i < bits && !direct; ++i)
      cSum += (signedCodes && i + 1 == bits ? -0.5 : 0.5) * double(int64_t(1) << i);
    // The shuffle kernel's planes share i16 accumulators: plane i adds its
    // pair sums times 2^(i - first plane of its set) (tessera.sum_byte_pairs
    // with a weight) and the combine multiplies a set's accumulator by
    // 2^(first plane); the top plane of signed codes (weight -2^(b-1)) is
    // looked up with complemented nibbles (T[15 - p] = -T[p] exactly) and
    // so weighs +2^(b-1) like the others. A lane of a set's accumulator
    // sums, per period of `period` runs, 2 * period entries of at most 127
    // times each plane's relative weight: a set takes planes while that
    // stays below 2^15. The period is the group's runs, or half or a
    // quarter of them (not below 8 runs), whichever lets the most blocks be
    // looked up together (their accumulators, two per set, and 6 working
    // registers in the target's registers; more blocks are more concurrent
    // streams of weights), the longest on a tie; each period's sums are
    // widened into i32 (4-bit codes, groups of 128: periods of 8 runs, one
    // set of 4 planes, 4 blocks instead of 2 sets and 2 blocks).
    int64_t registers = lanes == 64 ? 32 : 16;
    int64_t runsPerGroup = group / stepK;
    int64_t numPlanes = direct ? 1 : bits;
    auto planesPerSetFor = [&](int64_t period) {
      int64_t maxRelativeSum = 32767 / (2 * period * 127);
      int64_t planes = 1;
      while (planes < 7 && (int64_t(2) << planes) - 1 <= maxRelativeSum)
        ++planes;
      return planes;
    };
    auto blocksFor = [&](int64_t accumulators) -> int64_t {
      for (int64_t blocks : {4, 2})
        if (blocks * accumulators + 6 <= registers)
          return blocks;
      return 1;
    };

    Type f32 = rewriter.getF32Type(), i8 = rewriter.getI8Type(), i16 = rewriter.getI16Type(),
         i32 = rewriter.getI32Type();
    auto bytesType = VectorType::get({lanes}, i8);
    auto tableType = VectorType::get({16}, i8);
    auto accType = VectorType::get({lanes / 2}, i16);
    auto chunkI32 = VectorType::get({kChunk}, i32);
    auto chunkF32 = VectorType::get({kChunk}, f32);
    bool inBounds[] = {true};

    auto splat = [&](OpBuilder &b, Location loc, VectorType type, Attribute v) -> Value {
      return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, v));
    };
    Value nibbleMask = splat(rewriter, loc, bytesType, rewriter.getI8IntegerAttr(15));
    Value four = splat(rewriter, loc, bytesType, rewriter.getI8IntegerAttr(4));
    Value allOnes = splat(rewriter, loc, bytesType, rewriter.getI8IntegerAttr(-1));
    // One row of x: whether the coefficients of a step's rows are computed
    // per 8 groups ahead of their lookups (else gathered in the combine, 8
    // rows' scalars per group). Ahead at every width: 4096 x 4096, one row,
    // weights in the last-level cache, 1 and 2 bits, against gathering:
    // permute kernel 0.190 -> 0.152 and 0.300 -> 0.265 ms on one thread,
    // 0.107 -> 0.073 and 0.156 -> 0.123 on two; 64-byte shuffle kernel
    // (skylake-avx512) 0.246 -> 0.165 and 0.429 -> 0.234; AVX2 0.239 ->
    // 0.200 and 0.324 -> 0.268. With weights from memory the same or
    // faster (skylake-avx512, 2 bits: 0.573 -> 0.407).
    // The groups in runs of 8 (the rest, fewer than 8, are gathered).
    int64_t fullGroups = numGroups / kChunk * kChunk;
    bool stepCoefficients = fullGroups > 0;
    // The permute kernel: i32 accumulators of 16 rows, 4 per block.
    auto rowsI32 = VectorType::get({16}, i32);
    constexpr int64_t kPermuteAccumulators = 4;
    // How a kernel accumulates: runs per period, planes per set, sets, i16
    // (permute: i32) accumulators per block, blocks per step. Shorter
    // periods only for one row of x: with more rows, where the weights are
    // read once per row from the caches, widening twice per group cost
    // more than the streams gained (4 bits at M = 16: 5.65 -> 5.8 ms).
    struct Accumulation {
      int64_t period, planesPerSet, numSets, accPerBlock, blocksPerStep;
    };
    auto accumulationFor = [&](bool oneRow) {
      Accumulation a;
      a.period = runsPerGroup;
      a.planesPerSet = planesPerSetFor(a.period);
      auto blocksOf = [&](int64_t perSet) {
        return blocksFor(2 * llvm::divideCeil(numPlanes, perSet));
      };
      for (int64_t p = runsPerGroup / 2;
           oneRow && !direct && p >= 8 && runsPerGroup % p == 0; p /= 2)
        if (blocksOf(planesPerSetFor(p)) > blocksOf(a.planesPerSet)) {
          a.period = p;
          a.planesPerSet = planesPerSetFor(p);
        }
      a.numSets = llvm::divideCeil(numPlanes, a.planesPerSet);
      a.accPerBlock = permute ? kPermuteAccumulators : 2 * a.numSets;
      a.blocksPerStep = permute ? (stepCoefficients && bits >= kMinBitsForFourBlocks ? 4 : 2)
                                : blocksFor(a.accPerBlock);
      return a;
    };
    Value zeroAcc = permute ? splat(rewriter, loc, rowsI32, rewriter.getI32IntegerAttr(0))
                            : splat(rewriter, loc, accType, rewriter.getI16IntegerAttr(0));
    Value zeroChunk = splat(rewriter, loc, chunkF32, rewriter.getF32FloatAttr(0));
    Value padI8 = arith::ConstantIntOp::create(rewriter, loc, i8, 0);
    Value padF32 = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    Value c0 = cIndex(rewriter, loc, 0), c1 = cIndex(rewriter, loc, 1);
    Value tables = accOp.getTables();
    Value m = tensor::DimOp::create(rewriter, loc, tables, 0);

    // Byte shuffles of the table (broadcast to every 16-byte lane).
    SmallVector<int64_t> broadcastMask;
    for (int64_t l = 0; l < lanes; ++l)
      broadcastMask.push_back(l % 16);
    // Interleave of two lookups per 16-byte lane: low halves, high halves.
    SmallVector<int64_t> interleave[2];
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t q = 0; q < lanes / 16; ++q)
        for (int64_t t = 0; t < 8; ++t) {
          interleave[h].push_back(16 * q + 8 * h + t);
          interleave[h].push_back(lanes + 16 * q + 8 * h + t);
        }

    auto readTable = [&](OpBuilder &b, Location loc, Value mIv, Value j) -> Value {
      Value t = vector::TransferReadOp::create(b, loc, tableType, tables, ValueRange{mIv, j, c0},
                                               padI8, ArrayRef<bool>(inBounds));
      return vector::ShuffleOp::create(b, loc, t, t, broadcastMask);
    };
    // The tile's coefficients, per group g and weight row n of the tile
    // (tileBegin + n): y += S[g, n] * ts/2 * planes + B[g, n] * sum with
    //   S = s[n, g],  B = s[n, g] * (C - z[n, g])  (integer zero points),
    //   B = s[n, g] * C + z[n, g]  (float offsets),  B = s[n, g] * C  (none).
    // They are computed once per column tile (and row block of x), so that
    // the combine reads them as vectors instead of gathering 8 rows' values
    // per group and row of x.
    Value tileBegin, tileCoefficients;
    auto coefficientsOf = [&](OpBuilder &b, Location loc, Value scale, Value zero) {
      // scale, zero: f32 values (vectors or scalars) of the same type.
      Type type = scale.getType();
      auto cst = [&](float v) -> Value {
        if (auto vt = dyn_cast<VectorType>(type))
          return splat(b, loc, vt, b.getF32FloatAttr(v));
        return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
      };
      Value c = cst(float(cSum));
      if (zeroMode == ZeroPointMode::Int)
        return std::make_pair(scale, Value(arith::MulFOp::create(
                                         b, loc, scale, arith::SubFOp::create(b, loc, c, zero))));
      Value sc = arith::MulFOp::create(b, loc, scale, c);
      if (zeroMode == ZeroPointMode::Float)
        sc = arith::AddFOp::create(b, loc, sc, zero);
      return std::make_pair(scale, sc);
    };
    // z[n, g] as f32.
    auto zeroAt = [&](OpBuilder &b, Location loc, Value nIv, Value gIv) -> Value {
      if (zeroMode == ZeroPointMode::Float)
        return emitToF32(
            b, loc,
            termsSpan
                ? Value(tensor::ExtractOp::create(b, loc, offsetTiles,
                                                  emitSpanTileIndices(b, loc, nIv, gIv, termsSpan)))
                : Value(tensor::ExtractOp::create(b, loc, op.getZeros(), ValueRange{nIv, gIv})));
      Value index =
          termsSpan
              ? emitSpanElementIndex(b, loc, nIv, gIv, numGroups, termsSpan)
              : Value(arith::AddIOp::create(
                    b, loc, arith::MulIOp::create(b, loc, nIv, cIndex(b, loc, numGroups)), gIv));
      Value z = emitReadPackedCode(b, loc, zeroStorage, index, getLowBitWidth(zeroType),
                                   zeroType.isSignedInteger());
      return arith::SIToFPOp::create(b, loc, f32, z);
    };
    // The integer zero points z[n, g .. g + 8) (g a multiple of 8, g + 8 <=
    // G) take zb bytes from bit (n * G + g) * zb on, a byte boundary where
    // G * zb is a multiple of 8 (8 | G among them); zeroWord8 reads them as
    // one integer, z[n, g + l] at bits [l * zb, (l + 1) * zb) (above them
    // undefined). Off a byte boundary, zb + 1 bytes from the run's first:
    // the codes of the groups past the last run of 8 follow every run.
    int64_t zeroBits = zeroMode == ZeroPointMode::Int ? getLowBitWidth(zeroType) : 0;
    bool zeroRunsOnByte = numGroups * zeroBits % 8 == 0;
    auto zeroBit8 = [&](OpBuilder &b, Location loc, Value nIv, Value g8) -> Value {
      return arith::MulIOp::create(
          b, loc,
          arith::AddIOp::create(b, loc,
                                arith::MulIOp::create(b, loc, nIv, cIndex(b, loc, numGroups)), g8),
          cIndex(b, loc, zeroBits));
    };
    auto zeroWord8 = [&](OpBuilder &b, Location loc, Value nIv, Value g8) -> Value {
      Value bit = zeroBit8(b, loc, nIv, g8);
      if (zeroBits < 8)
        return emitReadCodeRunWord(b, loc, zeroStorage, bit, zeroBits, zeroRunsOnByte);
      return emitReadBytesAsWord(b, loc, zeroStorage,
                                 arith::DivUIOp::create(b, loc, bit, cIndex(b, loc, 8)), 8);
    };
    // Those zero points as f32 lanes.
    auto zeroCodes8 = [&](OpBuilder &b, Location loc, Value nIv, Value g8) -> Value {
      return arith::SIToFPOp::create(b, loc, chunkF32,
                                     emitReadCodeRun8(b, loc, zeroStorage,
                                                      zeroBit8(b, loc, nIv, g8), zeroBits,
                                                      zeroType.isSignedInteger(), zeroRunsOnByte));
    };
    // The coefficients of rows [n, n + width) and group g, gathered (one
    // row of x with fewer than 8 groups; the groups past the last run of 8,
    // for one row in the combine and for more in the tile's coefficients).
    auto gatherCoefficients = [&](OpBuilder &b, Location loc, Value nBase, Value gIv,
                                  int64_t width) {
      auto rowsF32 = VectorType::get({width}, f32);
      // In spans, one read each (nBase a multiple of `width`, inside a span).
      if (termsSpan) {
        Value zv;
        if (zeroMode == ZeroPointMode::Float)
          zv = emitReadSpanTerms(b, loc, offsetTiles, nBase, gIv, width);
        else if (zeroMode == ZeroPointMode::Int)
          zv = arith::SIToFPOp::create(
              b, loc, rowsF32,
              emitReadSpanZeroPoints(b, loc, zeroStorage, nBase, gIv, numGroups, termsSpan, width,
                                     getLowBitWidth(zeroType), zeroType.isSignedInteger()));
        return coefficientsOf(b, loc, emitReadSpanTerms(b, loc, scaleTiles, nBase, gIv, width), zv);
      }
      SmallVector<Value> scales, zeros;
      for (int64_t r = 0; r < width; ++r) {
        Value nIv = arith::AddIOp::create(b, loc, nBase, cIndex(b, loc, r));
        scales.push_back(
            emitToF32(b, loc, tensor::ExtractOp::create(b, loc, op.getScales(), ValueRange{nIv, gIv})));
        if (zeroMode != ZeroPointMode::None)
          zeros.push_back(zeroAt(b, loc, nIv, gIv));
      }
      Value zv =
          zeros.empty() ? Value() : Value(vector::FromElementsOp::create(b, loc, rowsF32, zeros));
      return coefficientsOf(b, loc, vector::FromElementsOp::create(b, loc, rowsF32, scales), zv);
    };
    // Terms in spans: the coefficients of rows [nBase, nBase + width) and
    // groups [g8, g8 + 8), vector l of each result group g8 + l's (as
    // coefficients8x8's), read group by group.
    auto spanCoefficients8 = [&](OpBuilder &b, Location loc, Value nBase, Value g8, int64_t width) {
      SmallVector<Value> byGroupS, byGroupB;
      for (int64_t l = 0; l < kChunk; ++l) {
        auto [sc, off] = gatherCoefficients(
            b, loc, nBase, l ? Value(arith::AddIOp::create(b, loc, g8, cIndex(b, loc, l))) : g8,
            width);
        byGroupS.push_back(sc);
        byGroupB.push_back(off);
      }
      return std::make_pair(byGroupS, byGroupB);
    };
    // The coefficients of rows [nBase, nBase + 8) and groups [g8, g8 + 8)
    // (g8 + 8 <= G): per row, 8 groups' scales (and zero points)
    // read along the groups (contiguous) as vectors, then transposed in
    // registers: vector l of each result holds group g8 + l of the 8 rows.
    auto coefficients8x8 = [&](OpBuilder &b, Location loc, Value nBase, Value g8) {
      SmallVector<Value> rowScales, rowOffsets;
      // In spans, group by group: no transpose.
      if (termsSpan)
        return spanCoefficients8(b, loc, nBase, g8, kChunk);
      auto scalesType = cast<ShapedType>(op.getScales().getType());
      auto readType = VectorType::get({kChunk}, scalesType.getElementType());
      Value pad = arith::ConstantOp::create(b, loc, b.getZeroAttr(scalesType.getElementType()));
      for (int64_t r = 0; r < kChunk; ++r) {
        Value nIv = r ? Value(arith::AddIOp::create(b, loc, nBase, cIndex(b, loc, r))) : nBase;
        Value sv = emitToF32(b, loc,
                             vector::TransferReadOp::create(b, loc, readType, op.getScales(),
                                                            ValueRange{nIv, g8}, pad,
                                                            ArrayRef<bool>(inBounds)));
        Value zv;
        if (zeroMode == ZeroPointMode::Float)
          zv = emitToF32(
              b, loc,
              vector::TransferReadOp::create(
                  b, loc,
                  VectorType::get({kChunk},
                                  cast<ShapedType>(op.getZeros().getType()).getElementType()),
                  op.getZeros(), ValueRange{nIv, g8}, pad, ArrayRef<bool>(inBounds)));
        else if (zeroMode == ZeroPointMode::Int)
          zv = zeroCodes8(b, loc, nIv, g8);
        auto [sc, off] = coefficientsOf(b, loc, sv, zv);
        rowScales.push_back(sc);
        rowOffsets.push_back(off);
      }
      return std::make_pair(emitTranspose8x8(b, loc, rowScales),
                            emitTranspose8x8(b, loc, rowOffsets));
    };
    // Coefficients computed ahead are kept as [2][groups][rows]: S at
    // [0, g, n], B at [1, g, n] (one tensor: two loop-carried tensors with
    // equal tensor.empty inits become one value after CSE, which one-shot
    // bufferization has given both loop arguments as their buffer).
    // Writes those of rows [nBase, nBase + 8), groups [g8, g8 + 8) at
    // [., gAt + l, nAt].
    // Writes S[l] and B[l] (vectors over rows) at [0 and 1, gAt + l, nAt].
    auto storeCoefficients = [&](OpBuilder &b, Location loc, Value coefficients,
                                 ArrayRef<Value> byGroupS, ArrayRef<Value> byGroupB, Value gAt,
                                 Value nAt) -> Value {
      for (int64_t l = 0; l < kChunk; ++l) {
        Value g = arith::AddIOp::create(b, loc, gAt, cIndex(b, loc, l));
        Value values[] = {byGroupS[l], byGroupB[l]};
        for (int64_t which = 0; which < 2; ++which)
          coefficients = vector::TransferWriteOp::create(b, loc, values[which], coefficients,
                                                         ValueRange{cIndex(b, loc, which), g, nAt},
                                                         ArrayRef<bool>(inBounds))
                             .getResult();
      }
      return coefficients;
    };
    auto writeCoefficients8x8 = [&](OpBuilder &b, Location loc, Value coefficients, Value nBase,
                                    Value g8, Value gAt, Value nAt) -> Value {
      auto [byGroupS, byGroupB] = coefficients8x8(b, loc, nBase, g8);
      return storeCoefficients(b, loc, coefficients, byGroupS, byGroupB, gAt, nAt);
    };
    // The same for rows [nBase, nBase + 16) as vectors of 16 rows (the
    // permute kernel's): S from the rows' scales read two rows at a time
    // and transposed by two-source shuffles; integer zero points from each
    // row's 8 codes read as one word, a vector of 16 rows' words, then per
    // group a shift and a mask (or sign extension) of all 16 rows at once.
    // Per 16 rows x 8 groups the loop body is 144 instructions at 1 bit
    // (185 at 4 bits; 251 at 3, whose 3-byte words take 4 scalar
    // instructions each) where two passes of 8 x 8 took 280 (362 at 3
    // bits): those unpacked each row's codes alone and transposed B as
    // well as S.
    auto writeCoefficients16x8 = [&](OpBuilder &b, Location loc, Value coefficients, Value nBase,
                                     Value g8, Value gAt, Value nAt) -> Value {
      auto rowsF32 = VectorType::get({16}, f32);
      // In spans, group by group: no transpose.
      if (termsSpan) {
        auto [byGroupS, byGroupB] = spanCoefficients8(b, loc, nBase, g8, 16);
        return storeCoefficients(b, loc, coefficients, byGroupS, byGroupB, gAt, nAt);
      }
      // Rows [nBase, nBase + 16) x groups [g8, g8 + 8) of `values` (the
      // scales, or float zero points) as f32, one vector per group.
      auto byGroup = [&](Value values) {
        auto elementType = cast<ShapedType>(values.getType()).getElementType();
        auto rowType = VectorType::get({kChunk}, elementType);
        Value pad = arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
        SmallVector<int64_t> concat = llvm::to_vector(llvm::seq<int64_t>(0, 2 * kChunk));
        SmallVector<Value> rowPairs;
        for (int64_t r = 0; r < 16; r += 2) {
          Value rows[2];
          for (int64_t i = 0; i < 2; ++i) {
            Value nIv =
                r + i ? Value(arith::AddIOp::create(b, loc, nBase, cIndex(b, loc, r + i))) : nBase;
            rows[i] = vector::TransferReadOp::create(b, loc, rowType, values, ValueRange{nIv, g8},
                                                     pad, ArrayRef<bool>(inBounds));
          }
          rowPairs.push_back(
              emitToF32(b, loc, vector::ShuffleOp::create(b, loc, rows[0], rows[1], concat)));
        }
        return emitTransposeRowPairs(b, loc, rowPairs);
      };
      SmallVector<Value> scale = byGroup(op.getScales()), offset;
      Value c = splat(b, loc, rowsF32, b.getF32FloatAttr(float(cSum)));
      if (zeroMode == ZeroPointMode::Float) {
        SmallVector<Value> zero = byGroup(op.getZeros());
        for (int64_t l = 0; l < kChunk; ++l)
          offset.push_back(
              arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, scale[l], c), zero[l]));
      } else if (zeroMode == ZeroPointMode::None) {
        for (int64_t l = 0; l < kChunk; ++l)
          offset.push_back(arith::MulFOp::create(b, loc, scale[l], c));
      } else {
        // Row n's codes of groups [g8, g8 + 8): one word each.
        int64_t zb = zeroBits;
        Type laneType = b.getIntegerType(zb <= 4 ? 32 : 64);
        SmallVector<Value> words;
        for (int64_t r = 0; r < 16; ++r) {
          Value nIv = r ? Value(arith::AddIOp::create(b, loc, nBase, cIndex(b, loc, r))) : nBase;
          Value word = zeroWord8(b, loc, nIv, g8);
          if (word.getType() != laneType)
            word = arith::ExtUIOp::create(b, loc, laneType, word);
          words.push_back(word);
        }
        auto wordsType = VectorType::get({16}, laneType);
        auto rowsI32 = VectorType::get({16}, b.getI32Type());
        Value wordVector = vector::FromElementsOp::create(b, loc, wordsType, words);
        Value up = splat(b, loc, rowsI32, b.getI32IntegerAttr(32 - zb));
        for (int64_t l = 0; l < kChunk; ++l) {
          Value codes = wordVector;
          if (l)
            codes = arith::ShRUIOp::create(
                b, loc, codes, splat(b, loc, wordsType, b.getIntegerAttr(laneType, l * zb)));
          if (laneType != b.getI32Type())
            codes = arith::TruncIOp::create(b, loc, rowsI32, codes);
          if (zeroType.isSignedInteger())
            codes = arith::ShRSIOp::create(b, loc, arith::ShLIOp::create(b, loc, codes, up), up);
          else
            codes = arith::AndIOp::create(
                b, loc, codes, splat(b, loc, rowsI32, b.getI32IntegerAttr((1 << zb) - 1)));
          Value zero = arith::SIToFPOp::create(b, loc, rowsF32, codes);
          offset.push_back(
              arith::MulFOp::create(b, loc, scale[l], arith::SubFOp::create(b, loc, c, zero)));
        }
      }
      return storeCoefficients(b, loc, coefficients, scale, offset, gAt, nAt);
    };
    auto tileCoefficientsType = RankedTensorType::get({2, numGroups, kGemmColumnTile}, f32);
    // Fills the coefficients of the tile's `columns` rows, 8 at a time: the
    // groups in runs of 8 read along the groups (contiguous), computed as
    // vectors and transposed in registers; the rest one value at a time.
    auto emitTileCoefficients = [&](OpBuilder &b, Location loc, Value columns) {
      Value init = tensor::EmptyOp::create(b, loc, tileCoefficientsType, ValueRange{});
      auto rowBlocks = scf::ForOp::create(
          b, loc, c0, columns, cIndex(b, loc, kChunk), ValueRange{init},
          [&](OpBuilder &b, Location loc, Value n8, ValueRange tiles) {
            Value nBase = arith::AddIOp::create(b, loc, tileBegin, n8);
            Value coefficients = tiles[0];
            if (fullGroups > 0)
              coefficients =
                  scf::ForOp::create(
                      b, loc, c0, cIndex(b, loc, fullGroups), cIndex(b, loc, kChunk),
                      ValueRange{coefficients},
                      [&](OpBuilder &b, Location loc, Value g8, ValueRange tiles) {
                        scf::YieldOp::create(
                            b, loc, writeCoefficients8x8(b, loc, tiles[0], nBase, g8, g8, n8));
                      })
                      .getResult(0);
            if (fullGroups < numGroups)
              coefficients = scf::ForOp::create(
                                 b, loc, cIndex(b, loc, fullGroups), cIndex(b, loc, numGroups), c1,
                                 ValueRange{coefficients},
                                 [&](OpBuilder &b, Location loc, Value gIv, ValueRange tiles) {
                                   auto [sc, off] = gatherCoefficients(b, loc, nBase, gIv, kChunk);
                                   Value values[] = {sc, off};
                                   Value coefficients = tiles[0];
                                   for (auto [which, v] : llvm::enumerate(values))
                                     coefficients = vector::TransferWriteOp::create(
                                                        b, loc, v, coefficients,
                                                        ValueRange{cIndex(b, loc, which), gIv, n8},
                                                        ArrayRef<bool>(inBounds))
                                                        .getResult();
                                   scf::YieldOp::create(b, loc, coefficients);
                                 })
                                 .getResult(0);
            scf::YieldOp::create(b, loc, coefficients);
          });
      tileCoefficients = rowBlocks.getResult(0);
    };

    // Software prefetches of each block's stream of weights,
    // kLutPrefetchBytes ahead: the lookups take few operations per byte.
    WeightPrefetcher prefetcher(rewriter, loc, storage);
    // With one row of x, the scales (and integer zero points) of the next
    // step's rows, spread over the lookups of this one: computed per 8
    // groups, the coefficients would otherwise start each step with a
    // burst of misses (a line per row of scales).
    auto scalesType = cast<ShapedType>(op.getScales().getType());
    int64_t scaleBytes = (scalesType.getElementTypeBitWidth() + 7) / 8;
    WeightPrefetcher scalePrefetcher, zeroPrefetcher;
    // (Rows [r, r + R) of terms in spans, r and R multiples of the span,
    // are as many contiguous elements as canonical ones.)
    if (stepCoefficients && permute) {
      scalePrefetcher = WeightPrefetcher(rewriter, loc, termsSpan ? scaleTiles : op.getScales());
      if (zeroMode == ZeroPointMode::Int)
        zeroPrefetcher = WeightPrefetcher(rewriter, loc, zeroStorage);
    }

    // The permute kernel's lookups of group gIv for the blocks blockIndex
    // (tiles of 64 x 32), one step of 32 codes at a time: returns the loop,
    // whose results are the blocks' accumulators (kPermuteAccumulators
    // each, rows 16q + [0, 16) in accumulator q).
    SmallVector<int64_t> evenRuns, oddRuns, selectors, flippedSelectors;
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t e = 0; e < 16; ++e) {
        evenRuns.push_back(32 * j + e);
        oddRuns.push_back(32 * j + 16 + e);
      }
    for (int64_t l = 0; l < 64; ++l) {
      selectors.push_back((l % 4) << 4);
      flippedSelectors.push_back(((l % 4) << 4) | 15);
    }
    auto byteConstant = [&](OpBuilder &b, Location loc, ArrayRef<int64_t> values) -> Value {
      SmallVector<int8_t> bytes(values.begin(), values.end());
      return arith::ConstantOp::create(b, loc,
                                       DenseElementsAttr::get(bytesType, ArrayRef<int8_t>(bytes)));
    };
    // Made once: the tables as [m][runs * 16], the index selectors (16 j
    // for byte j of a row's 4; complemented nibbles: XOR with 15 | 16 j)
    // and the plane weights 2^i.
    Value flatTables, sel, flippedSel;
    SmallVector<Value> planeWeights;
    if (permute) {
      auto tablesType = cast<RankedTensorType>(tables.getType());
      flatTables = tensor::CollapseShapeOp::create(
          rewriter, loc,
          RankedTensorType::get({tablesType.getDimSize(0), tablesType.getDimSize(1) * 16}, i8),
          tables, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
      sel = byteConstant(rewriter, loc, selectors);
      flippedSel = byteConstant(rewriter, loc, flippedSelectors);
      for (unsigned i = 0; i < bits; ++i)
        planeWeights.push_back(
            splat(rewriter, loc, bytesType, rewriter.getI8IntegerAttr(int8_t(1u << i))));
    }
    // The permute kernel's tiles of 64 rows x kPermuteStep codes: the first
    // byte of block `index`'s tile `step` (b planes of kPermuteTileBytes).
    constexpr int64_t kPermuteStep = 32, kPermuteTileBytes = 64 * kPermuteStep / 8;
    auto permuteTileByte = [&](OpBuilder &b, Location loc, Value index, Value step) -> Value {
      Value tile = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, index, cIndex(b, loc, k / kPermuteStep)), step);
      return arith::MulIOp::create(b, loc, tile, cIndex(b, loc, bits * kPermuteTileBytes));
    };
    auto permuteSteps = [&](OpBuilder &b, Location loc, Value mIv, Value gIv,
                            ArrayRef<Value> blockIndex, ArrayRef<Value> accInit, Value nextRow) {
      Value stepsBegin = arith::MulIOp::create(b, loc, gIv, cIndex(b, loc, group / kPermuteStep));
      Value stepsEnd =
          arith::AddIOp::create(b, loc, stepsBegin, cIndex(b, loc, group / kPermuteStep));
      return scf::ForOp::create(
          b, loc, stepsBegin, stepsEnd, c1, accInit,
          [&](OpBuilder &b, Location loc, Value step, ValueRange acc) {
            // Runs 8 step + [0, 8): 128 bytes of tables (two loads),
            // split into the even runs' and the odd runs'.
            Value at = arith::MulIOp::create(b, loc, step, cIndex(b, loc, 8 * 16));
            Value first = vector::TransferReadOp::create(b, loc, bytesType, flatTables,
                                                         ValueRange{mIv, at}, padI8,
                                                         ArrayRef<bool>(inBounds));
            Value second = vector::TransferReadOp::create(
                b, loc, bytesType, flatTables,
                ValueRange{mIv, arith::AddIOp::create(b, loc, at, cIndex(b, loc, 64))}, padI8,
                ArrayRef<bool>(inBounds));
            Value even = vector::ShuffleOp::create(b, loc, first, second, evenRuns);
            Value odd = vector::ShuffleOp::create(b, loc, first, second, oddRuns);
            SmallVector<Value> next(acc);
            if (nextRow) {
              // Step `step` of K / 32 prefetches its share of the next
              // step's scales and zero points, 64 bytes at a time.
              int64_t rows = int64_t(blockIndex.size()) * 64, steps = k / kPermuteStep;
              scalePrefetcher.emitRowsShare(b, loc, nextRow, rows, numGroups * 8 * scaleBytes, step,
                                            steps);
              if (zeroMode == ZeroPointMode::Int)
                zeroPrefetcher.emitRowsShare(b, loc, nextRow, rows, numGroups * zeroBits, step,
                                             steps);
            }
            for (auto [blk, index] : llvm::enumerate(blockIndex)) {
              Value tileByte = permuteTileByte(b, loc, index, step);
              // One clamp for the tile's prefetches (one per 64 bytes).
              Value ahead = prefetcher.clampedBase(b, loc, tileByte, kLutPrefetchBytes,
                                                   bits * kPermuteTileBytes - lanes);
              for (unsigned i = 0; i < bits; ++i) {
                // The top plane of signed codes: the complemented nibble.
                bool flip = signedCodes && i + 1 == bits;
                for (int64_t q = 0; q < kPermuteAccumulators; ++q) {
                  int64_t inTile = i * kPermuteTileBytes + q * lanes;
                  Value offset = arith::AddIOp::create(b, loc, tileByte, cIndex(b, loc, inTile));
                  prefetcher.emitAt(b, loc, ahead, inTile);
                  Value w = vector::TransferReadOp::create(b, loc, bytesType, storage,
                                                           ValueRange{offset}, padI8,
                                                           ArrayRef<bool>(inBounds));
                  Value lo = arith::AndIOp::create(b, loc, w, nibbleMask);
                  Value hi = arith::ShRUIOp::create(b, loc, w, four);
                  lo = flip ? Value(arith::XOrIOp::create(b, loc, lo, flippedSel))
                            : Value(arith::OrIOp::create(b, loc, lo, sel));
                  hi = flip ? Value(arith::XOrIOp::create(b, loc, hi, flippedSel))
                            : Value(arith::OrIOp::create(b, loc, hi, sel));
                  Value &a = next[blk * kPermuteAccumulators + q];
                  a = DotBytesOp::create(b, loc, a, planeWeights[i],
                                         PermuteBytesOp::create(b, loc, even, lo));
                  a = DotBytesOp::create(b, loc, a, planeWeights[i],
                                         PermuteBytesOp::create(b, loc, odd, hi));
                }
              }
            }
            scf::YieldOp::create(b, loc, next);
          });
    };

    // Blocks of `lanes` weight rows starting at nBlocks[0], nBlocks[1], ...
    // (looked up together: one stream of weights each), for row mIv of x:
    // returns each block's chunks of f32 results (without init): 8 rows
    // each, or 16 in the permute kernel where the coefficients are read as
    // vectors (an accumulator per chunk; 8-row chunks of four blocks spill).
    // The shuffle kernel's lookups of group gIv for the blocks blockIndex
    // (tiles of `lanes` x 8), one run of 8 codes at a time: returns the
    // loop, whose results are the blocks' accumulators (shape.accPerBlock
    // each: two per plane set, see the interleave above), over shape.period
    // runs from kbBegin.
    auto shuffleSteps = [&](OpBuilder &b, Location loc, const Accumulation &shape, Value mIv,
                            Value kbBegin, ArrayRef<Value> blockIndex,
                            ArrayRef<Value> accInit) {
      int64_t numBlocks = blockIndex.size();
      Value kbEnd = arith::AddIOp::create(b, loc, kbBegin, cIndex(b, loc, shape.period));
      return scf::ForOp::create(
          b, loc, kbBegin, kbEnd, c1, accInit,
          [&](OpBuilder &b, Location loc, Value kb, ValueRange acc) {
            Value j0 = arith::MulIOp::create(b, loc, kb, cIndex(b, loc, 2));
            Value j1 = arith::AddIOp::create(b, loc, j0, c1);
            Value t0 = readTable(b, loc, mIv, j0), t1 = readTable(b, loc, mIv, j1);
            SmallVector<Value> next(acc);
            for (int64_t blk = 0; blk < numBlocks; ++blk) {
              // Tile (block, kb): b planes of `lanes` bytes.
              Value tile = arith::AddIOp::create(
                  b, loc,
                  arith::MulIOp::create(b, loc, blockIndex[blk], cIndex(b, loc, k / stepK)),
                  kb);
              Value tileByte =
                  arith::MulIOp::create(b, loc, tile, cIndex(b, loc, bits * lanes));
              // One prefetch per 64 bytes of the tile, all from one clamp.
              Value ahead = prefetcher.clampedBase(b, loc, tileByte, kLutPrefetchBytes,
                                                   (bits * lanes - 1) / 64 * 64);
              for (unsigned i = 0; i < bits; ++i) {
                Value offset = arith::AddIOp::create(b, loc, tileByte, cIndex(b, loc, i * lanes));
                if (i * lanes % 64 == 0)
                  prefetcher.emitAt(b, loc, ahead, i * lanes);
                Value w = vector::TransferReadOp::create(b, loc, bytesType, storage,
                                                         ValueRange{offset}, padI8,
                                                         ArrayRef<bool>(inBounds));
                // The top plane of signed codes: complemented nibbles.
                if (signedCodes && !direct && i + 1 == bits)
                  w = arith::XOrIOp::create(b, loc, w, allOnes);
                Value lo = arith::AndIOp::create(b, loc, w, nibbleMask);
                Value hi = arith::ShRUIOp::create(b, loc, w, four);
                Value r0 = ShuffleBytesOp::create(b, loc, t0, lo);
                Value r1 = ShuffleBytesOp::create(b, loc, t1, hi);
                for (int64_t h = 0; h < 2; ++h) {
                  Value pairs = vector::ShuffleOp::create(b, loc, r0, r1, interleave[h]);
                  int64_t set = i / shape.planesPerSet;
                  Value sums = SumBytePairsOp::create(b, loc, accType, pairs,
                                                      int64_t(1) << (i % shape.planesPerSet));
                  Value &a = next[blk * shape.accPerBlock + 2 * set + h];
                  a = arith::AddIOp::create(b, loc, a, sums);
                }
              }
            }
            scf::YieldOp::create(b, loc, next);
          });
    };
    auto emitBlocks = [&](OpBuilder &b, Location loc, const Accumulation &shape, Value mIv,
                          ArrayRef<Value> nBlocks) {
      int64_t width = permute && (tileCoefficients || stepCoefficients) ? 16 : kChunk;
      auto yType = VectorType::get({width}, f32);
      int64_t numBlocks = nBlocks.size(), chunks = lanes / width;
      SmallVector<Value> blockIndex;
      for (Value nBlock : nBlocks)
        blockIndex.push_back(arith::DivUIOp::create(b, loc, nBlock, cIndex(b, loc, lanes)));
      SmallVector<Value> yInit(numBlocks * chunks,
                               width == kChunk ? zeroChunk
                                               : splat(b, loc, yType, b.getF32FloatAttr(0)));
      // Group gIv: the lookups, then the combine into yAcc, with the
      // coefficients of group g, row n at [., g - g0, n - n0] of
      // `coefficients` (null: gathered).
      auto groupBody =
          [&](OpBuilder &b, Location loc, Value gIv, ValueRange yAcc, Value coefficients, Value g0,
              Value n0, Value nextRow = Value()) {
            SmallVector<Value> accInit(numBlocks * shape.accPerBlock, zeroAcc);
            // The shuffle kernel's planes of chunk c of block blk: its sets'
            // i16 sums (results of `runs`) widened, times 2^(first plane).
            auto setSums = [&](OpBuilder &b, Location loc, ValueRange runs, int64_t blk,
                               int64_t c) {
              int64_t q = c / 2, h = c % 2;
              Value planes;
              for (int64_t set = 0; set < shape.numSets; ++set) {
                Value part = vector::ExtractStridedSliceOp::create(
                    b, loc, runs[blk * shape.accPerBlock + 2 * set + h], ArrayRef<int64_t>{8 * q},
                    ArrayRef<int64_t>{kChunk}, ArrayRef<int64_t>{1});
                Value term = arith::ExtSIOp::create(b, loc, chunkI32, part);
                if (set)
                  term = arith::ShLIOp::create(
                      b, loc, term,
                      splat(b, loc, chunkI32, b.getI32IntegerAttr(int32_t(set * shape.planesPerSet))));
                planes = planes ? Value(arith::AddIOp::create(b, loc, planes, term)) : term;
              }
              return planes;
            };
            Value runsBegin = arith::MulIOp::create(b, loc, gIv, cIndex(b, loc, runsPerGroup));
            SmallVector<Value> runs, periodPlanes;
            if (permute) {
              runs = permuteSteps(b, loc, mIv, gIv, blockIndex, accInit, nextRow).getResults();
            } else if (shape.period == runsPerGroup) {
              runs = shuffleSteps(b, loc, shape, mIv, runsBegin, blockIndex, accInit).getResults();
            } else {
              // Periods of shape.period runs, each period's planes added in i32.
              SmallVector<Value> zeros(numBlocks * (lanes / kChunk),
                                       splat(b, loc, chunkI32, b.getI32IntegerAttr(0)));
              auto periods = scf::ForOp::create(
                  b, loc, c0, cIndex(b, loc, runsPerGroup), cIndex(b, loc, shape.period), zeros,
                  [&](OpBuilder &b, Location loc, Value p, ValueRange partial) {
                    auto steps =
                        shuffleSteps(b, loc, shape, mIv, arith::AddIOp::create(b, loc, runsBegin, p),
                                     blockIndex, accInit);
                    SmallVector<Value> next;
                    for (int64_t blk = 0; blk < numBlocks; ++blk)
                      for (int64_t c = 0; c < lanes / kChunk; ++c)
                        next.push_back(arith::AddIOp::create(
                            b, loc, partial[next.size()],
                            setSums(b, loc, steps.getResults(), blk, c)));
                    scf::YieldOp::create(b, loc, next);
                  });
              periodPlanes = periods.getResults();
            }
            // Combine the group: per chunk of rows, y += S * ts/2 * planes
            // + B * sum with the tile's coefficients (see below).
            Value ts = tensor::ExtractOp::create(b, loc, op.getTableScales(), ValueRange{mIv, gIv});
            Value halfTs = arith::MulFOp::create(
                b, loc, ts, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(tableFactor)));
            Value sum = tensor::ExtractOp::create(b, loc, op.getSums(), ValueRange{mIv, gIv});
            Value halfTsV = vector::BroadcastOp::create(b, loc, yType, halfTs);
            Value sumV = vector::BroadcastOp::create(b, loc, yType, sum);
            SmallVector<Value> yNext;
            for (int64_t blk = 0; blk < numBlocks; ++blk) {
              for (int64_t c = 0; c < chunks; ++c) {
                int64_t q = c / 2, h = c % 2;
                Value planes;
                if (permute && width == 16)
                  planes = runs[blk * shape.accPerBlock + c];
                else if (permute)
                  planes = vector::ExtractStridedSliceOp::create(
                      b, loc, runs[blk * shape.accPerBlock + q], ArrayRef<int64_t>{8 * h},
                      ArrayRef<int64_t>{kChunk}, ArrayRef<int64_t>{1});
                else if (!periodPlanes.empty())
                  planes = periodPlanes[blk * chunks + c];
                else
                  planes = setSums(b, loc, runs, blk, c);
                Value n = arith::AddIOp::create(b, loc, nBlocks[blk], cIndex(b, loc, width * c));
                Value coefS, coefB;
                if (coefficients) {
                  Value g = arith::SubIOp::create(b, loc, gIv, g0);
                  Value at = arith::SubIOp::create(b, loc, n, n0);
                  auto coefficient = [&](Value which) -> Value {
                    return vector::TransferReadOp::create(b, loc, yType, coefficients,
                                                          ValueRange{which, g, at}, padF32,
                                                          ArrayRef<bool>(inBounds));
                  };
                  coefS = coefficient(c0);
                  coefB = coefficient(c1);
                } else {
                  std::tie(coefS, coefB) = gatherCoefficients(b, loc, n, gIv, width);
                }
                Value scale = arith::MulFOp::create(b, loc, coefS, halfTsV);
                Value y = vector::FMAOp::create(b, loc, scale,
                                                arith::SIToFPOp::create(b, loc, yType, planes),
                                                yAcc[blk * chunks + c]);
                y = vector::FMAOp::create(b, loc, coefB, sumV, y);
                yNext.push_back(y);
              }
            }
            return yNext;
          };
      if (tileCoefficients || !stepCoefficients) {
        auto groups = scf::ForOp::create(
            b, loc, c0, cIndex(b, loc, numGroups), c1, yInit,
            [&](OpBuilder &b, Location loc, Value gIv, ValueRange yAcc) {
              scf::YieldOp::create(
                  b, loc, groupBody(b, loc, gIv, yAcc, tileCoefficients, c0, tileBegin));
            });
        return SmallVector<Value>(groups.getResults());
      }
      // One row of x: the coefficients of the blocks' rows per batch of 8
      // groups, 8 (or 16) rows x 8 groups at a time, into a buffer carried
      // by the loops (written in place) that holds two batches: [2][2 *
      // 8][rows], S and B, batch j at groups 8 (j % 2) + [0, 8). Batch 0's
      // are computed before the lookups; each group of batch j then computes
      // its share of batch j + 1's chunks of rows into the other half after
      // its own combine, so that this work overlaps the stream of weights
      // rather than stalling it between batches. 4096 x 4096, one row,
      // weights from memory, one thread, against computing every batch
      // before its lookups: 1 bit 0.209 -> 0.199 ms (0.193 -> 0.183 in
      // another run), 2 bits 0.343 -> 0.330, 3 bits 0.467 -> 0.449, 4 bits
      // 0.511 -> 0.495; two threads the same; 1 bit with the weights in the
      // last-level cache 0.089 -> 0.093. (Repeats at 2 bits ranged from 6%
      // faster to 5% slower: within this host's noise.)
      int64_t rows = numBlocks * lanes, rowStep = permute ? 16 : kChunk;
      int64_t numChunks = rows / rowStep;
      int64_t chunksPerGroup = llvm::divideCeil(numChunks, kChunk);
      auto stepType = RankedTensorType::get({2, 2 * kChunk, rows}, f32);
      // Rows [at, at + rowStep) of the step x the batch from group g8, at
      // [., gAt + l, at] of the buffer.
      auto writeChunk = [&](OpBuilder &b, Location loc, Value coef, Value g8, Value gAt,
                            Value at) -> Value {
        Value nBase = arith::AddIOp::create(b, loc, nBlocks[0], at);
        if (permute)
          return writeCoefficients16x8(b, loc, coef, nBase, g8, gAt, at);
        return writeCoefficients8x8(b, loc, coef, nBase, g8, gAt, at);
      };
      // The permute kernel's coefficients of batch 0 take long enough for
      // the weights prefetched ahead of the lookups to arrive: while they
      // are computed, each block's stream is prefetched a further
      // kLutPrefetchBytes past the usual horizon (the part after row `at` of
      // the step's rows, 16 at a time, covers). 4096 x 4096, one row, from
      // memory, one thread: 3 bits 0.446 -> 0.403 ms, 4 bits 0.596 ->
      // 0.511, 2 bits 1-11% faster over four runs; two threads 3 bits 7%, 4
      // bits 10%, 2 bits 2-7%; 1 bit the same (docs/lut.md; measured when
      // every batch was computed before its lookups).
      auto prefetchPastHorizon = [&](OpBuilder &b, Location loc, ArrayRef<Value> blockIndex,
                                     Value at) {
        int64_t share = kLutPrefetchBytes / (numBlocks * lanes / 16);
        Value offset = arith::MulIOp::create(
            b, loc, arith::DivUIOp::create(b, loc, at, cIndex(b, loc, 16)), cIndex(b, loc, share));
        for (Value index : blockIndex) {
          Value byte = arith::AddIOp::create(b, loc, permuteTileByte(b, loc, index, c0), offset);
          Value base = prefetcher.clampedBase(b, loc, byte, kLutPrefetchBytes, share - 64);
          for (int64_t inShare = 0; inShare < share; inShare += 64)
            prefetcher.emitAt(b, loc, base, inShare);
        }
      };
      // Batch 0 (rows in a loop, not unrolled: one-shot bufferization's
      // analysis grows with the square of the writes into one tensor).
      Value firstBatch =
          emitTensorLoop(b, loc, c0, cIndex(b, loc, rows), b.getIndexAttr(rowStep),
                         tensor::EmptyOp::create(b, loc, stepType, ValueRange{}),
                         [&](OpBuilder &b, Location loc, Value at, Value coef) -> Value {
                           if (permute)
                             prefetchPastHorizon(b, loc, blockIndex, at);
                           return writeChunk(b, loc, coef, c0, c0, at);
                         });
      SmallVector<Value> loopInit(yInit);
      loopInit.push_back(firstBatch);
      int64_t numY = yInit.size();
      Value nextRow = arith::AddIOp::create(b, loc, nBlocks[0], cIndex(b, loc, rows));
      auto groupBlocks = scf::ForOp::create(
          b, loc, c0, cIndex(b, loc, fullGroups), cIndex(b, loc, kChunk), loopInit,
          [&](OpBuilder &b, Location loc, Value g8, ValueRange args) {
            // This batch's half of the buffer, and the next batch's.
            Value half = arith::AndIOp::create(
                b, loc, arith::DivUIOp::create(b, loc, g8, cIndex(b, loc, kChunk)), c1);
            Value gAt = arith::MulIOp::create(b, loc, half, cIndex(b, loc, kChunk));
            Value nextGAt = arith::SubIOp::create(b, loc, cIndex(b, loc, kChunk), gAt);
            Value nextG8 = arith::AddIOp::create(b, loc, g8, cIndex(b, loc, kChunk));
            Value hasNext = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, nextG8,
                                                  cIndex(b, loc, fullGroups));
            // Group g's coefficients at [., g - g8 + gAt, .].
            Value g0 = arith::SubIOp::create(b, loc, g8, gAt);
            auto groups = scf::ForOp::create(
                b, loc, g8, nextG8, c1, args,
                [&](OpBuilder &b, Location loc, Value gIv, ValueRange acc) {
                  Value coef = acc[numY];
                  SmallVector<Value> results =
                      groupBody(b, loc, gIv, acc.take_front(numY), coef, g0, nBlocks[0], nextRow);
                  Value inBatch = arith::SubIOp::create(b, loc, gIv, g8);
                  for (int64_t i = 0; i < chunksPerGroup; ++i) {
                    Value chunk = arith::AddIOp::create(
                        b, loc,
                        arith::MulIOp::create(b, loc, inBatch, cIndex(b, loc, chunksPerGroup)),
                        cIndex(b, loc, i));
                    Value write = hasNext;
                    if (chunksPerGroup * kChunk != numChunks)
                      write = arith::AndIOp::create(
                          b, loc, write,
                          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, chunk,
                                                cIndex(b, loc, numChunks)));
                    auto ifOp = scf::IfOp::create(
                        b, loc, write,
                        [&](OpBuilder &b, Location loc) {
                          Value at = arith::MulIOp::create(b, loc, chunk, cIndex(b, loc, rowStep));
                          scf::YieldOp::create(b, loc,
                                               writeChunk(b, loc, coef, nextG8, nextGAt, at));
                        },
                        [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, coef); });
                    coef = ifOp.getResult(0);
                  }
                  results.push_back(coef);
                  scf::YieldOp::create(b, loc, results);
                });
            scf::YieldOp::create(b, loc, groups.getResults());
          });
      SmallVector<Value> y(groupBlocks.getResults().take_front(numY));
      if (fullGroups == numGroups)
        return y;
      // The groups past the last run of 8 (fewer than 8), their
      // coefficients gathered in the combine. 4096 x 11008 (86 groups of
      // 128), one row, weights from memory, one thread, against gathering
      // all 86: 1 bit 0.757 -> 0.495 ms, 2 bits 1.254 -> 1.007, 3 bits
      // 1.655 -> 1.312, 4 bits 1.907 -> 1.730.
      auto rest = scf::ForOp::create(
          b, loc, cIndex(b, loc, fullGroups), cIndex(b, loc, numGroups), c1, y,
          [&](OpBuilder &b, Location loc, Value gIv, ValueRange yAcc) {
            scf::YieldOp::create(b, loc,
                                 groupBody(b, loc, gIv, yAcc, Value(), Value(), Value(), nextRow));
          });
      return SmallVector<Value>(rest.getResults());
    };
    // Blocks looked up together (Accumulation::blocksPerStep), one
    // stream of weights each (one thread reads a single stream at ~10 GB/s,
    // four at ~16 on a Zen 3): four or two where the blocks' i16
    // accumulators (two per plane set) and 6 working registers fit in the
    // target's registers, else one. The permute kernel's accumulators take
    // 4 registers a block: four blocks (four streams) where the step's
    // coefficients are computed ahead from 3 bits (one row of x: 3-bit
    // 4096 x 4096, one thread, 0.39 -> 0.36 ms; kMinBitsForFourBlocks),
    // else two (with the coefficients gathered in the combine, four spill:
    // 2 bits 0.26 -> 0.36 ms).

    // y[mIv, col + ...] += the chunks of the blocks at nTile + col, ...
    auto storeBlocks = [&](OpBuilder &b, Location loc, const Accumulation &shape, Value mIv,
                           Value nTile, Value col, int64_t numBlocks, Value yTile) {
      SmallVector<Value> nBlocks;
      for (int64_t blk = 0; blk < numBlocks; ++blk)
        nBlocks.push_back(arith::AddIOp::create(
            b, loc, nTile, arith::AddIOp::create(b, loc, col, cIndex(b, loc, blk * lanes))));
      SmallVector<Value> chunks = emitBlocks(b, loc, shape, mIv, nBlocks);
      for (auto [c, v] : llvm::enumerate(chunks)) {
        auto type = cast<VectorType>(v.getType());
        Value at = arith::AddIOp::create(b, loc, col, cIndex(b, loc, type.getNumElements() * c));
        Value old = vector::TransferReadOp::create(b, loc, type, yTile, ValueRange{mIv, at},
                                                   padF32, ArrayRef<bool>(inBounds));
        yTile =
            vector::TransferWriteOp::create(b, loc, arith::AddFOp::create(b, loc, old, v), yTile,
                                            ValueRange{mIv, at}, ArrayRef<bool>(inBounds))
                .getResult();
      }
      return yTile;
    };

    Value y = emitColumnTiles(
        rewriter, loc, op.getInit(), m, n,
        [&](OpBuilder &b, Location loc, Value nTile, OpFoldResult columnCount,
            Value yTile) -> Value {
          Value columns = getValueOrCreateConstantIndexOp(b, loc, columnCount);
          tileBegin = nTile;
          // One row of x: coefficients per 8 groups for the step's rows (or
          // gathered in the combine); more: once per tile.
          auto rowsLoop = [&](OpBuilder &b, Location loc, const Accumulation &shape,
                              Value yTile) {
            return emitTensorLoop(
                b, loc, c0, m, b.getIndexAttr(1), yTile,
                [&](OpBuilder &b, Location loc, Value mIv, Value yTile) {
                  // Steps of shape.blocksPerStep blocks, then of half as many
                  // for what is left, down to single blocks (a column tile
                  // is a multiple of `lanes` wide, as N is).
                  Value begin = c0;
                  for (int64_t blocks = shape.blocksPerStep; blocks >= 1; blocks /= 2) {
                    int64_t step = blocks * lanes;
                    Value end = columns;
                    if (blocks > 1)
                      end = arith::AddIOp::create(
                          b, loc, begin,
                          arith::MulIOp::create(
                              b, loc,
                              arith::DivUIOp::create(b, loc,
                                                     arith::SubIOp::create(b, loc, columns, begin),
                                                     cIndex(b, loc, step)),
                              cIndex(b, loc, step)));
                    yTile = emitTensorLoop(
                        b, loc, begin, end, b.getIndexAttr(step), yTile,
                        [&](OpBuilder &b, Location loc, Value col, Value yTile) {
                          return storeBlocks(b, loc, shape, mIv, nTile, col, blocks, yTile);
                        });
                    begin = end;
                  }
                  return yTile;
                });
          };
          Value single = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, m, c1);
          return scf::IfOp::create(
                     b, loc, single,
                     [&](OpBuilder &b, Location loc) {
                       tileCoefficients = Value();
                       scf::YieldOp::create(
                           b, loc, rowsLoop(b, loc, accumulationFor(/*oneRow=*/true), yTile));
                     },
                     [&](OpBuilder &b, Location loc) {
                       emitTileCoefficients(b, loc, columns);
                       scf::YieldOp::create(
                           b, loc, rowsLoop(b, loc, accumulationFor(/*oneRow=*/false), yTile));
                     })
              .getResult(0);
        });
    rewriter.replaceOp(op, y);
    rewriter.eraseOp(accOp);
    return success();
  }
};

struct TesseraLowerLutToVectorPass
    : public mlir::tessera::impl::TesseraLowerLutToVectorBase<TesseraLowerLutToVectorPass> {
  using Base::Base;
  void runOnOperation() override {
    if (lanes != 0 && lanes != 32 && lanes != 64) {
      getOperation().emitError("tessera-lower-lut-to-vector: lanes must be 0, 32 or 64, got ")
          << int64_t(lanes);
      return signalPassFailure();
    }
    if (lanes == 0)
      return;
    RewritePatternSet patterns(&getContext());
    patterns.add<LutToVector>(&getContext(), lanes, bytePermute);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
