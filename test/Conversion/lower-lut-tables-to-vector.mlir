// RUN: tessera-opt %s --tessera-lower-lut-tables-to-vector -split-input-file --allow-unregistered-dialect | FileCheck %s

// Int8 tables of f32 activations, groups of 64 (two steps of 8 runs): a
// forall over the rows of x; per group a pass for the largest run of |x|
// and the sum, then the tables: 32 activations deinterleaved into 4 vectors
// (lane r: run r), the 8 entries by a tree of adds, scaled by 127 / a,
// rounded to even, transposed, converted to i8 and stored with their
// mirrored half (T[15 - p] = -T[p]) as 16 bytes per run.
// CHECK-LABEL: func @tables
// CHECK: scf.forall (%[[ROW:.*]]) in (%{{.*}}) shared_outs(%[[T:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}}, %[[SUM:.*]] = %{{.*}}) -> (tensor<?x32x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>)
// CHECK: tensor.extract_slice %[[T]][%[[ROW]], 0, 0] [1, 32, 16] [1, 1, 1]
// CHECK: scf.for %[[G:.*]] = %c0 to %c2 step %c1
// CHECK: scf.for {{.*}} to %c64 step %c32
// CHECK-COUNT-4: vector.transfer_read %{{.*}} : tensor<?x128xf32>, vector<8xf32>
// CHECK: vector.shuffle {{.*}} [0, 4, 8, 12, 1, 5, 9, 13]
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: vector.reduction <maximumf>
// CHECK: vector.reduction <add>
// CHECK: arith.divf
// CHECK: arith.cmpf ogt
// CHECK: tensor.insert %{{.*}}[%c0, %[[G]]] : tensor<1x2xf32>
// CHECK: tensor.insert %{{.*}}[%c0, %[[G]]] : tensor<1x2xf32>
// CHECK: scf.for {{.*}} to %c64 step %c32
// CHECK-COUNT-4: vector.transfer_read
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.*}} : vector<8xf32> to vector<8xi8>
// CHECK: vector.shuffle {{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 15, 14, 13, 12, 11, 10, 9, 8] : vector<8xi8>, vector<8xi8>
// CHECK: vector.transfer_write %{{.*}} : vector<16xi8>, tensor<1x32x16xi8>
// CHECK: scf.forall.in_parallel
// CHECK-COUNT-3: tensor.parallel_insert_slice
// CHECK-NOT: tessera.lut_tables
func.func @tables(%x: tensor<?x128xf32>) -> (tensor<?x32x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>) {
  %t, %ts, %sums = tessera.lut_tables %x group_size 64 : tensor<?x128xf32> -> tensor<?x32x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
  return %t, %ts, %sums : tensor<?x32x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
}

// -----

// Left for the reference lowering: f32 tables, f16 activations, a group
// that is not a multiple of 32, a codebook.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-4: tessera.lut_tables
// CHECK-NOT: scf.forall
func.func @left_alone(%x: tensor<2x64xf32>, %xh: tensor<2x64xf16>, %cb: tensor<16xf32>) {
  %a:3 = tessera.lut_tables %x group_size 32 : tensor<2x64xf32> -> tensor<2x16x16xf32>, tensor<2x2xf32>, tensor<2x2xf32>
  %b:3 = tessera.lut_tables %xh group_size 32 : tensor<2x64xf16> -> tensor<2x16x16xi8>, tensor<2x2xf32>, tensor<2x2xf32>
  %c:3 = tessera.lut_tables %x group_size 16 : tensor<2x64xf32> -> tensor<2x16x16xi8>, tensor<2x4xf32>, tensor<2x4xf32>
  %d:3 = tessera.lut_tables %x codebook %cb : tensor<16xf32> group_size 32 : tensor<2x64xf32> -> tensor<2x64x16xi8>, tensor<2x2xf32>, tensor<2x2xf32>
  "test.sink"(%a#0, %b#0, %c#0, %d#0) : (tensor<2x16x16xf32>, tensor<2x16x16xi8>, tensor<2x16x16xi8>, tensor<2x64x16xi8>) -> ()
  return
}
