//===- WeightLayouts.h - Giving kernel weights a storage layout --*- C++ -*-===//
//
// Shared by the passes that choose the storage layout a kernel reads its
// weights in (private to lib/Transforms).
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_TRANSFORMS_WEIGHTLAYOUTS_H
#define TESSERA_LIB_TRANSFORMS_WEIGHTLAYOUTS_H

#include "tessera/Dialect/Tessera.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <string>

namespace mlir::tessera {

/// Tensors of other element types than low-bit codes (float scales, zero
/// points) take a layout's tiles (`#tessera.layout<tile = [...]>`, no bit
/// planes) through upstream linalg.pack / linalg.unpack: the dimensions
/// whose tile is larger than 1 are tiled, which enumerates the elements in
/// the layout's order. Checks that `layout` can store `type` so; on failure
/// explains in `error`.
bool verifyTiledLayout(RankedTensorType type, LayoutAttr layout, std::string &error);

/// The linalg.pack storage type of `type` in `layout` (verifyTiledLayout).
RankedTensorType getTiledStorageType(RankedTensorType type, LayoutAttr layout);

/// `value` (of a verifyTiledLayout type) packed into `layout`'s tiles.
Value createTilePack(OpBuilder &b, Location loc, Value value, LayoutAttr layout);

/// The tensor of type `type` whose tiles in `layout` are `storage`.
Value createTileUnpack(OpBuilder &b, Location loc, Value storage, RankedTensorType type,
                       LayoutAttr layout);

/// Whether `v` already comes from storage in `layout`.
bool hasLayout(Value v, LayoutAttr layout);

/// Whether `v` is passed in `layout`: an entry argument given it (a
/// `tessera.layout` attribute), or storage in it (hasLayout).
bool comesInLayout(Value v, LayoutAttr layout);

/// Gives the group terms (scales, zero points) that `kernels` read,
/// operands of kernels that read them fastest in getGroupTermsKernelLayout's
/// layout, that layout (assignWeightLayout) where they have none yet and
/// every use of them is the scales or zero points of a tessera.mpmm or
/// tessera.lut_combine (whose lowerings all read terms in spans).
void assignGroupTermsLayouts(ArrayRef<OpOperand *> kernels);

/// Whether the weights `v` have a layout already, whichever: an unpack with
/// one, or a function argument given one.
bool hasAnyLayout(Value v);

/// Makes the low-bit weights `weights` (an operand of a kernel), or the
/// float tensor (verifyTiledLayout), come from storage in `layout`:
/// - an argument of a public function, all of whose uses `readsLayout`
///   accepts: the caller passes it in that layout (a `tessera.layout`
///   argument attribute, which tessera-pack-function-boundaries honours,
///   and a public function `prepack_<function>_<argument>` that converts
///   the canonical storage (a float tensor itself), for callers to run
///   once per weight matrix);
///   nothing changes if the argument has a layout already;
/// - a constant: packed in the layout at compile time;
/// - anything else: packed and unpacked in the layout before the kernel.
void assignWeightLayout(OpOperand &weights, LayoutAttr layout,
                        function_ref<bool(OpOperand &)> readsLayout);

} // namespace mlir::tessera

#endif // TESSERA_LIB_TRANSFORMS_WEIGHTLAYOUTS_H
