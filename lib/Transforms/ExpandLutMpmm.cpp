//===- ExpandLutMpmm.cpp - LUT-strategy mpmm into the T-MAC ops -----------===//
//
// tessera.mpmm {strategy = "lut" | "lut_f32"} becomes tessera.lut_tables,
// tessera.lut_accumulate and tessera.lut_combine (see their documentation
// for the algebra).
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERAEXPANDLUTMPMM
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

void expand(MpmmOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  bool f32Tables = op.getStrategy() == "lut_f32";
  RankedTensorType xType = op.getX().getType();
  RankedTensorType wType = op.getWeights().getType();
  int64_t m = xType.getDimSize(0), n = wType.getDimSize(0), k = wType.getDimSize(1);
  int64_t group = op.getGroupSize();
  int64_t bits = getLowBitWidth(wType.getElementType());
  Type f32 = b.getF32Type();
  Type tableType = f32Tables ? f32 : Type(b.getI8Type());
  Type accType = f32Tables ? f32 : Type(b.getI32Type());
  auto groupType = RankedTensorType::get({m, k / group}, f32);
  // With a codebook: a table per activation, indexed by the code itself.
  Value codebook = op.getCodebook();
  int64_t numTables = codebook ? k : k / 4, planes = codebook ? 1 : bits;
  auto tables = LutTablesOp::create(
      b, loc, RankedTensorType::get({m, numTables, 16}, tableType), groupType, groupType,
      op.getX(), codebook, group);
  auto acc = LutAccumulateOp::create(
      b, loc, RankedTensorType::get({planes, m, n, k / group}, accType),
      tables.getTables(), op.getWeights(), group);
  auto combine = LutCombineOp::create(
      b, loc, op.getInit().getType(), acc.getResult(), tables.getTableScales(),
      tables.getSums(), op.getScales(), op.getZeros(), op.getInit(),
      TypeAttr::get(wType.getElementType()),
      codebook ? b.getUnitAttr() : UnitAttr());
  op.getResult().replaceAllUsesWith(combine.getResult());
  op.erase();
}

struct TesseraExpandLutMpmmPass
    : public mlir::tessera::impl::TesseraExpandLutMpmmBase<TesseraExpandLutMpmmPass> {
  void runOnOperation() override {
    SmallVector<MpmmOp> ops;
    getOperation().walk([&](MpmmOp op) {
      if (std::optional<StringRef> s = op.getStrategy(); s && s->starts_with("lut"))
        ops.push_back(op);
    });
    for (MpmmOp op : ops)
      expand(op);
  }
};

} // namespace
