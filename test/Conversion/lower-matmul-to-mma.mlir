// RUN: tessera-opt %s --tessera-lower-matmul-to-mma --split-input-file | FileCheck %s
// RUN: tessera-opt %s "--tessera-lower-matmul-to-mma=min-rows=1 emulate-mma=true" --split-input-file | FileCheck %s --check-prefix=EMULATE

// An f16 matmul: Y (a copy of init) on tensor cores for M >= 32, the
// linalg.matmul itself on the same buffers below; B (K x N) staged
// transposed, 8 values of a row of B per thread, in two buffers: step 0
// staged before the loop, and in the loop (3 steps of 32) the loads of the
// next step issued before the mma of this one and stored into the other
// buffer after them, one barrier per step.
// CHECK-DAG: memref.global "private" @__tessera_mma_w : memref<2x64x32xf16, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// CHECK-DAG: memref.global "private" @__tessera_mma_x : memref<2x128x32xf16, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// CHECK-LABEL: func @f16
// CHECK: %[[M:.*]] = tensor.dim %{{.*}}, %c0
// CHECK: %[[Y:.*]] = memref.alloc(%[[M]]) : memref<?x40xf32>
// CHECK: memref.copy %{{.*}}, %[[Y]]
// CHECK-DAG: %[[A:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<?x96xf16> to memref<?x96xf16, strided<[?, 1], offset: ?>>
// CHECK-DAG: %[[B:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<96x40xf16> to memref<96x40xf16, strided<[?, ?], offset: ?>>
// CHECK: %[[MANY:.*]] = arith.cmpi uge, %[[M]], %c32
// CHECK: scf.if %[[MANY]] {
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c256{{.*}})
// CHECK-DAG: %[[XS:.*]] = memref.get_global @__tessera_mma_x
// CHECK-DAG: %[[WS:.*]] = memref.get_global @__tessera_mma_w
// CHECK-COUNT-8: memref.load %[[B]]
// CHECK: vector.load %[[A]]
// CHECK-COUNT-8: memref.store %{{.*}}, %[[WS]][%c0
// CHECK: vector.store %{{.*}}, %[[XS]][%c0
// CHECK: gpu.barrier
// CHECK: scf.for %[[STEP:.*]] = %{{.*}} to %c3{{.*}} iter_args({{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: %[[CUR:.*]] = arith.remui %[[STEP]], %c2
// CHECK: %[[NEXT:.*]] = arith.subi %c1{{.*}}, %[[CUR]]
// CHECK-COUNT-8: memref.load %[[B]]
// CHECK: vector.load %[[A]]
// CHECK: vector.load %[[WS]][%[[CUR]],
// CHECK-COUNT-16: nvgpu.mma.sync
// CHECK-COUNT-8: memref.store %{{.*}}, %[[WS]][%[[NEXT]],
// CHECK: vector.store %{{.*}}, %[[XS]][%[[NEXT]],
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: scf.yield
// CHECK: } else {
// CHECK-NEXT: linalg.matmul ins(%[[A]], %[[B]] : {{.*}}) outs(%[[Y]] : memref<?x40xf32>)
// CHECK: bufferization.to_tensor %[[Y]] restrict writable
func.func @f16(%a: tensor<?x96xf16>, %b: tensor<96x40xf16>, %c: tensor<?x40xf32>) -> tensor<?x40xf32> {
  %y = linalg.matmul ins(%a, %b : tensor<?x96xf16>, tensor<96x40xf16>) outs(%c : tensor<?x40xf32>) -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}

// Emulated (a CPU test mode), from one row: the block's threads and lanes
// one after another, the staging in memory.
// EMULATE-LABEL: func @f16
// EMULATE: arith.cmpi uge, %{{.*}}, %c1
// EMULATE-NOT: nvgpu
// EMULATE: memref.alloca() {alignment = 16 : i64} : memref<2x128x32xf16>
// EMULATE: memref.alloca() {alignment = 16 : i64} : memref<2x64x32xf16>
// EMULATE-NOT: nvgpu
// EMULATE: bufferization.to_tensor

// -----

// Left alone: f32 operands (f32 semantics; no tensor cores), K not a multiple
// of 32, a dynamic N, transposed maps.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: nvgpu
// CHECK-COUNT-4: linalg.matmul
// CHECK-NOT: nvgpu
func.func @left_alone(%a: tensor<?x64xf32>, %b: tensor<64x8xf32>, %c: tensor<?x8xf32>,
                      %a2: tensor<?x40xf16>, %b2: tensor<40x8xf16>,
                      %b3: tensor<64x?xf16>, %c3: tensor<?x?xf32>,
                      %a4: tensor<?x64xf16>, %b4: tensor<8x64xf16>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x?xf32>, tensor<?x8xf32>) {
  %y = linalg.matmul ins(%a, %b : tensor<?x64xf32>, tensor<64x8xf32>) outs(%c : tensor<?x8xf32>) -> tensor<?x8xf32>
  %y2 = linalg.matmul ins(%a2, %b2 : tensor<?x40xf16>, tensor<40x8xf16>) outs(%c : tensor<?x8xf32>) -> tensor<?x8xf32>
  %a3 = tensor.cast %a4 : tensor<?x64xf16> to tensor<?x64xf16>
  %y3 = linalg.matmul ins(%a3, %b3 : tensor<?x64xf16>, tensor<64x?xf16>) outs(%c3 : tensor<?x?xf32>) -> tensor<?x?xf32>
  %y4 = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
          ins(%a4, %b4 : tensor<?x64xf16>, tensor<8x64xf16>) outs(%c : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y, %y2, %y3, %y4 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x?xf32>, tensor<?x8xf32>
}
