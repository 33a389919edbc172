// RUN: tessera-opt %s --tessera-lower-matmul-to-vector --canonicalize -split-input-file --allow-unregistered-dialect | FileCheck %s
// RUN: tessera-opt %s --tessera-lower-matmul-to-vector=vector-registers=32 -split-input-file --allow-unregistered-dialect | FileCheck %s --check-prefix=AVX512

// Full blocks of 8 rows of A packed; column tiles of 256 in an scf.forall;
// per block of 256 rows of B, the tile's columns copied in vectors into 16
// micro panels of 16 columns; a 4 x 16 micro kernel (16 registers): per k
// two vector loads of the micro panel and a broadcast of A per row. The
// rows past the last full block go one at a time (a broadcast of A times
// the tile's row of B, accumulated into the row of C); the columns past the
// last full tile stay a linalg.matmul on slices. A single row of A (GEMV)
// takes chunks of 1024 columns (here one, so no forall): per 8 rows of B, 8
// broadcasts of A, then along the chunk 8 reads of B, two FMA chains and
// one read and write of C per 8 columns.
// CHECK-LABEL: func @matmul
// CHECK: %[[AP:.*]] = linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<?x40x8x8xf32>)
// CHECK: %[[ONE:.*]] = arith.cmpi eq, %{{.*}}, %c1 : index
// CHECK: scf.if %[[ONE]]
// CHECK: scf.for %[[K:.*]] = %c0 to %c320 step %c8
// CHECK-COUNT-8: vector.broadcast
// CHECK: scf.for %[[J:.*]] = %c0 to %c512 step %c8
// CHECK: vector.transfer_read %{{.*}}[%[[K]], %[[J]]]{{.*}} : tensor<320x600xf32>, vector<8xf32>
// CHECK: arith.mulf
// CHECK-COUNT-6: vector.fma
// CHECK: vector.transfer_read %{{.*}}[%c0, %[[J]]]{{.*}} : tensor<?x512xf32>, vector<8xf32>
// CHECK: vector.transfer_write
// CHECK: } else {
// CHECK: scf.forall (%[[T:.*]]) = (0) to (512) step (256) shared_outs(%[[S:.*]] = %{{.*}})
// CHECK: %[[TILE:.*]] = tensor.extract_slice %[[S]][0, %[[T]]] [%{{.*}}, 256] [1, 1]
// CHECK: tensor.empty() : tensor<16x256x16xf32>
// CHECK: vector.transfer_read %{{.*}} : tensor<320x600xf32>, vector<8xf32>
// CHECK: vector.transfer_write %{{.*}} : vector<8xf32>, tensor<16x256x16xf32>
// CHECK-COUNT-2: vector.transfer_read %{{.*}} : tensor<16x256x16xf32>, vector<8xf32>
// CHECK: tensor.extract %[[AP]]
// CHECK: vector.broadcast
// CHECK-COUNT-2: vector.fma
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[ROWA:.*]] = tensor.extract %{{.*}} : tensor<?x320xf32>
// CHECK: %[[BA:.*]] = vector.broadcast %[[ROWA]]
// CHECK: vector.transfer_read %{{.*}} : tensor<320x600xf32>, vector<8xf32>
// CHECK: vector.fma %[[BA]]
// CHECK: tensor.parallel_insert_slice
// CHECK-NOT: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x320xf32>, tensor<320x600xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x320xf32>, tensor<320x88xf32>)
// CHECK-NOT: gemm_remainder
// With AVX-512's 32 registers the micro kernel is 8 rows x 32 columns in
// 16-lane vectors: micro panels two at a time, one vector from each.
// AVX512-LABEL: func @matmul
// AVX512: scf.for %[[P:.*]] = %c0 to %c16 step %c2
// AVX512: scf.for %{{.*}} = %c0 to %{{.*}} step %c8 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// AVX512: %[[B0:.*]] = vector.transfer_read %{{.*}}[%[[P]], %{{.*}}, %c0]{{.*}} : tensor<16x256x16xf32>, vector<16xf32>
// AVX512: %[[P1:.*]] = arith.addi %[[P]], %c1
// AVX512: %[[B1:.*]] = vector.transfer_read %{{.*}}[%[[P1]], %{{.*}}, %c0]{{.*}} : tensor<16x256x16xf32>, vector<16xf32>
// AVX512-COUNT-8: vector.fma %{{.*}}, %[[B0]], %{{.*}} : vector<16xf32>
func.func @matmul(%a: tensor<?x320xf32>, %b: tensor<320x600xf32>, %c: tensor<?x600xf32>)
    -> tensor<?x600xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x320xf32>, tensor<320x600xf32>)
                     outs(%c : tensor<?x600xf32>) -> tensor<?x600xf32>
  return %r : tensor<?x600xf32>
}

// -----

// Left for the loops: fewer columns than a tile, K not a multiple of 8,
// f16, transposed operands.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: scf.forall
// CHECK-COUNT-4: linalg.matmul
func.func @left_alone(%a: tensor<4x64xf32>, %b: tensor<64x100xf32>, %c: tensor<4x100xf32>,
                      %a2: tensor<4x12xf32>, %b2: tensor<12x256xf32>, %c2: tensor<4x256xf32>,
                      %ah: tensor<4x64xf16>, %bh: tensor<64x256xf16>, %ch: tensor<4x256xf16>,
                      %bt: tensor<256x64xf32>) {
  %0 = linalg.matmul ins(%a, %b : tensor<4x64xf32>, tensor<64x100xf32>) outs(%c : tensor<4x100xf32>) -> tensor<4x100xf32>
  %1 = linalg.matmul ins(%a2, %b2 : tensor<4x12xf32>, tensor<12x256xf32>) outs(%c2 : tensor<4x256xf32>) -> tensor<4x256xf32>
  %2 = linalg.matmul ins(%ah, %bh : tensor<4x64xf16>, tensor<64x256xf16>) outs(%ch : tensor<4x256xf16>) -> tensor<4x256xf16>
  %3 = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
         ins(%a, %bt : tensor<4x64xf32>, tensor<256x64xf32>) outs(%c2 : tensor<4x256xf32>) -> tensor<4x256xf32>
  "test.sink"(%0, %1, %2, %3) : (tensor<4x100xf32>, tensor<4x256xf32>, tensor<4x256xf16>, tensor<4x256xf32>) -> ()
  return
}
