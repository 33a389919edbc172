// RUN: tessera-opt %s --tessera-lower-to-linalg --canonicalize -split-input-file | FileCheck %s

// Float codes decode through their table: a constant of 2^b f32 values
// from lib/Support, indexed by the code's bits.
// CHECK-LABEL: func @dequantize_e2m1
// CHECK: %[[TABLE:.*]] = arith.constant dense<[0.000000e+00, 5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 6.000000e+00, -0.000000e+00, -5.000000e-01, -1.000000e+00, -1.500000e+00, -2.000000e+00, -3.000000e+00, -4.000000e+00, -6.000000e+00]> : tensor<16xf32>
// CHECK: linalg.generic
// CHECK: ^bb0(%[[Q:.*]]: i8, %[[S:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[I:.*]] = arith.index_castui %[[Q]] : i8 to index
// CHECK: %[[V:.*]] = tensor.extract %[[TABLE]][%[[I]]] : tensor<16xf32>
// CHECK: arith.mulf %[[S]], %[[V]] : f32
func.func @dequantize_e2m1(%b: tensor<128xi8>, %s: tensor<4x2xf32>) -> tensor<4x64xf32> {
  %q = tessera.unpack %b : tensor<128xi8> -> tensor<4x64xf4E2M1FN>
  %d = tessera.dequantize %q : tensor<4x64xf4E2M1FN> scales %s : tensor<4x2xf32> group_size 32 -> tensor<4x64xf32>
  return %d : tensor<4x64xf32>
}

// -----

// Quantize: a reduction for min/max/absmax per group, a per-group generic
// for the stored scale and zero point, and a generic for the codes.
// CHECK-LABEL: func @quantize_u3
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK: math.absf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: math.roundeven
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: math.roundeven
// CHECK: arith.fptosi
// CHECK: tensor.collapse_shape
func.func @quantize_u3(%w: tensor<4x64xf32>) -> (tensor<96xi8>, tensor<4x2xf16>, tensor<3xi8>) {
  %q, %s, %z = tessera.quantize %w group_size 32 : tensor<4x64xf32> -> tensor<4x64xui3>, tensor<4x2xf16>, tensor<4x2xui3>
  %qp = tessera.pack %q : tensor<4x64xui3> -> tensor<96xi8>
  %zp = tessera.pack %z : tensor<4x2xui3> -> tensor<3xi8>
  return %qp, %s, %zp : tensor<96xi8>, tensor<4x2xf16>, tensor<3xi8>
}

// -----

// Float encoding counts the midpoints below |x|: e2m1 has 7 of them; ties
// (at 0.25, 1.25, 2.5 and 5) round to the even code.
// CHECK-LABEL: func @quantize_e2m1
// CHECK-DAG: arith.constant 2.500000e-01 : f32
// CHECK-DAG: arith.constant 5.000000e+00 : f32
// CHECK-COUNT-4: arith.cmpf ogt
// CHECK: linalg.yield
func.func @quantize_e2m1(%w: tensor<4x64xf32>) -> (tensor<128xi8>, tensor<4x2xf32>) {
  %q, %s = tessera.quantize %w group_size 32 : tensor<4x64xf32> -> tensor<4x64xf4E2M1FN>, tensor<4x2xf32>
  %qp = tessera.pack %q : tensor<4x64xf4E2M1FN> -> tensor<128xi8>
  return %qp, %s : tensor<128xi8>, tensor<4x2xf32>
}

// -----

// CHECK-LABEL: func @lookup
// CHECK: linalg.generic
// CHECK: ^bb0(%[[I:.*]]: i8, %{{.*}}: f16):
// CHECK: %[[X:.*]] = arith.index_castui %[[I]] : i8 to index
// CHECK: tensor.extract %{{.*}}[%[[X]]] : tensor<16xf16>
func.func @lookup(%t: tensor<16xf16>, %b: tensor<8xi8>) -> tensor<4x4xf16> {
  %i = tessera.unpack %b : tensor<8xi8> -> tensor<4x4xui4>
  %v = tessera.lookup %t[%i] : tensor<16xf16>, tensor<4x4xui4> -> tensor<4x4xf16>
  return %v : tensor<4x4xf16>
}
