// A pass failure in tessera-compile names the pipeline and writes a
// reproducer that tessera-opt replays.
// RUN: rm -f %t.so %t.repro.mlir
// RUN: not tessera-compile %s -o %t.so --crash-reproducer=%t.repro.mlir 2>&1 | FileCheck %s
// CHECK: error: failed to legalize operation 'tensor.collapse_shape'
// CHECK: note: while running the CPU pipeline: builtin.module(tessera-choose-mpmm-strategy
// CHECK: note: reproducer written to {{.*}}repro.mlir (replay: tessera-opt --run-reproducer
// RUN: not tessera-opt --run-reproducer %t.repro.mlir 2>&1 | FileCheck %s --check-prefix=REPLAY
// REPLAY: error: failed to legalize operation 'tensor.collapse_shape'
// RUN: not test -e %t.so
func.func @f(%w: tensor<8x8xui3>) -> tensor<4x16xf32> {
  %s = tensor.collapse_shape %w [[0, 1]] : tensor<8x8xui3> into tensor<64xui3>
  %t = tensor.expand_shape %s [[0, 1]] output_shape [4, 16] : tensor<64xui3> into tensor<4x16xui3>
  %c = arith.constant dense<1.0> : tensor<4x1xf32>
  %d = tessera.dequantize %t : tensor<4x16xui3> scales %c : tensor<4x1xf32> group_size 16 -> tensor<4x16xf32>
  return %d : tensor<4x16xf32>
}
