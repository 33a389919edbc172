//===- PrecompiledHeaders.h - Headers the compiler's files share -*- C++ -*-===//
//
// The upstream headers that most of lib/ includes, precompiled once per
// build (TESSERA_PRECOMPILED_HEADERS) and shared by every compiler library:
// parsing them is most of a file's compile time (LowerBsrToVector.cpp,
// -O3: 18.9 s, 15.9 of them -fsyntax-only; 5.9 s with these precompiled).
// Each file still includes what it uses; this list only saves the parsing.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "tessera/Dialect/Tessera.h"
