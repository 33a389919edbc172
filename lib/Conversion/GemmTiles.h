//===- GemmTiles.h - Register-blocked GEMM tiles on tensors ------*- C++ -*-===//
//
// The GEMM shared by the vector lowerings of tessera.mpmm (many rows) and of
// dense f32 linalg.matmul (private to lib/Conversion). A tile computes
//
//   y[0:rowsEnd, 0:C] += x[0:rowsEnd, 0:K] * B[0:K, tile]
//
// for a tile of C columns (kGemmColumnTile unless the caller picks another
// multiple of the micro kernel's columns), where B's columns come from a caller-provided panel fill
// (dequantized weights, or a copy of a dense matrix), in blocks of kPanelK
// rows of B: panel[C / kPanelColumns][kPanelK][kPanelColumns] f32, each
// micro panel of 16 columns contiguous. Rows of x come packed by
// emitPackRowBlocks; a micro kernel (GemmMicroKernel) holds rows x 2
// vectors of accumulators, each vector `lanes` columns: per k two vector
// loads of B, a broadcast of x per row and 2 * rows FMAs. With 8 lanes its
// columns are one micro panel, with 16 (AVX-512) two.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_CONVERSION_GEMMTILES_H
#define TESSERA_LIB_CONVERSION_GEMMTILES_H

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::tessera {

constexpr int64_t kGemmLanes = 8;        // f32 lanes of a vector
constexpr int64_t kGemmRows = 8;         // rows of x per packed block
constexpr int64_t kGemmColumnTile = 256; // columns of a tile (thread work)
constexpr int64_t kPanelK = 256;         // rows of B per panel
constexpr int64_t kPanelColumns = 16;    // columns of a micro panel

/// scf.for [begin, end) by `step` carrying one tensor, `body` returning its
/// next value; returns the last.
Value emitTensorLoop(OpBuilder &b, Location loc, Value begin, Value end,
                     OpFoldResult step, Value init,
                     function_ref<Value(OpBuilder &, Location, Value iv, Value t)> body);

/// The column tiles of y (a tensor<rows x N>) over [0, columnsEnd), in an
/// scf.forall with y as shared output (the unit of work for threads; see
/// tessera-outline-parallel-loops): for each tile, `body(b, loc, nTile,
/// columns, yTile)` returns the new value of yTile = y[0:rows, nTile :
/// nTile + columns], which is inserted back. `columns` is `tileColumns`,
/// or less for the last tile if columnsEnd is not a multiple of it. Returns
/// the forall's result.
using ColumnTileBody = function_ref<Value(OpBuilder &b, Location loc, Value nTile,
                                          OpFoldResult columns, Value yTile)>;
Value emitColumnTiles(OpBuilder &b, Location loc, Value y, Value rows,
                      int64_t columnsEnd, ColumnTileBody body,
                      int64_t tileColumns = kGemmColumnTile);

/// The f32 lanes of the vectors the CPU kernels compute in on a target with
/// `vectorRegisters` vector registers: 16 with 32 (AVX-512), else 8 (AVX2).
int64_t vectorLanes(int64_t vectorRegisters);

/// The register block of a GEMM tile: `rows` rows of x times 2 vectors of
/// `lanes` f32 columns (2 * rows accumulators).
struct GemmMicroKernel {
  int64_t rows;
  int64_t lanes;
  int64_t columns() const { return 2 * lanes; }
};

/// The micro kernel for a target with `vectorRegisters` vector registers:
/// with 32 (AVX-512) 8 rows x 32 columns in 16-lane vectors, whose FMAs do
/// twice the work of 8-lane ones (one Emerald Rapids core, 4096 x 4096,
/// M = 256: dense f32 121-137 -> 68-88 ms, 4-bit mpmm 132-140 -> 61-73);
/// with 16 (AVX2) 4 rows x 16 columns in 8-lane vectors.
GemmMicroKernel gemmMicroKernel(int64_t vectorRegisters);

/// x (tensor<? x K x f32>, K a multiple of 8) packed by blocks of 8 rows:
/// packed[mb][kk][r][l] = x[mb*8 + r][kk*8 + l], for mb < M / 8 (full
/// blocks), or with `padded` mb < ceil(M / 8), zero for rows from M on. A
/// block's x for one k-step is contiguous and a block is one stream (rows of
/// x a multiple of 4 KiB apart would otherwise collide in L1's sets).
Value emitPackRowBlocks(OpBuilder &b, Location loc, Value x, int64_t k,
                        bool padded = false);

/// Fills the panel (a tensor<C / kPanelColumns x kPanelK x kPanelColumns x
/// f32>) with rows [kc, kc + kcLen) of B for the tile's C columns; returns
/// the new panel.
using PanelFill = function_ref<Value(OpBuilder &b, Location loc, Value kc,
                                     Value kcLen, Value panel)>;

/// Emits y[0:rowsEnd, 0:tileColumns] += x * B for the tile whose panel
/// `fill` produces; y is the tile's slice (tensor<? x ? x f32>, at least
/// rowsEnd rows and tileColumns columns, a multiple of micro.columns()),
/// rowsEnd at most M and at most 8 times the blocks of xPacked. A last,
/// partial register block of rows is computed on the zero rows of a padded
/// packing and stored only up to rowsEnd. Returns the new y.
Value emitGemmColumnTile(OpBuilder &b, Location loc, Value xPacked, Value rowsEnd,
                         int64_t k, GemmMicroKernel micro, Value y, PanelFill fill,
                         int64_t tileColumns = kGemmColumnTile);

/// The transpose of 8 vectors of 8 f32 lanes (out[i][j] = in[j][i]) in 24
/// two-source shuffles, the unpack / shuffle / lane-permute sequence that
/// x86 backends match to vunpck*ps, vshufps and vperm2f128.
SmallVector<Value> emitTranspose8x8(OpBuilder &b, Location loc, ArrayRef<Value> in);

} // namespace mlir::tessera

#endif // TESSERA_LIB_CONVERSION_GEMMTILES_H
