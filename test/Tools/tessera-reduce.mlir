// tessera-reduce shrinks a module while the test script still finds what it
// looks for: here, that tessera-lower-to-linalg fails on a reshape of low-bit
// codes; the unrelated elementwise op goes away. (As for mlir-reduce, the
// script exits with 1 when the input is interesting.)
// RUN: printf '#!/bin/sh\n tessera-opt "$1" --tessera-lower-to-linalg 2>&1 | grep -q "failed to legalize operation .tensor.collapse_shape." && exit 1\nexit 0\n' > %t.sh && chmod +x %t.sh
// RUN: tessera-reduce %s --reduction-tree='traversal-mode=0 test=%t.sh' -o %t.reduced.mlir
// RUN: FileCheck %s --input-file=%t.reduced.mlir
// CHECK: tensor.collapse_shape
// CHECK-NOT: math.exp
func.func @f(%b: tensor<24xi8>, %x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = tessera.unpack %b : tensor<24xi8> -> tensor<8x8xui3>
  %s = tensor.collapse_shape %w [[0, 1]] : tensor<8x8xui3> into tensor<64xui3>
  %t = tensor.expand_shape %s [[0, 1]] output_shape [4, 16] : tensor<64xui3> into tensor<4x16xui3>
  %c = arith.constant dense<1.0> : tensor<4x1xf32>
  %d = tessera.dequantize %t : tensor<4x16xui3> scales %c : tensor<4x1xf32> group_size 16 -> tensor<4x16xf32>
  %e = math.exp %x : tensor<4x8xf32>
  %f = math.exp %e : tensor<4x8xf32>
  return %d : tensor<4x16xf32>
}
