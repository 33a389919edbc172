// RUN: tessera-opt %s --tessera-lower-lut-tables-to-vector -split-input-file --allow-unregistered-dialect | FileCheck %s

// Int8 tables of f32 activations, groups of 64 (four steps of 4 runs): a
// forall over the rows of x; the row's tables as one run of bytes; per
// group a pass for the largest run of |x| (run sums in order, each
// activation broadcast within its run's 4 lanes, the maximum taken on the
// bit patterns) and the sum, then the tables: the entries 0-3 and 4-7 of 4
// runs (lane 4 r + e: entry 4 h + e of run r) by a negate and three FMAs
// with +/-1 factors, scaled by 127 / a, rounded by adding 1.5 * 2^23, and
// the runs' 64 bytes gathered from the low bytes by one shuffle (entries
// 0-7, then 7-0 negated: the mirrored half T[15 - p] = -T[p]).
// CHECK-LABEL: func @tables
// CHECK-DAG: %[[MIRRORED:.*]] = arith.constant dense<[false, false, false, false, false, false, false, false, true, true, true, true, true, true, true, true, false,
// CHECK-DAG: %[[MAGIC:.*]] = arith.constant dense<0x4B400000> : vector<16xf32>
// CHECK-DAG: %[[SIGN0:.*]] = arith.constant dense<[-1.000000e+00, 1.000000e+00, -1.000000e+00, 1.000000e+00, -1.000000e+00,
// CHECK: scf.forall (%[[ROW:.*]]) in (%{{.*}}) shared_outs(%[[T:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}}, %[[SUM:.*]] = %{{.*}}) -> (tensor<?x32x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>)
// CHECK: %[[ROWT:.*]] = tensor.extract_slice %[[T]][%[[ROW]], 0, 0] [1, 32, 16] [1, 1, 1]
// CHECK: tensor.collapse_shape %[[ROWT]] {{\[}}[0], [1, 2]] : tensor<1x32x16xi8> into tensor<1x512xi8>
// CHECK: scf.for %[[G:.*]] = %c0 to %c2 step %c1
// CHECK: scf.for {{.*}} to %c64 step %c16 iter_args({{.*}}) -> (vector<16xi32>, vector<16xf32>)
// CHECK: %[[X:.*]] = vector.transfer_read %{{.*}} : tensor<?x128xf32>, vector<16xf32>
// CHECK: %[[ABS:.*]] = math.absf %[[X]]
// CHECK: vector.shuffle %[[ABS]], %[[ABS]] [0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12]
// CHECK: vector.shuffle %[[ABS]], %[[ABS]] [1, 1, 1, 1, 5, 5, 5, 5, 9, 9, 9, 9, 13, 13, 13, 13]
// CHECK-COUNT-3: arith.addf
// CHECK: %[[BITS:.*]] = arith.bitcast %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK: arith.maxui %{{.*}}, %[[BITS]] : vector<16xi32>
// CHECK: vector.reduction <maxui>
// CHECK: vector.reduction <add>
// CHECK: arith.divf
// CHECK: arith.cmpf ogt
// CHECK: tensor.insert %{{.*}}[%c0, %[[G]]] : tensor<1x2xf32>
// CHECK: tensor.insert %{{.*}}[%c0, %[[G]]] : tensor<1x2xf32>
// CHECK: scf.for {{.*}} to %c64 step %c16 iter_args(%{{.*}}) -> (tensor<1x512xi8>)
// CHECK: %[[X3:.*]] = vector.shuffle %{{.*}} [3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15]
// CHECK: arith.negf %[[X3]]
// CHECK-COUNT-3: vector.fma
// CHECK: %[[LOW:.*]] = arith.addf %{{.*}}, %[[MAGIC]]
// CHECK: %[[LOWB:.*]] = vector.bitcast %[[LOW]] : vector<16xf32> to vector<64xi8>
// CHECK-COUNT-3: vector.fma
// CHECK: %[[HIGH:.*]] = arith.addf %{{.*}}, %[[MAGIC]]
// CHECK: %[[HIGHB:.*]] = vector.bitcast %[[HIGH]] : vector<16xf32> to vector<64xi8>
// CHECK: %[[RUNS:.*]] = vector.shuffle %[[LOWB]], %[[HIGHB]] [0, 4, 8, 12, 64, 68, 72, 76, 76, 72, 68, 64, 12, 8, 4, 0, 16,
// CHECK: %[[NEG:.*]] = arith.subi %{{.*}}, %[[RUNS]] : vector<64xi8>
// CHECK: %[[TABLE:.*]] = arith.select %[[MIRRORED]], %[[NEG]], %[[RUNS]]
// CHECK: vector.transfer_write %[[TABLE]], %{{.*}} : vector<64xi8>, tensor<1x512xi8>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [1, 32, 16] : tensor<1x512xi8> into tensor<1x32x16xi8>
// CHECK: scf.forall.in_parallel
// CHECK-COUNT-3: tensor.parallel_insert_slice
// CHECK-NOT: tessera.lut_tables
func.func @tables(%x: tensor<?x128xf32>) -> (tensor<?x32x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>) {
  %t, %ts, %sums = tessera.lut_tables %x group_size 64 : tensor<?x128xf32> -> tensor<?x32x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
  return %t, %ts, %sums : tensor<?x32x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
}

// -----

// Left for the reference lowering: f32 tables, f16 activations, a group
// that is not a multiple of 16, a codebook.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-4: tessera.lut_tables
// CHECK-NOT: scf.forall
func.func @left_alone(%x: tensor<2x64xf32>, %xh: tensor<2x64xf16>, %cb: tensor<16xf32>) {
  %a:3 = tessera.lut_tables %x group_size 32 : tensor<2x64xf32> -> tensor<2x16x16xf32>, tensor<2x2xf32>, tensor<2x2xf32>
  %b:3 = tessera.lut_tables %xh group_size 32 : tensor<2x64xf16> -> tensor<2x16x16xi8>, tensor<2x2xf32>, tensor<2x2xf32>
  %c:3 = tessera.lut_tables %x group_size 8 : tensor<2x64xf32> -> tensor<2x16x16xi8>, tensor<2x8xf32>, tensor<2x8xf32>
  %d:3 = tessera.lut_tables %x codebook %cb : tensor<16xf32> group_size 32 : tensor<2x64xf32> -> tensor<2x64x16xi8>, tensor<2x2xf32>, tensor<2x2xf32>
  "test.sink"(%a#0, %b#0, %c#0, %d#0) : (tensor<2x16x16xf32>, tensor<2x16x16xi8>, tensor<2x16x16xi8>, tensor<2x64x16xi8>) -> ()
  return
}
