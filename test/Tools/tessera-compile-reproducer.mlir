// A pass failure in tessera-compile names the pipeline and writes a
// reproducer that tessera-opt replays.
// RUN: rm -f %t.so %t.repro.mlir
// RUN: not tessera-compile %s -o %t.so --crash-reproducer=%t.repro.mlir 2>&1 | FileCheck %s
// CHECK: error: failed to legalize operation 'tensor.extract_slice'
// CHECK: note: while running the CPU pipeline: builtin.module(tessera-choose-mpmm-strategy
// CHECK: note: reproducer written to {{.*}}repro.mlir (replay: tessera-opt --run-reproducer
// RUN: not tessera-opt --run-reproducer %t.repro.mlir 2>&1 | FileCheck %s --check-prefix=REPLAY
// REPLAY: error: failed to legalize operation 'tensor.extract_slice'
// RUN: not test -e %t.so
func.func @f(%w: tensor<8x8xui3>) -> tensor<4x8xf32> {
  %s = tensor.extract_slice %w[0, 0] [4, 8] [1, 1] : tensor<8x8xui3> to tensor<4x8xui3>
  %c = arith.constant dense<1.0> : tensor<4x1xf32>
  %d = tessera.dequantize %s : tensor<4x8xui3> scales %c : tensor<4x1xf32> group_size 8 -> tensor<4x8xf32>
  return %d : tensor<4x8xf32>
}
