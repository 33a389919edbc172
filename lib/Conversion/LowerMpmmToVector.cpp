//===- LowerMpmmToVector.cpp - Fused vector lowering of tessera.mpmm ------===//
//
// The dequantize-then-FMA strategy without materializing the dequantized
// matrix. For integer codes read straight from their canonical packed
// storage (weights produced by tessera.unpack), every run of 8 codes is
// unpacked in a vector register: its b bytes reach 8 i32 lanes (a
// broadcast word, a byte shuffle or an extension; see GatherPlan), are
// shifted right by 0, b, ..., 7b (mod 8 after a shuffle) and masked
// (sign-extended by shifting for signed codes) - every width, 3, 5, 6, 7
// included. An integer zero point is
// subtracted from the codes exactly, in i32; the codes are converted to f32
// and multiplied with x in an f32 vector accumulator; the group scale (and a
// float offset, through the group sum of x) is applied once per group:
//
//   y[m, n] += sum_g s[n,g] * sum_j x[m,k] (q[n,k] - z[n,g])      (int zero)
//   y[m, n] += sum_g s[n,g] * sum_j x[m,k] q[n,k] + z[n,g] sum_j x[m,k]
//
// With AVX-512, the rows outside the GEMM take codes of 3, 5, 6 and 7 bits
// in runs of 16 instead, each code left in place at bit l b mod 8 of its
// lane and x scaled by the inverse power of two (see unpackInPlace16). Interleaved weights
// (getDequantizeKernelLayout) take a GEMM with a panel filled without
// transposes and a row kernel over 8 (16) columns at once; with byte dot
// products (AVX512-VNNI) the row kernel multiplies the codes as bytes with
// x split in three signed bytes (limbGroupLoop), 5, 6 and 7-bit codes then
// in tiles of 16 x 4 (InterleavedCodes.h); single rows of 1-bit codes with
// AVX-512 look up the sum of x over each run of 4 codes in tables of x
// built per row (rowTables: one vpermps per 64 products).
//
// Ops that do not fit (float or codebook codes, non-f32 activations or
// results, K or the group size not a multiple of 8, weights not from
// canonical unpack) are left for the reference lowering.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "GemmTiles.h"
#include "InterleavedCodes.h"
#include "PackedCodes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h" // dependent dialect
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h" // dependent dialect
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERMPMMTOVECTOR
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kLanes = kGemmLanes; // codes unpacked per step
constexpr int64_t kRows = kGemmRows;   // rows of x per register block
// Cache tiles: K in blocks of about kBlockK codes (whole groups), so that a
// register block of x (kRows x kBlockK f32, 16 KiB) stays in L1; rows in
// chunks of kRowChunk, so that the weights of a column tile stay in L2
// while they are reused; columns in tiles of kColumnTile.
constexpr int64_t kBlockK = 512;
constexpr int64_t kRowChunk = 64;
// A tile of 128 columns, half the dense GEMM's: the threads' last tiles
// end closer together, and the tile's weights and panel take less of L2.
// 4096 x 4096, 4 bits, Emerald Rapids, 256 -> 128 columns, ms on one / two
// threads: M = 1 0.97 -> 0.90 / 0.50 -> 0.47; M = 16 5.34 -> 5.19 / 2.84 ->
// 2.72; M = 256 60.3 -> 62.6 / 31.9 -> 30.6 (11008 x 4096: 149 -> 151 /
// 87 -> 81), the one slower cell.
constexpr int64_t kColumnTile = 128;
// Whole micro kernels (at most 32 columns) and whole steps of the
// interleaved fill (kFillBlocks x 8 columns).
static_assert(kColumnTile % 32 == 0, "a tile of whole micro kernels and fill steps");
// The GEMM path for kGemmMinRows rows or more and full column tiles: from
// two register blocks of rows on, dequantizing a panel once costs less than
// unpacking the codes again for each block (16 rows on AVX2: 10-22% faster;
// on AVX-512, 4096 x 4096, one Emerald Rapids core, the row kernels at 16
// rows took 5.4-6.2 ms against the GEMM's 4.7-5.0 at 2, 3, 4 and 8 bits).
constexpr int64_t kGemmMinRows = 16;
// With byte dot products (limbDots) the row kernels stay ahead of the GEMM
// up to about 64 rows (4096 x 4096, one Emerald Rapids core, ms, GEMM ->
// row kernels: 2, 4, 8 bits at M = 16 5.1, 5.1, 5.3 -> 3.7, 3.8, 4.3; 4
// bits at M = 32 10.5 -> 8.0, at M = 64 15.1 -> 14.7, at M = 256 59.9 ->
// 66.8).
constexpr int64_t kLimbGemmMinRows = 64;
// How far ahead the row kernels prefetch a stream of weights (bytes). The
// streams of a step (a tile of 8 columns each) are many, and a prefetch far
// ahead holds a line fill buffer longer. 1024 -> 512, one row of x,
// libraries alternated in one process, one thread: 4 bits 4096 x 4096
// 0.627 -> 0.601 ms (256: 0.644, 384: 0.610, 2048: 0.670), 11008 x 4096
// 1.622 -> 1.560, 4096 x 11008 1.484 -> 1.504; 8 bits 4096 x 4096 1.086 ->
// 1.053; 5 bits the same. Two threads: 4 bits 0.327 -> 0.314, 8 bits 0.574
// -> 0.557. M = 16, 4 bits: 3.34 -> 3.24.
constexpr int64_t kPrefetchBytes = 512;
// Entries of a table of x for a run of 4 1-bit codes (rowTables).
constexpr int64_t kTableEntries = 16;
// The GEMM's panel from bit planes: the widths whose runs are transposed as
// 8 x 8 bit matrices rather than gathered bit by bit (tiles of 64 x 32,
// 4096 x 4096, M = 32, one thread: 5 bits 12.1 -> 11.4-11.8 ms, 6 bits
// 13.4 -> 11.7-11.9, 7 bits 14.1 -> 12.5; 3 and 4 bits 10.3 -> 11.0 and
// 11.3 -> 12.0, so not them).
constexpr unsigned kMinBitsForPlaneTranspose = 5;

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}


/// The elementwise consumer of `op`'s result that can be fused into its
/// column tiles, if any: the only user, a 2-D all-parallel linalg.generic
/// producing a tensor of the result's type in place (its output value
/// unused), reading the result with the identity map and, besides, only
/// values that dominate `op` through projected permutations (a bias by
/// column, a residual, a scalar).
linalg::GenericOp fusableEpilogue(MpmmOp op) {
  Value result = op.getResult();
  if (!result.hasOneUse())
    return nullptr;
  auto generic = dyn_cast<linalg::GenericOp>(*result.getUsers().begin());
  if (!generic || generic.getNumDpsInits() != 1 || generic.getNumLoops() != 2 ||
      generic.getNumParallelLoops() != 2 || !generic.hasPureTensorSemantics() ||
      generic.getResult(0).getType() != result.getType() ||
      !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0)).isIdentity())
    return nullptr;
  Block &body = generic.getRegion().front();
  if (!body.getArgument(generic.getNumDpsInputs()).use_empty())
    return nullptr;
  DominanceInfo dominance(op->getParentOp());
  for (OpOperand *in : generic.getDpsInputOperands()) {
    AffineMap map = generic.getMatchingIndexingMap(in);
    if (in->get() == result) {
      if (!map.isIdentity())
        return nullptr;
      continue;
    }
    if (!map.isProjectedPermutation() || !isa<RankedTensorType>(in->get().getType()) ||
        !dominance.properlyDominates(in->get(), op))
      return nullptr;
  }
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(generic.getRegion(), captured);
  for (Value v : captured)
    if (!dominance.properlyDominates(v, op))
      return nullptr;
  return generic;
}

struct MpmmToVector : public OpRewritePattern<MpmmOp> {
  MpmmToVector(MLIRContext *context, int64_t vectorRegisters, bool byteDots, bool byteTiles)
      : OpRewritePattern(context), vectorRegisters(vectorRegisters), byteDots(byteDots),
        byteTiles(byteTiles) {}
  /// Vector registers of the target (16 for AVX2, 32 with AVX-512): sizes
  /// the GEMM's register block.
  int64_t vectorRegisters;
  /// Whether the target has byte dot products (tessera.dot_bytes).
  bool byteDots;
  /// Whether it also has the byte permutes and tessera.multishift_bytes
  /// that read 5-7 bit codes in tiles of 16 x 4.
  bool byteTiles;

  LogicalResult matchAndRewrite(MpmmOp op,
                                PatternRewriter &rewriter) const override {
    // The weights' storage: canonical, interleaved for this kernel, or the
    // LUT kernels' bit planes (tiles of planeRows x planeCols; see
    // PackedCodes.h).
    int64_t planeRows = 0, planeCols = 0;
    // A tile of the weights (rows [r, r + n) of an unpack) reads its
    // storage from row r on.
    OpFoldResult weightRow0, zeroRow0;
    Value weights = canonicalStorageOfRows(op.getWeights(), weightRow0);
    // Columns interleaved by 8 (getDequantizeKernelLayout, read by
    // InterleavedCodes), dense, in bit planes or (with byte dot products)
    // in tiles of 16 x 4 at 5-7 bits: ahead of the LUT kernels' tiles, as
    // 3-bit codes interleaved are bit planes in tiles of 8 x 32.
    bool isInterleaved = false, interleavedPlanes = false, interleavedBytes = false;
    if (!weights) {
      weights = interleavedStorage(op.getWeights(), op.getGroupSize(),
                                   byteDots && byteTiles && vectorRegisters >= 32,
                                   interleavedPlanes, interleavedBytes);
      isInterleaved = bool(weights);
    }
    if (!weights)
      weights = bitPlaneStorage(op.getWeights(), planeRows, planeCols);
    if (!weights)
      return rewriter.notifyMatchFailure(op, "weights neither canonical, bit planes nor interleaved");
    Type codeType = op.getWeights().getType().getElementType();
    if (!isLowBitIntegerType(codeType) || op.getCodebook())
      return rewriter.notifyMatchFailure(op, "not integer codes");
    auto xType = op.getX().getType();
    auto yType = op.getInit().getType();
    if (!xType.getElementType().isF32() || !yType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not f32 activations/results");
    int64_t n = op.getWeights().getType().getDimSize(0);
    int64_t k = op.getWeights().getType().getDimSize(1);
    int64_t group = op.getGroupSize();
    if (k % kLanes || group % kLanes)
      return rewriter.notifyMatchFailure(op, "K or group not a multiple of 8");
    ZeroPointMode zeroMode = op.getZeroPointMode();
    // The group terms in spans of columns (getGroupTermsKernelLayout), or
    // canonical (termsSpan 0).
    FailureOr<GroupTermsInSpans> spans = getGroupTermsInSpans(op.getScales(), op.getZeros());
    if (failed(spans))
      return rewriter.notifyMatchFailure(op, "scales and zero points in different layouts");
    int64_t termsSpan = spans->span;
    Value scaleTiles = spans->scaleTiles, offsetTiles = spans->offsetTiles;
    Value zeroStorage = spans->zeroStorage;
    if (zeroMode == ZeroPointMode::Int && !zeroStorage) {
      zeroStorage = canonicalStorageOfRows(op.getZeros(), zeroRow0);
      if (!zeroStorage)
        return rewriter.notifyMatchFailure(op, "zeros not canonical unpack");
    }

    Location loc = op.getLoc();
    // Row n of the weights (zero points) is row n + r of their storage.
    auto storageRow = [](OpBuilder &b, Location loc, Value nIv, OpFoldResult row0) -> Value {
      if (isConstantIntValue(row0, 0))
        return nIv;
      return arith::AddIOp::create(b, loc, nIv, getValueOrCreateConstantIndexOp(b, loc, row0));
    };
    linalg::GenericOp epilogue = fusableEpilogue(op);
    unsigned bits = getLowBitWidth(codeType);
    bool isSigned = codeType.isSignedInteger();
    InterleavedCodes interleaved(weights, bits, isSigned,
                                 interleavedPlanes  ? InterleavedCodes::Form::BitPlanes
                                 : interleavedBytes ? InterleavedCodes::Form::Bytes
                                                    : InterleavedCodes::Form::Dense,
                                 k);
    // Codes of a column per interleaved tile (0: not interleaved).
    int64_t laneCodes = isInterleaved ? interleaved.codesPerTile() : 0;
    // Interleaved codes (1, 2, 4 and 8 bits dense, 3 in bit planes, 5-7 in
    // tiles of 16 x 4) take byte dot products in the row kernels where the
    // target has them (limbGroupLoop); groups of at most 2^14 codes keep
    // their i32 sums (below 2 * 255 * 128 per code) from overflowing.
    bool limbDots = byteDots && vectorRegisters >= 32 && laneCodes &&
                    (interleavedPlanes || interleavedBytes || 8 % bits == 0) &&
                    op.getGroupSize() <= 16384;
    // Single rows of interleaved 1-bit codes with AVX-512 take table lookups
    // in the row kernels (rowTables: xTables below): three instructions per
    // 64 products where the byte dot products take five. Masked adds (vaddps
    // under a mask read from the codes by kmovw, one per 16 products) ran
    // at one per cycle, kmovw from memory taking a port-5 slot too: 0.57
    // ms against the byte dot products' 0.38 (4096 x 4096, M = 1).
    bool rowTables =
        vectorRegisters >= 32 && laneCodes && bits == 1 && !interleavedPlanes && !interleavedBytes;
    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
    auto vecF32 = VectorType::get({kLanes}, f32);
    auto vecI32 = VectorType::get({kLanes}, i32);
    int64_t numGroups = k / group;
    Value x = op.getX(), scales = op.getScales(), zeros = op.getZeros();
    Type zeroType =
        zeros ? cast<ShapedType>(zeros.getType()).getElementType() : Type();

    // The tiles of the scales or float offsets `terms` in spans.
    auto tilesOf = [&](Value terms) { return terms == scales ? scaleTiles : offsetTiles; };
    // Element [n, g] of the scales or float offsets `terms`, as stored.
    auto termElement = [&](OpBuilder &b, Location loc, Value terms, Value n, Value g) -> Value {
      if (!termsSpan)
        return tensor::ExtractOp::create(b, loc, terms, ValueRange{n, g});
      return tensor::ExtractOp::create(b, loc, tilesOf(terms),
                                       emitSpanTileIndices(b, loc, n, g, termsSpan));
    };

    Value c0 = cIndex(rewriter, loc, 0), c1 = cIndex(rewriter, loc, 1);
    Value m = tensor::DimOp::create(rewriter, loc, x, 0);
    Value zeroF = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    auto i32Splat = [&](int32_t v) -> Value {
      return arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(vecI32, rewriter.getI32IntegerAttr(v)));
    };
    auto i32Lanes = [&](ArrayRef<int32_t> v) -> Value {
      return arith::ConstantOp::create(rewriter, loc, DenseElementsAttr::get(vecI32, v));
    };

    // How a run of 8 codes (b bytes from a byte boundary) reaches 8 i32
    // lanes, code l in the low bits of lane l after a per-lane shift:
    //  - b = 8: the bytes themselves, extended (vpmovzx/sx);
    //  - b = 1 to 4, read as 4 bytes (b = 1, 2, 4 also exactly): one word,
    //    broadcast to every lane (a broadcast load from memory);
    //  - b = 5, 6, 7 (read as 8 bytes), and 3 read exactly: a byte shuffle
    //    that puts the two bytes holding code l at the bottom of lane l.
    // A wide read (4 or 8 bytes) reads up to 3 bytes past the run. Those are
    // in the next row, which has K * b / 8 >= 3 bytes (else no wide reads),
    // except after the last row: the last column reads exactly b bytes
    // (`wideReads` false).
    enum class Gather { Extend, Broadcast, Shuffle };
    struct GatherPlan {
      Gather gather;
      VectorType bytesType;
      SmallVector<int64_t> shuffleMask;
      // Unsigned: (lanes >> shifts) & mask. Signed: (lanes << up) >>s down,
      // which moves the code's top bit to bit 31 and back.
      Value shifts, mask, up, down;
    };
    auto makePlan = [&](bool wide) {
      GatherPlan plan;
      bool canOverread = k * bits / 8 >= 3;
      int64_t readBytes = wide && canOverread ? (bits <= 4 ? 4 : 8) : bits;
      plan.gather = bits == 8 ? Gather::Extend
                    : llvm::isPowerOf2_64(readBytes) && readBytes <= 4
                        ? Gather::Broadcast
                        : Gather::Shuffle;
      plan.bytesType = VectorType::get({readBytes}, rewriter.getI8Type());
      if (plan.gather == Gather::Extend)
        return plan;
      SmallVector<int32_t> shiftValues;
      for (int64_t l = 0; l < kLanes; ++l) {
        int64_t bit = l * bits;
        if (plan.gather == Gather::Shuffle) {
          int64_t byte = bit / 8;
          // Bytes byte, byte + 1 (< b: the code ends by bit 8b - 1), then
          // anything: the bits above the code are cleared.
          plan.shuffleMask.append({byte, std::min<int64_t>(byte + 1, bits - 1), 0, 0});
          bit -= 8 * byte;
        }
        shiftValues.push_back(bit);
      }
      if (isSigned) {
        SmallVector<int32_t> ups;
        for (int32_t s : shiftValues)
          ups.push_back(32 - int32_t(bits) - s);
        plan.up = i32Lanes(ups);
        plan.down = i32Splat(32 - bits);
      } else {
        plan.shifts = i32Lanes(shiftValues);
        plan.mask = i32Splat((1 << bits) - 1);
      }
      return plan;
    };
    GatherPlan widePlan = makePlan(true), exactPlan = makePlan(false);
    bool wideReads = true;
    bool inBounds[] = {true};
    bool needXsum = zeroMode == ZeroPointMode::Float;

    // The first byte of codes [8 run, 8 run + 8) of row n in the canonical
    // packing (a byte boundary: K is a multiple of 8). Row n starts at byte
    // n * K * b / 8; the run at run * b after it (linear in the loop
    // counters where `run` is, so LLVM strength-reduces it and folds
    // constant offsets into the address).
    auto runByte = [&](OpBuilder &b, Location loc, Value nIv, Value run) -> Value {
      return arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, storageRow(b, loc, nIv, weightRow0),
                                cIndex(b, loc, k * bits / 8)),
          arith::MulIOp::create(b, loc, run, cIndex(b, loc, bits)));
    };
    // Codes [8 run, 8 run + 8) of row n from the canonical packing, in i32
    // lanes.
    auto unpackCanonical8 = [&](OpBuilder &b, Location loc, Value nIv, Value run) -> Value {
      Value byteOff = runByte(b, loc, nIv, run);
      const GatherPlan &plan = wideReads ? widePlan : exactPlan;
      Value bytes = vector::TransferReadOp::create(
          b, loc, plan.bytesType, weights, ValueRange{byteOff},
          arith::ConstantIntOp::create(b, loc, b.getI8Type(), 0),
          ArrayRef<bool>(inBounds));
      Value codes;
      if (plan.gather == Gather::Extend) {
        codes = isSigned ? Value(arith::ExtSIOp::create(b, loc, vecI32, bytes))
                         : Value(arith::ExtUIOp::create(b, loc, vecI32, bytes));
      } else {
        Value lanes;
        if (plan.gather == Gather::Broadcast) {
          Type wordType = b.getIntegerType(8 * plan.bytesType.getNumElements());
          Value word = vector::ExtractOp::create(
              b, loc,
              vector::BitCastOp::create(b, loc, VectorType::get({1}, wordType), bytes),
              ArrayRef<int64_t>{0});
          if (plan.bytesType.getNumElements() < 4)
            word = arith::ExtUIOp::create(b, loc, i32, word);
          lanes = vector::BroadcastOp::create(b, loc, vecI32, word);
        } else {
          Value shuffled =
              vector::ShuffleOp::create(b, loc, bytes, bytes, plan.shuffleMask);
          lanes = vector::BitCastOp::create(b, loc, vecI32, shuffled);
        }
        codes = isSigned
                    ? Value(arith::ShRSIOp::create(
                          b, loc, arith::ShLIOp::create(b, loc, lanes, plan.up), plan.down))
                    : Value(arith::AndIOp::create(
                          b, loc, arith::ShRUIOp::create(b, loc, lanes, plan.shifts),
                          plan.mask));
      }
      return codes;
    };

    // The run of 8 codes starting at kk (a multiple of 8).
    auto runOf = [&](OpBuilder &b, Location loc, Value kk) -> Value {
      return arith::ShRUIOp::create(b, loc, kk, cIndex(b, loc, 3));
    };
    // Bit planes in tiles of L x C: the byte of plane 0 holding codes
    // [8 run, 8 run + 8) of row n (tile (n / L, run / (C / 8)), its byte
    // (n % L) C / 8 + run % (C / 8)); plane p is p L C / 8 bytes on.
    int64_t runsPerTileRow = planeCols / 8, planeBytes = planeRows * runsPerTileRow;
    // The first byte of row n's part of that tile (its C / 8 runs).
    auto planeRowByte = [&](OpBuilder &b, Location loc, Value nIv, Value run) -> Value {
      Value L = cIndex(b, loc, planeRows);
      Value runs = cIndex(b, loc, runsPerTileRow);
      Value tileIdx = arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, arith::DivUIOp::create(b, loc, nIv, L),
                                cIndex(b, loc, k / planeCols)),
          runsPerTileRow > 1 ? Value(arith::DivUIOp::create(b, loc, run, runs)) : run);
      Value inTile = arith::RemUIOp::create(b, loc, nIv, L);
      if (runsPerTileRow > 1)
        inTile = arith::MulIOp::create(b, loc, inTile, runs);
      return arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, tileIdx, cIndex(b, loc, bits * planeBytes)),
          inTile);
    };
    auto planeByte = [&](OpBuilder &b, Location loc, Value nIv, Value run) -> Value {
      Value rowByte = planeRowByte(b, loc, nIv, run);
      if (runsPerTileRow == 1)
        return rowByte;
      return arith::AddIOp::create(
          b, loc, rowByte,
          arith::RemUIOp::create(b, loc, run, cIndex(b, loc, runsPerTileRow)));
    };
    // Sign-extends b-bit codes in i32 lanes.
    Value signShift = i32Splat(32 - bits);
    auto signExtend = [&](OpBuilder &b, Location loc, Value lanes) -> Value {
      return arith::ShRSIOp::create(b, loc, arith::ShLIOp::create(b, loc, lanes, signShift),
                                    signShift);
    };
    Value laneIndices = i32Lanes({0, 1, 2, 3, 4, 5, 6, 7});
    // Splats of i and of 1 << i, i < 8.
    SmallVector<Value> splatOf, bitOf;
    for (int32_t i = 0; i < 8; ++i) {
      splatOf.push_back(i32Splat(i));
      bitOf.push_back(i32Splat(1 << i));
    }
    // Codes [8 run, 8 run + 8) of row n from bit planes: per plane one
    // byte, broadcast; lane l takes its bit l to bit p.
    auto unpackPlanes8 = [&](OpBuilder &b, Location loc, Value nIv, Value run) -> Value {
      Value base = planeByte(b, loc, nIv, run);
      Value codes;
      for (int64_t p = 0; p < bits; ++p) {
        Value at = p ? Value(arith::AddIOp::create(b, loc, base, cIndex(b, loc, p * planeBytes)))
                     : base;
        Value byte = arith::ExtUIOp::create(
            b, loc, i32, tensor::ExtractOp::create(b, loc, weights, ValueRange{at}));
        Value lanes = vector::BroadcastOp::create(b, loc, vecI32, byte);
        if (p)
          lanes = arith::ShLIOp::create(b, loc, lanes, splatOf[p]);
        Value bit = arith::AndIOp::create(
            b, loc, arith::ShRUIOp::create(b, loc, lanes, laneIndices), bitOf[p]);
        codes = codes ? Value(arith::OrIOp::create(b, loc, codes, bit)) : bit;
      }
      return isSigned ? signExtend(b, loc, codes) : codes;
    };

    // i32 codes minus the zero point (if any), as f32 lanes. Unsigned codes
    // with a zero point take the mantissa of 2^23 (q | 0x4B000000 is
    // 2^23 + q as f32) and subtract 2^23 + z: exact, as the integer
    // subtraction and conversion are, in two operations instead of three
    // (the mask before it and the OR fold into one vpternlogd).
    // (Codes and zero points below 2^23, in vectors of any number of lanes;
    // `signedCodes` false for codes made unsigned, see unpackInPlace16.)
    auto codesToF32 = [&](OpBuilder &b, Location loc, Value codes, Value zeroLanes,
                          std::optional<bool> signedOverride = std::nullopt) -> Value {
      bool signedCodes = signedOverride.value_or(isSigned);
      auto floatType = VectorType::get(cast<VectorType>(codes.getType()).getShape(), f32);
      if (zeroLanes && !signedCodes) {
        Value magicBits = arith::ConstantOp::create(
            b, loc,
            DenseElementsAttr::get(cast<VectorType>(codes.getType()),
                                   b.getI32IntegerAttr(0x4B000000)));
        Value magicF32 = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(floatType, b.getF32FloatAttr(0x1p23f)));
        Value shifted = vector::BitCastOp::create(
            b, loc, floatType, arith::OrIOp::create(b, loc, codes, magicBits));
        Value bias = arith::AddFOp::create(
            b, loc, arith::SIToFPOp::create(b, loc, floatType, zeroLanes), magicF32);
        return arith::SubFOp::create(b, loc, shifted, bias);
      }
      bool signedValues = signedCodes;
      if (zeroLanes) {
        // q - z of two 8-bit values is exact in i32.
        codes = arith::SubIOp::create(b, loc, codes, zeroLanes);
        signedValues = true;
      }
      return signedValues ? Value(arith::SIToFPOp::create(b, loc, floatType, codes))
                          : Value(arith::UIToFPOp::create(b, loc, floatType, codes));
    };
    // Codes [8 run, 8 run + 8) of row n minus the zero point, as f32 lanes.
    auto unpack8 = [&](OpBuilder &b, Location loc, Value nIv, Value run,
                       Value zeroLanes) -> Value {
      return codesToF32(b, loc,
                        planeRows ? unpackPlanes8(b, loc, nIv, run)
                                  : unpackCanonical8(b, loc, nIv, run),
                        zeroLanes);
    };

    // Codes of 1 and 2 bits: the runs of 8 codes in one 4-byte word (4 and
    // 2 runs), from one broadcast read, each run with its own shifts. The
    // word holds runs [run, run + runsPerWord) exactly: no overread.
    int64_t runsPerWord = !planeRows && bits <= 2 ? 4 / bits : 1;
    SmallVector<Value> wordShifts, wordUps;
    for (int64_t i = 0; i < runsPerWord && runsPerWord > 1; ++i) {
      SmallVector<int32_t> shifts, ups;
      for (int64_t l = 0; l < kLanes; ++l) {
        shifts.push_back((i * kLanes + l) * bits);
        ups.push_back(32 - int32_t(bits) - shifts.back());
      }
      (isSigned ? wordUps : wordShifts).push_back(i32Lanes(isSigned ? ups : shifts));
    }
    Value wordMask = i32Splat((1 << bits) - 1);
    // The 4 bytes of `storage` from `byte` (inside it) as an i32, in every
    // lane.
    auto wordInLanes = [&](OpBuilder &b, Location loc, Value storage, Value byte) -> Value {
      return vector::BroadcastOp::create(b, loc, vecI32,
                                         emitReadBytesAsWord(b, loc, storage, byte, 4));
    };
    auto unpackCanonicalWord = [&](OpBuilder &b, Location loc, Value nIv,
                                   Value run) -> SmallVector<Value> {
      Value lanes = wordInLanes(b, loc, weights, runByte(b, loc, nIv, run));
      SmallVector<Value> codes;
      for (int64_t i = 0; i < runsPerWord; ++i)
        codes.push_back(
            isSigned ? Value(arith::ShRSIOp::create(
                           b, loc, arith::ShLIOp::create(b, loc, lanes, wordUps[i]), signShift))
                     : Value(arith::AndIOp::create(
                           b, loc, arith::ShRUIOp::create(b, loc, lanes, wordShifts[i]),
                           wordMask)));
      return codes;
    };

    // The element index of zero point [n, g] in its storage.
    auto zeroPointElement = [&](OpBuilder &b, Location loc, Value nIv, Value gIv) -> Value {
      if (termsSpan)
        return emitSpanElementIndex(b, loc, nIv, gIv, numGroups, termsSpan);
      return arith::AddIOp::create(b, loc,
                                   arith::MulIOp::create(b, loc, storageRow(b, loc, nIv, zeroRow0),
                                                         cIndex(b, loc, numGroups)),
                                   gIv);
    };
    // The integer zero point of group g of row n, as an i32.
    auto zeroPointCode = [&](OpBuilder &b, Location loc, Value nIv, Value gIv) -> Value {
      return emitReadPackedCode(b, loc, zeroStorage, zeroPointElement(b, loc, nIv, gIv),
                                getLowBitWidth(zeroType), zeroType.isSignedInteger());
    };
    // The group's integer zero point, in every lane.
    auto zeroPointLanes = [&](OpBuilder &b, Location loc, Value nIv,
                              Value gIv) -> Value {
      if (zeroMode != ZeroPointMode::Int)
        return Value();
      return vector::BroadcastOp::create(b, loc, vecI32,
                                         zeroPointCode(b, loc, nIv, gIv));
    };
    // scales[n, g] (or zeros[n, g]) as f32, in every lane.
    auto groupSplat = [&](OpBuilder &b, Location loc, Value tensor, Value nIv, Value gIv,
                          int64_t lanes = kLanes) -> Value {
      Value v = termElement(b, loc, tensor, nIv, gIv);
      if (!v.getType().isF32())
        v = arith::ExtFOp::create(b, loc, f32, v);
      return vector::BroadcastOp::create(b, loc, VectorType::get({lanes}, f32), v);
    };
    // What dequantizes the codes of group g of row n (codes minus
    // zeroLanes, times scale, plus offset), appended to the lists: the
    // integer zero point in i32 lanes or the float one as the offset.
    auto groupTerms = [&](OpBuilder &b, Location loc, Value nIv, Value gIv,
                          SmallVectorImpl<Value> &zeroLanes, SmallVectorImpl<Value> &scale,
                          SmallVectorImpl<Value> &offset) {
      zeroLanes.push_back(zeroPointLanes(b, loc, nIv, gIv));
      scale.push_back(groupSplat(b, loc, scales, nIv, gIv));
      offset.push_back(needXsum ? groupSplat(b, loc, zeros, nIv, gIv) : Value());
    };
    // Rows outside the GEMM, of codes whose runs of 8 are not whole words
    // (3, 5, 6, 7 bits, canonical), take runs of 16 codes in 16 lanes where
    // the target has them (AVX-512), unshifted: lane l holds the two bytes of code l
    // (one byte shuffle of the run's 2b bytes), the code at bit
    // shiftInPlace(l) = l b mod 8 of it. The lane is masked in place, its
    // value q 2^e is converted exactly, and the FMA takes x scaled by 2^-e
    // (xInPlace, per row before the loops): an AND where the 8-lane runs
    // shift and mask. Signed codes have their sign bits flipped in the same
    // AND (one vpternlogd), reading as the unsigned q + 2^(b-1); that bias
    // and an integer zero point come off in place (z + 2^(b-1)) 2^e.
    int64_t inPlaceLanes = vectorLanes(vectorRegisters);
    bool inPlaceRuns = !planeRows && !isInterleaved && 32 % bits != 0 &&
                       inPlaceLanes == 2 * kLanes && group % inPlaceLanes == 0;
    auto inPlaceI32 = VectorType::get({inPlaceLanes}, i32);
    auto shiftInPlace = [&](int64_t l) -> int64_t { return l * bits % 8; };
    // Codes [16 run, 16 run + 16) of row n, in place (see above).
    auto unpackInPlace16 = [&](OpBuilder &b, Location loc, Value nIv, Value run) -> Value {
      // The run's 2b bytes, read as 16 where the next row's bytes follow.
      Value byteOff = runByte(b, loc, nIv, arith::AddIOp::create(b, loc, run, run));
      int64_t readBytes = wideReads ? 16 : 2 * bits;
      Value bytes = vector::TransferReadOp::create(
          b, loc, VectorType::get({readBytes}, b.getI8Type()), weights, ValueRange{byteOff},
          arith::ConstantIntOp::create(b, loc, b.getI8Type(), 0), ArrayRef<bool>(inBounds));
      SmallVector<int64_t> shuffle;
      SmallVector<int32_t> masks, signs;
      for (int64_t l = 0; l < inPlaceLanes; ++l) {
        int64_t byte = l * bits / 8;
        shuffle.append({byte, std::min<int64_t>(byte + 1, 2 * bits - 1), byte, byte});
        masks.push_back(((1 << bits) - 1) << shiftInPlace(l));
        signs.push_back(isSigned ? 1 << (bits - 1 + shiftInPlace(l)) : 0);
      }
      Value lanes = vector::BitCastOp::create(
          b, loc, inPlaceI32, vector::ShuffleOp::create(b, loc, bytes, bytes, shuffle));
      Value codes = arith::AndIOp::create(
          b, loc, lanes,
          arith::ConstantOp::create(b, loc, DenseElementsAttr::get(inPlaceI32, ArrayRef(masks))));
      if (isSigned)
        codes = arith::XOrIOp::create(
            b, loc, codes,
            arith::ConstantOp::create(b, loc,
                                      DenseElementsAttr::get(inPlaceI32, ArrayRef(signs))));
      return codes;
    };
    // What comes off the codes of group g of row n in place: (z + 2^(b-1))
    // 2^e (integer zero point z; signed codes' bias 2^(b-1)), or nothing.
    auto zeroInPlace16 = [&](OpBuilder &b, Location loc, Value nIv, Value gIv) -> Value {
      if (zeroMode != ZeroPointMode::Int && !isSigned)
        return Value();
      SmallVector<int32_t> shifts;
      for (int64_t l = 0; l < inPlaceLanes; ++l)
        shifts.push_back(int32_t(shiftInPlace(l)));
      Value bias = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(inPlaceI32,
                                 b.getI32IntegerAttr(isSigned ? 1 << (bits - 1) : 0)));
      Value z = zeroMode == ZeroPointMode::Int
                    ? Value(arith::AddIOp::create(
                          b, loc,
                          vector::BroadcastOp::create(b, loc, inPlaceI32,
                                                      zeroPointCode(b, loc, nIv, gIv)),
                          bias))
                    : bias;
      return arith::ShLIOp::create(
          b, loc, z,
          arith::ConstantOp::create(b, loc,
                                    DenseElementsAttr::get(inPlaceI32, ArrayRef(shifts))));
    };
    auto rowIndices = [&](OpBuilder &b, Location loc, Value mStart, int64_t rows) {
      SmallVector<Value> mIdx;
      for (int64_t r = 0; r < rows; ++r)
        mIdx.push_back(r == 0 ? mStart
                              : Value(arith::AddIOp::create(
                                    b, loc, mStart, cIndex(b, loc, r))));
      return mIdx;
    };
    auto readX = [&](OpBuilder &b, Location loc, Value row, Value kk) -> Value {
      return vector::TransferReadOp::create(b, loc, vecF32, x, ValueRange{row, kk},
                                            zeroF, ArrayRef<bool>(inBounds));
    };
    // The column tile being emitted starts at column nTileBegin (of the
    // weights; column 0 of its slice of y).
    Value nTileBegin;
    // y[mIdx[r], n] += the lanes of acc[r], summed.
    auto storeRows = [&](OpBuilder &b, Location loc, ArrayRef<Value> mIdx,
                         Value nIv, ValueRange acc, Value y) -> Value {
      for (auto [row, v] : llvm::zip(mIdx, acc)) {
        Value dot = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, v,
                                                Value(), arith::FastMathFlags::reassoc);
        Value col = arith::SubIOp::create(b, loc, nIv, nTileBegin);
        Value old = tensor::ExtractOp::create(b, loc, y, ValueRange{row, col});
        y = tensor::InsertOp::create(b, loc, arith::AddFOp::create(b, loc, old, dot), y,
                                     ValueRange{row, col});
      }
      return y;
    };

    // x in blocks of kRows rows, packed (see GemmTiles.h).
    Value xPacked = emitPackRowBlocks(rewriter, loc, x, k, /*padded=*/planeRows != 0);

    // xInPlace[m, k] = x[m, k] * 2^-shiftInPlace(k mod 16) (inPlacePowers
    // holds the 2^shiftInPlace(l)), for the rows outside the GEMM: all, or
    // those past its last block of rows where every column tile is full and
    // there are kGemmMinRows rows. The other rows are never read. (Runs in
    // place do not move the GEMM's threshold: 4096 x 4096, 6 bits, one
    // Emerald Rapids core, at M = 16 the GEMM took 7.2 ms, blocks of rows
    // with runs in place 7.8; at M = 4, 8 and 12 the runs in place took
    // 2.2, 4.1 and 6.0 ms where runs of 8 codes took 4.4, 7.4 and 9.6.)
    Value xInPlace, inPlacePowers;
    if (inPlaceRuns) {
      auto laneType = VectorType::get({inPlaceLanes}, f32);
      SmallVector<float> laneScales, powers;
      for (int64_t l = 0; l < inPlaceLanes; ++l) {
        laneScales.push_back(std::ldexp(1.0f, -int(shiftInPlace(l))));
        powers.push_back(std::ldexp(1.0f, int(shiftInPlace(l))));
      }
      Value scaleVec = arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(laneType, ArrayRef<float>(laneScales)));
      inPlacePowers = arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(laneType, ArrayRef<float>(powers)));
      Value firstRow = c0;
      if (n % kColumnTile == 0)
        firstRow = arith::SelectOp::create(
            rewriter, loc,
            arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::uge, m,
                                  cIndex(rewriter, loc, kGemmMinRows)),
            arith::MulIOp::create(
                rewriter, loc,
                arith::DivUIOp::create(rewriter, loc, m, cIndex(rewriter, loc, kRows)),
                cIndex(rewriter, loc, kRows)),
            c0);
      xInPlace = emitTensorLoop(
          rewriter, loc, firstRow, m, rewriter.getIndexAttr(1),
          tensor::EmptyOp::create(rewriter, loc,
                                  RankedTensorType::get({ShapedType::kDynamic, k}, f32),
                                  ValueRange{m}),
          [&](OpBuilder &b, Location loc, Value row, Value xs) -> Value {
            return emitTensorLoop(
                b, loc, c0, cIndex(b, loc, k), b.getIndexAttr(inPlaceLanes), xs,
                [&](OpBuilder &b, Location loc, Value kk, Value xs) -> Value {
                  Value v = vector::TransferReadOp::create(b, loc, laneType, x,
                                                           ValueRange{row, kk}, zeroF,
                                                           ArrayRef<bool>(inBounds));
                  return vector::TransferWriteOp::create(
                             b, loc, arith::MulFOp::create(b, loc, v, scaleVec), xs,
                             ValueRange{row, kk}, ArrayRef<bool>(inBounds))
                      .getResult();
                });
          });
    }

    // The cache tile being emitted: groups [gBegin, gEnd) of rows
    // [.., mEnd) (set by the loop nest below).
    Value gBegin, gEnd, mEnd;

    // Columns n, n + d, ..., n + (cols - 1) d, d = columnStride (set by the
    // loop nest below).
    int64_t columnStride = 1;
    auto columnIndices = [&](OpBuilder &b, Location loc, Value nIv, int64_t cols) {
      SmallVector<Value> nIdx;
      for (int64_t c = 0; c < cols; ++c)
        nIdx.push_back(c ? Value(arith::AddIOp::create(b, loc, nIv,
                                                       cIndex(b, loc, c * columnStride)))
                         : nIv);
      return nIdx;
    };
    int64_t fewRowsUnroll = group % (4 * kLanes) == 0   ? 4
                            : group % (2 * kLanes) == 0 ? 2
                                                        : 1;
    // A few rows take columns in pairs (each load of x feeds both) where x
    // does not stay in L1 across the columns (K * 4 bytes past 24 KiB) and
    // two rows of weights do not start a multiple of 4 KiB apart (they
    // would share L1 sets with each other and with x: 4096 x 4096 8-bit
    // codes ran at half speed so).
    bool fewRowsPairs = k * 4 > 24 * 1024 && (k * bits / 8) % 4096 != 0;
    // Single rows of 8-bit codes (a load and extend per run: the weights'
    // bandwidth is the limit) take 4 columns 16 apart at once: 4 streams
    // from memory, where adjacent columns are one (measured on AVX2, one
    // thread: 9-10 GB/s from one stream, 12-13 GB/s from these four; a read
    // loop in C, 9 against 15-19). Narrower codes are bound by unpacking,
    // which more columns at once only make spill. Measured on AVX2 only:
    // with 32 registers single rows keep their pairs.
    int64_t spreadColumns = bits == 8 && vectorRegisters < 32 ? 4 : 1;
    constexpr int64_t spreadStride = 16;

    // The software prefetches of the row kernels, where the weights'
    // bandwidth is their limit (interleaved codes of 4 and 8 bits, runs in
    // place): the weights' future buffer (read only), read kPrefetchBytes
    // ahead in each stream. One Emerald Rapids core, M = 1, 4096 x 4096,
    // libraries alternated in one process: 8 bits 1.72 -> 1.43 ms (4 KiB
    // ahead: 1.54), 4 bits 1.03 -> 0.95; 2 and 3 bits, bound by their
    // instructions, 1-4% slower with them. Runs in place, 6 and 7 bits:
    // 2.02 -> 1.54 and 2.21 -> 1.74 ms.
    WeightPrefetcher prefetcher(rewriter, loc, weights,
                                (laneCodes && !interleavedPlanes && bits >= 4) || inPlaceRuns ||
                                    limbDots || rowTables);
    // The canonical group terms (scales, zero points) of the next column
    // tile, prefetched a share per group by the table kernel's blocks of
    // this one (prefetchNextTerms): gathered a tile at a time (buildGroupTerms), they
    // otherwise start each tile with a burst of misses, a line per column
    // of scales. (The other row kernels measured slower with them: 4 bits,
    // M = 1, 4096 x 4096, 0.84 -> 0.96 ms.)
    WeightPrefetcher scalePrefetcher, zeroPrefetcher;
    if (rowTables && !termsSpan) {
      scalePrefetcher = WeightPrefetcher(rewriter, loc, scales);
      if (zeroMode == ZeroPointMode::Int)
        zeroPrefetcher = WeightPrefetcher(rewriter, loc, zeroStorage);
      else if (zeroMode == ZeroPointMode::Float)
        zeroPrefetcher = WeightPrefetcher(rewriter, loc, zeros);
    }

    // Codes per run of the row kernels below: 8, or 16 in place
    // (inPlaceRuns; x from xInPlace); their f32 vectors and zero.
    int64_t runLanes = inPlaceRuns ? inPlaceLanes : kLanes;
    auto runF32 = VectorType::get({runLanes}, f32);
    Value runZero = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(runF32, rewriter.getF32FloatAttr(0)));

    // A few rows (1 to 3): each run of codes is used by few FMAs, so the
    // per-element work is kept minimal. Codes are accumulated unscaled with x
    // over the group, in `unroll` chains per row; the group scale (and float
    // offset, through the group sum of x) is applied once per group.
    auto fewRows = [&](OpBuilder &b, Location loc, Value nIv, Value mStart,
                       int64_t rows, int64_t cols, int64_t unroll, Value y) -> Value {
      SmallVector<Value> mIdx = rowIndices(b, loc, mStart, rows);
      SmallVector<Value> nIdx = columnIndices(b, loc, nIv, cols);
      int64_t lanes = runLanes;
      auto accType = runF32;
      Value accZero = runZero;
      while ((group / lanes) % unroll)
        unroll /= 2;
      // Accumulators: per column, unroll x rows; then (float zero points)
      // the group sums of x, unroll x rows, shared by the columns.
      int64_t perColumn = unroll * rows;
      int64_t numAcc = perColumn * cols;
      bool shareWord = runsPerWord > 1 && unroll % runsPerWord == 0;
      auto gLoop = scf::ForOp::create(
          b, loc, gBegin, gEnd, c1, SmallVector<Value>(rows * cols, accZero),
          [&](OpBuilder &b, Location loc, Value gIv, ValueRange gArgs) {
            SmallVector<Value> zeroLanes;
            for (Value n : nIdx)
              zeroLanes.push_back(inPlaceRuns ? zeroInPlace16(b, loc, n, gIv)
                                              : zeroPointLanes(b, loc, n, gIv));
            Value runBase = arith::MulIOp::create(b, loc, gIv, cIndex(b, loc, group / lanes));
            // The runs of the group, `unroll` at a time.
            auto jLoop = scf::ForOp::create(
                b, loc, c0, cIndex(b, loc, group / lanes), cIndex(b, loc, unroll),
                SmallVector<Value>(numAcc + (needXsum ? perColumn : 0), accZero),
                [&](OpBuilder &b, Location loc, Value jIv, ValueRange acc) {
                  SmallVector<Value> next(acc.begin(), acc.end());
                  Value run0 = arith::AddIOp::create(b, loc, runBase, jIv);
                  for (int64_t c = 0; c < cols && inPlaceRuns && prefetcher; ++c)
                    prefetcher.emit(
                        b, loc, runByte(b, loc, nIdx[c], arith::AddIOp::create(b, loc, run0, run0)),
                        kPrefetchBytes);
                  // codes[c][u]: shared-word reads, when they apply.
                  SmallVector<SmallVector<Value>> codes(cols);
                  for (int64_t c = 0; c < cols && shareWord; ++c)
                    for (int64_t u = 0; u < unroll; u += runsPerWord)
                      llvm::append_range(codes[c], unpackCanonicalWord(
                                                       b, loc, nIdx[c],
                                                       arith::AddIOp::create(b, loc, run0,
                                                                             cIndex(b, loc, u))));
                  for (int64_t u = 0; u < unroll; ++u) {
                    Value run = arith::AddIOp::create(b, loc, run0, cIndex(b, loc, u));
                    Value kk = arith::MulIOp::create(b, loc, run, cIndex(b, loc, lanes));
                    SmallVector<Value> values;
                    for (int64_t c = 0; c < cols; ++c)
                      values.push_back(
                          inPlaceRuns ? codesToF32(b, loc, unpackInPlace16(b, loc, nIdx[c], run),
                                                   zeroLanes[c], /*signedOverride=*/false)
                          : shareWord ? codesToF32(b, loc, codes[c][u], zeroLanes[c])
                                      : unpack8(b, loc, nIdx[c], run, zeroLanes[c]));
                    for (int64_t r = 0; r < rows; ++r) {
                      auto read = [&](Value from) -> Value {
                        return vector::TransferReadOp::create(b, loc, accType, from,
                                                              ValueRange{mIdx[r], kk}, zeroF,
                                                              ArrayRef<bool>(inBounds));
                      };
                      Value xv = read(inPlaceRuns ? xInPlace : x);
                      for (int64_t c = 0; c < cols; ++c) {
                        int64_t i = c * perColumn + u * rows + r;
                        next[i] = vector::FMAOp::create(b, loc, xv, values[c], acc[i]);
                      }
                      if (needXsum) {
                        int64_t i = numAcc + u * rows + r;
                        next[i] = arith::AddFOp::create(b, loc, acc[i],
                                                        inPlaceRuns ? read(x) : xv);
                      }
                    }
                  }
                  scf::YieldOp::create(b, loc, next);
                });
            // Row r's sum over the unrolled accumulators starting at `base`.
            auto rowSum = [&](int64_t base, int64_t r) -> Value {
              Value v = jLoop.getResult(base + r);
              for (int64_t u = 1; u < unroll; ++u)
                v = arith::AddFOp::create(b, loc, v, jLoop.getResult(base + u * rows + r));
              return v;
            };
            SmallVector<Value> xSums;
            for (int64_t r = 0; r < rows && needXsum; ++r)
              xSums.push_back(rowSum(numAcc, r));
            SmallVector<Value> sums;
            for (int64_t c = 0; c < cols; ++c) {
              Value scale = groupSplat(b, loc, scales, nIdx[c], gIv, lanes);
              Value offset = needXsum ? groupSplat(b, loc, zeros, nIdx[c], gIv, lanes) : Value();
              for (int64_t r = 0; r < rows; ++r) {
                Value sum = vector::FMAOp::create(b, loc, scale, rowSum(c * perColumn, r),
                                                  gArgs[c * rows + r]);
                if (needXsum)
                  sum = vector::FMAOp::create(b, loc, offset, xSums[r], sum);
                sums.push_back(sum);
              }
            }
            scf::YieldOp::create(b, loc, sums);
          });
      for (int64_t c = 0; c < cols; ++c)
        y = storeRows(b, loc, mIdx, nIdx[c], gLoop.getResults().slice(c * rows, rows), y);
      return y;
    };

    // Many rows: each run of codes is dequantized in registers (scale and
    // offset applied to the 8 values) and used by `rows` FMAs into one
    // accumulator per row that spans all groups; with `cols` columns (n,
    // n + 1, ...) at once, each load of x feeds `cols` FMAs.
    auto manyRows = [&](OpBuilder &b, Location loc, Value nIv, Value mStart,
                        int64_t rows, int64_t cols, Value y) -> Value {
      SmallVector<Value> mIdx = rowIndices(b, loc, mStart, rows);
      SmallVector<Value> nIdx = columnIndices(b, loc, nIv, cols);
      Value mBlock = arith::DivUIOp::create(b, loc, mStart, cIndex(b, loc, kRows));
      int64_t lanes = runLanes;
      auto accType = runF32;
      Value accZero = runZero;
      auto gLoop = scf::ForOp::create(
          b, loc, gBegin, gEnd, c1, SmallVector<Value>(rows * cols, accZero),
          [&](OpBuilder &b, Location loc, Value gIv, ValueRange gArgs) {
            SmallVector<Value> zeroLanes, scale, offset;
            for (Value n : nIdx) {
              if (!inPlaceRuns) {
                groupTerms(b, loc, n, gIv, zeroLanes, scale, offset);
                continue;
              }
              // In place, the float offset z 2^e.
              zeroLanes.push_back(zeroInPlace16(b, loc, n, gIv));
              scale.push_back(groupSplat(b, loc, scales, n, gIv, lanes));
              offset.push_back(needXsum ? Value(arith::MulFOp::create(
                                              b, loc, groupSplat(b, loc, zeros, n, gIv, lanes),
                                              inPlacePowers))
                                        : Value());
            }
            Value runBase = arith::MulIOp::create(b, loc, gIv, cIndex(b, loc, group / lanes));
            auto jLoop = scf::ForOp::create(
                b, loc, c0, cIndex(b, loc, group / lanes), c1, gArgs,
                [&](OpBuilder &b, Location loc, Value jIv, ValueRange acc) {
                  Value kStep = arith::AddIOp::create(b, loc, runBase, jIv);
                  Value kk = arith::MulIOp::create(b, loc, kStep, cIndex(b, loc, lanes));
                  SmallVector<Value> values;
                  for (int64_t c = 0; c < cols; ++c) {
                    Value v;
                    if (inPlaceRuns) {
                      // The next columns' bytes of the K block (1 KiB
                      // ahead in the row would be past it; M = 16 through
                      // these blocks, 6 bits: 8.9 -> 7.8 ms).
                      if (prefetcher)
                        prefetcher.emit(b, loc,
                                        runByte(b, loc, nIdx[c],
                                                arith::AddIOp::create(b, loc, kStep, kStep)),
                                        cols * k * bits / 8);
                      v = codesToF32(b, loc, unpackInPlace16(b, loc, nIdx[c], kStep),
                                     zeroLanes[c], /*signedOverride=*/false);
                    } else {
                      v = unpack8(b, loc, nIdx[c], kStep, zeroLanes[c]);
                    }
                    values.push_back(
                        offset[c] ? Value(vector::FMAOp::create(b, loc, v, scale[c], offset[c]))
                                  : Value(arith::MulFOp::create(b, loc, v, scale[c])));
                  }
                  SmallVector<Value> next(acc.begin(), acc.end());
                  for (int64_t r = 0; r < rows; ++r) {
                    Value xv = inPlaceRuns ? Value(vector::TransferReadOp::create(
                                                 b, loc, accType, xInPlace,
                                                 ValueRange{mIdx[r], kk}, zeroF,
                                                 ArrayRef<bool>(inBounds)))
                               : rows == kRows
                                   ? Value(vector::TransferReadOp::create(
                                         b, loc, vecF32, xPacked,
                                         ValueRange{mBlock, kStep, cIndex(b, loc, r), c0},
                                         zeroF, ArrayRef<bool>(inBounds)))
                                   : readX(b, loc, mIdx[r], kk);
                    for (int64_t c = 0; c < cols; ++c)
                      next[c * rows + r] =
                          vector::FMAOp::create(b, loc, xv, values[c], acc[c * rows + r]);
                  }
                  scf::YieldOp::create(b, loc, next);
                });
            scf::YieldOp::create(b, loc, jLoop.getResults());
          });
      for (int64_t c = 0; c < cols; ++c)
        y = storeRows(b, loc, mIdx, nIdx[c], gLoop.getResults().slice(c * rows, rows), y);
      return y;
    };

    // Rows [start, mEnd) in blocks of `step`, up to the last full block, of
    // `cols` columns from nIv; returns where they stopped and the new y.
    // The end of the full blocks of `step` rows in [start, mEnd).
    auto fullBlocksEnd = [&](OpBuilder &b, Location loc, Value start, int64_t step) -> Value {
      Value count = arith::SubIOp::create(b, loc, mEnd, start);
      return arith::AddIOp::create(
          b, loc, start,
          arith::MulIOp::create(
              b, loc, arith::DivUIOp::create(b, loc, count, cIndex(b, loc, step)),
              cIndex(b, loc, step)));
    };
    auto rowsFrom = [&](OpBuilder &b, Location loc, Value start, int64_t step,
                        Value nIv, Value y, int64_t cols = 1) -> std::pair<Value, Value> {
      Value end = fullBlocksEnd(b, loc, start, step);
      auto loop = scf::ForOp::create(
          b, loc, start, end, cIndex(b, loc, step), ValueRange{y},
          [&](OpBuilder &b, Location loc, Value mIv, ValueRange args) {
            Value next = args[0];
            // Few rows take `cols` columns at once (pairs where x does not
            // stay in L1, spread columns: see the loop nest) in fewer
            // chains per column where the registers need it.
            int64_t perUnroll = step * (cols + (needXsum ? 1 : 0));
            int64_t unroll = fewRowsUnroll;
            while (columnStride > 1 && unroll > 1 && unroll * perUnroll > vectorRegisters / 2)
              unroll /= 2;
            if (step >= 4) {
              next = manyRows(b, loc, nIv, mIv, step, cols, next);
            } else if ((fewRowsPairs || columnStride > 1) &&
                       unroll * perUnroll <= vectorRegisters / 2) {
              next = fewRows(b, loc, nIv, mIv, step, cols, unroll, next);
            } else {
              for (Value n : columnIndices(b, loc, nIv, cols))
                next = fewRows(b, loc, n, mIv, step, 1, fewRowsUnroll, next);
            }
            scf::YieldOp::create(b, loc, next);
          });
      return {end, loop.getResult(0)};
    };
    auto minIndex = [&](OpBuilder &b, Location loc, Value a, OpFoldResult step,
                        Value bound) {
      return arith::MinUIOp::create(
          b, loc,
          arith::AddIOp::create(b, loc, a, getValueOrCreateConstantIndexOp(b, loc, step)),
          bound);
    };
    // The loop nest, outermost first: columns in tiles of kColumnTile (the
    // unit of work for threads); in each, rows in chunks of kRowChunk and
    // K in blocks of whole groups that keep a block of x in L1; in those,
    // each column, its rows in register blocks of kRows, 4, then 1.
    bool needsExactTail = !planeRows && widePlan.bytesType != exactPlan.bytesType;
    // With fewer rows than a register block x is read once per column and
    // a row of it is small: no K blocks then, and the weights of a column
    // are one stream.
    int64_t groupsPerBlock = std::max<int64_t>(1, kBlockK / group);
    Value numGroupsV = cIndex(rewriter, loc, numGroups);
    Value groupStep = arith::SelectOp::create(
        rewriter, loc,
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::uge, m,
                              cIndex(rewriter, loc, kRows)),
        cIndex(rewriter, loc, groupsPerBlock), numGroupsV);
    // Interleaved weights (laneCodes codes of 8 columns per tile, dense or
    // in bit planes; InterleavedCodes.h): code j of a tile unpacks for its
    // 8 columns at once, in one vector.
    //
    // The GEMM's panel takes such a vector as a row: shifted and masked (or
    // sign-extended by two shifts), converted, scaled, with the offset
    // -s z (integer zero point) or z (float) in one FMA. No transpose.
    // (Codes left in place, masked but not shifted, with the scale s 2^-e
    // made per segment, take one operation fewer per code but ran slower:
    // 4096 x 4096, M = 16, one thread, 2 bits 4.50 -> 5.06 ms, 4 bits
    // 4.61 -> 5.26.)
    // `element(c)` of the 8 columns from `column` on, as a vector.
    auto acrossColumns = [&](OpBuilder &b, Location loc, VectorType type, Value column,
                             function_ref<Value(Value)> element) -> Value {
      SmallVector<Value> elements;
      for (int64_t c = 0; c < type.getNumElements(); ++c)
        elements.push_back(element(
            c ? Value(arith::AddIOp::create(b, loc, column, cIndex(b, loc, c))) : column));
      return vector::FromElementsOp::create(b, loc, type, elements);
    };
    // The group's scales (float zero points) of the `lanes` columns from
    // `column`, as f32. In spans, one read: the kernels' blocks of 8 and 16
    // columns start at multiples of 8 and 16 (from column tiles at
    // multiples of kColumnTile), inside a span.
    auto columnsGroupValues = [&](OpBuilder &b, Location loc, Value tensor, Value column, Value gIv,
                                  int64_t lanes = kLanes) -> Value {
      if (termsSpan)
        return emitReadSpanTerms(b, loc, tilesOf(tensor), column, gIv, lanes);
      return acrossColumns(b, loc, VectorType::get({lanes}, f32), column, [&](Value n) {
        return emitToF32(b, loc, termElement(b, loc, tensor, n, gIv));
      });
    };
    // The group's integer zero points of the `lanes` columns, as f32.
    auto columnsZeroPoints = [&](OpBuilder &b, Location loc, Value column, Value gIv,
                                 int64_t lanes = kLanes) -> Value {
      Value z = termsSpan ? emitReadSpanZeroPoints(b, loc, zeroStorage, column, gIv, numGroups,
                                                   termsSpan, lanes, getLowBitWidth(zeroType),
                                                   zeroType.isSignedInteger())
                          : acrossColumns(b, loc, VectorType::get({lanes}, i32), column,
                                          [&](Value n) { return zeroPointCode(b, loc, n, gIv); });
      return arith::SIToFPOp::create(b, loc, VectorType::get({lanes}, f32), z);
    };
    // Panel segments within one group (as fillSegment; laneCodes divides
    // the group, K and kPanelK).
    int64_t interleavedSegment = kPanelK % group == 0 || group % kPanelK == 0
                                     ? std::min(group, kPanelK)
                                     : laneCodes;
    // Four blocks of 8 columns at a time: four streams of weights from
    // memory (one block's are one stream: one at a time ran 10% slower than
    // the transposing fill at 8 bits, M = 16).
    // With AVX-512, two tiles side by side (16 lanes) fill a micro panel's
    // row per code: 2 blocks of 16 columns, the same four streams.
    constexpr int64_t kFillBlocks = 4;
    int64_t fillTiles = vectorLanes(vectorRegisters) / kLanes;
    int64_t fillLanes = kLanes * fillTiles;
    auto fillVecF32 = VectorType::get({fillLanes}, f32);
    auto tileRowsType =
        VectorType::get({std::max<int64_t>(laneCodes, 1), fillLanes}, f32);
    auto interleavedFill = [&](OpBuilder &b, Location loc, Value kc, Value kcLen,
                               Value panel) -> Value {
      return emitTensorLoop(
          b, loc, c0, cIndex(b, loc, kColumnTile), b.getIndexAttr(kFillBlocks * kLanes),
          panel, [&](OpBuilder &b, Location loc, Value jj, Value panel) -> Value {
            SmallVector<Value> which, lane, column;
            for (int64_t i = 0; i < kFillBlocks / fillTiles; ++i) {
              Value j = arith::AddIOp::create(b, loc, jj, cIndex(b, loc, i * fillLanes));
              which.push_back(arith::DivUIOp::create(b, loc, j, cIndex(b, loc, kPanelColumns)));
              lane.push_back(arith::RemUIOp::create(b, loc, j, cIndex(b, loc, kPanelColumns)));
              column.push_back(arith::AddIOp::create(b, loc, nTileBegin, j));
            }
            return emitTensorLoop(
                b, loc, c0, kcLen, b.getIndexAttr(interleavedSegment), panel,
                [&](OpBuilder &b, Location loc, Value kSeg, Value panel) -> Value {
                  Value gIv = arith::DivUIOp::create(
                      b, loc, arith::AddIOp::create(b, loc, kc, kSeg), cIndex(b, loc, group));
                  SmallVector<Value> scale, offset;
                  for (Value n : column) {
                    scale.push_back(columnsGroupValues(b, loc, scales, n, gIv, fillLanes));
                    if (zeroMode == ZeroPointMode::Int)
                      offset.push_back(arith::NegFOp::create(
                          b, loc,
                          arith::MulFOp::create(b, loc, scale.back(),
                                                columnsZeroPoints(b, loc, n, gIv, fillLanes))));
                    else
                      offset.push_back(needXsum
                                           ? columnsGroupValues(b, loc, zeros, n, gIv, fillLanes)
                                           : Value());
                  }
                  return emitTensorLoop(
                      b, loc, kSeg,
                      minIndex(b, loc, kSeg, b.getIndexAttr(interleavedSegment), kcLen),
                      b.getIndexAttr(laneCodes), panel,
                      [&](OpBuilder &b, Location loc, Value kStep, Value panel) -> Value {
                        Value kk = arith::AddIOp::create(b, loc, kc, kStep);
                        for (int64_t i = 0; i < kFillBlocks / fillTiles; ++i) {
                          InterleavedCodes::Tile tile = interleaved.load(
                              b, loc, column[i], kk, /*flipSigns=*/false, fillTiles);
                          // The tile's laneCodes rows of the panel, written
                          // at once: one tensor write per tile keeps the
                          // chain that one-shot bufferization analyses short
                          // (a write per row made its analysis of a 1-bit
                          // fill take seconds); the stores come back row by
                          // row when the transfers are unrolled.
                          Value rows = arith::ConstantOp::create(
                              b, loc,
                              DenseElementsAttr::get(tileRowsType,
                                                     b.getF32FloatAttr(0)));
                          for (int64_t j : interleaved.codeOrder()) {
                            Value values = arith::SIToFPOp::create(
                                b, loc, fillVecF32, interleaved.code(b, loc, tile, j));
                            values = offset[i]
                                         ? Value(vector::FMAOp::create(b, loc, values, scale[i],
                                                                       offset[i]))
                                         : Value(arith::MulFOp::create(b, loc, values, scale[i]));
                            rows = vector::InsertOp::create(b, loc, values,
                                                            rows, j);
                          }
                          bool tileInBounds[] = {true, true};
                          panel = vector::TransferWriteOp::create(
                                      b, loc, rows, panel,
                                      ValueRange{which[i], kStep, lane[i]},
                                      ArrayRef<bool>(tileInBounds))
                                      .getResult();
                        }
                        return panel;
                      });
                });
          });
    };

    // Rows outside the GEMM: per code, 8 columns x rows FMAs with x
    // broadcast. The codes stay unshifted where they can: code j of a lane
    // is masked in place (its value times 2^(j b); the last one is shifted
    // down instead), and x comes scaled by the inverse power of two
    // (xScaled), which leaves every product exact. Signed codes have their
    // sign bits flipped first (once per tile), which makes them the
    // unsigned q + 2^(b-1), the 2^(b-1) taken off with the zero point.
    // Codes are accumulated unscaled over a group, in `chains` accumulators
    // per row and block of 8 columns; per group the zero point comes off
    // through the group sum of x (xSums) and the scale is applied once.
    float signBias = isSigned ? float(1 << (bits - 1)) : 0.0f;
    // A full column tile of M >= kGemmMinRows rows takes the GEMM for rows
    // [0, gemmRowsEnd): the full register blocks of rows (canonical codes:
    // the few rows past them are cheaper in the row kernel than as a
    // zero-padded block) or all rows (bit planes, whose single-row
    // unpacking is slow). Whether it does, and where its rows end.
    int64_t gemmMinRows = limbDots ? kLimbGemmMinRows : kGemmMinRows;
    auto gemmRowRange = [&](OpBuilder &b, Location loc) -> std::pair<Value, Value> {
      Value enoughRows =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, m, cIndex(b, loc, gemmMinRows));
      Value end = planeRows ? m
                            : Value(arith::MulIOp::create(
                                  b, loc, arith::DivUIOp::create(b, loc, m, cIndex(b, loc, kRows)),
                                  cIndex(b, loc, kRows)));
      return {enoughRows, end};
    };
    Value xScaled, xSums;
    // The single rows' tables of x and group sums of x (rowTables), where
    // the group terms need those.
    Value xTables, xTableSums;
    bool tableXsum = zeroMode != ZeroPointMode::None || isSigned;
    Value xLimbs, xGroupScales, xLimbSums; // limbDots
    // The f32 row kernel takes zero points and sign biases through the group
    // sums of x; the byte kernel only float zero points (needXsum).
    bool needGroupXsum = limbDots ? needXsum : zeroMode != ZeroPointMode::None || isSigned;
    // Per row of the row kernels (from rowKernelStart) and group of x, the
    // group's codes [kBegin, kBegin + group): `body` gives the new outputs.
    using RowGroupBody = function_ref<SmallVector<Value>(OpBuilder &, Location, Value row,
                                                         Value gIv, Value kBegin, ValueRange)>;
    auto forRowsAndGroups = [&](Value rowKernelStart, ValueRange outputs,
                                RowGroupBody body) -> scf::ForOp {
      return scf::ForOp::create(
          rewriter, loc, rowKernelStart, m, c1, outputs,
          [&](OpBuilder &b, Location loc, Value row, ValueRange rowOutputs) {
            auto groupLoop = scf::ForOp::create(
                b, loc, c0, numGroupsV, c1, rowOutputs,
                [&](OpBuilder &b, Location loc, Value gIv, ValueRange outputs) {
                  Value kBegin = arith::MulIOp::create(b, loc, gIv, cIndex(b, loc, group));
                  scf::YieldOp::create(b, loc, body(b, loc, row, gIv, kBegin, outputs));
                });
            scf::YieldOp::create(b, loc, groupLoop.getResults());
          });
    };
    if (laneCodes) {
      Value rowKernelStart = c0;
      if (n % kColumnTile == 0) {
        auto [enoughRows, gemmRowsEnd] = gemmRowRange(rewriter, loc);
        rowKernelStart = arith::SelectOp::create(rewriter, loc, enoughRows, gemmRowsEnd, c0);
      }
      auto sumType = RankedTensorType::get({ShapedType::kDynamic, numGroups}, f32);
      if (rowTables) {
        // xTables[0, r, e] = sum_{i < 4} e_i x[M - 1, 4 r + i] (e_i: bit i
        // of e), the 16 sums of x over a run of 4 codes that a run of 1-bit
        // codes selects among, for the one row the row kernels take alone:
        // the last where M is odd (they take rows by 4 and 2 from an even
        // row, 0 or the GEMM's end). Each is x[., 4 r] e_0 + ..., multiplied and
        // added in f32 (exact up to f32 rounding as the FMAs of the other
        // widths; a zero bit times an infinite x is NaN there too). The
        // group sums of x (xTableSums) are entry 15's. Only single rows
        // read them: the tables of many rows would not stay in L2 while
        // the rows take a tile's columns (4096 x 11008, M = 16: 8.8 ms
        // with byte dot products, 11.5 with tables; M = 4: 2.6, 2.1).
        auto entryType = VectorType::get({kTableEntries}, f32);
        auto tablesType = RankedTensorType::get({1, k / 4, kTableEntries}, f32);
        Value bitOf[4];
        for (int64_t i = 0; i < 4; ++i) {
          SmallVector<float> lanes;
          for (int64_t e = 0; e < kTableEntries; ++e)
            lanes.push_back(float((e >> i) & 1));
          bitOf[i] = arith::ConstantOp::create(
              rewriter, loc, DenseElementsAttr::get(entryType, ArrayRef<float>(lanes)));
        }
        Value entryZero = arith::ConstantOp::create(
            rewriter, loc, DenseElementsAttr::get(entryType, rewriter.getF32FloatAttr(0)));
        SmallVector<Value> outputs = {
            tensor::EmptyOp::create(rewriter, loc, tablesType, ValueRange{})};
        if (tableXsum)
          outputs.push_back(tensor::EmptyOp::create(
              rewriter, loc, RankedTensorType::get({1, numGroups}, f32), ValueRange{}));
        Value singleRow = arith::SubIOp::create(
            rewriter, loc, m, arith::RemUIOp::create(rewriter, loc, m, cIndex(rewriter, loc, 2)));
        scf::ForOp rowLoop = forRowsAndGroups(
            singleRow, outputs,
            [&](OpBuilder &b, Location loc, Value row, Value gIv, Value kBegin,
                ValueRange outputs) -> SmallVector<Value> {
              auto kLoop = scf::ForOp::create(
                  b, loc, kBegin, arith::AddIOp::create(b, loc, kBegin, cIndex(b, loc, group)),
                  cIndex(b, loc, 4), ValueRange{outputs[0], entryZero},
                  [&](OpBuilder &b, Location loc, Value kk, ValueRange args) {
                    Value table;
                    for (int64_t i = 0; i < 4; ++i) {
                      Value xi = vector::BroadcastOp::create(
                          b, loc, entryType,
                          tensor::ExtractOp::create(
                              b, loc, x,
                              ValueRange{row, i ? Value(arith::AddIOp::create(b, loc, kk,
                                                                              cIndex(b, loc, i)))
                                                : kk}));
                      table = i ? Value(vector::FMAOp::create(b, loc, xi, bitOf[i], table))
                                : Value(arith::MulFOp::create(b, loc, xi, bitOf[0]));
                    }
                    Value run = arith::DivUIOp::create(b, loc, kk, cIndex(b, loc, 4));
                    Value tables = vector::TransferWriteOp::create(b, loc, table, args[0],
                                                                   ValueRange{c0, run, c0},
                                                                   ArrayRef<bool>(inBounds))
                                       .getResult();
                    scf::YieldOp::create(
                        b, loc, ValueRange{tables, arith::AddFOp::create(b, loc, args[1], table)});
                  });
              SmallVector<Value> next = {kLoop.getResult(0)};
              if (tableXsum)
                next.push_back(tensor::InsertOp::create(
                    b, loc,
                    vector::ExtractOp::create(b, loc, kLoop.getResult(1),
                                              ArrayRef<int64_t>{kTableEntries - 1}),
                    outputs[1], ValueRange{c0, gIv}));
              return next;
            });
        xTables = rowLoop.getResult(0);
        if (tableXsum)
          xTableSums = rowLoop.getResult(1);
      }
      if (!limbDots) {
        // xScaled[m, k] = x[m, k] * 2^-inPlaceExponent(k mod laneCodes), for
        // the rows the row kernel takes (those past the GEMM's last block of
        // rows where every column tile is full and M >= gemmMinRows, else
        // all; the others are never read).
        SmallVector<float> laneScales;
        for (int64_t j = 0; j < laneCodes; ++j)
          laneScales.push_back(std::ldexp(1.0f, -int(interleaved.inPlaceExponent(j))));
        auto scaleType = VectorType::get({laneCodes}, f32);
        Value scaleVec = arith::ConstantOp::create(
            rewriter, loc, DenseElementsAttr::get(scaleType, ArrayRef<float>(laneScales)));
        // xSums[m, g] = the sum of x[m, k] over group g (where needed), from
        // the same reads.
        auto xsType = RankedTensorType::get({ShapedType::kDynamic, k}, f32);
        SmallVector<Value> outputs = {
            tensor::EmptyOp::create(rewriter, loc, xsType, ValueRange{m})};
        if (needGroupXsum)
          outputs.push_back(tensor::EmptyOp::create(rewriter, loc, sumType, ValueRange{m}));
        Value zeroLaneVec = arith::ConstantOp::create(
            rewriter, loc, DenseElementsAttr::get(scaleType, rewriter.getF32FloatAttr(0)));
        scf::ForOp rowLoop = forRowsAndGroups(
            rowKernelStart, outputs,
            [&](OpBuilder &b, Location loc, Value row, Value gIv, Value kBegin,
                ValueRange outputs) -> SmallVector<Value> {
              auto kLoop = scf::ForOp::create(
                  b, loc, kBegin, arith::AddIOp::create(b, loc, kBegin, cIndex(b, loc, group)),
                  cIndex(b, loc, laneCodes), ValueRange{outputs[0], zeroLaneVec},
                  [&](OpBuilder &b, Location loc, Value kk, ValueRange args) {
                    Value v = vector::TransferReadOp::create(
                        b, loc, scaleType, x, ValueRange{row, kk}, zeroF, ArrayRef<bool>(inBounds));
                    Value xs = vector::TransferWriteOp::create(
                                   b, loc, arith::MulFOp::create(b, loc, v, scaleVec), args[0],
                                   ValueRange{row, kk}, ArrayRef<bool>(inBounds))
                                   .getResult();
                    scf::YieldOp::create(b, loc,
                                         ValueRange{xs, arith::AddFOp::create(b, loc, args[1], v)});
                  });
              SmallVector<Value> next = {kLoop.getResult(0)};
              if (needGroupXsum) {
                Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                                        kLoop.getResult(1), Value(),
                                                        arith::FastMathFlags::reassoc);
                next.push_back(
                    tensor::InsertOp::create(b, loc, sum, outputs[1], ValueRange{row, gIv}));
              }
              return next;
            });
        xScaled = rowLoop.getResult(0);
        if (needGroupXsum)
          xSums = rowLoop.getResult(1);
      } else {
        // For the row kernels' byte dot products (limbDots), per row and
        // group: x as integers x_i = round(x 2^t) below 2^22 (t from the
        // group's largest |x|, at most 126), in three signed bytes (limbs,
        // x_i = d0 + 2^8 d1 + 2^16 d2); xLimbs[m, l, w] holds limb l of the
        // four codes the byte dot product w pairs with a word of codes
        // (codes w' + i 8/b, i < 4, of the run); xGroupScales[m, g] = 2^-t
        // (NaN for a non-finite x); xLimbSums[m, g, l] = the sum of limb l
        // over the group, for the zero points.
        // (Tiles of 16 x 4: word w holds codes 4w to 4w + 3, in order.)
        int64_t stride = laneCodes / 4;
        SmallVector<int64_t> wordOrder;
        for (int64_t s = 0; s < stride; ++s)
          for (int64_t i = 0; i < 4; ++i)
            wordOrder.push_back(interleavedBytes ? 4 * s + i : i * stride + s);
        Type i8 = rewriter.getI8Type();
        auto runF32 = VectorType::get({laneCodes}, f32);
        auto runI32 = VectorType::get({laneCodes}, i32);
        auto runI8 = VectorType::get({laneCodes}, i8);
        auto runWords = VectorType::get({laneCodes / 4}, i32);
        auto runSplat = [&](OpBuilder &b, Location loc, int32_t v) -> Value {
          return arith::ConstantOp::create(b, loc,
                                           DenseElementsAttr::get(runI32, b.getI32IntegerAttr(v)));
        };
        auto i32Const = [&](OpBuilder &b, Location loc, int32_t v) -> Value {
          return arith::ConstantIntOp::create(b, loc, i32, v);
        };
        SmallVector<Value> limbOutputs = {
            tensor::EmptyOp::create(rewriter, loc,
                                    RankedTensorType::get({ShapedType::kDynamic, 3, k / 4}, i32),
                                    ValueRange{m}),
            tensor::EmptyOp::create(rewriter, loc,
                                    RankedTensorType::get({ShapedType::kDynamic, numGroups}, f32),
                                    ValueRange{m}),
            tensor::EmptyOp::create(
                rewriter, loc, RankedTensorType::get({ShapedType::kDynamic, numGroups, 3}, i32),
                ValueRange{m})};
        // xSums, from the same reads, for float zero points.
        if (needGroupXsum)
          limbOutputs.push_back(tensor::EmptyOp::create(rewriter, loc, sumType, ValueRange{m}));
        scf::ForOp limbRowLoop = forRowsAndGroups(
            rowKernelStart, limbOutputs,
            [&](OpBuilder &b, Location loc, Value row, Value gIv, Value kBegin,
                ValueRange outputs) -> SmallVector<Value> {
              Value kEnd = arith::AddIOp::create(b, loc, kBegin, cIndex(b, loc, group));
              Value step = cIndex(b, loc, laneCodes);
              auto readRun = [&](OpBuilder &b, Location loc, Value kk) -> Value {
                return vector::TransferReadOp::create(b, loc, runF32, x, ValueRange{row, kk}, zeroF,
                                                      ArrayRef<bool>(inBounds));
              };
              // The largest |x| of the group, as bits (non-negative
              // floats, NaN included, order as their bits do).
              auto maxLoop = scf::ForOp::create(
                  b, loc, kBegin, kEnd, step, ValueRange{runSplat(b, loc, 0)},
                  [&](OpBuilder &b, Location loc, Value kk, ValueRange acc) {
                    Value magnitude = arith::AndIOp::create(
                        b, loc, arith::BitcastOp::create(b, loc, runI32, readRun(b, loc, kk)),
                        runSplat(b, loc, 0x7fffffff));
                    scf::YieldOp::create(
                        b, loc, ValueRange{arith::MaxSIOp::create(b, loc, acc[0], magnitude)});
                  });
              Value maxBits = vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXSI,
                                                          maxLoop.getResult(0));
              // |x| < 2^(e - 126) for the biased exponent e: t =
              // 22 - (e - 126), at most 126 (zero or subnormal).
              Value exponent = arith::ShRUIOp::create(b, loc, maxBits, i32Const(b, loc, 23));
              Value t = arith::MinSIOp::create(
                  b, loc, arith::SubIOp::create(b, loc, i32Const(b, loc, 148), exponent),
                  i32Const(b, loc, 126));
              auto powerOfTwo = [&](Value e) -> Value {
                return arith::BitcastOp::create(
                    b, loc, f32,
                    arith::ShLIOp::create(b, loc,
                                          arith::AddIOp::create(b, loc, e, i32Const(b, loc, 127)),
                                          i32Const(b, loc, 23)));
              };
              Value up = powerOfTwo(t);
              Value down = powerOfTwo(arith::SubIOp::create(b, loc, i32Const(b, loc, 0), t));
              Value finite = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, maxBits,
                                                   i32Const(b, loc, 0x7f800000));
              Value nan = arith::ConstantOp::create(
                  b, loc, b.getF32FloatAttr(std::numeric_limits<float>::quiet_NaN()));
              Value groupScale = arith::SelectOp::create(b, loc, finite, down, nan);
              Value upVec = vector::BroadcastOp::create(b, loc, runF32, up);
              SmallVector<Value> limbInit = {outputs[0]};
              for (int l = 0; l < 3; ++l)
                limbInit.push_back(runSplat(b, loc, 0));
              Value runZeroF = arith::ConstantOp::create(
                  b, loc, DenseElementsAttr::get(runF32, b.getF32FloatAttr(0)));
              if (needGroupXsum)
                limbInit.push_back(runZeroF);
              auto limbLoop = scf::ForOp::create(
                  b, loc, kBegin, kEnd, step, limbInit,
                  [&](OpBuilder &b, Location loc, Value kk, ValueRange args) {
                    Value v = readRun(b, loc, kk);
                    Value scaled = arith::MulFOp::create(b, loc, v, upVec);
                    // Rounded half away from zero: + copysign(0.5).
                    Value half = arith::BitcastOp::create(
                        b, loc, runF32,
                        arith::OrIOp::create(
                            b, loc,
                            arith::AndIOp::create(b, loc,
                                                  arith::BitcastOp::create(b, loc, runI32, scaled),
                                                  runSplat(b, loc, int32_t(0x80000000u))),
                            runSplat(b, loc, 0x3f000000)));
                    Value xi = arith::FPToSIOp::create(b, loc, runI32,
                                                       arith::AddFOp::create(b, loc, scaled, half));
                    auto lowByte = [&](Value v) -> Value {
                      return arith::ShRSIOp::create(
                          b, loc, arith::ShLIOp::create(b, loc, v, runSplat(b, loc, 24)),
                          runSplat(b, loc, 24));
                    };
                    auto rest = [&](Value v, Value digit) -> Value {
                      return arith::ShRSIOp::create(b, loc, arith::SubIOp::create(b, loc, v, digit),
                                                    runSplat(b, loc, 8));
                    };
                    Value d0 = lowByte(xi);
                    Value r1 = rest(xi, d0);
                    Value d1 = lowByte(r1);
                    Value digits[] = {d0, d1, rest(r1, d1)};
                    Value limbs = args[0];
                    SmallVector<Value> next;
                    Value word = arith::DivUIOp::create(b, loc, kk, cIndex(b, loc, 4));
                    for (int l = 0; l < 3; ++l) {
                      Value bytes = arith::TruncIOp::create(b, loc, runI8, digits[l]);
                      Value ordered = vector::ShuffleOp::create(b, loc, bytes, bytes, wordOrder);
                      limbs =
                          vector::TransferWriteOp::create(
                              b, loc, vector::BitCastOp::create(b, loc, runWords, ordered), limbs,
                              ValueRange{row, cIndex(b, loc, l), word}, ArrayRef<bool>(inBounds))
                              .getResult();
                      next.push_back(arith::AddIOp::create(b, loc, args[1 + l], digits[l]));
                    }
                    next.insert(next.begin(), limbs);
                    if (needGroupXsum)
                      next.push_back(arith::AddFOp::create(b, loc, args[4], v));
                    scf::YieldOp::create(b, loc, next);
                  });
              Value scalesOut =
                  tensor::InsertOp::create(b, loc, groupScale, outputs[1], ValueRange{row, gIv});
              Value sumsOut = outputs[2];
              for (int l = 0; l < 3; ++l)
                sumsOut = tensor::InsertOp::create(
                    b, loc,
                    vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                                limbLoop.getResult(1 + l)),
                    sumsOut, ValueRange{row, gIv, cIndex(b, loc, l)});
              SmallVector<Value> next = {limbLoop.getResult(0), scalesOut, sumsOut};
              if (needGroupXsum)
                next.push_back(tensor::InsertOp::create(
                    b, loc,
                    vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                                limbLoop.getResult(4), Value(),
                                                arith::FastMathFlags::reassoc),
                    outputs[3], ValueRange{row, gIv}));
              return next;
            });
        xLimbs = limbRowLoop.getResult(0);
        xGroupScales = limbRowLoop.getResult(1);
        xLimbSums = limbRowLoop.getResult(2);
        if (needGroupXsum)
          xSums = limbRowLoop.getResult(3);
      }
    }
    // The group terms the row kernel applies once per group and block of 8
    // columns. In spans (termsSpan), read where they are applied
    // (readGroupTerm): 4096 x 4096, M = 1, one thread, 1 to 3 bits 4-10%
    // faster than gathered. Canonical, gathered per column tile before its
    // loops:
    // tileGroupTerms[g, t, c - nTileBegin] is the scale (t = 0) and, with zero
    // points, -(z + 2^(b-1)) (integer; sign bias as below) or z (float)
    // (t = 1) of column c. Eight groups of 8 columns are read a column at a
    // time (scales[c, g0 : g0 + 8] is one load; so are 8 packed zero
    // points) and transposed in registers; the groups past the last 8 are
    // gathered a column at a time. Gathered in the
    // epilogue, column by column and group by group, they took about 15% of
    // an M = 1 call (4096 x 4096, one thread, 2 and 4 bits: 0.82 / 0.84 ms,
    // 0.67 / 0.72 without them); gathered a column at a time, the 5-bit zero
    // points took 37% of that call (0.91 ms).
    int64_t termCount = zeroMode == ZeroPointMode::None ? 1 : 2;
    auto termsType = RankedTensorType::get({numGroups, termCount, kColumnTile}, f32);
    unsigned zeroBits = zeroMode == ZeroPointMode::Int ? getLowBitWidth(zeroType) : 0;
    bool zeroSigned = zeroMode == ZeroPointMode::Int && zeroType.isSignedInteger();
    // Runs of 8 zero points start on a byte where a row of them fills
    // whole bytes; else they are read with the next byte and shifted (at
    // least one zero point follows each, that of the groups past the last
    // run).
    bool zerosOnBytes = numGroups * zeroBits % 8 == 0;
    int64_t transposedGroups = numGroups / kLanes * kLanes;
    // Integer zero points [g0, g0 + 8) of column n (g0 a multiple of 8), as
    // i32 lanes.
    auto zeroPointRun = [&](OpBuilder &b, Location loc, Value nIv, Value g0) -> Value {
      Value code0 = arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, storageRow(b, loc, nIv, zeroRow0),
                                cIndex(b, loc, numGroups)),
          g0);
      return emitReadCodeRun8(b, loc, zeroStorage,
                              arith::MulIOp::create(b, loc, code0, cIndex(b, loc, zeroBits)),
                              zeroBits, zeroSigned, zerosOnBytes);
    };
    // The zero-point term from integer zero points (f32 lanes).
    auto zeroTerm = [&](OpBuilder &b, Location loc, Value z) -> Value {
      if (isSigned)
        z = arith::AddFOp::create(
            b, loc, z,
            arith::ConstantOp::create(b, loc,
                                      DenseElementsAttr::get(cast<VectorType>(z.getType()),
                                                             b.getF32FloatAttr(signBias))));
      return arith::NegFOp::create(b, loc, z);
    };
    auto buildGroupTerms = [&](OpBuilder &b, Location loc, Value begin, Value end) -> Value {
      Value terms = tensor::EmptyOp::create(b, loc, termsType, ValueRange{});
      auto write = [&](OpBuilder &b, Location loc, Value v, Value g, int64_t t, Value column,
                       Value terms) -> Value {
        return vector::TransferWriteOp::create(
                   b, loc, v, terms,
                   ValueRange{g, cIndex(b, loc, t), arith::SubIOp::create(b, loc, column, begin)},
                   ArrayRef<bool>(inBounds))
            .getResult();
      };
      return emitTensorLoop(
          b, loc, begin, end, b.getIndexAttr(kLanes), terms,
          [&](OpBuilder &b, Location loc, Value column, Value terms) -> Value {
            terms = emitTensorLoop(
                b, loc, c0, cIndex(b, loc, transposedGroups), b.getIndexAttr(kLanes), terms,
                [&](OpBuilder &b, Location loc, Value g0, Value terms) -> Value {
                  SmallVector<Value> scaleRuns, zeroRuns;
                  for (int64_t c = 0; c < kLanes; ++c) {
                    Value nIv = c ? Value(arith::AddIOp::create(b, loc, column, cIndex(b, loc, c)))
                                  : column;
                    auto run = [&](Value tensor) -> Value {
                      Type element = cast<ShapedType>(tensor.getType()).getElementType();
                      Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
                      return emitToF32(
                          b, loc,
                          vector::TransferReadOp::create(
                              b, loc, VectorType::get({kLanes}, element), tensor,
                              ValueRange{nIv, g0}, zero, ArrayRef<bool>(inBounds)));
                    };
                    scaleRuns.push_back(run(scales));
                    if (zeroMode == ZeroPointMode::Int)
                      zeroRuns.push_back(arith::SIToFPOp::create(b, loc, vecF32,
                                                                 zeroPointRun(b, loc, nIv, g0)));
                    else if (zeroMode == ZeroPointMode::Float)
                      zeroRuns.push_back(run(zeros));
                  }
                  SmallVector<Value> scaleByGroup = emitTranspose8x8(b, loc, scaleRuns);
                  SmallVector<Value> zeroByGroup;
                  if (!zeroRuns.empty())
                    zeroByGroup = emitTranspose8x8(b, loc, zeroRuns);
                  for (int64_t i = 0; i < kLanes; ++i) {
                    Value g = arith::AddIOp::create(b, loc, g0, cIndex(b, loc, i));
                    terms = write(b, loc, scaleByGroup[i], g, 0, column, terms);
                    if (zeroMode != ZeroPointMode::None)
                      terms = write(b, loc,
                                    zeroMode == ZeroPointMode::Int
                                        ? zeroTerm(b, loc, zeroByGroup[i])
                                        : zeroByGroup[i],
                                    g, 1, column, terms);
                  }
                  return terms;
                });
            return emitTensorLoop(
                b, loc, cIndex(b, loc, transposedGroups), numGroupsV, b.getIndexAttr(1), terms,
                [&](OpBuilder &b, Location loc, Value g, Value terms) -> Value {
                  terms = write(b, loc, columnsGroupValues(b, loc, scales, column, g), g, 0,
                                column, terms);
                  if (zeroMode == ZeroPointMode::Int)
                    terms = write(b, loc, zeroTerm(b, loc, columnsZeroPoints(b, loc, column, g)),
                                  g, 1, column, terms);
                  else if (zeroMode == ZeroPointMode::Float)
                    terms = write(b, loc, columnsGroupValues(b, loc, zeros, column, g), g, 1,
                                  column, terms);
                  return terms;
                });
          });
    };
    Value tileGroupTerms; // of the tile (interleavedColumns)

    // The row kernels' software prefetches: each weight stream (a tile of 8
    // columns; `tiles` side by side) of the blocks from `columns`, a
    // prefetch distance ahead of the codes from kk: the loops' few
    // operations per byte keep too few loads in flight for the hardware
    // prefetchers alone.
    auto prefetchTiles = [&](OpBuilder &b, Location loc, ArrayRef<Value> columns, Value kk,
                             int64_t tiles) {
      for (Value column : columns)
        for (int64_t offset : interleaved.streamOffsets(tiles))
          if (prefetcher)
            prefetcher.emit(b, loc,
                            arith::AddIOp::create(b, loc, interleaved.tileByte(b, loc, column, kk),
                                                  cIndex(b, loc, offset)),
                            kPrefetchBytes);
    };
    // Share gIv of the next tile's group terms of `count` columns from
    // `column` (the columns a tile ahead).
    auto prefetchNextTerms = [&](OpBuilder &b, Location loc, Value column, int64_t count,
                                 Value gIv) {
      Value next = arith::AddIOp::create(b, loc, column, cIndex(b, loc, kColumnTile));
      auto bitsOf = [](Value tensor) {
        return int64_t(cast<ShapedType>(tensor.getType()).getElementTypeBitWidth());
      };
      scalePrefetcher.emitRowsShare(b, loc, next, count, numGroups * bitsOf(scales), gIv,
                                    numGroups);
      if (zeroMode == ZeroPointMode::Int)
        zeroPrefetcher.emitRowsShare(b, loc, storageRow(b, loc, next, zeroRow0), count,
                                     numGroups * zeroBits, gIv, numGroups);
      else if (zeroMode == ZeroPointMode::Float)
        zeroPrefetcher.emitRowsShare(b, loc, next, count, numGroups * bitsOf(zeros), gIv,
                                     numGroups);
    };
    // Group term t (tileGroupTerms) of group gIv for the columns from
    // `column`, as a vector of `type`.
    auto readGroupTerm = [&](OpBuilder &b, Location loc, VectorType type, Value gIv, int64_t t,
                             Value column) -> Value {
      // In spans, read where needed: scale, integer zero-point term or
      // float offset of the `type.getNumElements()` columns.
      if (termsSpan) {
        int64_t lanes = type.getNumElements();
        if (t == 0)
          return columnsGroupValues(b, loc, scales, column, gIv, lanes);
        if (zeroMode == ZeroPointMode::Float)
          return columnsGroupValues(b, loc, zeros, column, gIv, lanes);
        return zeroTerm(b, loc, columnsZeroPoints(b, loc, column, gIv, lanes));
      }
      return vector::TransferReadOp::create(
          b, loc, type, tileGroupTerms,
          ValueRange{gIv, cIndex(b, loc, t), arith::SubIOp::create(b, loc, column, nTileBegin)},
          zeroF, ArrayRef<bool>(inBounds));
    };
    // The row kernels' byte dot products (limbDots): per run of 32/b codes,
    // a tile's word of codes gives 8/b vectors of bytes, (w >> s b) & mask,
    // byte i of a lane holding code i 8/b + s of its column (signed codes'
    // sign bits flipped: q + 2^(b-1)); a tile of bit planes gives 8, byte i
    // code 8 i + s, its bits picked from the planes; a tile of bytes (5-7
    // bits) comes as 2, byte i code 4 s + i. tessera.dot_bytes multiplies each with
    // the three limbs of x (xLimbs) into i32 accumulators per limb, exactly.
    // Per group, the zero point (-(z + 2^(b-1)), an integer) times the
    // limb's group sum comes off in i32, the limbs are combined in f32
    // (2^16 d2 + 2^8 d1 + d0) and scaled by 2^-t and the group scale. Per
    // 64 products three dot products where the f32 kernel takes 4 masks,
    // conversions and FMAs with 8 bits, plus 1, 2 or 3 operations of
    // unpacking at 4, 2 and 1 bits where that takes 4 x 2.
    // The sums of rows mIdx of blocks of 8 `tiles` columns from `columns`
    // (acc's order: row, then block).
    auto limbGroupLoop = [&](OpBuilder &b, Location loc, ArrayRef<Value> columns,
                             ArrayRef<Value> mIdx, int64_t tiles) -> SmallVector<Value> {
      int64_t rows = mIdx.size(), blocks = columns.size();
      auto blockF32 = VectorType::get({kLanes * tiles}, f32);
      auto blockI32 = VectorType::get({kLanes * tiles}, i32);
      auto blockI8 = VectorType::get({kLanes * tiles * 4}, b.getI8Type());
      int64_t stride = laneCodes / 4; // codes between the bytes of a lane
      // 8-bit runs of 4 codes go two per step. A single row of fewer than
      // four blocks sums in two chains.
      int64_t runsPerStep = laneCodes < 8 ? 8 / laneCodes : 1;
      int64_t chains = rows == 1 && blocks < 4 ? 2 : 1;
      Value fZero =
          arith::ConstantOp::create(b, loc, DenseElementsAttr::get(blockF32, b.getF32FloatAttr(0)));
      auto i32Block = [&](int32_t v) -> Value {
        return arith::ConstantOp::create(b, loc,
                                         DenseElementsAttr::get(blockI32, b.getI32IntegerAttr(v)));
      };
      Value iZero = i32Block(0);
      Value byteMask = i32Block(int32_t(((1u << bits) - 1) * 0x01010101u));
      auto rotateLeft = [&](OpBuilder &b, Location loc, Value v, int64_t by) -> Value {
        return arith::OrIOp::create(b, loc, arith::ShLIOp::create(b, loc, v, i32Block(by)),
                                    arith::ShRUIOp::create(b, loc, v, i32Block(32 - by)));
      };
      auto gLoop = scf::ForOp::create(
          b, loc, c0, numGroupsV, c1, SmallVector<Value>(rows * blocks, fZero),
          [&](OpBuilder &b, Location loc, Value gIv, ValueRange acc) {
            Value stepBegin = arith::MulIOp::create(b, loc, gIv, cIndex(b, loc, group));
            auto kLoop = scf::ForOp::create(
                b, loc, stepBegin, arith::AddIOp::create(b, loc, stepBegin, cIndex(b, loc, group)),
                cIndex(b, loc, runsPerStep * laneCodes),
                SmallVector<Value>(rows * blocks * 3 * chains, iZero),
                [&](OpBuilder &b, Location loc, Value kk, ValueRange gacc) {
                  SmallVector<Value> next(gacc.begin(), gacc.end());
                  prefetchTiles(b, loc, columns, kk, tiles);
                  for (int64_t c = 0; c < blocks; ++c)
                    for (int64_t u = 0; u < runsPerStep; ++u) {
                      Value run = u ? Value(arith::AddIOp::create(b, loc, kk,
                                                                  cIndex(b, loc, u * laneCodes)))
                                    : kk;
                      SmallVector<Value> words =
                          interleaved.load(b, loc, columns[c], run, /*flipSigns=*/true, tiles)
                              .words;
                      // Bit planes: plane p rotated left by p, so that bit
                      // p of code 8 i + s sits at bit 8 i + (s + p) mod 8
                      // (mod 32).
                      for (int64_t p = 1; interleavedPlanes && p < int64_t(words.size()); ++p)
                        words[p] = rotateLeft(b, loc, words[p], p);
                      Value firstLimbWord = arith::DivUIOp::create(b, loc, run, cIndex(b, loc, 4));
                      for (int64_t s = 0; s < stride; ++s) {
                        // (Bytes come loaded: byte i of words[s] is code
                        // 4 s + i.)
                        Value codes = words[interleavedBytes ? s : 0];
                        if (interleavedPlanes) {
                          // Bit p of byte i from the rotated plane p, then
                          // rotated right by s: byte i is code 8 i + s.
                          for (int64_t p = 0; p < int64_t(bits); ++p) {
                            Value bitP = arith::AndIOp::create(
                                b, loc, words[p], i32Block(int32_t(0x01010101u << ((s + p) % 8))));
                            codes = p ? Value(arith::OrIOp::create(b, loc, codes, bitP)) : bitP;
                          }
                          if (s)
                            codes = rotateLeft(b, loc, codes, 32 - s);
                        } else if (!interleavedBytes) {
                          if (s)
                            codes = arith::ShRUIOp::create(b, loc, codes, i32Block(s * bits));
                          if (bits < 8)
                            codes = arith::AndIOp::create(b, loc, codes, byteMask);
                        }
                        Value codeBytes = vector::BitCastOp::create(b, loc, blockI8, codes);
                        Value limbWord =
                            arith::AddIOp::create(b, loc, firstLimbWord, cIndex(b, loc, s));
                        int64_t h = (u * stride + s) % chains;
                        for (int64_t r = 0; r < rows; ++r)
                          for (int64_t l = 0; l < 3; ++l) {
                            Value limbs = vector::BitCastOp::create(
                                b, loc, blockI8,
                                vector::BroadcastOp::create(
                                    b, loc, blockI32,
                                    tensor::ExtractOp::create(
                                        b, loc, xLimbs,
                                        ValueRange{mIdx[r], cIndex(b, loc, l), limbWord})));
                            int64_t i = ((r * blocks + c) * 3 + l) * chains + h;
                            next[i] = DotBytesOp::create(b, loc, next[i], codeBytes, limbs);
                          }
                      }
                    }
                  scf::YieldOp::create(b, loc, next);
                });
            SmallVector<Value> sums(rows * blocks);
            for (int64_t c = 0; c < blocks; ++c) {
              auto term = [&](int64_t t) {
                return readGroupTerm(b, loc, blockF32, gIv, t, columns[c]);
              };
              Value scale = term(0);
              // -(z + 2^(b-1)) (-2^(b-1) without an integer zero point).
              Value zeroPoint = zeroMode == ZeroPointMode::Int
                                    ? Value(arith::FPToSIOp::create(b, loc, blockI32, term(1)))
                                : isSigned ? i32Block(-(1 << (bits - 1)))
                                           : Value();
              Value offset = needXsum ? term(1) : Value();
              for (int64_t r = 0; r < rows; ++r) {
                int64_t i = r * blocks + c;
                Value limbSums[3];
                for (int64_t l = 0; l < 3; ++l) {
                  Value sum = kLoop.getResult((i * 3 + l) * chains);
                  for (int64_t h = 1; h < chains; ++h)
                    sum = arith::AddIOp::create(b, loc, sum,
                                                kLoop.getResult((i * 3 + l) * chains + h));
                  if (zeroPoint)
                    sum = arith::AddIOp::create(
                        b, loc, sum,
                        arith::MulIOp::create(
                            b, loc, zeroPoint,
                            vector::BroadcastOp::create(
                                b, loc, blockI32,
                                tensor::ExtractOp::create(
                                    b, loc, xLimbSums,
                                    ValueRange{mIdx[r], gIv, cIndex(b, loc, l)}))));
                  limbSums[l] = arith::SIToFPOp::create(b, loc, blockF32, sum);
                }
                auto splatF = [&](float v) -> Value {
                  return arith::ConstantOp::create(
                      b, loc, DenseElementsAttr::get(blockF32, b.getF32FloatAttr(v)));
                };
                Value total = vector::FMAOp::create(
                    b, loc, limbSums[2], splatF(65536.0f),
                    vector::FMAOp::create(b, loc, limbSums[1], splatF(256.0f), limbSums[0]));
                total = arith::MulFOp::create(
                    b, loc, total,
                    vector::BroadcastOp::create(
                        b, loc, blockF32,
                        tensor::ExtractOp::create(b, loc, xGroupScales, ValueRange{mIdx[r], gIv})));
                Value sum = vector::FMAOp::create(b, loc, total, scale, acc[i]);
                if (offset)
                  sum = vector::FMAOp::create(
                      b, loc, offset,
                      vector::BroadcastOp::create(
                          b, loc, blockF32,
                          tensor::ExtractOp::create(b, loc, xSums, ValueRange{mIdx[r], gIv})),
                      sum);
                sums[i] = sum;
              }
            }
            scf::YieldOp::create(b, loc, sums);
          });
      return SmallVector<Value>(gLoop.getResults());
    };

    // Rows mIdx of the `blocks` blocks of 8 `tiles` columns from `column`
    // (8 `tiles` apart), added to y: a block of two tiles is one vector of
    // 16 lanes (AVX-512).
    auto interleavedRows = [&](OpBuilder &b, Location loc, Value column, ArrayRef<Value> mIdx,
                               int64_t blocks, int64_t chains, Value y,
                               int64_t tiles = 1) -> Value {
      int64_t rows = mIdx.size();
      auto blockF32 = VectorType::get({kLanes * tiles}, f32);
      Value blockZero =
          arith::ConstantOp::create(b, loc, DenseElementsAttr::get(blockF32, b.getF32FloatAttr(0)));
      Value negSignBiasVec;
      if (isSigned)
        negSignBiasVec = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(blockF32, b.getF32FloatAttr(-signBias)));
      SmallVector<Value> columns;
      for (int64_t c = 0; c < blocks; ++c)
        columns.push_back(c ? Value(arith::AddIOp::create(b, loc, column,
                                                          cIndex(b, loc, c * kLanes * tiles)))
                            : column);
      // Accumulators: acc[r * blocks + c]; in a group, gacc[(r * blocks + c)
      // * chains + h].
      SmallVector<Value> totals;
      bool tableRows = rowTables && rows == 1;
      if (limbDots && !tableRows)
        totals = limbGroupLoop(b, loc, columns, mIdx, tiles);
      else
        totals = SmallVector<Value>(
            scf::ForOp::create(
                b, loc, c0, numGroupsV, c1, SmallVector<Value>(rows * blocks, blockZero),
                [&](OpBuilder &b, Location loc, Value gIv, ValueRange acc) {
                  if (tableRows && !termsSpan)
                    prefetchNextTerms(b, loc, columns[0], blocks * kLanes * tiles, gIv);
                  Value stepBegin = arith::MulIOp::create(b, loc, gIv, cIndex(b, loc, group));
                  auto kLoop = scf::ForOp::create(
                      b, loc, stepBegin,
                      arith::AddIOp::create(b, loc, stepBegin, cIndex(b, loc, group)),
                      cIndex(b, loc, laneCodes),
                      SmallVector<Value>(rows * blocks * chains, blockZero),
                      [&](OpBuilder &b, Location loc, Value kk, ValueRange gacc) {
                        SmallVector<Value> next(gacc.begin(), gacc.end());
                        prefetchTiles(b, loc, columns, kk, tiles);
                        // Block by block: one tile live at a time (the four
                        // blocks' tiles and eight accumulators spilled; M = 1,
                        // 4096 x 4096, 4 bits: 1.08 -> 0.95 ms).
                        if (tableRows) {
                          // Nibble j of a column's lane (codes kk + 4 j to
                          // kk + 4 j + 3) indexes the table of those x:
                          // one lookup (vpermps) sums 4 products of 16
                          // columns. Blocks of 8 columns are looked up in
                          // 16 lanes and keep the low 8.
                          auto tableType = VectorType::get({kTableEntries}, f32);
                          auto indexType = VectorType::get({kTableEntries}, i32);
                          int64_t lanes = blockF32.getNumElements();
                          SmallVector<int64_t> widen;
                          for (int64_t l = 0; l < kTableEntries; ++l)
                            widen.push_back(l % lanes);
                          SmallVector<Value> words;
                          for (int64_t c = 0; c < blocks; ++c) {
                            Value w =
                                interleaved.load(b, loc, columns[c], kk, /*flipSigns=*/true, tiles)
                                    .words[0];
                            if (lanes < kTableEntries)
                              w = vector::ShuffleOp::create(b, loc, w, w, widen);
                            words.push_back(w);
                          }
                          Value firstRun = arith::DivUIOp::create(b, loc, kk, cIndex(b, loc, 4));
                          for (int64_t j = 0; j < laneCodes / 4; ++j) {
                            Value run = arith::AddIOp::create(b, loc, firstRun, cIndex(b, loc, j));
                            Value table = vector::TransferReadOp::create(
                                b, loc, tableType, xTables, ValueRange{c0, run, c0}, zeroF,
                                ArrayRef<bool>(inBounds));
                            for (int64_t c = 0; c < blocks; ++c) {
                              Value index =
                                  j ? Value(arith::ShRUIOp::create(
                                          b, loc, words[c],
                                          arith::ConstantOp::create(
                                              b, loc,
                                              DenseElementsAttr::get(
                                                  indexType, b.getI32IntegerAttr(int32_t(4 * j))))))
                                    : words[c];
                              // (One row: accumulator c * chains + h.)
                              Value sums = PermuteLanesOp::create(b, loc, table, index);
                              if (lanes < kTableEntries)
                                sums = vector::ExtractStridedSliceOp::create(
                                    b, loc, sums, ArrayRef<int64_t>{0}, ArrayRef<int64_t>{lanes},
                                    ArrayRef<int64_t>{1});
                              int64_t i = c * chains + j % chains;
                              next[i] = arith::AddFOp::create(b, loc, next[i], sums);
                            }
                          }
                        }
                        for (int64_t c = 0; c < blocks && !tableRows; ++c) {
                          InterleavedCodes::Tile tile =
                              interleaved.load(b, loc, columns[c], kk, /*flipSigns=*/true, tiles);
                          for (int64_t j : interleaved.codeOrder()) {
                            Value values = arith::SIToFPOp::create(
                                b, loc, blockF32, interleaved.codeInPlace(b, loc, tile, j));
                            Value kj = arith::AddIOp::create(b, loc, kk, cIndex(b, loc, j));
                            for (int64_t r = 0; r < rows; ++r) {
                              Value xv = vector::BroadcastOp::create(
                                  b, loc, blockF32,
                                  tensor::ExtractOp::create(b, loc, xScaled,
                                                            ValueRange{mIdx[r], kj}));
                              int64_t i = (r * blocks + c) * chains + j % chains;
                              next[i] = vector::FMAOp::create(b, loc, values, xv, next[i]);
                            }
                          }
                        }
                        scf::YieldOp::create(b, loc, next);
                      });
                  SmallVector<Value> sums;
                  for (int64_t c = 0; c < blocks; ++c) {
                    auto term = [&](int64_t t) {
                      return readGroupTerm(b, loc, blockF32, gIv, t, columns[c]);
                    };
                    Value scale = term(0);
                    // -(z + 2^(b-1)) (-2^(b-1) without an integer zero point).
                    Value zeroPoint = zeroMode == ZeroPointMode::Int ? term(1)
                                      : isSigned                     ? negSignBiasVec
                                                                     : Value();
                    Value offset = needXsum ? term(1) : Value();
                    for (int64_t r = 0; r < rows; ++r) {
                      int64_t i = r * blocks + c;
                      Value sum = kLoop.getResult(i * chains);
                      for (int64_t h = 1; h < chains; ++h)
                        sum = arith::AddFOp::create(b, loc, sum, kLoop.getResult(i * chains + h));
                      Value xsum;
                      if (tableRows ? tableXsum : needGroupXsum)
                        xsum = vector::BroadcastOp::create(
                            b, loc, blockF32,
                            tableRows
                                ? tensor::ExtractOp::create(b, loc, xTableSums, ValueRange{c0, gIv})
                                : tensor::ExtractOp::create(b, loc, xSums,
                                                            ValueRange{mIdx[r], gIv}));
                      if (zeroPoint)
                        sum = vector::FMAOp::create(b, loc, zeroPoint, xsum, sum);
                      sum = vector::FMAOp::create(b, loc, sum, scale, acc[i]);
                      if (offset)
                        sum = vector::FMAOp::create(b, loc, offset, xsum, sum);
                      sums.push_back(sum);
                    }
                  }
                  // sums are by column block, then row: reorder to acc's order.
                  SmallVector<Value> ordered(rows * blocks);
                  for (int64_t c = 0; c < blocks; ++c)
                    for (int64_t r = 0; r < rows; ++r)
                      ordered[r * blocks + c] = sums[c * rows + r];
                  scf::YieldOp::create(b, loc, ordered);
                })
                .getResults());
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < blocks; ++c) {
          Value col = arith::SubIOp::create(b, loc, columns[c], nTileBegin);
          Value old = vector::TransferReadOp::create(b, loc, blockF32, y, ValueRange{mIdx[r], col},
                                                     zeroF, ArrayRef<bool>(inBounds));
          Value sum = arith::AddFOp::create(b, loc, old, totals[r * blocks + c]);
          y = vector::TransferWriteOp::create(b, loc, sum, y, ValueRange{mIdx[r], col},
                                              ArrayRef<bool>(inBounds))
                  .getResult();
        }
      return y;
    };
    // Rows [mFrom, M) of the columns [begin, end) (multiples of 8) of the
    // tile: groups of rowBlocks blocks of 8 columns, then the blocks past
    // the last group one by one; in each, rows by 4 (block by block), then
    // by 2 (pairs of blocks), then single rows (all the group's blocks).
    // Registers (16): 4 x 2 accumulators per group and 4 totals; 2 x 2 x 2
    // and 4; 4 x 2 and 4.
    // Blocks of 8 columns per group: four streams of weights (M = 1, one
    // thread, 4096 x 4096: 8 bits 1.90 -> 1.48 ms against pairs; 2 and 4
    // bits the same); eight with byte dot products, four vectors of 16
    // (against four blocks, 4096 x 4096, M = 1, one thread: 5-7 bits
    // 1.10-1.34 -> 1.03-1.25 ms, 1 and 4 bits 3% faster, the others the
    // same; the f32 kernels on AVX-512 mixed, 2 bits 3% faster, 4 bits 4%
    // slower).
    int64_t laneTiles = vectorLanes(vectorRegisters) / kLanes;
    int64_t rowBlocks = limbDots || rowTables ? 4 * laneTiles : 4;
    auto interleavedColumns = [&](OpBuilder &b, Location loc, Value begin, Value end, Value mFrom,
                                  Value y) -> Value {
      if (!termsSpan)
        tileGroupTerms = buildGroupTerms(b, loc, begin, end);
      auto rowsOf = [&](OpBuilder &b, Location loc, Value column, int64_t blocks,
                        Value y) -> Value {
        // Rows [start, M) in blocks of `step` up to the last full one:
        // where they stop, and the new y.
        using RowsBody = function_ref<Value(OpBuilder &, Location, ArrayRef<Value>, Value)>;
        auto byRows = [&](Value start, int64_t step, Value y,
                          RowsBody body) -> std::pair<Value, Value> {
          Value count = arith::SubIOp::create(b, loc, m, start);
          Value stop = arith::AddIOp::create(
              b, loc, start,
              arith::MulIOp::create(
                  b, loc, arith::DivUIOp::create(b, loc, count, cIndex(b, loc, step)),
                  cIndex(b, loc, step)));
          Value next = emitTensorLoop(b, loc, start, stop, b.getIndexAttr(step), y,
                                      [&](OpBuilder &b, Location loc, Value mIv, Value y) {
                                        return body(b, loc, rowIndices(b, loc, mIv, step), y);
                                      });
          return {stop, next};
        };
        // The column of block c of the group.
        auto blockColumn = [&](OpBuilder &b, Location loc, int64_t c) -> Value {
          return c ? Value(arith::AddIOp::create(b, loc, column, cIndex(b, loc, c * kLanes)))
                   : column;
        };
        // With AVX-512, pairs of blocks go as one of 16 lanes.
        int64_t tiles = blocks % laneTiles == 0 ? laneTiles : 1;
        int64_t wideBlocks = blocks / tiles;
        // Rows a (wide) block at a time, in two chains.
        auto blockByBlock = [&](OpBuilder &b, Location loc, ArrayRef<Value> rows, Value y) {
          for (int64_t c = 0; c < blocks; c += tiles)
            y = interleavedRows(b, loc, blockColumn(b, loc, c), rows, 1, 2, y, tiles);
          return y;
        };
        auto [afterFours, y0] = byRows(mFrom, 4, y, blockByBlock);
        auto [afterTwos, y1] = byRows(
            afterFours, 2, y0, [&](OpBuilder &b, Location loc, ArrayRef<Value> rows, Value y) {
              // 16-lane blocks already hold two blocks of 8.
              if (tiles > 1)
                return blockByBlock(b, loc, rows, y);
              for (int64_t c = 0; c < blocks; c += 2)
                y = interleavedRows(b, loc, blockColumn(b, loc, c), rows,
                                    std::min<int64_t>(2, blocks - c), 2, y);
              return y;
            });
        return byRows(afterTwos, 1, y1,
                      [&](OpBuilder &b, Location loc, ArrayRef<Value> rows, Value y) {
                        return interleavedRows(b, loc, column, rows, wideBlocks,
                                               std::max<int64_t>(2, 8 / wideBlocks), y, tiles);
                      })
            .second;
      };
      int64_t span = rowBlocks * kLanes;
      Value pairsEnd = arith::SubIOp::create(
          b, loc, end,
          arith::RemUIOp::create(b, loc, arith::SubIOp::create(b, loc, end, begin),
                                 cIndex(b, loc, span)));
      y = emitTensorLoop(b, loc, begin, pairsEnd, b.getIndexAttr(span), y,
                         [&](OpBuilder &b, Location loc, Value column, Value y) {
                           return rowsOf(b, loc, column, rowBlocks, y);
                         });
      // (Tiles of 16 x 4 hold 16 columns: pairs of blocks.)
      int64_t restBlocks = interleavedBytes ? 2 : 1;
      return emitTensorLoop(b, loc, pairsEnd, end, b.getIndexAttr(restBlocks * kLanes), y,
                            [&](OpBuilder &b, Location loc, Value column, Value y) {
                              return rowsOf(b, loc, column, restBlocks, y);
                            });
    };

    // Many rows in a full column tile: a GEMM (GemmTiles.h) whose panels are
    // the tile's weights, dequantized per block of kPanelK codes. The
    // dequantization is amortized over all rows.
    GemmMicroKernel micro = gemmMicroKernel(vectorRegisters);
    // Segments of a panel's K within one group: a group, or the panel
    // where groups are longer (panels start at multiples of kPanelK); a run
    // of 8 codes where neither divides the other.
    int64_t fillSegment = kPanelK % group == 0 || group % kPanelK == 0
                              ? std::min(group, kPanelK)
                              : kLanes;
    // The runs of 8 codes of the panel segment from kSeg, each through
    // `body`.
    auto segmentRuns = [&](OpBuilder &b, Location loc, Value kSeg, Value kcLen, Value panel,
                           function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
      if (fillSegment == kLanes)
        return body(b, loc, kSeg, panel);
      return emitTensorLoop(b, loc, kSeg,
                            minIndex(b, loc, kSeg, b.getIndexAttr(fillSegment), kcLen),
                            b.getIndexAttr(kLanes), panel, body);
    };
    auto gemmRows = [&](OpBuilder &b, Location loc, Value nTile, Value rowsEnd,
                        Value y) -> Value {
      auto fill = [&](OpBuilder &b, Location loc, Value kc, Value kcLen,
                      Value panel) -> Value {
        // The panel: blocks of 8 columns x 8 codes, dequantized a column
        // (8 codes) at a time, transposed in registers and stored as 8 rows
        // of 8 columns. The codes of a block go in segments within one group
        // (panels start at multiples of kPanelK), whose zero points and
        // scales are read once per segment.
        return emitTensorLoop(
            b, loc, c0, cIndex(b, loc, kColumnTile), b.getIndexAttr(kLanes), panel,
            [&](OpBuilder &b, Location loc, Value jj, Value panel) -> Value {
              Value which = arith::DivUIOp::create(b, loc, jj, cIndex(b, loc, kPanelColumns));
              Value lane = arith::RemUIOp::create(b, loc, jj, cIndex(b, loc, kPanelColumns));
              SmallVector<Value> nIdx = columnIndices(
                  b, loc, arith::AddIOp::create(b, loc, nTile, jj), kLanes);
              return emitTensorLoop(
                  b, loc, c0, kcLen, b.getIndexAttr(fillSegment), panel,
                  [&](OpBuilder &b, Location loc, Value kSeg, Value panel) -> Value {
                    Value gIv = arith::DivUIOp::create(
                        b, loc, arith::AddIOp::create(b, loc, kc, kSeg),
                        cIndex(b, loc, group));
                    SmallVector<Value> zeroLanes, scale, offset;
                    for (Value n : nIdx)
                      groupTerms(b, loc, n, gIv, zeroLanes, scale, offset);
                    auto segmentBody = [&](OpBuilder &b, Location loc, Value k8,
                                           Value panel) -> Value {
                      Value kk = arith::AddIOp::create(b, loc, kc, k8);
                      SmallVector<Value> columns;
                      for (int64_t c = 0; c < kLanes; ++c) {
                        Value values =
                            unpack8(b, loc, nIdx[c], runOf(b, loc, kk), zeroLanes[c]);
                        columns.push_back(
                            offset[c]
                                ? Value(vector::FMAOp::create(b, loc, values, scale[c],
                                                              offset[c]))
                                : Value(arith::MulFOp::create(b, loc, values, scale[c])));
                      }
                      SmallVector<Value> rows = emitTranspose8x8(b, loc, columns);
                      for (int64_t l = 0; l < kLanes; ++l) {
                        Value kIdx = arith::AddIOp::create(b, loc, k8, cIndex(b, loc, l));
                        panel = vector::TransferWriteOp::create(
                                    b, loc, rows[l], panel, ValueRange{which, kIdx, lane},
                                    ArrayRef<bool>(inBounds))
                                    .getResult();
                      }
                      return panel;
                    };
                    return segmentRuns(b, loc, kSeg, kcLen, panel, segmentBody);
                  });
            });
      };
      // From bit planes the panel's rows come without a transpose: the 8
      // bytes of a plane for 8 consecutive columns (contiguous in a tile)
      // hold bit p of their 8 codes; row c of the block takes bit c of each
      // to bit p. Scales and zero points are gathered across the columns.
      auto planeFill = [&](OpBuilder &b, Location loc, Value kc, Value kcLen,
                           Value panel) -> Value {
        auto bytesType = VectorType::get({kLanes}, b.getI8Type());
        return emitTensorLoop(
            b, loc, c0, cIndex(b, loc, kColumnTile), b.getIndexAttr(kLanes), panel,
            [&](OpBuilder &b, Location loc, Value jj, Value panel) -> Value {
              Value which = arith::DivUIOp::create(b, loc, jj, cIndex(b, loc, kPanelColumns));
              Value lane = arith::RemUIOp::create(b, loc, jj, cIndex(b, loc, kPanelColumns));
              Value n0 = arith::AddIOp::create(b, loc, nTile, jj);
              SmallVector<Value> cols;
              for (int64_t l = 0; l < kLanes; ++l)
                cols.push_back(l ? Value(arith::AddIOp::create(b, loc, n0, cIndex(b, loc, l)))
                                 : n0);
              // `element(n)` of the 8 columns, as a vector.
              auto gather = [&](OpBuilder &b, VectorType type,
                                function_ref<Value(Value)> element) -> Value {
                SmallVector<Value> elements;
                for (Value n : cols)
                  elements.push_back(element(n));
                return vector::FromElementsOp::create(b, loc, type, elements);
              };
              auto groupValues = [&](OpBuilder &b, Value tensor, Value gIv) {
                return gather(b, vecF32, [&](Value n) -> Value {
                  Value v = termElement(b, loc, tensor, n, gIv);
                  return v.getType().isF32() ? v : Value(arith::ExtFOp::create(b, loc, f32, v));
                });
              };
              // Segments within one group (as the canonical fill's), whose
              // scales and zero points are gathered once.
              return emitTensorLoop(
                  b, loc, c0, kcLen, b.getIndexAttr(fillSegment), panel,
                  [&](OpBuilder &b, Location loc, Value kSeg, Value panel) -> Value {
                    Value gIv = arith::DivUIOp::create(
                        b, loc, arith::AddIOp::create(b, loc, kc, kSeg), cIndex(b, loc, group));
                    Value zeroLanes;
                    if (zeroMode == ZeroPointMode::Int)
                      zeroLanes = gather(b, vecI32, [&](Value n) -> Value {
                        return zeroPointCode(b, loc, n, gIv);
                      });
                    Value scale = groupValues(b, scales, gIv);
                    Value offset = needXsum ? groupValues(b, zeros, gIv) : Value();
                    auto segmentBody = [&](OpBuilder &b, Location loc, Value k8,
                                           Value panel) -> Value {
                      Value kk = arith::AddIOp::create(b, loc, kc, k8);
                      Value run = runOf(b, loc, kk);
                      // Tiles of L x 32: the 8 columns' bytes lie 4 apart; a
                      // column's 4 bytes (runs) are read as an i32 lane and
                      // shifted to the run's (the bytes above it are never
                      // looked at: a code takes bits c < 8 of the lane).
                      Value base, runShift;
                      if (runsPerTileRow == 1) {
                        base = planeByte(b, loc, n0, run);
                      } else {
                        base = planeRowByte(b, loc, n0, run);
                        Value j =
                            arith::RemUIOp::create(b, loc, run, cIndex(b, loc, runsPerTileRow));
                        runShift = vector::BroadcastOp::create(
                            b, loc, vecI32,
                            arith::IndexCastOp::create(
                                b, loc, i32, arith::MulIOp::create(b, loc, j, cIndex(b, loc, 8))));
                      }
                      SmallVector<Value> planes;
                      for (int64_t p = 0; p < bits; ++p) {
                        Value at = p ? Value(arith::AddIOp::create(
                                           b, loc, base, cIndex(b, loc, p * planeBytes)))
                                     : base;
                        Value lanes;
                        if (runShift) {
                          Value words = vector::TransferReadOp::create(
                              b, loc, VectorType::get({4 * kLanes}, b.getI8Type()), weights,
                              ValueRange{at},
                              arith::ConstantIntOp::create(b, loc, b.getI8Type(), 0),
                              ArrayRef<bool>(inBounds));
                          lanes = arith::ShRUIOp::create(
                              b, loc, vector::BitCastOp::create(b, loc, vecI32, words), runShift);
                        } else {
                          Value bytes = vector::TransferReadOp::create(
                              b, loc, bytesType, weights, ValueRange{at},
                              arith::ConstantIntOp::create(b, loc, b.getI8Type(), 0),
                              ArrayRef<bool>(inBounds));
                          lanes = arith::ExtUIOp::create(b, loc, vecI32, bytes);
                        }
                        planes.push_back(lanes);
                      }
                      // Code c of each column: from 5 bits on, the planes'
                      // bytes are transposed as 8 x 8 bit matrices, one per
                      // column in an i64 lane (byte p: plane p's byte; three
                      // delta swaps; then byte c: code c), 4 operations per
                      // plane and 18 in all instead of 3 per plane and code.
                      Value transposed, byteMask;
                      if (bits >= kMinBitsForPlaneTranspose) {
                        byteMask = i32Splat(0xFF);
                        auto vecI64 = VectorType::get({kLanes}, b.getI64Type());
                        auto i64Splat = [&](uint64_t v) -> Value {
                          return arith::ConstantOp::create(
                              b, loc,
                              DenseElementsAttr::get(vecI64, b.getI64IntegerAttr(int64_t(v))));
                        };
                        for (int64_t p = 0; p < bits; ++p) {
                          Value byte = arith::ExtUIOp::create(b, loc, vecI64, planes[p]);
                          if (runShift)
                            byte = arith::AndIOp::create(b, loc, byte, i64Splat(0xFF));
                          if (p)
                            byte = arith::ShLIOp::create(b, loc, byte, i64Splat(8 * p));
                          transposed = transposed
                                           ? Value(arith::OrIOp::create(b, loc, transposed, byte))
                                           : byte;
                        }
                        for (auto [shift, mask] :
                             {std::pair<uint64_t, uint64_t>{7, 0x00AA00AA00AA00AAull},
                              {14, 0x0000CCCC0000CCCCull},
                              {28, 0x00000000F0F0F0F0ull}}) {
                          Value x = transposed, shiftVec = i64Splat(shift);
                          Value t = arith::AndIOp::create(
                              b, loc,
                              arith::XOrIOp::create(b, loc, x,
                                                    arith::ShRUIOp::create(b, loc, x, shiftVec)),
                              i64Splat(mask));
                          transposed = arith::XOrIOp::create(
                              b, loc, arith::XOrIOp::create(b, loc, x, t),
                              arith::ShLIOp::create(b, loc, t, shiftVec));
                        }
                      } else {
                        for (int64_t p = 1; p < bits; ++p)
                          planes[p] = arith::ShLIOp::create(b, loc, planes[p], splatOf[p]);
                      }
                      auto codesOf = [&](int64_t c) -> Value {
                        if (transposed) {
                          auto vecI64 = cast<VectorType>(transposed.getType());
                          Value lane = c ? Value(arith::ShRUIOp::create(
                                               b, loc, transposed,
                                               arith::ConstantOp::create(
                                                   b, loc,
                                                   DenseElementsAttr::get(
                                                       vecI64, b.getI64IntegerAttr(8 * c)))))
                                         : transposed;
                          Value codes = arith::TruncIOp::create(b, loc, vecI32, lane);
                          // Signed: the sign extension's shifts drop the
                          // bytes above; unsigned: masked to the code.
                          if (isSigned)
                            return signExtend(b, loc, codes);
                          return c + 1 < kLanes
                                     ? Value(arith::AndIOp::create(b, loc, codes, byteMask))
                                     : codes;
                        }
                        Value codes;
                        for (int64_t p = 0; p < bits; ++p) {
                          Value shifted = c ? Value(arith::ShRUIOp::create(b, loc, planes[p],
                                                                           splatOf[c]))
                                            : planes[p];
                          Value bit = arith::AndIOp::create(b, loc, shifted, bitOf[p]);
                          codes = codes ? Value(arith::OrIOp::create(b, loc, codes, bit)) : bit;
                        }
                        return isSigned ? signExtend(b, loc, codes) : codes;
                      };
                      for (int64_t c = 0; c < kLanes; ++c) {
                        Value values = codesToF32(b, loc, codesOf(c), zeroLanes);
                        values = offset
                                     ? Value(vector::FMAOp::create(b, loc, values, scale, offset))
                                     : Value(arith::MulFOp::create(b, loc, values, scale));
                        Value kIdx = arith::AddIOp::create(b, loc, k8, cIndex(b, loc, c));
                        panel = vector::TransferWriteOp::create(b, loc, values, panel,
                                                                ValueRange{which, kIdx, lane},
                                                                ArrayRef<bool>(inBounds))
                                    .getResult();
                      }
                      return panel;
                    };
                    return segmentRuns(b, loc, kSeg, kcLen, panel, segmentBody);
                  });
            });
      };
      PanelFill panelFill = planeRows ? PanelFill(planeFill)
                            : laneCodes ? PanelFill(interleavedFill)
                                        : PanelFill(fill);
      return emitGemmColumnTile(b, loc, xPacked, rowsEnd, k, micro, y, panelFill, kColumnTile);
    };

    // Column tiles are independent: an scf.forall over slices of y, which
    // tessera-outline-parallel-loops hands to the runtime's thread pool.
    Value y = emitColumnTiles(rewriter, loc, op.getInit(), m, n, [&](OpBuilder &b, Location loc,
                                                                   Value nTile,
                                                                   OpFoldResult columnCount,
                                                                   Value yTile) -> Value {
      nTileBegin = nTile;
      Value columns = getValueOrCreateConstantIndexOp(b, loc, columnCount);
      Value nTileEnd = arith::AddIOp::create(b, loc, nTile, columns);
      // Full tiles with enough rows: the GEMM (gemmRowRange); the other
      // rows (all of them in other tiles) below.
      Value enoughRows, gemmRowsEnd;
      std::tie(enoughRows, gemmRowsEnd) = gemmRowRange(b, loc);
      Value useGemm = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, columns,
                                cIndex(b, loc, kColumnTile)),
          enoughRows);
      auto dispatch = scf::IfOp::create(
          b, loc, useGemm,
          [&](OpBuilder &b, Location loc) {
            Value y = gemmRows(b, loc, nTile, gemmRowsEnd, yTile);
            scf::YieldOp::create(b, loc, ValueRange{y, gemmRowsEnd});
          },
          [&](OpBuilder &b, Location loc) {
            scf::YieldOp::create(b, loc, ValueRange{yTile, c0});
          });
      yTile = dispatch.getResult(0);
      Value restStart = dispatch.getResult(1);
      if (laneCodes)
        yTile = interleavedColumns(b, loc, nTile, nTileEnd, restStart, yTile);
      else
        yTile = emitTensorLoop(
              b, loc, restStart, m, b.getIndexAttr(kRowChunk), yTile,
              [&](OpBuilder &b, Location loc, Value mChunk, Value y) {
                mEnd = minIndex(b, loc, mChunk, b.getIndexAttr(kRowChunk), m);
                return emitTensorLoop(
                    b, loc, c0, numGroupsV, groupStep, y,
                    [&](OpBuilder &b, Location loc, Value gBlock, Value y) {
                      gBegin = gBlock;
                      gEnd = minIndex(b, loc, gBlock, groupStep, numGroupsV);
                      // Columns [begin, end) from nIv, `cols` at a time (or
                      // `step` apart), their rows in blocks of 8, 4, then
                      // single rows; or only the blocks, or only the rest.
                      enum class Rows { All, Blocks, Singles };
                      auto columnsBy = [&](Value begin, Value end, int64_t cols, Value y,
                                           int64_t step = 0, Rows rows = Rows::All) {
                        return emitTensorLoop(
                            b, loc, begin, end, b.getIndexAttr(step ? step : cols), y,
                            [&](OpBuilder &b, Location loc, Value nIv, Value y) {
                              if (rows == Rows::Singles) {
                                Value afterFours = fullBlocksEnd(
                                    b, loc, fullBlocksEnd(b, loc, mChunk, kRows), 4);
                                return rowsFrom(b, loc, afterFours, 1, nIv, y, cols).second;
                              }
                              auto [afterBlocks, y0] =
                                  rowsFrom(b, loc, mChunk, kRows, nIv, y, cols);
                              auto [afterFours, y1] =
                                  rowsFrom(b, loc, afterBlocks, 4, nIv, y0, cols);
                              if (rows == Rows::Blocks)
                                return y1;
                              return rowsFrom(b, loc, afterFours, 1, nIv, y1, cols).second;
                            });
                      };
                      // Pairs of columns where the registers hold both
                      // columns' accumulators (2 x 8 with 32 registers).
                      auto columns = [&](Value begin, Value end, Value y) {
                        if (spreadColumns > 1) {
                          // The blocks of rows column by column; then single
                          // rows in blocks of spreadColumns x spreadStride
                          // columns, spreadColumns at a time spreadStride
                          // apart, and the columns past the last block.
                          y = columnsBy(begin, end, 1, y, 0, Rows::Blocks);
                          int64_t span = spreadColumns * spreadStride;
                          Value blocksEnd = arith::SubIOp::create(
                              b, loc, end,
                              arith::RemUIOp::create(b, loc,
                                                     arith::SubIOp::create(b, loc, end, begin),
                                                     cIndex(b, loc, span)));
                          columnStride = spreadStride;
                          y = emitTensorLoop(
                              b, loc, begin, blocksEnd, b.getIndexAttr(span), y,
                              [&](OpBuilder &b, Location loc, Value nb, Value y) {
                                return columnsBy(
                                    nb,
                                    arith::AddIOp::create(b, loc, nb,
                                                          cIndex(b, loc, spreadStride)),
                                    spreadColumns, y, /*step=*/1, Rows::Singles);
                              });
                          columnStride = 1;
                          return columnsBy(blocksEnd, end, 1, y, 0, Rows::Singles);
                        }
                        if (vectorRegisters < 32)
                          return columnsBy(begin, end, 1, y);
                        Value pairsEnd = arith::SubIOp::create(
                            b, loc, end,
                            arith::AndIOp::create(b, loc,
                                                  arith::SubIOp::create(b, loc, end, begin),
                                                  cIndex(b, loc, 1)));
                        y = columnsBy(begin, pairsEnd, 2, y);
                        return columnsBy(pairsEnd, end, 1, y);
                      };
                      if (!needsExactTail)
                        return columns(nTile, nTileEnd, y);
                      // Wide reads up to the last column of the weights.
                      Value wideEnd = arith::MinUIOp::create(b, loc, nTileEnd,
                                                             cIndex(b, loc, n - 1));
                      wideReads = true;
                      y = columns(nTile, wideEnd, y);
                      wideReads = false;
                      y = columns(wideEnd, nTileEnd, y);
                      wideReads = true;
                      return y;
                    });
              });
      if (epilogue) {
        // The consumer on the tile, while it is in cache: its other inputs
        // sliced along the tile's rows and columns, written in place.
        SmallVector<Value> inputs;
        for (OpOperand *in : epilogue.getDpsInputOperands()) {
          if (in->get() == op.getResult()) {
            inputs.push_back(yTile);
            continue;
          }
          AffineMap map = epilogue.getMatchingIndexingMap(in);
          if (map.getNumResults() == 0) {
            inputs.push_back(in->get());
            continue;
          }
          SmallVector<OpFoldResult> inOffsets, inSizes;
          for (AffineExpr e : map.getResults()) {
            bool isRow = cast<AffineDimExpr>(e).getPosition() == 0;
            inOffsets.push_back(isRow ? OpFoldResult(b.getIndexAttr(0)) : OpFoldResult(nTile));
            inSizes.push_back(isRow ? OpFoldResult(m) : OpFoldResult(columns));
          }
          SmallVector<OpFoldResult> inStrides(map.getNumResults(), b.getIndexAttr(1));
          inputs.push_back(tensor::ExtractSliceOp::create(b, loc, in->get(), inOffsets,
                                                          inSizes, inStrides));
        }
        auto fused = linalg::GenericOp::create(
            b, loc, TypeRange{yTile.getType()}, inputs, ValueRange{yTile},
            epilogue.getIndexingMapsArray(), epilogue.getIteratorTypesArray());
        rewriter.cloneRegionBefore(epilogue.getRegion(), fused.getRegion(),
                                   fused.getRegion().end());
        yTile = fused.getResult(0);
      }
      return yTile;
    }, kColumnTile);
    if (epilogue) {
      rewriter.replaceOp(epilogue, y);
      rewriter.eraseOp(op);
      return success();
    }
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct TesseraLowerMpmmToVectorPass
    : public mlir::tessera::impl::TesseraLowerMpmmToVectorBase<
          TesseraLowerMpmmToVectorPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MpmmToVector>(&getContext(), vectorRegisters, byteDots, byteTiles);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
