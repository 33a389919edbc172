//===- TensorCoreKernel.cpp - mma.sync kernel with shared-memory staging --===//
//
// The tensor-core kernel of the CUDA pipeline, for Y (M x N) += X (M x K)
// W^T with W (N x K) staged by an MmaWeightStager (mpmm: decoded and
// dequantized codes; dense matmul: f16 values).
//
// Blocks of 256 threads (8 warps, 4 x 2) compute 128 x 64 tiles of Y; a warp
// computes 32 x 32 outputs as 2 x 4 tiles of mma.sync.m16n8k16 (f16 operands,
// f32 accumulators held in registers over all of K). K advances in steps of 32
// columns, staged in two shared-memory buffers: every thread does its share
// of staging the block's 64 weight rows (the MmaWeightStager's: for mpmm, one
// run of 8 codes decoded and dequantized in registers; for a dense matmul,
// f16 values copied) and converts 16 values of one of the block's 128 rows
// of x to f16. Step 0 is staged before the loop; in step s, each thread
// first issues its global loads for step s + 1 (x, and the stager's), then
// reads its fragments of step s from buffer s % 2 and the warp issues 16
// mma.sync, then the thread stores step s + 1 into the other buffer, and
// a barrier ends the step: the loads are in flight during the mma, and one
// barrier per step suffices (a buffer is rewritten only after the barrier
// that follows the last read of it). Each weight is staged once per block
// (not once per warp).
//
// Within a step, thread t of a quad (t = lane % 4) reads staged columns
// 8t .. 8t + 7 of its rows of x and of W: they fill its k-slots of the two
// mma.sync, slots {2t, 2t+1} and {2t+8, 2t+9} of the first taking columns
// 8t + {0, 1} and {2, 3}, those of the second {4, 5} and {6, 7}. The k-slots
// of A (x) and B (W) held by a thread depend only on t, and the slots of the
// four threads of a quad cover the 16 of an mma once, so this relabelling
// of k is the same for both operands and leaves each product unchanged,
// while every lane reads 16 contiguous bytes of a staged row (rows of 64
// bytes: the 8 lanes of a quarter warp read two consecutive rows, all 32
// banks once). Rows past M and N are clamped to the last one (loaded,
// computed, not stored): the mma is warp-wide, so every lane runs it.
//
// Fragments (PTX ISA, mma.m16n8k16 .f16; g = lane / 4):
//   A vector<4x2xf16>: rows g, g+8, g, g+8 of slots {2t, 2t+1}, {2t, 2t+1},
//                      {2t+8, 2t+9}, {2t+8, 2t+9};
//   B vector<2x2xf16>: column g, slots {2t, 2t+1} and {2t+8, 2t+9};
//   C vector<2x2xf32>: rows g and g+8, columns 2t and 2t+1.
//
// The emulated form (a test mode) runs, between the barriers, the same
// staging code thread by thread (into the same buffers in the same order)
// and the same fragment loads and result stores lane by lane, and computes
// each mma from the PTX layout above, written independently as the inverse
// maps (row, k) -> (lane, element).
//
//===----------------------------------------------------------------------===//

#include "TensorCoreKernel.h"
#include "KernelIndexBuilder.h"
#include "PackedCodes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::tessera;

MmaWeightStager::~MmaWeightStager() = default;

Value mlir::tessera::emitReadBuffer(OpBuilder &b, Location loc, Value tensor,
                                    bool contiguousRows) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  if (contiguousRows)
    strides.back() = 1;
  auto memrefType = MemRefType::get(
      type.getShape(), type.getElementType(),
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides));
  return bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                           /*readOnly=*/true);
}

void mlir::tessera::mapParallelLoop(scf::ParallelOp loop,
                                    ArrayRef<gpu::Processor> processors) {
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping;
  Builder b(loop.getContext());
  for (gpu::Processor p : processors)
    mapping.push_back(gpu::ParallelLoopDimMappingAttr::get(
        b.getContext(), p, b.getDimIdentityMap(), b.getDimIdentityMap()));
  (void)gpu::setMappingAttr(loop, mapping);
}

namespace {

constexpr int64_t kTilesM = 2, kTilesN = 4; // mma tiles (16 x 8) per warp
constexpr int64_t kWarpRows = 16 * kTilesM, kWarpCols = 8 * kTilesN;
constexpr int64_t kWarpsM = 4, kWarpsN = 2;
constexpr int64_t kWarps = kWarpsM * kWarpsN;
constexpr int64_t kBlockRows = kMmaBlockRows, kBlockCols = kMmaBlockCols;
constexpr int64_t kWarpSize = 32;
constexpr int64_t kThreads = kMmaThreads;
constexpr int64_t kStepCodes = kMmaStepK;
constexpr int64_t kTiles = kTilesM * kTilesN;
constexpr int64_t kRun = 8; // columns of a staged row a lane reads at once
constexpr int64_t kXPerThread = 16; // values of x a thread stages per step
static_assert(kBlockRows == kWarpRows * kWarpsM &&
                  kBlockCols == kWarpCols * kWarpsN &&
                  kThreads == kWarpSize * kWarps,
              "warps tile the block");
// The cooperative load of a step: each thread converts 16 values of x (2
// threads per row).
static_assert(kThreads * kXPerThread == kBlockRows * kStepCodes,
              "16 values of x per thread and step");

/// A lane's place: its quad (g = lane / 4) and slot (t = lane % 4), its
/// warp's first row and column in the block and in Y.
struct Lane {
  Value g, t;
  Value rowInBlock, colInBlock; // the warp's
  Value mWarp, nWarp;           // the warp's, in Y
};

/// A lane's operands of the 2 x 2 x 4 mma of one step (halves x m x n).
struct Fragments {
  Value a[kTilesM][2]; // vector<4x2xf16>
  Value b[kTilesN][2]; // vector<2x2xf16>
};

/// The two staging buffers of a block: x[2][128 x 32] and the weights
/// W[2][64 x 32] in f16, rows of 64 bytes. A lane reads 16 bytes of a row;
/// the 8 lanes of a quarter warp read 2 consecutive rows, 128 bytes in all
/// banks once.
struct Staging {
  Value x, w;
};

class MmaKernelBuilder : KernelIndexBuilder {
public:
  MmaKernelBuilder(OpBuilder &b, Location loc, ModuleOp module,
                   const TensorCoreProblem &p, MmaWeightStager &weights,
                   Value m)
      : KernelIndexBuilder(b, loc), module(module), p(p), weights(weights),
        m(m) {}

  void emit(bool emulate) {
    Value nBlocks = index((p.n + kBlockCols - 1) / kBlockCols);
    Value mBlocks = arith::CeilDivUIOp::create(b, loc, m, index(kBlockRows));
    if (emulate) {
      scf::ParallelOp::create(b, loc, ValueRange{index(0), index(0)},
                              ValueRange{nBlocks, mBlocks},
                              ValueRange{index(1), index(1)},
                              [&](OpBuilder &, Location, ValueRange ivs) {
                                emulatedBlock(ivs[0], ivs[1]);
                              });
      return;
    }
    declareSharedStaging();
    auto blocks = scf::ParallelOp::create(
        b, loc, ValueRange{index(0), index(0)}, ValueRange{nBlocks, mBlocks},
        ValueRange{index(1), index(1)},
        [&](OpBuilder &, Location, ValueRange ivs) {
          // Computed outside the thread loop, which keeps the canonicalizer
          // from merging the two loops (and dropping their mapping).
          Value n0 = mul(ivs[0], kBlockCols), m0 = mul(ivs[1], kBlockRows);
          auto threads = scf::ParallelOp::create(
              b, loc, ValueRange{index(0)}, ValueRange{index(kThreads)},
              ValueRange{index(1)}, [&](OpBuilder &, Location, ValueRange tid) {
                thread(n0, m0, tid[0]);
              });
          mapParallelLoop(threads, {gpu::Processor::ThreadX});
        });
    mapParallelLoop(blocks, {gpu::Processor::BlockX, gpu::Processor::BlockY});
  }

private:
  Value f16(Value v) {
    return arith::TruncFOp::create(b, loc, b.getF16Type(), v);
  }
  Value extract(Value vector, ArrayRef<int64_t> position) {
    return vector::ExtractOp::create(b, loc, vector, position);
  }

  /// Loads and stores of the staging buffers: 16-byte aligned (buffers
  /// aligned to 16, rows of 64 bytes, 8 or 16 values at multiples of 8).
  Value loadStaged(VectorType type, Value buffer, ValueRange indices) {
    return vector::LoadOp::create(b, loc, type, buffer, indices,
                                  /*nontemporal=*/false, llvm::Align(16));
  }
  void storeStaged(Value value, Value buffer, ValueRange indices) {
    vector::StoreOp::create(b, loc, value, buffer, indices,
                            /*nontemporal=*/false, llvm::Align(16));
  }

  /// The type of the two staging buffers of `rows` rows, in `memorySpace`.
  MemRefType stagingType(int64_t rows, Attribute memorySpace = {}) {
    return MemRefType::get({2, rows, kStepCodes}, b.getF16Type(),
                           MemRefLayoutAttrInterface(), memorySpace);
  }

  Attribute sharedMemory() {
    return gpu::AddressSpaceAttr::get(b.getContext(),
                                      gpu::AddressSpace::Workgroup);
  }

  /// Declares the staging buffers in GPU shared memory: private globals in
  /// the workgroup address space (each block has its own), taken inside the
  /// kernel by takeSharedStaging.
  void declareSharedStaging() {
    SymbolTable symbols(module);
    auto global = [&](StringRef base, int64_t rows) -> StringAttr {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      auto op = memref::GlobalOp::create(
          b, loc, base, b.getStringAttr("private"),
          stagingType(rows, sharedMemory()), /*initial_value=*/Attribute(),
          /*constant=*/false, b.getI64IntegerAttr(16));
      return symbols.insert(op); // renamed if taken
    };
    xName = global("__tessera_mma_x", kBlockRows);
    wName = global("__tessera_mma_w", kBlockCols);
  }

  Staging takeSharedStaging() {
    return Staging{memref::GetGlobalOp::create(
                       b, loc, stagingType(kBlockRows, sharedMemory()), xName),
                   memref::GetGlobalOp::create(
                       b, loc, stagingType(kBlockCols, sharedMemory()), wName)};
  }

  /// Lane `laneId` of warp `warp` of block (n0, m0).
  Lane lane(Value n0, Value m0, Value warp, Value laneId) {
    Lane l;
    l.g = div(laneId, 4);
    l.t = rem(laneId, 4);
    l.rowInBlock = mul(div(warp, kWarpsN), kWarpRows);
    l.colInBlock = mul(rem(warp, kWarpsN), kWarpCols);
    l.mWarp = add(m0, l.rowInBlock);
    l.nWarp = add(n0, l.colInBlock);
    return l;
  }

  /// Thread `tid`'s loads for the step at `kStep`: the weights' (the
  /// stager's), then 16 values of a row of x (rows past M are clamped to
  /// the last one: computed, not stored).
  SmallVector<Value> loadStep(Value n0, Value m0, Value tid, Value kStep) {
    SmallVector<Value> loaded = weights.load(b, loc, n0, tid, kStep);
    Value lastRow = arith::SubIOp::create(b, loc, m, index(1));
    Type xElement = cast<MemRefType>(p.x.getType()).getElementType();
    loaded.push_back(vector::LoadOp::create(
        b, loc, VectorType::get({kXPerThread}, xElement), p.x,
        ValueRange{minu(add(m0, xRow(tid)), lastRow), add(kStep, xCol(tid))}));
    return loaded;
  }

  /// Thread `tid`'s share of staging[buffer] from its loads: the weights,
  /// then its values of x converted to f16.
  void storeStep(const Staging &st, Value n0, Value tid, Value kStep,
                 ArrayRef<Value> loaded, Value buffer) {
    weights.store(b, loc, n0, tid, kStep, loaded.drop_back(), st.w, buffer);
    Value xs = loaded.back();
    if (!cast<VectorType>(xs.getType()).getElementType().isF16())
      xs = arith::TruncFOp::create(
          b, loc, VectorType::get({kXPerThread}, b.getF16Type()),
          emitToF32(b, loc, xs));
    storeStaged(xs, st.x, ValueRange{buffer, xRow(tid), xCol(tid)});
  }

  /// x: thread tid stages row tid / 2, values 16 (tid % 2) .. + 15.
  Value xRow(Value tid) { return div(tid, kStepCodes / kXPerThread); }
  Value xCol(Value tid) {
    return mul(rem(tid, kStepCodes / kXPerThread), kXPerThread);
  }

  /// The lane's fragments of the step staged in `buffer`. Thread t of a quad
  /// holds the k-slots {2t, 2t+1, 2t+8, 2t+9} of the first mma of the step and
  /// of the second; they are columns 8t .. 8t+3 and 8t+4 .. 8t+7 of the staged
  /// step (the same for x and W), so a lane reads 16 bytes of a row.
  Fragments fragments(const Staging &st, Value buffer, const Lane &l) {
    Fragments f;
    bFragments(st, buffer, l, f);
    for (int64_t i = 0; i < kTilesM; ++i)
      aFragments(st, buffer, l, i, f);
    return f;
  }

  /// The B fragments (both halves) of every n tile.
  void bFragments(const Staging &st, Value buffer, const Lane &l,
                  Fragments &f) {
    auto run16 = VectorType::get({kRun}, b.getF16Type());
    Value col = mul(l.t, kRun);
    auto bType = VectorType::get({2, 2}, b.getF16Type());
    for (int64_t j = 0; j < kTilesN; ++j) {
      Value row = add(add(l.colInBlock, 8 * j), l.g);
      Value w = loadStaged(run16, st.w, ValueRange{buffer, row, col});
      for (int64_t half = 0; half < 2; ++half) {
        int64_t c = 4 * half;
        f.b[j][half] = vector::FromElementsOp::create(
            b, loc, bType,
            ValueRange{extract(w, c), extract(w, c + 1), extract(w, c + 2),
                       extract(w, c + 3)});
      }
    }
  }

  /// The A fragments (both halves) of m tile i.
  void aFragments(const Staging &st, Value buffer, const Lane &l, int64_t i,
                  Fragments &f) {
    auto run16 = VectorType::get({kRun}, b.getF16Type());
    Value col = mul(l.t, kRun);
    auto aType = VectorType::get({4, 2}, b.getF16Type());
    Value rows[2];
    for (int64_t h = 0; h < 2; ++h)
      rows[h] = loadStaged(
          run16, st.x,
          ValueRange{buffer, add(add(l.rowInBlock, 16 * i + 8 * h), l.g), col});
    for (int64_t half = 0; half < 2; ++half) {
      int64_t c = 4 * half;
      f.a[i][half] = vector::FromElementsOp::create(
          b, loc, aType,
          ValueRange{extract(rows[0], c), extract(rows[0], c + 1),
                     extract(rows[1], c), extract(rows[1], c + 1),
                     extract(rows[0], c + 2), extract(rows[0], c + 3),
                     extract(rows[1], c + 2), extract(rows[1], c + 3)});
    }
  }

  /// Adds the lane's accumulators (tile i * kTilesN + j) into Y.
  void store(const Lane &l, ArrayRef<Value> acc) {
    for (int64_t i = 0; i < kTilesM; ++i)
      for (int64_t j = 0; j < kTilesN; ++j)
        for (int64_t h = 0; h < 2; ++h)
          for (int64_t e = 0; e < 2; ++e) {
            Value row = add(add(l.mWarp, 16 * i + 8 * h), l.g);
            Value col = add(add(l.nWarp, 8 * j + e), mul(l.t, 2));
            Value inside = arith::AndIOp::create(
                b, loc,
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                                      m),
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, col,
                                      index(p.n)));
            Value value = extract(acc[i * kTilesN + j], {h, e});
            scf::IfOp::create(b, loc, inside, [&](OpBuilder &, Location) {
              Value old =
                  memref::LoadOp::create(b, loc, p.y, ValueRange{row, col});
              Value sum =
                  arith::AddFOp::create(b, loc, emitToF32(b, loc, old), value);
              if (!old.getType().isF32())
                sum = arith::TruncFOp::create(b, loc, old.getType(), sum);
              memref::StoreOp::create(b, loc, sum, p.y, ValueRange{row, col});
              scf::YieldOp::create(b, loc);
            });
          }
  }

  /// A thread of the GPU kernel: per step, its share of the staging, a
  /// barrier, the warp's 16 mma.sync from shared memory, a barrier (the
  /// next step overwrites the staging); accumulators in registers.
  void thread(Value n0, Value m0, Value tid) {
    Staging st = takeSharedStaging();
    Lane l = lane(n0, m0, div(tid, kWarpSize), rem(tid, kWarpSize));
    auto cType = VectorType::get({2, 2}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, loc, cast<TypedAttr>(b.getZeroAttr(cType)));
    SmallVector<Value> init(kTiles, zero);
    storeStep(st, n0, tid, index(0), loadStep(n0, m0, tid, index(0)), index(0));
    gpu::BarrierOp::create(b, loc);
    auto steps = scf::ForOp::create(
        b, loc, index(0), index(p.k / kStepCodes), index(1), init,
        [&](OpBuilder &, Location, Value step, ValueRange acc) {
          auto [current, next, kNext] = bufferSchedule(step);
          SmallVector<Value> loaded = loadStep(n0, m0, tid, kNext);
          // B for every n tile, then each m tile's A and its mma (fewer
          // fragments live next to the loads in flight).
          Fragments f;
          bFragments(st, current, l, f);
          SmallVector<Value> updated(acc.begin(), acc.end());
          for (int64_t i = 0; i < kTilesM; ++i) {
            aFragments(st, current, l, i, f);
            for (int64_t half = 0; half < 2; ++half)
              for (int64_t j = 0; j < kTilesN; ++j) {
                Value &c = updated[i * kTilesN + j];
                c = nvgpu::MmaSyncOp::create(b, loc, f.a[i][half], f.b[j][half],
                                             c, ArrayRef<int64_t>{16, 8, 16});
              }
          }
          storeStep(st, n0, tid, kNext, loaded, next);
          gpu::BarrierOp::create(b, loc);
          scf::YieldOp::create(b, loc, updated);
        });
    store(l, llvm::to_vector_of<Value>(steps.getResults()));
  }

  /// For step s: the buffer it reads (s % 2), the one the next step is
  /// staged into, and the first column of the next step (the last step
  /// stages itself again, harmlessly, rather than branch).
  std::tuple<Value, Value, Value> bufferSchedule(Value step) {
    Value current = rem(step, 2);
    Value next = arith::SubIOp::create(b, loc, index(1), current);
    Value kNext =
        mul(minu(add(step, 1), index(p.k / kStepCodes - 1)), kStepCodes);
    return {current, next, kNext};
  }

  /// A block of the emulated kernel: between barriers, its threads one
  /// after another (staging in memory of the block's own); each warp's
  /// lanes load their fragments one after another and each mma.sync is
  /// computed from the layout, accumulators in memory.
  void emulatedBlock(Value bn, Value bm) {
    Value n0 = mul(bn, kBlockCols), m0 = mul(bm, kBlockRows);
    Type f16Type = b.getF16Type(), f32 = b.getF32Type();
    Staging st{memref::AllocaOp::create(b, loc, stagingType(kBlockRows),
                                        b.getI64IntegerAttr(16)),
               memref::AllocaOp::create(b, loc, stagingType(kBlockCols),
                                        b.getI64IntegerAttr(16))};
    Value acc = memref::AllocaOp::create(
        b, loc, MemRefType::get({kWarps, kWarpSize, kTiles, 4}, f32));
    Value aMem = memref::AllocaOp::create(
        b, loc, MemRefType::get({kWarpSize, kTilesM, 2, 8}, f16Type));
    Value bMem = memref::AllocaOp::create(
        b, loc, MemRefType::get({kWarpSize, kTilesN, 2, 4}, f16Type));
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    loop(kWarps, [&](Value warp) {
      loop(kWarpSize, [&](Value ln) {
        loop(kTiles, [&](Value tile) {
          loop(4, [&](Value e) {
            memref::StoreOp::create(b, loc, zero, acc,
                                    ValueRange{warp, ln, tile, e});
          });
        });
      });
    });
    // Every thread's share of the staging, through the GPU kernel's code.
    loop(kThreads, [&](Value tid) {
      storeStep(st, n0, tid, index(0), loadStep(n0, m0, tid, index(0)),
                index(0));
    });
    loop(p.k / kStepCodes, [&](Value step) {
      auto [current, next, kNext] = bufferSchedule(step);
      // The next step into the other buffer (on the GPU after the mma; the
      // buffers are distinct, so the order does not matter here).
      loop(kThreads, [&](Value tid) {
        storeStep(st, n0, tid, kNext, loadStep(n0, m0, tid, kNext), next);
      });
      loop(kWarps, [&](Value warp) {
        // Every lane's fragments, through the GPU kernel's code.
        loop(kWarpSize, [&](Value ln) {
          Fragments f = fragments(st, current, lane(n0, m0, warp, ln));
          for (int64_t half = 0; half < 2; ++half) {
            for (int64_t i = 0; i < kTilesM; ++i)
              for (int64_t e = 0; e < 8; ++e)
                memref::StoreOp::create(
                    b, loc, extract(f.a[i][half], {e / 2, e % 2}), aMem,
                    ValueRange{ln, index(i), index(half), index(e)});
            for (int64_t j = 0; j < kTilesN; ++j)
              for (int64_t e = 0; e < 4; ++e)
                memref::StoreOp::create(
                    b, loc, extract(f.b[j][half], {e / 2, e % 2}), bMem,
                    ValueRange{ln, index(j), index(half), index(e)});
          }
        });
        emulateMma(aMem, bMem, acc, warp);
      });
    });
    // Every lane's accumulators into Y, through the GPU kernel's code.
    loop(kWarps, [&](Value warp) {
      loop(kWarpSize, [&](Value ln) {
        Lane l = lane(n0, m0, warp, ln);
        auto cType = VectorType::get({2, 2}, f32);
        SmallVector<Value> tiles;
        for (int64_t tile = 0; tile < kTiles; ++tile) {
          SmallVector<Value> elements;
          for (int64_t e = 0; e < 4; ++e)
            elements.push_back(memref::LoadOp::create(
                b, loc, acc, ValueRange{warp, ln, index(tile), index(e)}));
          tiles.push_back(
              vector::FromElementsOp::create(b, loc, cType, elements));
        }
        store(l, tiles);
      });
    });
  }

  /// D += A B for each of the warp's tiles and both halves of the step,
  /// from the lanes' fragments in memory (emitEmulatedMmaElement).
  void emulateMma(Value aMem, Value bMem, Value acc, Value warp) {
    loop(2, [&](Value half) {
      loop(kTilesM, [&](Value i) {
        loop(kTilesN, [&](Value j) {
          loop(kWarpSize, [&](Value ln) {
            loop(4, [&](Value e) {
              Value tile = add(mul(i, kTilesN), j);
              Value d = emitEmulatedMmaElement(
                  b, loc, ln, e,
                  memref::LoadOp::create(b, loc, acc,
                                         ValueRange{warp, ln, tile, e}),
                  [&](Value lane, Value elem) -> Value {
                    return memref::LoadOp::create(
                        b, loc, aMem, ValueRange{lane, i, half, elem});
                  },
                  [&](Value lane, Value elem) -> Value {
                    return memref::LoadOp::create(
                        b, loc, bMem, ValueRange{lane, j, half, elem});
                  });
              memref::StoreOp::create(b, loc, d, acc,
                                      ValueRange{warp, ln, tile, e});
            });
          });
        });
      });
    });
  }

  ModuleOp module;
  const TensorCoreProblem &p;
  MmaWeightStager &weights;
  Value m;
  StringAttr xName, wName;
};

} // namespace

void mlir::tessera::emitTensorCoreKernel(OpBuilder &b, Location loc,
                                         ModuleOp module,
                                         const TensorCoreProblem &problem,
                                         MmaWeightStager &weights, Value m,
                                         bool emulate) {
  MmaKernelBuilder(b, loc, module, problem, weights, m).emit(emulate);
}

Value mlir::tessera::emitEmulatedMmaElement(
    OpBuilder &b, Location loc, Value lane, Value e, Value d,
    function_ref<Value(Value, Value)> aAt,
    function_ref<Value(Value, Value)> bAt) {
  struct Layout : KernelIndexBuilder {
    Layout(OpBuilder &b, Location loc) : KernelIndexBuilder(b, loc) {}
    using KernelIndexBuilder::add, KernelIndexBuilder::div,
        KernelIndexBuilder::index, KernelIndexBuilder::mul,
        KernelIndexBuilder::rem;
  } x(b, loc);
  Type f32 = b.getF32Type();
  Value row = x.add(x.div(lane, 4), x.mul(x.div(e, 2), 8));
  Value col = x.add(x.mul(x.rem(lane, 4), 2), x.rem(e, 2));
  auto sum = scf::ForOp::create(
      b, loc, x.index(0), x.index(16), x.index(1), ValueRange{d},
      [&](OpBuilder &, Location, Value kk, ValueRange partial) {
        Value kLow = x.div(x.rem(kk, 8), 2);
        Value aLane = x.add(x.mul(x.rem(row, 8), 4), kLow);
        Value aElem =
            x.add(x.add(x.mul(x.div(row, 8), 2), x.mul(x.div(kk, 8), 4)),
                  x.rem(kk, 2));
        Value bLane = x.add(x.mul(col, 4), kLow);
        Value bElem = x.add(x.mul(x.div(kk, 8), 2), x.rem(kk, 2));
        Value product = arith::MulFOp::create(
            b, loc, arith::ExtFOp::create(b, loc, f32, aAt(aLane, aElem)),
            arith::ExtFOp::create(b, loc, f32, bAt(bLane, bElem)));
        scf::YieldOp::create(
            b, loc,
            ValueRange{arith::AddFOp::create(b, loc, partial[0], product)});
      });
  return sum.getResult(0);
}
