// Invalid IR: diagnostics with locations, exit code 1, no library written.
// RUN: rm -f %t.so
// RUN: bash -c 'tessera-compile %s -o %t.so 2>&1; echo "exit code $?"' | FileCheck %s
// RUN: not test -e %t.so
// CHECK: tessera-compile-errors.mlir:[[@LINE+4]]:8: error: 'tessera.mpmm' op expects group_size to divide K = 96, got group_size = 64
// CHECK-NOT: Stack dump
// CHECK: exit code 1
func.func @f(%x: tensor<2x96xf32>, %w: tensor<4x96xui4>, %s: tensor<4x1xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = tessera.mpmm %x, %w : tensor<2x96xf32>, tensor<4x96xui4> scales %s : tensor<4x1xf32> group_size 64 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}