// RUN: tessera-opt %s --tessera-lower-mpmm-to-vector --canonicalize -split-input-file --allow-unregistered-dialect | FileCheck %s

// 5-bit codes with integer zero points: 8 codes are 5 bytes, loaded as one
// i40, broadcast to 8 lanes, shifted by multiples of 5, masked by a shift
// pair; the zero point is subtracted in i32; the scale once per group.
// CHECK-LABEL: func @u5_int_zero
// CHECK-DAG: %[[SHIFTS:.*]] = arith.constant dense<[0, 5, 10, 15, 20, 25, 30, 35]> : vector<8xi64>
// CHECK-DAG: %[[UP:.*]] = arith.constant dense<27> : vector<8xi32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[Z:.*]] = vector.broadcast %{{.*}} : i32 to vector<8xi32>
// CHECK: scf.for
// CHECK: %[[BYTES:.*]] = vector.transfer_read %{{.*}} : tensor<320xi8>, vector<5xi8>
// CHECK: %[[WORD:.*]] = vector.bitcast %[[BYTES]] : vector<5xi8> to vector<1xi40>
// CHECK: arith.shrui %{{.*}}, %[[SHIFTS]] : vector<8xi64>
// CHECK: arith.shli %{{.*}}, %[[UP]] : vector<8xi32>
// CHECK: arith.shrui %{{.*}}, %[[UP]] : vector<8xi32>
// CHECK: arith.subi %{{.*}}, %[[Z]] : vector<8xi32>
// CHECK: arith.sitofp %{{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: vector.fma
// CHECK: vector.reduction <add>
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.mulf
// CHECK-NOT: tessera.mpmm
func.func @u5_int_zero(%x: tensor<?x64xf32>, %wb: tensor<320xi8>, %s: tensor<8x2xf16>,
                       %zb: tensor<10xi8>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %w = tessera.unpack %wb : tensor<320xi8> -> tensor<8x64xui5>
  %z = tessera.unpack %zb : tensor<10xi8> -> tensor<8x2xui5>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<8x64xui5> scales %s : tensor<8x2xf16>
         zeros %z : tensor<8x2xui5> group_size 32 outs %init : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Signed codes sign-extend with an arithmetic shift; no zero point.
// CHECK-LABEL: func @s3
// CHECK: vector.bitcast %{{.*}} : vector<3xi8> to vector<1xi24>
// CHECK: arith.shrsi %{{.*}} : vector<8xi32>
// CHECK: arith.sitofp
func.func @s3(%x: tensor<2x32xf32>, %wb: tensor<48xi8>, %s: tensor<4x1xf32>,
              %init: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = tessera.unpack %wb : tensor<48xi8> -> tensor<4x32xsi3>
  %y = tessera.mpmm %x, %w : tensor<2x32xf32>, tensor<4x32xsi3> scales %s : tensor<4x1xf32>
         group_size 32 outs %init : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Not eligible, left for the reference lowering: float codes, a codebook,
// f16 activations, K not a multiple of 8, a bit-plane layout.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-5: tessera.mpmm
func.func @left_alone(%x: tensor<2x32xf32>, %xh: tensor<2x32xf16>, %x12: tensor<2x12xf32>,
                      %fb: tensor<64xi8>, %ub: tensor<64xi8>, %ub12: tensor<24xi8>,
                      %s: tensor<4x1xf32>, %s12: tensor<4x1xf32>, %cb: tensor<16xf32>,
                      %i: tensor<2x4xf32>) {
  %f = tessera.unpack %fb : tensor<64xi8> -> tensor<4x32xf4E2M1FN>
  %u = tessera.unpack %ub : tensor<64xi8> -> tensor<4x32xui4>
  %u12 = tessera.unpack %ub12 : tensor<24xi8> -> tensor<4x12xui4>
  %p = tessera.unpack %ub layout <bit_planes> : tensor<64xi8> -> tensor<4x32xui4>
  %0 = tessera.mpmm %x, %f : tensor<2x32xf32>, tensor<4x32xf4E2M1FN> scales %s : tensor<4x1xf32> group_size 32 outs %i : tensor<2x4xf32>
  %1 = tessera.mpmm %x, %u : tensor<2x32xf32>, tensor<4x32xui4> scales %s : tensor<4x1xf32> codebook %cb : tensor<16xf32> group_size 32 outs %i : tensor<2x4xf32>
  %2 = tessera.mpmm %xh, %u : tensor<2x32xf16>, tensor<4x32xui4> scales %s : tensor<4x1xf32> group_size 32 outs %i : tensor<2x4xf32>
  %3 = tessera.mpmm %x12, %u12 : tensor<2x12xf32>, tensor<4x12xui4> scales %s12 : tensor<4x1xf32> group_size 12 outs %i : tensor<2x4xf32>
  %4 = tessera.mpmm %x, %p : tensor<2x32xf32>, tensor<4x32xui4> scales %s : tensor<4x1xf32> group_size 32 outs %i : tensor<2x4xf32>
  "test.sink"(%0, %1, %2, %3, %4) : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> ()
  return
}
