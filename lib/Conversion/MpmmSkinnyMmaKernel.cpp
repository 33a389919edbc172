//===- MpmmSkinnyMmaKernel.cpp - mpmm for few rows of x on tensor cores ---===//
//
// The kernel of tessera-lower-mpmm-to-parallel-loops for M below
// mma-min-rows (sm_80 and later) with integer codes of 1, 2, 4 or 8 bits:
// Y^T (N x M) += W (N x K) X^T on mma.sync.m16n8k16, the weights as the A
// operand (16 rows of W per mma) and up to 8 rows of x as the B operand's
// 8 columns, so that a GEMV (M = 1) does its arithmetic on tensor cores
// and the CUDA cores only decode: a shift, a LOP3 and an HADD2 per pair of
// codes and one mma per 64 pairs of the warp, instead of 4 or more
// instructions per code on the CUDA cores.
//
// A warp takes two tiles of 16 weight rows and a range of K in chunks of C
// codes (C = 128, 64 or 32: the largest dividing the group, so that a
// chunk lies in one group). In a chunk, lane (g = lane / 4, t = lane % 4)
// reads the C/4 consecutive codes t C/4 .. of weight rows g and g + 8 of
// each tile (one load of C b / 32 bytes per row) and the same C/4 values of
// row g of the block's tile of 8 rows of x. The mma's k-slots are
// relabelled, the same way for A and B, so that a lane's slots are its own
// codes: pair j of the lane's codes is the codes at bits p and p + 16 of
// one 32-bit word, decoded as an f16x2 (the word shifted right by p, both
// fields masked and ORed into the mantissa of 1024 in one LOP3, the sign
// bits flipped by it where signed, then one HADD2 of -(1024 + 2^(b-1) + z)
// gives q - z exactly: integers below 2048 are exact in f16); mma i takes
// pairs 2i and 2i + 1 of the weight rows (A) and of x (B, x rounded to
// f16). Each
// chunk's products are summed in f32 by the mma from zero and scaled by
// the group's scales (one per weight row) into f32 accumulators, so only x
// is rounded (to f16: relative error 2^-11, as in the M >= mma-min-rows
// kernel). After its range of K each lane adds its accumulators for rows
// of x below M and weight rows below N into Y atomically (Y holds init;
// results are not bitwise reproducible). Blocks of 4 warps along (row
// pairs x ranges of K), blocks along M by 8 rows of x.
//
// With `emulate`, each warp's lanes compute their fragments one after
// another into memory and each mma.sync is computed from the PTX layout
// (as the tensor-core kernel's emulation does), so the same IR runs on a
// CPU.
//
//===----------------------------------------------------------------------===//

#include "KernelIndexBuilder.h"
#include "MpmmGpuKernels.h"
#include "PackedCodes.h"
#include "TensorCoreKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kTileRows = 16; // weight rows per mma
constexpr int64_t kTiles = 2;     // mma tiles of weight rows per warp
constexpr int64_t kXRows = 8;     // rows of x per block (the mma's n)
constexpr int64_t kWarpsPerBlock = 4;
// Warps to aim for: 32 per multiprocessor of a 132-SM H100 / H200 (H200,
// 4096 x 4096 W4, M = 1: 5.8 us at 16, 5.7 at 32; one 16-row tile per
// warp instead of two: 7.3 and 8.2 us at 32 and 64).
constexpr int64_t kTargetWarps = 132 * 32;

/// The codes of a chunk: the largest of 128, 64, 32 dividing the group,
/// such that a lane's C/4 codes fill whole 32-bit words.
int64_t chunkCodes(const MpmmGpuOperands &o) {
  for (int64_t c : {128, 64, 32})
    if (o.group % c == 0 && (c / 4) * o.bits % 32 == 0)
      return c;
  return 0;
}

/// A lane's fragments of one chunk: per tile, the weight rows' pairs (A:
/// rows g and g + 8), and the pairs of its row of x (B), as vector<2xf16>;
/// and per tile the two rows' scales.
struct ChunkFragments {
  SmallVector<Value> a[kTiles][2];
  SmallVector<Value> x;
  Value scale[kTiles][2];
};

class SkinnyMmaBuilder : KernelIndexBuilder {
public:
  SkinnyMmaBuilder(OpBuilder &b, Location loc, const MpmmGpuOperands &o,
                   Value m)
      : KernelIndexBuilder(b, loc), o(o), m(m), chunk(chunkCodes(o)) {
    laneCodes = chunk / 4;
    chunks = o.k / chunk;
    rowPairs = (o.n + kTiles * kTileRows - 1) / (kTiles * kTileRows);
    // Chunks per warp: the least divisor of `chunks` that leaves at most
    // kTargetWarps warps (fewer atomic adds into Y).
    chunksPerWarp = chunks;
    for (int64_t c = 1; c <= chunks; ++c)
      if (chunks % c == 0 && rowPairs * (chunks / c) <= kTargetWarps) {
        chunksPerWarp = c;
        break;
      }
    ranges = chunks / chunksPerWarp;
    units = rowPairs * ranges;
  }

  void emit(bool emulate) {
    Value xTiles = arith::CeilDivUIOp::create(b, loc, m, index(kXRows));
    Value blocks = index((units + kWarpsPerBlock - 1) / kWarpsPerBlock);
    auto outer = scf::ParallelOp::create(
        b, loc, ValueRange{index(0), index(0)}, ValueRange{blocks, xTiles},
        ValueRange{index(1), index(1)},
        [&](OpBuilder &, Location, ValueRange ivs) {
          Value firstUnit = mul(ivs[0], kWarpsPerBlock);
          Value firstX = mul(ivs[1], kXRows);
          if (emulate) {
            loop(kWarpsPerBlock, [&](Value warp) {
              emulatedWarp(add(firstUnit, warp), firstX);
            });
            return;
          }
          auto threads = scf::ParallelOp::create(
              b, loc, ValueRange{index(0)},
              ValueRange{index(kWarpsPerBlock * kWarpSize)},
              ValueRange{index(1)}, [&](OpBuilder &, Location, ValueRange tid) {
                Value unit = add(firstUnit, div(tid[0], kWarpSize));
                thread(unit, firstX, rem(tid[0], kWarpSize));
              });
          mapParallelLoop(threads, {gpu::Processor::ThreadX});
        });
    if (!emulate)
      mapParallelLoop(outer, {gpu::Processor::BlockX, gpu::Processor::BlockY});
  }

private:
  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  Value ult(Value a, Value c) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, a, c);
  }
  Value f16x2(double v) {
    auto type = VectorType::get({2}, b.getF16Type());
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(type,
                               ArrayRef<Attribute>{b.getF16FloatAttr(v)}));
  }
  /// A unit's place: its first weight row and first chunk.
  std::pair<Value, Value> place(Value unit) {
    Value clamped = minu(unit, index(units - 1));
    return {mul(div(clamped, ranges), kTiles * kTileRows),
            mul(rem(clamped, ranges), chunksPerWarp)};
  }

  /// Lane `lane`'s fragments of chunk `c` (g = lane / 4, t = lane % 4).
  ChunkFragments fragments(Value n0, Value firstX, Value lane, Value c) {
    ChunkFragments f;
    Value g = div(lane, 4), t = rem(lane, 4);
    Value k0 = add(mul(c, chunk), mul(t, laneCodes));
    Value group = div(mul(c, chunk), o.group);
    // The lane's row of x (clamped into M: its column is not stored).
    Value xRow =
        minu(add(firstX, g), arith::SubIOp::create(b, loc, m, index(1)));
    SmallVector<Value> x = loadX(xRow, k0);
    for (auto [lo, hi] : pairOrder()) {
      Value pair[2] = {x[lo], x[hi]};
      for (Value &v : pair)
        v = arith::TruncFOp::create(b, loc, b.getF16Type(), v);
      f.x.push_back(vector::FromElementsOp::create(
          b, loc, VectorType::get({2}, b.getF16Type()), pair));
    }
    for (int64_t tile = 0; tile < kTiles; ++tile)
      for (int64_t half = 0; half < 2; ++half) {
        Value row = add(add(n0, g), index(tile * kTileRows + half * 8));
        row = minu(row, index(o.n - 1));
        auto [s, z] = emitGroupScaleZero(b, loc, o, row, group);
        f.scale[tile][half] = s;
        f.a[tile][half] = decodePairs(loadWords(row, k0), z);
      }
    return f;
  }

  /// The lane's codes paired as the decoding pairs them: (bits p, p + 16)
  /// of each word, as indices into its C/4 codes.
  SmallVector<std::pair<int64_t, int64_t>> pairOrder() const {
    SmallVector<std::pair<int64_t, int64_t>> order;
    int64_t perWord = 32 / o.bits;
    for (int64_t w = 0; w < laneCodes * o.bits / 32; ++w)
      for (int64_t p = 0; p < 16; p += o.bits)
        order.push_back(
            {w * perWord + p / o.bits, w * perWord + (p + 16) / o.bits});
    return order;
  }

  /// The lane's C/4 values of row `row` of x from code k0, as f32.
  SmallVector<Value> loadX(Value row, Value k0) {
    Type xType = cast<MemRefType>(o.x.getType()).getElementType();
    int64_t width =
        std::min<int64_t>(laneCodes, 128 / xType.getIntOrFloatBitWidth());
    auto vType = VectorType::get({width}, xType);
    SmallVector<Value> x;
    for (int64_t i = 0; i < laneCodes; i += width) {
      Value v = vector::LoadOp::create(
          b, loc, vType, o.x, ValueRange{row, add(k0, i)},
          /*nontemporal=*/false,
          llvm::Align(width * xType.getIntOrFloatBitWidth() / 8));
      for (int64_t l = 0; l < width; ++l)
        x.push_back(emitToF32(
            b, loc,
            vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{l})));
    }
    return x;
  }

  /// The lane's C b / 32 words of weight row `row` from code k0.
  Value loadWords(Value row, Value k0) {
    int64_t bytes = laneCodes * o.bits / 8;
    Value at = div(mul(add(mul(row, o.k), k0), o.bits), 8);
    Value loaded =
        vector::LoadOp::create(b, loc, VectorType::get({bytes}, b.getI8Type()),
                               o.weights, ValueRange{at}, /*nontemporal=*/false,
                               llvm::Align(std::min<int64_t>(16, bytes)));
    return vector::BitCastOp::create(
        b, loc, VectorType::get({bytes / 4}, b.getI32Type()), loaded);
  }

  /// The pairs of codes (bits p and p + 16 of each word, in pairOrder())
  /// as f16x2 q - z, exactly: the word shifted right by p, the two fields
  /// masked and ORed into 1024's mantissa (one LOP3, which also flips the
  /// sign bits of signed codes): 1024 + q + 2^(b-1); then one HADD2 of
  /// -(1024 + 2^(b-1) + z) (integers below 2048 are exact in f16). (An
  /// in-place field at bit p would save the shift, but LLVM turns the FMA
  /// by 2^-p it then needs into f32 arithmetic and conversions.)
  SmallVector<Value> decodePairs(Value words, Value z) {
    int64_t mask = (int64_t(1) << o.bits) - 1;
    int64_t sign = o.signedCodes ? int64_t(1) << (o.bits - 1) : 0;
    auto half2 = VectorType::get({2}, b.getF16Type());
    double constant = -(1024.0 + double(sign));
    Value offset;
    if (!z) {
      offset = f16x2(constant);
    } else {
      Value v = arith::SubFOp::create(
          b, loc,
          arith::ConstantOp::create(b, loc, b.getF32FloatAttr(constant)), z);
      offset = vector::BroadcastOp::create(
          b, loc, half2, arith::TruncFOp::create(b, loc, b.getF16Type(), v));
    }
    SmallVector<Value> pairs;
    for (int64_t w = 0; w < laneCodes * o.bits / 32; ++w) {
      Value word =
          vector::ExtractOp::create(b, loc, words, ArrayRef<int64_t>{w});
      for (int64_t p = 0; p < 16; p += o.bits) {
        Value source =
            p ? arith::ShRUIOp::create(b, loc, word, i32(p)).getResult() : word;
        Value h = arith::XOrIOp::create(
            b, loc,
            arith::AndIOp::create(b, loc, source, i32(mask | mask << 16)),
            i32(0x64006400 | sign | sign << 16));
        h = vector::BitCastOp::create(
            b, loc, half2,
            vector::BroadcastOp::create(
                b, loc, VectorType::get({1}, b.getI32Type()), h));
        pairs.push_back(arith::AddFOp::create(b, loc, h, offset));
      }
    }
    return pairs;
  }

  /// mma i's A operand of a tile: pairs 2i and 2i + 1 of rows g and g + 8
  /// (a0a1, a2a3, a4a5, a6a7), and its B operand: pairs 2i and 2i + 1 of x.
  Value aOperand(const ChunkFragments &f, int64_t tile, int64_t i) {
    SmallVector<Value> parts = {f.a[tile][0][2 * i], f.a[tile][1][2 * i],
                                f.a[tile][0][2 * i + 1],
                                f.a[tile][1][2 * i + 1]};
    return stack(parts);
  }
  Value bOperand(const ChunkFragments &f, int64_t i) {
    return stack({f.x[2 * i], f.x[2 * i + 1]});
  }
  Value stack(ArrayRef<Value> pairs) {
    SmallVector<Value> elements;
    for (Value pair : pairs)
      for (int64_t e = 0; e < 2; ++e)
        elements.push_back(
            vector::ExtractOp::create(b, loc, pair, ArrayRef<int64_t>{e}));
    return vector::FromElementsOp::create(
        b, loc, VectorType::get({int64_t(pairs.size()), 2}, b.getF16Type()),
        elements);
  }

  /// acc + the chunk's products scaled by their rows' scales (c0 c1: row
  /// g, c2 c3: row g + 8).
  Value scaled(const ChunkFragments &f, int64_t tile, Value products,
               Value acc) {
    SmallVector<Value> sums;
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t j = 0; j < 2; ++j) {
        SmallVector<int64_t, 2> at = {h, j};
        sums.push_back(math::FmaOp::create(
            b, loc, vector::ExtractOp::create(b, loc, products, at),
            f.scale[tile][h], vector::ExtractOp::create(b, loc, acc, at)));
      }
    return vector::FromElementsOp::create(
        b, loc, VectorType::get({2, 2}, b.getF32Type()), sums);
  }

  /// One lane of the GPU kernel: its chunks' mma.sync, accumulators in
  /// registers, then its results added into Y.
  void thread(Value unit, Value firstX, Value lane) {
    auto [n0, c0] = place(unit);
    auto cType = VectorType::get({2, 2}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, loc, cast<TypedAttr>(b.getZeroAttr(cType)));
    auto chunkLoop = scf::ForOp::create(
        b, loc, index(0), index(chunksPerWarp), index(1),
        SmallVector<Value>(kTiles, zero),
        [&](OpBuilder &, Location, Value c, ValueRange acc) {
          ChunkFragments f = fragments(n0, firstX, lane, add(c0, c));
          SmallVector<Value> updated;
          for (int64_t tile = 0; tile < kTiles; ++tile) {
            Value products = zero;
            for (int64_t i = 0; i < laneCodes / 4; ++i)
              products = nvgpu::MmaSyncOp::create(b, loc, aOperand(f, tile, i),
                                                  bOperand(f, i), products,
                                                  ArrayRef<int64_t>{16, 8, 16});
            updated.push_back(scaled(f, tile, products, acc[tile]));
          }
          scf::YieldOp::create(b, loc, updated);
        });
    Value unitValid = ult(unit, index(units));
    for (int64_t tile = 0; tile < kTiles; ++tile)
      store(n0, firstX, lane, tile, chunkLoop.getResult(tile), unitValid);
  }

  /// Adds a lane's accumulators of `tile` (element (h, j): weight row g +
  /// 8 h, row of x 2t + j) into Y where both rows are inside.
  void store(Value n0, Value firstX, Value lane, int64_t tile, Value acc,
             Value unitValid) {
    Value g = div(lane, 4), t = rem(lane, 4);
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t j = 0; j < 2; ++j) {
        Value row = add(add(n0, g), index(tile * kTileRows + h * 8));
        Value xRow = add(add(firstX, mul(t, 2)), index(j));
        Value inside = arith::AndIOp::create(
            b, loc, unitValid,
            arith::AndIOp::create(b, loc, ult(row, index(o.n)), ult(xRow, m)));
        Value v =
            vector::ExtractOp::create(b, loc, acc, ArrayRef<int64_t>{h, j});
        scf::IfOp::create(b, loc, inside, [&](OpBuilder &, Location) {
          memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addf, v,
                                      o.y, ValueRange{xRow, row});
          scf::YieldOp::create(b, loc);
        });
      }
  }

  /// A warp of the emulated kernel: per chunk, its lanes' fragments one
  /// after another into memory, the mma.sync computed from the layout, then
  /// each lane's scaled sums; the accumulators in memory.
  void emulatedWarp(Value unit, Value firstX) {
    auto [n0, c0] = place(unit);
    Type f16 = b.getF16Type(), f32 = b.getF32Type();
    auto cType = VectorType::get({2, 2}, f32);
    int64_t mmas = laneCodes / 4;
    Value aMem = memref::AllocaOp::create(
        b, loc, MemRefType::get({kWarpSize, kTiles, mmas, 8}, f16));
    Value bMem = memref::AllocaOp::create(
        b, loc, MemRefType::get({kWarpSize, mmas, 4}, f16));
    Value acc = memref::AllocaOp::create(
        b, loc, MemRefType::get({kWarpSize, kTiles, 4}, f32));
    Value products = memref::AllocaOp::create(
        b, loc, MemRefType::get({kWarpSize, kTiles, 4}, f32));
    Value zero = arith::ConstantOp::create(
        b, loc, cast<TypedAttr>(b.getZeroAttr(cType)));
    auto fill = [&](Value mem) {
      loop(kWarpSize, [&](Value ln) {
        for (int64_t tile = 0; tile < kTiles; ++tile)
          storeElements(zero, mem, {ln, index(tile)});
      });
    };
    fill(acc);
    loop(chunksPerWarp, [&](Value c) {
      Value chunkIndex = add(c0, c);
      loop(kWarpSize, [&](Value ln) {
        ChunkFragments f = fragments(n0, firstX, ln, chunkIndex);
        for (int64_t i = 0; i < mmas; ++i) {
          for (int64_t tile = 0; tile < kTiles; ++tile)
            storeElements(aOperand(f, tile, i), aMem,
                          {ln, index(tile), index(i)});
          storeElements(bOperand(f, i), bMem, {ln, index(i)});
        }
      });
      fill(products);
      emulateMma(aMem, bMem, products, mmas);
      // Each lane's scaled products into its accumulators, through the GPU
      // kernel's code (its scales recomputed).
      loop(kWarpSize, [&](Value ln) {
        ChunkFragments f = fragments(n0, firstX, ln, chunkIndex);
        for (int64_t tile = 0; tile < kTiles; ++tile) {
          SmallVector<Value> at = {ln, index(tile)};
          storeElements(scaled(f, tile, loadElements(cType, products, at),
                               loadElements(cType, acc, at)),
                        acc, at);
        }
      });
    });
    Value unitValid = ult(unit, index(units));
    loop(kWarpSize, [&](Value ln) {
      for (int64_t tile = 0; tile < kTiles; ++tile)
        store(n0, firstX, ln, tile, loadElements(cType, acc, {ln, index(tile)}),
              unitValid);
    });
  }

  /// The elements of a 2-D vector, row-major, at mem[at..., e].
  void storeElements(Value v, Value mem, ArrayRef<Value> at) {
    auto type = cast<VectorType>(v.getType());
    int64_t cols = type.getDimSize(1);
    for (int64_t e = 0; e < type.getNumElements(); ++e) {
      SmallVector<Value> indices(at);
      indices.push_back(index(e));
      memref::StoreOp::create(
          b, loc,
          vector::ExtractOp::create(b, loc, v,
                                    ArrayRef<int64_t>{e / cols, e % cols}),
          mem, indices);
    }
  }
  Value loadElements(VectorType type, Value mem, ArrayRef<Value> at) {
    SmallVector<Value> elements;
    for (int64_t e = 0; e < type.getNumElements(); ++e) {
      SmallVector<Value> indices(at);
      indices.push_back(index(e));
      elements.push_back(memref::LoadOp::create(b, loc, mem, indices));
    }
    return vector::FromElementsOp::create(b, loc, type, elements);
  }

  /// products[lane][tile][e] += sum over the chunk's mmas of A B, from the
  /// lanes' fragments in memory (emitEmulatedMmaElement).
  void emulateMma(Value aMem, Value bMem, Value products, int64_t mmas) {
    loop(mmas, [&](Value i) {
      loop(kTiles, [&](Value tile) {
        loop(kWarpSize, [&](Value ln) {
          loop(4, [&](Value e) {
            Value d = emitEmulatedMmaElement(
                b, loc, ln, e,
                memref::LoadOp::create(b, loc, products,
                                       ValueRange{ln, tile, e}),
                [&](Value lane, Value elem) -> Value {
                  return memref::LoadOp::create(
                      b, loc, aMem, ValueRange{lane, tile, i, elem});
                },
                [&](Value lane, Value elem) -> Value {
                  return memref::LoadOp::create(b, loc, bMem,
                                                ValueRange{lane, i, elem});
                });
            memref::StoreOp::create(b, loc, d, products,
                                    ValueRange{ln, tile, e});
          });
        });
      });
    });
  }

  const MpmmGpuOperands &o;
  Value m;
  int64_t chunk, laneCodes = 0, chunks = 0, rowPairs = 0, chunksPerWarp = 0,
                 ranges = 0, units = 0;
};

} // namespace

bool mlir::tessera::skinnyMmaKernelFits(const MpmmGpuOperands &o) {
  if (o.table || !llvm::isPowerOf2_32(o.bits) || o.bits > 8 ||
      o.zeroMode == ZeroPointMode::Float)
    return false;
  int64_t chunk = chunkCodes(o);
  return chunk != 0 && o.k % chunk == 0;
}

void mlir::tessera::emitSkinnyMmaNest(OpBuilder &b, Location loc,
                                      const MpmmGpuOperands &o, Value m,
                                      bool emulate) {
  SkinnyMmaBuilder(b, loc, o, m).emit(emulate);
}
