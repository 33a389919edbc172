//===- LowerX86ByteOps.cpp - Byte shuffles as x86 intrinsics --------------===//
//
// tessera.shuffle_bytes -> vpshufb, tessera.sum_byte_pairs -> vpmaddubsw
// with a vector of its weight, tessera.permute_bytes -> vpermb,
// tessera.dot_bytes -> vpdpbusd, tessera.multishift_bytes -> vpmultishiftqb,
// tessera.permute_lanes -> vpermps, as llvm.call_intrinsic on the vector
// types.
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
      if (isa<ShuffleBytesOp, SumBytePairsOp, PermuteBytesOp, DotBytesOp, MultishiftBytesOp,
              PermuteLanesOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      Location loc = op->getLoc();
      // The intrinsic `name` (of the 512-bit form for 64 bytes or 16 lanes,
      // else `narrow`) on `args`, of the op's result type.
      auto resultType = cast<VectorType>(op->getResult(0).getType());
      bool wide = resultType.getNumElements() * resultType.getElementTypeBitWidth() == 512;
      auto call = [&](StringRef name, StringRef narrow, ValueRange args) -> Value {
        return LLVM::CallIntrinsicOp::create(b, loc, resultType,
                                             b.getStringAttr(wide ? name : narrow), args)
            .getResult(0);
      };
      Value result;
      if (auto shuffle = dyn_cast<ShuffleBytesOp>(op)) {
        result = call("llvm.x86.avx512.pshuf.b.512", "llvm.x86.avx2.pshuf.b",
                      {shuffle.getTable(), shuffle.getIndices()});
      } else if (auto permute = dyn_cast<PermuteBytesOp>(op)) {
        // The intrinsic takes the table first, the indices second (64 bytes
        // only).
        result = call("llvm.x86.avx512.permvar.qi.512", "",
                      {permute.getTable(), permute.getIndices()});
      } else if (auto lanes = dyn_cast<PermuteLanesOp>(op)) {
        // Table first, indices second (16 lanes only).
        result = call("llvm.x86.avx512.permvar.sf.512", "", {lanes.getTable(), lanes.getIndices()});
      } else if (auto multishift = dyn_cast<MultishiftBytesOp>(op)) {
        // The intrinsic takes the shifts first, the words second.
        result = call("llvm.x86.avx512.pmultishift.qb.512", "llvm.x86.avx512.pmultishift.qb.256",
                      {multishift.getShifts(), multishift.getX()});
      } else if (auto dot = dyn_cast<DotBytesOp>(op)) {
        result = call("llvm.x86.avx512.vpdpbusd.512", "llvm.x86.avx512.vpdpbusd.256",
                      {dot.getAcc(), dot.getLhs(), dot.getRhs()});
      } else {
        auto pairs = cast<SumBytePairsOp>(op);
        VectorType bytes = pairs.getX().getType();
        Value weights = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(int8_t(pairs.getWeight()))));
        // vpmaddubsw multiplies unsigned bytes of its first operand with
        // signed bytes of its second and adds adjacent products.
        result = call("llvm.x86.avx512.pmaddubs.w.512", "llvm.x86.avx2.pmadd.ub.sw",
                      {weights, pairs.getX()});
      }
      op->getResult(0).replaceAllUsesWith(result);
      op->erase();
    }
  }
};

} // namespace
