// RUN: tessera-opt %s --tessera-lower-to-linalg --canonicalize -split-input-file | FileCheck %s

// Int8 tables: the f32 signed sums (mirror symmetry: entry p >= 8 is the
// negation of entry 15 - p), the group sums, the largest run of |x| per
// group, the scale a / 127 and the entries roundeven(T * 127 / a).
// CHECK-LABEL: func @tables_int8
// CHECK: %[[RUNS:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] {{.*}} : tensor<?x16xf32> into tensor<?x2x2x4xf32>
// CHECK: %[[T:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[RUNS]], %[[RUNS]], %[[RUNS]], %[[RUNS]] : {{.*}}) outs(%{{.*}} : tensor<?x2x2x16xf32>)
// CHECK: %[[P:.*]] = linalg.index 3 : index
// CHECK: %[[UPPER:.*]] = arith.cmpi uge, %[[P]], %c8 : index
// CHECK: %[[MIRROR:.*]] = arith.subi %c15, %[[P]] : index
// CHECK: arith.select %[[UPPER]], %[[MIRROR]], %[[P]] : index
// CHECK: %[[NEG:.*]] = arith.negf %[[SUM:[0-9]+]] : f32
// CHECK-NEXT: %[[V:.*]] = arith.select %[[UPPER]], %[[NEG]], %[[SUM]] : f32
// CHECK-NEXT: linalg.yield %[[V]]
// CHECK: %[[SUMS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[RUNS]] : tensor<?x2x2x4xf32>)
// CHECK: %[[AMAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: %[[TS:.*]] = linalg.generic
// CHECK: arith.divf %{{.*}}, %cst{{.*}} : f32
// CHECK: %[[Q:.*]] = linalg.generic {{.*}} ins(%[[T]], %[[AMAX]] : tensor<?x2x2x16xf32>, tensor<?x2xf32>) outs(%{{.*}} : tensor<?x2x2x16xi8>)
// CHECK: arith.cmpf ogt
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[Q]] {{\[\[}}0], [1, 2], [3]] : tensor<?x2x2x16xi8> into tensor<?x4x16xi8>
// CHECK: return %[[FLAT]], %[[TS]], %[[SUMS]]
func.func @tables_int8(%x: tensor<?x16xf32>) -> (tensor<?x4x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>) {
  %t, %ts, %sums = tessera.lut_tables %x group_size 8 : tensor<?x16xf32> -> tensor<?x4x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
  return %t, %ts, %sums : tensor<?x4x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
}

// -----

// f32 tables are exact; their scales are 1.
// CHECK-LABEL: func @tables_f32
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NOT: math.roundeven
// CHECK: linalg.fill ins(%[[ONE]] : f32)
// CHECK-NOT: math.roundeven
func.func @tables_f32(%x: tensor<3x16xf16>) -> (tensor<3x4x16xf32>, tensor<3x1xf32>, tensor<3x1xf32>) {
  %t, %ts, %sums = tessera.lut_tables %x group_size 16 : tensor<3x16xf16> -> tensor<3x4x16xf32>, tensor<3x1xf32>, tensor<3x1xf32>
  return %t, %ts, %sums : tensor<3x4x16xf32>, tensor<3x1xf32>, tensor<3x1xf32>
}

// -----

// Lookups: per (plane i, m, n, g, run j), the index is bit i of the run's
// 4 codes, and the table entry is summed in i32.
// CHECK-LABEL: func @accumulate
// CHECK: %[[W:.*]] = tensor.expand_shape %{{.*}} : tensor<4x16xi8> into tensor<4x2x2x4xi8>
// CHECK: %[[T:.*]] = tensor.expand_shape %{{.*}} : tensor<?x4x16xi8> into tensor<?x2x2x16xi8>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[W]], %[[W]], %[[W]], %[[W]] : {{.*}}) outs(%{{.*}} : tensor<2x?x4x2xi32>)
// CHECK: %[[PLANE:.*]] = arith.index_castui %{{.*}} : index to i32
// CHECK: arith.shrui %{{.*}}, %[[PLANE]] : i32
// CHECK: %[[E:.*]] = tensor.extract %[[T]]
// CHECK: %[[E32:.*]] = arith.extsi %[[E]] : i8 to i32
// CHECK: arith.addi %{{.*}}, %[[E32]] : i32
func.func @accumulate(%t: tensor<?x4x16xi8>, %wb: tensor<16xi8>) -> tensor<2x?x4x2xi32> {
  %w = tessera.unpack %wb : tensor<16xi8> -> tensor<4x16xui2>
  %acc = tessera.lut_accumulate %t, %w group_size 8 : tensor<?x4x16xi8>, tensor<4x16xui2> -> tensor<2x?x4x2xi32>
  return %acc : tensor<2x?x4x2xi32>
}

// -----

// Combine for signed 2-bit codes: plane weights c = (1/2, -1) and C = -1/2;
// the integer zero point enters through the group sums.
// CHECK-LABEL: func @combine
// CHECK-DAG: %[[CHALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG: %[[CNEG:.*]] = arith.constant -1.000000e+00 : f32
// CHECK-DAG: %[[C:.*]] = arith.constant -5.000000e-01 : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: ^bb0(%[[A0:.*]]: i32, %[[A1:.*]]: i32, %[[TS:.*]]: f32, %[[SUM:.*]]: f32, %[[S:.*]]: f16, %[[Z:.*]]: i8, %[[OUT:.*]]: f32):
// CHECK: %[[F0:.*]] = arith.sitofp %[[A0]] : i32 to f32
// CHECK: arith.mulf %[[F0]], %[[CHALF]] : f32
// CHECK: %[[F1:.*]] = arith.sitofp %[[A1]] : i32 to f32
// CHECK: arith.mulf %[[F1]], %[[CNEG]] : f32
// CHECK: %[[ZF:.*]] = arith.sitofp %[[Z]] : i8 to f32
// CHECK: arith.subf %[[C]], %[[ZF]] : f32
func.func @combine(%acc: tensor<2x?x4x2xi32>, %ts: tensor<?x2xf32>, %sums: tensor<?x2xf32>,
                   %s: tensor<4x2xf16>, %zb: tensor<2xi8>, %init: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %z = tessera.unpack %zb : tensor<2xi8> -> tensor<4x2xsi2>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<2x?x4x2xi32>, tensor<?x2xf32>, tensor<?x2xf32>
         scales %s : tensor<4x2xf16> zeros %z : tensor<4x2xsi2> code_type si2 outs %init : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
