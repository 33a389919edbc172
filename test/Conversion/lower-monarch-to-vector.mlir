// RUN: tessera-opt %s --tessera-lower-monarch-to-vector=vector-registers=32 --canonicalize --cse -split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-lower-monarch-to-vector=vector-registers=16 --canonicalize --cse -split-input-file | FileCheck %s --check-prefix=AVX2

// w1: 16 blocks of 8 x 8, w2: 8 blocks of 16 x 16 (k*q = l*r = 128).
// Rows of X go in groups of 128 (a loop carrying the result); each group is
// transposed into panels of 32 lanes (tensor<? x 128 x 32>) by a parallel
// loop over panels x chunks of columns, 8 x 8 blocks at a time; the first
// product is a parallel loop over w1's 16 blocks; as q = l = 8, block i
// writes its rows j of h permuted, at j * r + i (a slice of stride r = 16),
// so that the second one, over w2's 8 blocks, reads the contiguous rows
// u * 16 + v in block u and writes the rows c * 8 + u of yt (a slice of
// stride l = 8); yt is transposed back into the group's rows of init.
// CHECK-LABEL: func @monarch
// CHECK-SAME: (%[[X:.*]]: tensor<?x128xf32>, %[[W1:.*]]: tensor<16x8x8xf32>, %[[W2:.*]]: tensor<8x16x16xf32>, %[[INIT:.*]]: tensor<?x128xf32>)
// CHECK: %[[Y:.*]] = scf.for %[[G:.*]] = %c0 to %{{.*}} step %c128 iter_args(%[[RES:.*]] = %[[INIT]])
// CHECK:   %[[XS:.*]] = tensor.extract_slice %[[X]][%[[G]], 0]
// CHECK:   %[[YS:.*]] = tensor.extract_slice %[[RES]][%[[G]], 0]
// CHECK: %[[XT:.*]] = scf.forall (%{{.*}}) in (%{{.*}}) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<?x128x32xf32>)
// CHECK:   vector.transfer_read %[[XS]]
// CHECK:   vector.shuffle
// CHECK: %[[HT:.*]] = scf.forall (%[[I:.*]]) in (16) shared_outs
// CHECK:   tensor.extract_slice %{{.*}}[0, %[[I]], 0] [%{{.*}}, 8, 32] [1, 16, 1]
// CHECK:   %{{.*}}:24 = scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args(
// CHECK-COUNT-6: tensor.extract %[[W1]]
// CHECK-COUNT-24: vector.fma
// CHECK: %[[YT:.*]] = scf.forall (%[[U:.*]]) in (8) shared_outs
// CHECK:   tensor.extract_slice %{{.*}}[0, %[[U]], 0] [%{{.*}}, 16, 32] [1, 8, 1]
// CHECK:   %{{.*}}:24 = scf.for %[[T:.*]] = %c0 to %c16
// CHECK:     %[[HROW:.*]] = arith.muli %[[U]], %c16
// CHECK:     %[[H:.*]] = arith.addi %[[HROW]], %[[T]]
// CHECK:     vector.transfer_read %[[HT]][%{{.*}}, %[[H]], %c0]
// CHECK:   tensor.parallel_insert_slice %{{.*}} into %{{.*}}[0, %[[U]], 0] [%{{.*}}, 16, 32] [1, 8, 1]
// CHECK: %[[OUT:.*]] = scf.forall (%{{.*}}) in (%{{.*}}) shared_outs(%{{.*}} = %[[YS]])
// CHECK:   vector.transfer_read %[[YT]]
// CHECK:   vector.shuffle
// CHECK:   arith.addf
// CHECK: tensor.insert_slice %[[OUT]] into %[[RES]][%[[G]], 0]
// CHECK: return %[[Y]]
// Sixteen vector registers: tiles of 3 rows x 3 vectors (panels of 24 lanes).
// AVX2-LABEL: func @monarch
// AVX2: tensor<?x128x24xf32>
// AVX2: %{{.*}}:9 = scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args(
func.func @monarch(%x: tensor<?x128xf32>, %w1: tensor<16x8x8xf32>, %w2: tensor<8x16x16xf32>, %i: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<?x128xf32>, tensor<16x8x8xf32>, tensor<8x16x16xf32> outs %i : tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// Other element types are left for the reference lowering.
// CHECK-LABEL: func @monarch_f16
// CHECK: tessera.monarch_mm
// AVX2-LABEL: func @monarch_f16
func.func @monarch_f16(%x: tensor<?x128xf16>, %w1: tensor<16x8x8xf32>, %w2: tensor<8x16x16xf32>, %i: tensor<?x128xf16>) -> tensor<?x128xf16> {
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<?x128xf16>, tensor<16x8x8xf32>, tensor<8x16x16xf32> outs %i : tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}
