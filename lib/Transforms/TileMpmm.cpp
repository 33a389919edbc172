//===- TileMpmm.cpp - Column tiles of tessera.mpmm for threads ------------===//
//
// Tiles the columns of each tessera.mpmm into an scf.forall through its
// TilingInterface (upstream scf::tileUsingSCF); an elementwise consumer is
// tiled instead, with the mpmm fused into its tiles as the producer
// (scf::tileConsumerAndFuseProducersUsingSCF).
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERATILEMPMM
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Whether `op` is one to tile: weights in their canonical packing (what
/// the vector kernel reads from a tile's offset) and N a multiple of the
/// tile, greater than it.
bool shouldTile(MpmmOp op, int64_t columnTile) {
  auto unpack = op.getWeights().getDefiningOp<UnpackOp>();
  if (!unpack || unpack.getLayout())
    return false;
  int64_t n = op.getWeights().getType().getDimSize(0);
  return columnTile > 0 && n > columnTile && n % columnTile == 0;
}

/// The elementwise consumer of `op` to tile with it: its only user, a 2-D
/// all-parallel linalg.generic that reads the result with the identity map
/// and produces a tensor of the result's type.
linalg::GenericOp elementwiseConsumer(MpmmOp op) {
  if (!op->hasOneUse())
    return nullptr;
  auto generic = dyn_cast<linalg::GenericOp>(*op->getUsers().begin());
  if (!generic || !generic.hasPureTensorSemantics() ||
      generic.getNumResults() != 1 || generic.getNumLoops() != 2 ||
      !linalg::isElementwise(generic) ||
      generic.getResult(0).getType() != op.getResult().getType())
    return nullptr;
  for (OpOperand *input : generic.getDpsInputOperands())
    if (input->get() == op.getResult() &&
        !generic.getMatchingIndexingMap(input).isIdentity())
      return nullptr;
  return generic;
}

/// In each tile of `forall`, an mpmm whose init is a slice of the value
/// the loop's shared output starts from reads that slice of the shared
/// output instead: the same values (the tile's part of the output is not
/// written before), and the buffer the tile is written to.
void readInitFromSharedOutput(RewriterBase &rewriter, scf::ForallOp forall) {
  forall.getBody()->walk([&](MpmmOp op) {
    auto slice = op.getInit().getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice)
      return;
    for (auto [init, shared] :
         llvm::zip(forall.getOutputs(), forall.getRegionIterArgs()))
      if (slice.getSource() == init)
        rewriter.modifyOpInPlace(slice,
                                 [&] { slice.getSourceMutable().set(shared); });
  });
}

struct TesseraTileMpmmPass
    : public mlir::tessera::impl::TesseraTileMpmmBase<TesseraTileMpmmPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<MpmmOp> ops;
    getOperation().walk([&](MpmmOp op) {
      if (shouldTile(op, columnTile))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    scf::SCFTilingOptions tiling;
    tiling
        .setTileSizes(
            {rewriter.getIndexAttr(0), rewriter.getIndexAttr(columnTile)})
        .setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    for (MpmmOp op : ops) {
      if (linalg::GenericOp consumer = elementwiseConsumer(op)) {
        // The consumer writes over the mpmm's init where it does not read
        // its own init: then the loop's shared output is that init, the
        // mpmm of a tile accumulates into the tile of it and the consumer
        // rewrites that tile in place (no buffer of the whole result
        // besides it, no copies).
        OpOperand &consumerInit = consumer.getDpsInitsMutable()[0];
        if (!consumer.payloadUsesValueFromOperand(&consumerInit))
          rewriter.modifyOpInPlace(consumer,
                                   [&] { consumerInit.set(op.getInit()); });
        scf::SCFTileAndFuseOptions options;
        options.setTilingOptions(tiling);
        // Fuse the mpmm, nothing else.
        options.setFusionControlFn(
            [&](tensor::ExtractSliceOp, OpResult producer, bool)
                -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
              if (producer.getOwner() != op.getOperation())
                return std::nullopt;
              return scf::SCFTileAndFuseOptions::ControlFnResult{};
            });
        rewriter.setInsertionPoint(consumer);
        FailureOr<scf::SCFTileAndFuseResult> result =
            scf::tileConsumerAndFuseProducersUsingSCF(
                rewriter, cast<TilingInterface>(consumer.getOperation()),
                options);
        if (failed(result))
          return signalPassFailure();
        rewriter.replaceOp(consumer,
                           result->replacements.lookup(consumer.getResult(0)));
        if (op->use_empty())
          rewriter.eraseOp(op);
        readInitFromSharedOutput(rewriter,
                                 cast<scf::ForallOp>(result->loops.front()));
        continue;
      }
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> result = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), tiling);
      if (failed(result))
        return signalPassFailure();
      rewriter.replaceOp(op, result->replacements);
    }
  }
};

} // namespace
