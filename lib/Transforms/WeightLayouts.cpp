//===- WeightLayouts.cpp - Giving kernel weights a storage layout ---------===//

#include "WeightLayouts.h"

#include "tessera/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include <cstring>

using namespace mlir;
using namespace mlir::tessera;

/// The dimensions `layout` tiles (tiles larger than 1) and their tiles.
static void getTiledDims(LayoutAttr layout, SmallVectorImpl<int64_t> &dims,
                         SmallVectorImpl<int64_t> &tiles) {
  for (auto [d, t] : llvm::enumerate(layout.getTile()))
    if (t > 1) {
      dims.push_back(int64_t(d));
      tiles.push_back(t);
    }
}

bool mlir::tessera::verifyTiledLayout(RankedTensorType type, LayoutAttr layout,
                                      std::string &error) {
  llvm::raw_string_ostream os(error);
  if (isLowBitType(type.getElementType()) || !type.hasStaticShape()) {
    os << "a statically shaped tensor of a standard element type";
    return false;
  }
  if (layout.getBitPlanes()) {
    os << "tiles without bit planes (only low-bit codes have bit planes)";
    return false;
  }
  ArrayRef<int64_t> tile = layout.getTile();
  if (tile.size() != size_t(type.getRank())) {
    os << "a tile of rank " << type.getRank();
    return false;
  }
  for (auto [d, t] : llvm::enumerate(tile))
    if (t <= 0 || type.getDimSize(d) % t) {
      os << "tiles that divide the shape (tile " << t << " of dimension " << d << ")";
      return false;
    }
  return true;
}

RankedTensorType mlir::tessera::getTiledStorageType(RankedTensorType type, LayoutAttr layout) {
  SmallVector<int64_t> dims, tiles;
  getTiledDims(layout, dims, tiles);
  SmallVector<int64_t> shape(type.getShape());
  for (auto [d, t] : llvm::zip(dims, tiles))
    shape[d] /= t;
  shape.append(tiles.begin(), tiles.end());
  return RankedTensorType::get(shape, type.getElementType());
}

Value mlir::tessera::createTilePack(OpBuilder &b, Location loc, Value value, LayoutAttr layout) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> dims, tiles;
  getTiledDims(layout, dims, tiles);
  RankedTensorType storageType = getTiledStorageType(type, layout);
  Value dest = tensor::EmptyOp::create(b, loc, storageType.getShape(), type.getElementType());
  return linalg::PackOp::create(b, loc, value, dest, dims,
                                getAsIndexOpFoldResult(b.getContext(), tiles))
      .getResult();
}

Value mlir::tessera::createTileUnpack(OpBuilder &b, Location loc, Value storage,
                                      RankedTensorType type, LayoutAttr layout) {
  SmallVector<int64_t> dims, tiles;
  getTiledDims(layout, dims, tiles);
  Value dest = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return linalg::UnPackOp::create(b, loc, storage, dest, dims,
                                  getAsIndexOpFoldResult(b.getContext(), tiles))
      .getResult();
}

/// The dense float (or other standard) constant `dense` in `layout`'s
/// tiles (getTiledStorageType): its elements' bytes permuted.
static DenseElementsAttr packTiledConstant(DenseElementsAttr dense, LayoutAttr layout) {
  auto type = cast<RankedTensorType>(dense.getType());
  RankedTensorType storageType = getTiledStorageType(type, layout);
  if (dense.isSplat())
    return dense.resizeSplat(storageType);
  SmallVector<int64_t> dims, tiles;
  getTiledDims(layout, dims, tiles);
  ArrayRef<char> raw = dense.getRawData();
  size_t elementBytes = raw.size() / size_t(type.getNumElements());
  std::vector<char> packed(raw.size());
  ArrayRef<int64_t> shape = type.getShape();
  SmallVector<int64_t> storageStrides(storageType.getRank(), 1);
  for (int64_t d = storageType.getRank() - 2; d >= 0; --d)
    storageStrides[d] = storageStrides[d + 1] * storageType.getDimSize(d + 1);
  SmallVector<int64_t> index(shape.size(), 0);
  for (int64_t e = 0, n = type.getNumElements(); e < n; ++e) {
    // Element e (row-major index `index`) goes to [index / tile..., index % tile...].
    int64_t to = 0;
    for (size_t d = 0; d < shape.size(); ++d) {
      auto it = llvm::find(dims, int64_t(d));
      int64_t t = it == dims.end() ? 1 : tiles[it - dims.begin()];
      to += index[d] / t * storageStrides[d];
      if (it != dims.end())
        to += index[d] % t * storageStrides[shape.size() + (it - dims.begin())];
    }
    std::memcpy(&packed[size_t(to) * elementBytes], &raw[size_t(e) * elementBytes], elementBytes);
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0 && ++index[d] == shape[d]; --d)
      index[d] = 0;
  }
  return DenseElementsAttr::getFromRawBuffer(storageType, packed);
}

bool mlir::tessera::hasLayout(Value v, LayoutAttr layout) {
  if (auto unpack = v.getDefiningOp<linalg::UnPackOp>()) {
    SmallVector<int64_t> dims, tiles;
    getTiledDims(layout, dims, tiles);
    return unpack.getInnerDimsPos() == ArrayRef<int64_t>(dims) &&
           unpack.getStaticInnerTiles() == ArrayRef<int64_t>(tiles) &&
           unpack.getOuterDimsPerm().empty();
  }
  auto unpack = v.getDefiningOp<UnpackOp>();
  return unpack && unpack.getLayout() == layout;
}

bool mlir::tessera::comesInLayout(Value v, LayoutAttr layout) {
  auto arg = dyn_cast<BlockArgument>(v);
  auto func = arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()) : nullptr;
  if (func && arg.getOwner()->isEntryBlock())
    return func.getArgAttr(arg.getArgNumber(), kLayoutAttrName) == layout;
  return hasLayout(v, layout);
}

bool mlir::tessera::hasAnyLayout(Value v) {
  if (v.getDefiningOp<linalg::UnPackOp>())
    return true;
  if (auto unpack = v.getDefiningOp<UnpackOp>())
    return bool(unpack.getLayout());
  auto arg = dyn_cast<BlockArgument>(v);
  auto func =
      arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()) : nullptr;
  return func && arg.getOwner()->isEntryBlock() &&
         func.getArgAttr(arg.getArgNumber(), kLayoutAttrName);
}

/// Creates `prepack_<func>_<arg>`: canonical storage in, `layout` out.
static void createPrepackFunction(ModuleOp module, func::FuncOp func, unsigned argIndex,
                                  LayoutAttr layout) {
  auto type = cast<RankedTensorType>(func.getArgument(argIndex).getType());
  std::string argName = "arg" + std::to_string(argIndex);
  if (auto name = func.getArgAttrOfType<StringAttr>(argIndex, "tessera.name"))
    argName = name.str();
  OpBuilder b(module.getContext());
  b.setInsertionPointAfter(func);
  auto prepack = func::FuncOp::create(
      b, func.getLoc(), prepackFunctionName(func.getName(), argName),
      b.getFunctionType({type}, {type}));
  prepack.setArgAttr(0, "tessera.name", b.getStringAttr(argName));
  prepack.setResultAttr(0, "tessera.name", b.getStringAttr(argName + "_prepacked"));
  prepack.setResultAttr(0, kLayoutAttrName, layout);
  Block *entry = prepack.addEntryBlock();
  b.setInsertionPointToStart(entry);
  func::ReturnOp::create(b, func.getLoc(), entry->getArgument(0));
  SymbolTable(module).insert(prepack);
}

void mlir::tessera::assignWeightLayout(OpOperand &weights, LayoutAttr layout,
                                       function_ref<bool(OpOperand &)> readsLayout) {
  Value value = weights.get();
  Operation *op = weights.getOwner();
  auto type = cast<RankedTensorType>(value.getType());

  if (auto arg = dyn_cast<BlockArgument>(value)) {
    auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
    bool onlyReaders =
        llvm::all_of(arg.getUses(), [&](OpOperand &use) { return readsLayout(use); });
    if (func && func.isPublic() && arg.getOwner()->isEntryBlock() && onlyReaders) {
      if (!func.getArgAttr(arg.getArgNumber(), kLayoutAttrName)) {
        func.setArgAttr(arg.getArgNumber(), kLayoutAttrName, layout);
        createPrepackFunction(func->getParentOfType<ModuleOp>(), func, arg.getArgNumber(),
                              layout);
      }
      return;
    }
  }

  OpBuilder b(op);
  Location loc = op->getLoc();
  DenseElementsAttr dense;
  if (auto cst = value.getDefiningOp<arith::ConstantOp>())
    dense = dyn_cast<DenseElementsAttr>(cst.getValue());
  if (!isLowBitType(type.getElementType())) {
    Value storage = dense
                        ? Value(arith::ConstantOp::create(b, loc, packTiledConstant(dense, layout)))
                        : createTilePack(b, loc, value, layout);
    weights.set(createTileUnpack(b, loc, storage, type, layout));
    return;
  }
  if (dense) {
    Value storage =
        arith::ConstantOp::create(b, loc, packLowBitConstant(dense, layout.getPackedLayout()));
    weights.set(UnpackOp::create(b, loc, type, storage, layout));
    return;
  }
  Value packed = PackOp::create(
      b, loc, getPackedStorageType(type, layout.getPackedLayout()), value, layout);
  weights.set(UnpackOp::create(b, loc, type, packed, layout));
}

/// Whether `use` is the scales or zero points of an mpmm or a LUT combine.
static bool isGroupTermsOperand(OpOperand &use) {
  Operation *op = use.getOwner();
  if (auto mpmm = dyn_cast<MpmmOp>(op))
    return &use == &mpmm.getScalesMutable() ||
           (mpmm.getZeros() && &use == &mpmm.getZerosMutable()[0]);
  if (auto combine = dyn_cast<LutCombineOp>(op))
    return &use == &combine.getScalesMutable() ||
           (combine.getZeros() && &use == &combine.getZerosMutable()[0]);
  return false;
}

void mlir::tessera::assignGroupTermsLayouts(ArrayRef<OpOperand *> kernels) {
  for (OpOperand *operand : kernels) {
    Value terms = operand->get();
    LayoutAttr layout = getGroupTermsKernelLayout(cast<RankedTensorType>(terms.getType()));
    if (!layout || hasAnyLayout(terms) || !llvm::all_of(terms.getUses(), isGroupTermsOperand))
      continue;
    assignWeightLayout(*operand, layout, isGroupTermsOperand);
  }
}
