// RUN: tessera-opt %s --tessera-expand-lut-mpmm | FileCheck %s

// CHECK-LABEL: func @lut_int8
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<32x64xui3>, %[[S:.*]]: tensor<32x2xf16>, %[[Z:.*]]: tensor<32x2xui3>, %[[I:.*]]: tensor<?x32xf32>)
// CHECK: %[[T:.*]], %[[TS:.*]], %[[SUMS:.*]] = tessera.lut_tables %[[X]] group_size 32 : tensor<?x64xf32> -> tensor<?x16x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
// CHECK: %[[A:.*]] = tessera.lut_accumulate %[[T]], %[[W]] group_size 32 : tensor<?x16x16xi8>, tensor<32x64xui3> -> tensor<3x?x32x2xi32>
// CHECK: %[[Y:.*]] = tessera.lut_combine %[[A]], %[[TS]], %[[SUMS]] : {{.*}} scales %[[S]] : tensor<32x2xf16> zeros %[[Z]] : tensor<32x2xui3> code_type ui3 outs %[[I]] : tensor<?x32xf32>
// CHECK: return %[[Y]]
func.func @lut_int8(%x: tensor<?x64xf32>, %w: tensor<32x64xui3>, %s: tensor<32x2xf16>, %z: tensor<32x2xui3>, %i: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<32x64xui3> scales %s : tensor<32x2xf16> zeros %z : tensor<32x2xui3> group_size 32 outs %i : tensor<?x32xf32> {strategy = "lut"}
  return %y : tensor<?x32xf32>
}

// CHECK-LABEL: func @lut_f32
// CHECK: tessera.lut_tables {{.*}} -> tensor<3x16x16xf32>, tensor<3x4xf32>, tensor<3x4xf32>
// CHECK: tessera.lut_accumulate {{.*}} -> tensor<1x3x8x4xf32>
// CHECK: tessera.lut_combine {{.*}} code_type si1
func.func @lut_f32(%x: tensor<3x64xf16>, %w: tensor<8x64xsi1>, %s: tensor<8x4xf32>, %i: tensor<3x8xf16>) -> tensor<3x8xf16> {
  %y = tessera.mpmm %x, %w : tensor<3x64xf16>, tensor<8x64xsi1> scales %s : tensor<8x4xf32> group_size 16 outs %i : tensor<3x8xf16> {strategy = "lut_f32"}
  return %y : tensor<3x8xf16>
}

// Other strategies are left alone.
// CHECK-LABEL: func @dequantize
// CHECK: tessera.mpmm
// CHECK-NOT: tessera.lut_
func.func @dequantize(%x: tensor<?x64xf32>, %w: tensor<32x64xui3>, %s: tensor<32x2xf32>, %i: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<32x64xui3> scales %s : tensor<32x2xf32> group_size 32 outs %i : tensor<?x32xf32> {strategy = "dequantize"}
  return %y : tensor<?x32xf32>
}

// A codebook: K tables of x * codebook, one plane, a direct combine.
// CHECK-LABEL: func @codebook
// CHECK: tessera.lut_tables %{{.*}} codebook %{{.*}} : tensor<16xf32> group_size 32 : tensor<?x64xf32> -> tensor<?x64x16xi8>
// CHECK: tessera.lut_accumulate {{.*}} -> tensor<1x?x32x2xi32>
// CHECK: tessera.lut_combine {{.*}} code_type ui4 direct outs
func.func @codebook(%x: tensor<?x64xf32>, %w: tensor<32x64xui4>, %s: tensor<32x2xf32>, %cb: tensor<16xf32>, %i: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<32x64xui4> scales %s : tensor<32x2xf32> codebook %cb : tensor<16xf32> group_size 32 outs %i : tensor<?x32xf32> {strategy = "lut"}
  return %y : tensor<?x32xf32>
}
