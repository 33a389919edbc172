//===- LowerX86ByteOps.cpp - Byte shuffles as x86 intrinsics --------------===//
//
// tessera.shuffle_bytes -> vpshufb, tessera.sum_byte_pairs -> vpmaddubsw
// with a vector of its weight, tessera.permute_bytes -> vpermb,
// tessera.dot_bytes -> vpdpbusd, tessera.multishift_bytes -> vpmultishiftqb,
// as llvm.call_intrinsic on the vector types.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERX86BYTEOPS
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

struct TesseraLowerX86ByteOpsPass
    : public mlir::tessera::impl::TesseraLowerX86ByteOpsBase<TesseraLowerX86ByteOpsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<ShuffleBytesOp, SumBytePairsOp, PermuteBytesOp, DotBytesOp, MultishiftBytesOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      Location loc = op->getLoc();
      Value result;
      if (auto shuffle = dyn_cast<ShuffleBytesOp>(op)) {
        bool wide = shuffle.getTable().getType().getNumElements() == 64;
        result = LLVM::CallIntrinsicOp::create(
                     b, loc, shuffle.getType(),
                     b.getStringAttr(wide ? "llvm.x86.avx512.pshuf.b.512"
                                          : "llvm.x86.avx2.pshuf.b"),
                     ValueRange{shuffle.getTable(), shuffle.getIndices()})
                     .getResult(0);
      } else if (auto permute = dyn_cast<PermuteBytesOp>(op)) {
        // The intrinsic takes the table first, the indices second.
        result = LLVM::CallIntrinsicOp::create(
                     b, loc, permute.getType(), b.getStringAttr("llvm.x86.avx512.permvar.qi.512"),
                     ValueRange{permute.getTable(), permute.getIndices()})
                     .getResult(0);
      } else if (auto multishift = dyn_cast<MultishiftBytesOp>(op)) {
        // The intrinsic takes the shifts first, the words second.
        bool wide = multishift.getType().getNumElements() == 64;
        result = LLVM::CallIntrinsicOp::create(
                     b, loc, multishift.getType(),
                     b.getStringAttr(wide ? "llvm.x86.avx512.pmultishift.qb.512"
                                          : "llvm.x86.avx512.pmultishift.qb.256"),
                     ValueRange{multishift.getShifts(), multishift.getX()})
                     .getResult(0);
      } else if (auto dot = dyn_cast<DotBytesOp>(op)) {
        result =
            LLVM::CallIntrinsicOp::create(b, loc, dot.getType(),
                                          b.getStringAttr(dot.getType().getNumElements() == 16
                                                              ? "llvm.x86.avx512.vpdpbusd.512"
                                                              : "llvm.x86.avx512.vpdpbusd.256"),
                                          ValueRange{dot.getAcc(), dot.getLhs(), dot.getRhs()})
                .getResult(0);
      } else {
        auto pairs = cast<SumBytePairsOp>(op);
        VectorType bytes = pairs.getX().getType();
        bool wide = bytes.getNumElements() == 64;
        Value weights = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(int8_t(pairs.getWeight()))));
        // vpmaddubsw multiplies unsigned bytes of its first operand with
        // signed bytes of its second and adds adjacent products.
        result = LLVM::CallIntrinsicOp::create(
                     b, loc, pairs.getType(),
                     b.getStringAttr(wide ? "llvm.x86.avx512.pmaddubs.w.512"
                                          : "llvm.x86.avx2.pmadd.ub.sw"),
                     ValueRange{weights, pairs.getX()})
                     .getResult(0);
      }
      op->getResult(0).replaceAllUsesWith(result);
      op->erase();
    }
  }
};

} // namespace
