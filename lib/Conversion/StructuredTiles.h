//===- StructuredTiles.h - Vector tiles of the structured matmuls -*- C++ -*-===//
//
// Private to lib/Conversion: the pieces shared by the vector lowerings of
// tessera.monarch_mm and tessera.bsr_mm. Both vectorize over the rows of X
// (the batch): X is transposed into xt (K x M in panels of lanes, zero
// padded), each output row n of the transposed result is a sum of weights
// (broadcast scalars) times rows of xt, held in a register tile of
// `rows` output rows x `vectors` vectors of 8 lanes, and the transposed
// result is transposed back and added to init at the end.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_CONVERSION_STRUCTUREDTILES_H
#define TESSERA_LIB_CONVERSION_STRUCTUREDTILES_H

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::tessera {

/// The register tile: `rows` output rows x `vectors` vectors of 8 f32.
struct BroadcastTile {
  int64_t rows;
  int64_t vectors;
  /// Lanes (rows of X) per panel: 8 * vectors.
  int64_t width() const { return 8 * vectors; }
};

/// The register tile for a target with `vectorRegisters` registers: 6 x 4
/// (24 accumulators) with 32, 3 x 3 with 16.
BroadcastTile broadcastTileFor(int64_t vectorRegisters);

/// Transposed operands and results are kept in panels of `width` lanes:
/// tensor<panels x rows x width x f32>, element [m / width, k, m % width]
/// for row m of X, so that the rows a register tile reads are 4 * width
/// bytes apart whatever M is (rows of a plain M-wide transpose a multiple
/// of 4 KiB apart would collide in the caches' sets). X's M rows are
/// rounded up to 8; the last panel may be partly used.

/// xt = X^T in panels: xt[m / W, k, m % W] = x[m, k] for k < K and m < M,
/// 0 for K <= k < rows or M <= m < M rounded up to 8 (rows >= K rounded up
/// to 8). 8 x 8 blocks transposed in registers, in parallel over chunks of
/// K.
Value emitTransposeIn(OpBuilder &b, Location loc, Value x, int64_t rows, int64_t width);

/// Where a result added to `init` goes: init itself, or, for init = fill(0)
/// (what a graph's matmul starts from), the fill's destination with
/// `accumulate` false, so that the result is written instead of added to
/// zeros (and the fill dies).
struct ResultDestination {
  Value tensor;
  bool accumulate;
};
ResultDestination getResultDestination(Value init);

/// dest + yt^T (or yt^T with accumulate false): result[m, n] = dest[m, n] +
/// yt[m / W, n, m % W] for dest of M x N f32 (yt has at least N rounded up to
/// 8 rows), in parallel over panels x chunks of N.
Value emitTransposeOut(OpBuilder &b, Location loc, Value yt, Value dest, bool accumulate);

/// Where a register tile's lanes are: panel `panel`, lanes `lane0 + 8v`.
struct LanePosition {
  Value panel, lane0;
};

/// One step of a register tile: acc[r * vectors + v] += a[r] * xt[panel,
/// row, lane0 + 8v : +8] for the broadcast scalars a (f32) of the tile's
/// rows.
void emitBroadcastStep(OpBuilder &b, Location loc, MutableArrayRef<Value> acc,
                       ArrayRef<Value> a, Value xt, Value row, LanePosition at,
                       int64_t vectors);

/// Writes a register tile to out[panel, row0 + r, lane0 + 8v : +8];
/// returns the new out.
Value emitStoreTile(OpBuilder &b, Location loc, ArrayRef<Value> acc, Value out,
                    Value row0, LanePosition at, int64_t vectors);

/// Zero accumulators of a rows x vectors tile.
SmallVector<Value> emitZeroTile(OpBuilder &b, Location loc, BroadcastTile tile);

/// Covers rows [0, rowCount) of an output in panels (of `xt`'s panels and
/// width, M rows rounded up to 8 being `lanes`) by register tiles: blocks
/// of `tile.rows` rows (and one of rowCount % tile.rows) over each full
/// panel, and over the single vectors of the last, partial one.
/// `body(b, loc, out, row0, at, shape)` computes and stores one tile and
/// returns the new out. Panels are the outer loop, so that the rows of xt a
/// tile reads stay in L1 across row blocks.
using TileBody = function_ref<Value(OpBuilder &b, Location loc, Value out, Value row0,
                                    LanePosition at, BroadcastTile shape)>;
Value emitTiles(OpBuilder &b, Location loc, Value out, int64_t rowCount, Value lanes,
                BroadcastTile tile, TileBody body);

/// v rounded up to a multiple of 8 (the f32 lanes of a vector).
int64_t roundUpToLanes(int64_t v);

/// M rounded up to 8 for the x (M x K) of a transposed operand.
Value emitPaddedRows(OpBuilder &b, Location loc, Value x);

} // namespace mlir::tessera

#endif // TESSERA_LIB_CONVERSION_STRUCTUREDTILES_H
