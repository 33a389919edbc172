// RUN: tessera-opt %s --tessera-mark-inputs-readonly | FileCheck %s

// CHECK-LABEL: func @public
// CHECK-SAME: (%{{.*}}: tensor<4xf32> {bufferization.writable = false}, %{{.*}}: index)
func.func @public(%a: tensor<4xf32>, %i: index) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}

// Private functions are not part of the ABI.
// CHECK-LABEL: func private @private
// CHECK-SAME: (%{{.*}}: tensor<4xf32>)
func.func private @private(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
