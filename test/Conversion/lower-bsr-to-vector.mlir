// RUN: tessera-opt %s --tessera-lower-bsr-to-vector=vector-registers=32 --canonicalize --cse -split-input-file | FileCheck %s

// A run-time pattern, 8 block rows of 16 x 16 blocks. Six rows of X or
// more: X transposed into
// panels of 32 lanes; 8 chunks of block rows whose bounds come from binary
// searches of indptr (work = indptr[i] + i); per block row, the row range
// clamped to [0, nnz]; per register tile (6 rows x 4 vectors, then the 4
// rows left), a loop over the stored blocks that skips column indices out
// of [0, K/C = 8) and unrolls the 16 columns of a block; the transposed
// result transposed back into init.
// CHECK-LABEL: func @bsr_runtime
// CHECK-SAME: (%[[X:.*]]: tensor<?x128xf32>, %[[PTR:.*]]: tensor<9xi32>, %[[IDX:.*]]: tensor<?xi32>, %[[B:.*]]: tensor<?x16x16xf32>, %[[INIT:.*]]: tensor<?x128xf32>)
// CHECK: %[[NB:.*]] = tensor.dim %[[B]]
// CHECK: %[[NI:.*]] = tensor.dim %[[IDX]]
// CHECK: %[[NNZ:.*]] = arith.minui %[[NI]], %[[NB]]
// Fewer than 6 rows of X: vectorized over the block, one accumulator of 8
// columns per block row (16), each reduced once per block row.
// CHECK: %[[M:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[FEW:.*]] = arith.cmpi ult, %[[M]], %c6
// CHECK: scf.if %[[FEW]]
// CHECK:   scf.forall (%{{.*}}) in (8) shared_outs(%{{.*}} = %[[INIT]]) -> (tensor<?x128xf32>)
// CHECK:     %{{.*}}:16 = scf.for
// CHECK:       vector.transfer_read %[[X]]
// CHECK-COUNT-16: vector.fma
// CHECK-COUNT-16: vector.reduction <add>
// CHECK: } else {
// CHECK: %[[XT:.*]] = scf.forall (%{{.*}}) in (%{{.*}}) {{.*}} -> (tensor<?x128x32xf32>)
// CHECK: %[[YT:.*]] = scf.forall (%[[C:.*]]) in (8) shared_outs
// CHECK:   scf.while
// CHECK:     tensor.extract %[[PTR]]
// CHECK:   scf.while
// CHECK:   %[[ROWS:.*]] = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %c1
// CHECK:     tensor.extract %[[PTR]][%[[I]]]
// CHECK:     arith.minsi %{{.*}}, %[[NNZ]]
// CHECK:     %{{.*}}:24 = scf.for %[[P:.*]] = %{{.*}} to %{{.*}} step %c1 iter_args(
// CHECK:       %[[J:.*]] = tensor.extract %[[IDX]][%[[P]]]
// CHECK:       %[[JI:.*]] = arith.index_cast %[[J]]
// CHECK:       %[[OK:.*]] = arith.cmpi ult, %[[JI]], %c8
// CHECK:       scf.if %[[OK]]
// CHECK-COUNT-96: tensor.extract %[[B]][%[[P]],
// CHECK:     %{{.*}}:16 = scf.for %{{.*}} iter_args(
// CHECK:   tensor.parallel_insert_slice %[[ROWS]]
// CHECK: scf.forall (%{{.*}}) in (%{{.*}}) shared_outs(%{{.*}} = %[[INIT]])
// CHECK:   vector.transfer_read %[[YT]]
func.func @bsr_runtime(%x: tensor<?x128xf32>, %ptr: tensor<9xi32>, %idx: tensor<?xi32>, %b: tensor<?x16x16xf32>, %i: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %y = tessera.bsr_mm %x, %ptr, %idx, %b : tensor<?x128xf32>, tensor<9xi32>, tensor<?xi32>, tensor<?x16x16xf32> outs %i : tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// A constant pattern: the chunk bounds computed at compile time (work =
// indptr[i] + i = 0, 3, 4, 5, 7 split into 4 chunks: rows [0, 1), [1, 1),
// [1, 3), [3, 4)), row ranges read without clamps, no column checks.
// CHECK-LABEL: func @bsr_constant
// CHECK-DAG: %[[STARTS:.*]] = arith.constant dense<[0, 1, 1, 3, 4]> : tensor<5xindex>
// CHECK: scf.forall (%[[C:.*]]) in (4)
// CHECK:   tensor.extract %[[STARTS]][%[[C]]]
// CHECK-NOT: scf.while
// CHECK-NOT: arith.minsi
// CHECK-NOT: scf.if
// CHECK: scf.forall
func.func @bsr_constant(%x: tensor<?x16xf32>, %b: tensor<3x4x1xf32>, %i: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %ptr = arith.constant dense<[0, 2, 2, 2, 3]> : tensor<5xi32>
  %idx = arith.constant dense<[1, 15, 0]> : tensor<3xi32>
  %y = tessera.bsr_mm %x, %ptr, %idx, %b : tensor<?x16xf32>, tensor<5xi32>, tensor<3xi32>, tensor<3x4x1xf32> outs %i : tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// CHECK-LABEL: func @bsr_f16
// CHECK: tessera.bsr_mm
func.func @bsr_f16(%x: tensor<?x16xf16>, %ptr: tensor<5xi32>, %idx: tensor<?xi32>, %b: tensor<?x4x4xf16>, %i: tensor<?x16xf16>) -> tensor<?x16xf16> {
  %y = tessera.bsr_mm %x, %ptr, %idx, %b : tensor<?x16xf16>, tensor<5xi32>, tensor<?xi32>, tensor<?x4x4xf16> outs %i : tensor<?x16xf16>
  return %y : tensor<?x16xf16>
}

// -----

// init = fill(0): the result is written into the fill's destination rather
// than added to zeros, and the fill is gone.
// CHECK-LABEL: func @bsr_zero_init
// CHECK: %[[EMPTY:.*]] = tensor.empty(%{{.*}}) : tensor<?x16xf32>
// CHECK-NOT: linalg.fill
// CHECK: scf.forall (%{{.*}}) in (%{{.*}}) shared_outs(%{{.*}} = %[[EMPTY]])
// CHECK-NOT: arith.addf
// CHECK: return
func.func @bsr_zero_init(%x: tensor<?x16xf32>, %ptr: tensor<5xi32>, %idx: tensor<?xi32>, %b: tensor<?x4x4xf32>) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x16xf32>
  %e = tensor.empty(%m) : tensor<?x16xf32>
  %zero = arith.constant 0.0 : f32
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
  %y = tessera.bsr_mm %x, %ptr, %idx, %b : tensor<?x16xf32>, tensor<5xi32>, tensor<?xi32>, tensor<?x4x4xf32> outs %i : tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
