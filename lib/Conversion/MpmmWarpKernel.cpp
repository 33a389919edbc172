//===- MpmmWarpKernel.cpp - mpmm for a few rows of x, a warp per W rows ---===//
//
// The CUDA-core kernel of tessera-lower-mpmm-to-parallel-loops for M below
// mma-min-rows where K and the group size are multiples of 32: memory-bound
// work (a row of x against all of W), so everything serves reading W once,
// in wide coalesced loads, with few instructions per code.
//
// A warp's unit of work is a strip of 1024 codes of K (32 lanes x 4 runs
// of 8 codes) for groupsPerWarp groups of wRows weight rows (4 with one row
// of x, 2 with four) and xRows rows of x. Where a run is whole aligned bytes
// (b = 1, 2, 4, 8), lane i's runs are runs i, 32 + i, 64 + i, 96 + i of the
// strip, so that each load of W and of x by the warp is contiguous; other
// widths read a lane's 4 runs as one 4b-byte unit (32 consecutive codes).
// With one row of x the lane's 32 values of x are loaded once per warp and
// kept in registers across its row groups. After each row group the lanes'
// sums are added by butterfly shuffles and one lane per (row of x, weight
// row) adds them into Y atomically (Y holds init; a row's strips are summed
// in any order). Blocks of 4 warps along (row blocks x strips), blocks
// along M by xRows.
//
// Codes are decoded in registers from the loaded words: code l is bits
// [l b, (l + 1) b) of the little-endian words (a funnel shift where it
// straddles two). An integer code becomes f32 through the mantissa of 2^23:
// bitcast((q & mask) ^ (0x4B000000 | sign)) = 2^23 + q (+ 2^(b-1) for
// signed codes, whose sign bit the XOR flips), so that subtracting one
// constant per run and row, 2^23 (+ 2^(b-1)) (+ z for an integer zero
// point), yields v - z exactly: a bit-field extract, an OR, an add and one
// FMA per code and row of x, and no group sum of x. Float formats and
// codebooks look their codes up in the decode table instead. The scale
// multiplies a run's dot product once; a float offset adds z * (sum of x
// over the run).
//
// With `emulate`, the loops carry no mapping and every lane adds its own
// partial sums into Y (no shuffles), so the same nest runs on a CPU.
//
//===----------------------------------------------------------------------===//

#include "MpmmGpuKernels.h"
#include "PackedCodes.h"
#include "TensorCoreKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kUnitCodes = 32; // codes per lane and strip
constexpr int64_t kStripCodes =
    kWarpSize * kUnitCodes; // codes per warp and strip
constexpr int64_t kRuns = kUnitCodes / kMpmmRunCodes; // runs per lane and strip
constexpr int64_t kWarpsPerBlock = 4;
// Warps to aim for: 32 per multiprocessor of a 132-SM H100 / H200 (an A100
// has 108). With one row of x, a warp takes as many row groups (up to 4) as
// leave at least half of them.
constexpr int64_t kTargetWarps = 132 * 32;

class WarpKernelBuilder {
public:
  WarpKernelBuilder(OpBuilder &b, Location loc, const MpmmGpuOperands &o,
                    Value m, int64_t xRows)
      : b(b), loc(loc), o(o), m(m), xRows(xRows), wRows(xRows == 1 ? 4 : 2) {
    strips = (o.k + kStripCodes - 1) / kStripCodes;
    int64_t rowGroups = (o.n + wRows - 1) / wRows;
    // With one row of x, a warp keeps the strip's x in registers and goes
    // through several row groups: as many as leave kTargetWarps / 2 warps.
    groupsPerWarp =
        xRows == 1
            ? std::clamp<int64_t>(rowGroups * strips / (kTargetWarps / 2), 1, 4)
            : 1;
    rowBlocks = (rowGroups + groupsPerWarp - 1) / groupsPerWarp;
    units = rowBlocks * strips;
  }

  void emit(bool emulate) {
    Value xTiles = arith::CeilDivUIOp::create(b, loc, m, index(xRows));
    Value blocks = index((units + kWarpsPerBlock - 1) / kWarpsPerBlock);
    auto outer = scf::ParallelOp::create(
        b, loc, ValueRange{index(0), index(0)}, ValueRange{blocks, xTiles},
        ValueRange{index(1), index(1)},
        [&](OpBuilder &, Location, ValueRange ivs) {
          // Outside the thread loop, which keeps the canonicalizer from
          // merging the two loops (and dropping their mapping).
          Value firstUnit = mul(ivs[0], kWarpsPerBlock);
          Value firstRow = mul(ivs[1], xRows);
          auto threads = scf::ParallelOp::create(
              b, loc, ValueRange{index(0)},
              ValueRange{index(kWarpsPerBlock * kWarpSize)},
              ValueRange{index(1)}, [&](OpBuilder &, Location, ValueRange tid) {
                thread(firstUnit, firstRow, tid[0], emulate);
              });
          if (!emulate)
            mapParallelLoop(threads, {gpu::Processor::ThreadX});
        });
    if (!emulate)
      mapParallelLoop(outer, {gpu::Processor::BlockX, gpu::Processor::BlockY});
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value add(Value a, Value c) { return arith::AddIOp::create(b, loc, a, c); }
  Value mul(Value a, int64_t c) {
    return arith::MulIOp::create(b, loc, a, index(c));
  }
  Value minu(Value a, int64_t c) {
    return arith::MinUIOp::create(b, loc, a, index(c));
  }
  Value ult(Value a, int64_t c) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, a,
                                 index(c));
  }

  /// One thread: lane `tid % 32` of warp unit firstUnit + tid / 32, a strip
  /// of K for groupsPerWarp groups of wRows weight rows.
  void thread(Value firstUnit, Value firstRow, Value tid, bool emulate) {
    Value unit =
        add(firstUnit, arith::DivUIOp::create(b, loc, tid, index(kWarpSize)));
    Value lane = arith::RemUIOp::create(b, loc, tid, index(kWarpSize));
    Value unitValid = ult(unit, units);
    // Warps past the last unit compute the last one and store nothing.
    Value clamped = minu(unit, units - 1);
    Value block = arith::DivUIOp::create(b, loc, clamped, index(strips));
    Value strip = arith::RemUIOp::create(b, loc, clamped, index(strips));
    SmallVector<Value> xRow, xValid;
    Value lastX = arith::SubIOp::create(b, loc, m, index(1));
    for (int64_t i = 0; i < xRows; ++i) {
      Value row = add(firstRow, index(i));
      xRow.push_back(arith::MinUIOp::create(b, loc, row, lastX));
      xValid.push_back(
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, m));
    }
    Lane at = lanePlace(strip, lane);
    // One row of x: its values for the lane's runs, loaded once.
    SmallVector<SmallVector<Value>> x;
    if (xRows == 1)
      for (int64_t run = 0; run < kRuns; ++run)
        x.push_back(loadX(at.k[run], xRow[0]));
    scf::ForOp::create(
        b, loc, index(0), index(groupsPerWarp), index(1), ValueRange{},
        [&](OpBuilder &, Location, Value g, ValueRange) {
          Value first = mul(add(mul(block, groupsPerWarp), g), wRows);
          SmallVector<Value> wRow, wValid;
          for (int64_t r = 0; r < wRows; ++r) {
            Value row = add(first, index(r));
            wRow.push_back(minu(row, o.n - 1));
            wValid.push_back(
                arith::AndIOp::create(b, loc, unitValid, ult(row, o.n)));
          }
          SmallVector<Value> sums = stripBody(at, wRow, xRow, x);
          for (int64_t r = 0; r < wRows; ++r)
            for (int64_t i = 0; i < xRows; ++i)
              addToY(sums[r * xRows + i], r * xRows + i, lane,
                     arith::AndIOp::create(b, loc, wValid[r], xValid[i]),
                     xRow[i], wRow[r], emulate);
          scf::YieldOp::create(b, loc);
        });
  }

  /// Adds the warp's sum of `sum` to Y[row, column] where `store`: summed
  /// across the lanes with butterfly shuffles (every lane ends with it) and
  /// added by lane `slot` % 32; emulated, every lane adds its own.
  void addToY(Value sum, int64_t slot, Value lane, Value store, Value row,
              Value column, bool emulate) {
    if (!emulate) {
      for (int64_t offset = kWarpSize / 2; offset >= 1; offset /= 2)
        sum = arith::AddFOp::create(
            b, loc, sum,
            gpu::ShuffleOp::create(b, loc, sum, offset, kWarpSize,
                                   gpu::ShuffleMode::XOR)
                .getShuffleResult());
      Value mine = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane,
                                         index(slot % kWarpSize));
      store = arith::AndIOp::create(b, loc, store, mine);
    }
    scf::IfOp::create(b, loc, store, [&](OpBuilder &, Location) {
      memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addf, sum, o.y,
                                  ValueRange{row, column});
      scf::YieldOp::create(b, loc);
    });
  }

  /// Where a lane's 4 runs of a strip are: each run's first code (clamped
  /// into K) and whether it is inside K. Interleaved (b = 1, 2, 4, 8): run
  /// r of lane i is run 32 r + i of the strip (the warp's loads of W and x
  /// contiguous); else the lane's 4 runs are one unit of 32 consecutive
  /// codes (4b bytes, one load, one group; its x is 128 bytes per lane, so
  /// a warp's load of x spans 32 cache lines).
  struct Lane {
    bool interleaved;
    Value unitK; // the unit's first code (not interleaved)
    SmallVector<Value> k, inside;
  };
  Lane lanePlace(Value strip, Value lane) {
    Lane at;
    at.interleaved = llvm::isPowerOf2_32(o.bits);
    Value stripStart = mul(strip, kStripCodes);
    if (!at.interleaved)
      at.unitK = minu(add(stripStart, mul(lane, kUnitCodes)), o.k - kUnitCodes);
    for (int64_t run = 0; run < kRuns; ++run) {
      Value k = at.interleaved
                    ? add(stripStart,
                          mul(add(index(run * kWarpSize), lane), kMpmmRunCodes))
                    : add(stripStart, add(mul(lane, kUnitCodes),
                                          index(run * kMpmmRunCodes)));
      at.inside.push_back(ult(k, o.k));
      at.k.push_back(minu(k, o.k - kMpmmRunCodes));
    }
    return at;
  }

  /// The 8 values of row `row` of x from code k, as f32.
  SmallVector<Value> loadX(Value k, Value row) {
    Type xType = cast<MemRefType>(o.x.getType()).getElementType();
    auto xRun = VectorType::get({kMpmmRunCodes}, xType);
    int64_t xAlign = std::min<int64_t>(
        16, kMpmmRunCodes * xType.getIntOrFloatBitWidth() / 8);
    Value v =
        vector::LoadOp::create(b, loc, xRun, o.x, ValueRange{row, k},
                               /*nontemporal=*/false, llvm::Align(xAlign));
    SmallVector<Value> x;
    for (int64_t l = 0; l < kMpmmRunCodes; ++l)
      x.push_back(emitToF32(
          b, loc, vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{l})));
    return x;
  }

  /// The lane's 4 runs (placed by `at`) for every weight row and row of x
  /// (`hoistedX`: the runs' values of the one row of x, or empty), scaled,
  /// a run past K adding zero.
  SmallVector<Value> stripBody(const Lane &at, ArrayRef<Value> wRow,
                               ArrayRef<Value> xRow,
                               ArrayRef<SmallVector<Value>> hoistedX) {
    SmallVector<Value> unitWords;
    if (!at.interleaved)
      unitWords = loadWords(at.unitK, 4 * o.bits, wRow);
    SmallVector<Value> sums(wRows * xRows, f32(0));
    SmallVector<Value> scale, offset, floatZero;
    for (int64_t run = 0; run < kRuns; ++run) {
      Value k = at.k[run];
      SmallVector<Value> words =
          at.interleaved ? loadWords(k, o.bits, wRow) : unitWords;
      int64_t firstCode = at.interleaved ? 0 : run * kMpmmRunCodes;
      if (at.interleaved || run == 0)
        groupConstants(arith::DivUIOp::create(b, loc,
                                              at.interleaved ? k : at.unitK,
                                              index(o.group)),
                       wRow, scale, offset, floatZero);
      SmallVector<Value> dots(wRows * xRows, f32(0)), xSums(xRows, f32(0));
      auto rowOfX = [&](int64_t i) {
        SmallVector<Value> x =
            hoistedX.empty() ? loadX(k, xRow[i]) : hoistedX[run];
        if (o.zeroMode == ZeroPointMode::Float)
          for (Value v : x)
            xSums[i] = arith::AddFOp::create(b, loc, xSums[i], v);
        return x;
      };
      auto decoded = [&](int64_t r, int64_t l) -> Value {
        Value v = decode(words[r], firstCode + l);
        return offset[r] ? arith::SubFOp::create(b, loc, v, offset[r]) : v;
      };
      // The run's dot products. With one row of x: each weight row's codes
      // decoded straight into the FMAs; with several, the weight rows' codes
      // first, then one row of x at a time (8 values of x live instead of 8
      // per row).
      auto fma = [&](int64_t r, int64_t i, Value x, Value d) {
        dots[r * xRows + i] =
            math::FmaOp::create(b, loc, x, d, dots[r * xRows + i]);
      };
      if (xRows == 1) {
        SmallVector<Value> x = rowOfX(0);
        for (int64_t r = 0; r < wRows; ++r)
          for (int64_t l = 0; l < kMpmmRunCodes; ++l)
            fma(r, 0, x[l], decoded(r, l));
      } else {
        SmallVector<SmallVector<Value>> d(wRows);
        for (int64_t r = 0; r < wRows; ++r)
          for (int64_t l = 0; l < kMpmmRunCodes; ++l)
            d[r].push_back(decoded(r, l));
        for (int64_t i = 0; i < xRows; ++i) {
          SmallVector<Value> x = rowOfX(i);
          for (int64_t r = 0; r < wRows; ++r)
            for (int64_t l = 0; l < kMpmmRunCodes; ++l)
              fma(r, i, x[l], d[r][l]);
        }
      }
      // Scaled (and offset) into the sums, zero for a run past K.
      for (int64_t r = 0; r < wRows; ++r) {
        for (int64_t i = 0; i < xRows; ++i) {
          int64_t slot = r * xRows + i;
          Value term = arith::MulFOp::create(b, loc, scale[r], dots[slot]);
          if (floatZero[r])
            term = math::FmaOp::create(b, loc, floatZero[r], xSums[i], term);
          term = arith::SelectOp::create(b, loc, at.inside[run], term, f32(0));
          sums[slot] = arith::AddFOp::create(b, loc, sums[slot], term);
        }
      }
    }
    return sums;
  }

  /// The words holding `bytes` bytes of each weight row from code k (k a
  /// multiple of 8; the bytes a multiple of 4, or 1 or 2 bytes zero-extended
  /// to one word), read with one vector load per row.
  SmallVector<Value> loadWords(Value k, int64_t bytes, ArrayRef<Value> wRow) {
    auto byteVector = VectorType::get({bytes}, b.getI8Type());
    int64_t align = std::min<int64_t>(16, bytes & -bytes);
    SmallVector<Value> words;
    for (Value row : wRow) {
      Value at = arith::DivUIOp::create(
          b, loc, mul(add(mul(row, o.k), k), o.bits), index(8));
      Value loaded =
          vector::LoadOp::create(b, loc, byteVector, o.weights, ValueRange{at},
                                 /*nontemporal=*/false, llvm::Align(align));
      if (bytes < 4) {
        Type narrow = b.getIntegerType(8 * bytes);
        Value word = vector::ExtractOp::create(
            b, loc,
            vector::BitCastOp::create(b, loc, VectorType::get({1}, narrow),
                                      loaded),
            ArrayRef<int64_t>{0});
        loaded = vector::BroadcastOp::create(
            b, loc, VectorType::get({1}, b.getI32Type()),
            arith::ExtUIOp::create(b, loc, b.getI32Type(), word));
      } else {
        loaded = vector::BitCastOp::create(
            b, loc, VectorType::get({bytes / 4}, b.getI32Type()), loaded);
      }
      words.push_back(loaded);
    }
    return words;
  }

  /// Per weight row, for group `g`: the scale, what is subtracted from each
  /// decoded code (2^23 (+ 2^(b-1)) (+ z); z or nothing for a table lookup)
  /// and the float offset (or null).
  void groupConstants(Value g, ArrayRef<Value> wRow, SmallVector<Value> &scale,
                      SmallVector<Value> &offset,
                      SmallVector<Value> &floatZero) {
    scale.clear();
    offset.clear();
    floatZero.clear();
    bool tableCodes = bool(o.table);
    double bias =
        double(1 << 23) + (o.signedCodes ? double(1 << (o.bits - 1)) : 0.0);
    for (Value row : wRow) {
      auto [s, z] = emitGroupScaleZero(b, loc, o, row, g);
      scale.push_back(s);
      Value c = tableCodes ? Value() : f32(bias);
      if (o.zeroMode == ZeroPointMode::Int)
        c = c ? arith::AddFOp::create(b, loc, c, z) : z;
      offset.push_back(c);
      floatZero.push_back(o.zeroMode == ZeroPointMode::Float ? z : Value());
    }
  }

  /// Code `l` of a unit's words as f32: 2^23 + q (+ 2^(b-1) when signed),
  /// or its decode-table entry.
  Value decode(Value words, int64_t l) {
    int64_t bit = l * o.bits, word = bit / 32, shift = bit % 32;
    auto wordAt = [&](int64_t i) {
      return vector::ExtractOp::create(b, loc, words, ArrayRef<int64_t>{i});
    };
    Value field = wordAt(word);
    if (shift)
      field = arith::ShRUIOp::create(b, loc, field, i32(shift));
    if (shift + o.bits > 32)
      field = arith::OrIOp::create(
          b, loc, field,
          arith::ShLIOp::create(b, loc, wordAt(word + 1), i32(32 - shift)));
    int64_t mask = (int64_t(1) << o.bits) - 1;
    field = arith::AndIOp::create(b, loc, field, i32(mask));
    if (o.table) {
      Value idx = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), field);
      return emitToF32(
          b, loc, memref::LoadOp::create(b, loc, o.table, ValueRange{idx}));
    }
    int64_t magic =
        0x4B000000 | (o.signedCodes ? int64_t(1) << (o.bits - 1) : 0);
    return arith::BitcastOp::create(
        b, loc, b.getF32Type(),
        arith::XOrIOp::create(b, loc, field, i32(magic)));
  }

  OpBuilder &b;
  Location loc;
  const MpmmGpuOperands &o;
  Value m;
  int64_t xRows, wRows;
  // Strips of K, warps' blocks of weight rows, warps (a strip of a block).
  int64_t strips, groupsPerWarp, rowBlocks, units;
};

} // namespace

bool mlir::tessera::warpKernelFits(const MpmmGpuOperands &o) {
  return o.k % kUnitCodes == 0 && o.group % kUnitCodes == 0;
}

void mlir::tessera::emitWarpNest(OpBuilder &b, Location loc,
                                 const MpmmGpuOperands &o, Value m,
                                 int64_t xRows, bool emulate) {
  WarpKernelBuilder(b, loc, o, m, xRows).emit(emulate);
}
