// Malformed IR: a diagnostic with its location and exit code 1, no crash.
// RUN: bash -c 'tessera-opt %s 2>&1; echo "exit code $?"' | FileCheck %s

// CHECK: parse-errors.mlir:[[@LINE+3]]:{{[0-9]+}}: error: custom op 'tessera.mpmm' expected 'group_size'
func.func @missing_group(%x: tensor<2x64xf32>, %w: tensor<4x64xui4>,
                         %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui4> scales %s : tensor<4x2xf32> outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
// CHECK-NOT: Stack dump
// CHECK: exit code 1
