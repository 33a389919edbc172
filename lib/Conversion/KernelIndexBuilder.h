//===- KernelIndexBuilder.h - index arithmetic of the GPU kernels -*- C++ -*-=//
//
// The index arithmetic and loops that the GPU kernel builders of
// lib/Conversion emit (thread and lane places, addresses: unsigned, since
// indices are never negative). Private to lib/Conversion.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_CONVERSION_KERNELINDEXBUILDER_H
#define TESSERA_LIB_CONVERSION_KERNELINDEXBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace mlir::tessera {

class KernelIndexBuilder {
protected:
  KernelIndexBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value a, Value c) { return arith::AddIOp::create(b, loc, a, c); }
  Value add(Value a, int64_t c) { return add(a, index(c)); }
  Value mul(Value a, int64_t c) {
    return arith::MulIOp::create(b, loc, a, index(c));
  }
  Value div(Value a, int64_t c) {
    return arith::DivUIOp::create(b, loc, a, index(c));
  }
  Value rem(Value a, int64_t c) {
    return arith::RemUIOp::create(b, loc, a, index(c));
  }
  Value minu(Value a, Value c) { return arith::MinUIOp::create(b, loc, a, c); }

  /// A loop over `count` iterations, the body given the induction variable.
  void loop(int64_t count, function_ref<void(Value)> body) {
    scf::ForOp::create(b, loc, index(0), index(count), index(1), ValueRange{},
                       [&](OpBuilder &, Location, Value iv, ValueRange) {
                         body(iv);
                         scf::YieldOp::create(b, loc);
                       });
  }

  OpBuilder &b;
  Location loc;
};

} // namespace mlir::tessera

#endif // TESSERA_LIB_CONVERSION_KERNELINDEXBUILDER_H
