// RUN: tessera-opt %s --tessera-lower-to-linalg --canonicalize -split-input-file | FileCheck %s
//
// The reference lowering of the structured matmuls.

// Monarch: x padded to k*p = 12 columns and viewed as B x k x p; the first
// factor a contraction over t; h viewed as B x r x l and read transposed by
// the second contraction's map (b, u, c, v) -> (b, v, u) (no transposed
// copy); the result viewed as B x (s*l), truncated to N = 7, added to init.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-DAG: #[[H:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[H2:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1)>
// CHECK-LABEL: func @monarch
// CHECK: %[[PAD:.*]] = tensor.pad %{{.*}} low[0, 0] high[0, 2]
// CHECK: %[[X3:.*]] = tensor.expand_shape %[[PAD]] {{\[\[}}0], [1, 2]] {{.*}} : tensor<?x12xf32> into tensor<?x3x4xf32>
// CHECK: %[[HH:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[H]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[X3]], %{{.*}} : tensor<?x3x4xf32>, tensor<3x2x4xf32>) outs(%{{.*}} : tensor<?x3x2xf32>)
// CHECK: %[[O2:.*]] = linalg.generic {indexing_maps = [#[[H2]], #[[W]], #[[O]]], {{.*}} ins(%[[HH]], %{{.*}} : tensor<?x3x2xf32>, tensor<2x4x3xf32>) outs(%{{.*}} : tensor<?x4x2xf32>)
// CHECK: %[[Y:.*]] = tensor.collapse_shape %[[O2]] {{\[\[}}0], [1, 2]] : tensor<?x4x2xf32> into tensor<?x8xf32>
// CHECK: %[[T:.*]] = tensor.extract_slice %[[Y]][0, 0] [%{{.*}}, 7] [1, 1] : tensor<?x8xf32> to tensor<?x7xf32>
// CHECK: linalg.generic {{.*}} ins(%[[T]] : tensor<?x7xf32>) outs(%{{.*}} : tensor<?x7xf32>)
// CHECK:   arith.addf
func.func @monarch(%x: tensor<?x10xf32>, %w1: tensor<3x2x4xf32>, %w2: tensor<2x4x3xf32>, %i: tensor<?x7xf32>) -> tensor<?x7xf32> {
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<?x10xf32>, tensor<3x2x4xf32>, tensor<2x4x3xf32> outs %i : tensor<?x7xf32>
  return %y : tensor<?x7xf32>
}

// -----

// BSR: a loop over the 3 block rows, the row range clamped to [0, nnz]
// (nnz the smaller of the indices' and the blocks' counts), each stored
// block with a column in [0, K/C) a contraction of the x slice with the
// (f16) block into the 2 columns of the block row.
// CHECK-LABEL: func @bsr
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK: %[[NB:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x2x4xf16>
// CHECK: %[[NI:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?xi32>
// CHECK: %[[NNZ:.*]] = arith.minui %[[NI]], %[[NB]]
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[C3]]
// CHECK:   %[[BEGIN:.*]] = arith.minsi %{{.*}}, %[[NNZ]]
// CHECK:   %[[END:.*]] = arith.minsi %{{.*}}, %[[NNZ]]
// CHECK:   scf.for %[[P:.*]] = %[[BEGIN]] to %[[END]]
// CHECK:     %[[J:.*]] = arith.index_cast
// CHECK:     %[[LT:.*]] = arith.cmpi slt, %[[J]], %[[C2]]
// CHECK:     %[[GE:.*]] = arith.cmpi sge, %[[J]]
// CHECK:     %[[OK:.*]] = arith.andi %[[GE]], %[[LT]]
// CHECK:     scf.if %[[OK]]
// CHECK:       %[[COL:.*]] = arith.muli %[[J]], %[[C4]]
// CHECK:       tensor.extract_slice %{{.*}}[0, %[[COL]]] [%{{.*}}, 4] [1, 1] : tensor<?x8xf32> to tensor<?x4xf32>
// CHECK:       tensor.extract_slice %{{.*}}[%[[P]], 0, 0] [1, 2, 4] [1, 1, 1] : tensor<?x2x4xf16> to tensor<2x4xf16>
// CHECK:       linalg.generic
// CHECK:         arith.extf
// CHECK:       tensor.insert_slice
func.func @bsr(%x: tensor<?x8xf32>, %ptr: tensor<4xi32>, %idx: tensor<?xi32>, %b: tensor<?x2x4xf16>, %i: tensor<?x6xf32>) -> tensor<?x6xf32> {
  %y = tessera.bsr_mm %x, %ptr, %idx, %b : tensor<?x8xf32>, tensor<4xi32>, tensor<?xi32>, tensor<?x2x4xf16> outs %i : tensor<?x6xf32>
  return %y : tensor<?x6xf32>
}
