// RUN: tessera-opt %s --tessera-pack-function-boundaries --tessera-lower-mpmm-to-parallel-loops --split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-pack-function-boundaries --tessera-lower-mpmm-to-parallel-loops=mma-min-rows=0 --split-input-file | FileCheck %s --check-prefix=NOMMA
// RUN: tessera-opt %s --tessera-pack-function-boundaries "--tessera-lower-mpmm-to-parallel-loops=mma-min-rows=1 emulate-mma=true" --split-input-file | FileCheck %s --check-prefix=EMULATE
// RUN: tessera-opt %s --tessera-pack-function-boundaries "--tessera-lower-mpmm-to-parallel-loops=emulate-warps=true" --split-input-file | FileCheck %s --check-prefix=WARPS

// 4-bit codes, group 128, K = 1024. Y starts as a copy of init; the
// tensor-core kernel from 32 rows, below them the tensor-core kernel for
// few rows of x.
// The staging buffers: shared memory of each block.
// CHECK-DAG: memref.global "private" @__tessera_mma_x : memref<2x128x32xf16, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// CHECK-DAG: memref.global "private" @__tessera_mma_w : memref<2x64x32xf16, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// CHECK-LABEL: func @int_zero
// CHECK-DAG: %[[X:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<?x1024xf32> to memref<?x1024xf32, strided<[?, 1], offset: ?>>
// CHECK-DAG: %[[W:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<16384xi8> to memref<16384xi8, strided<[1], offset: ?>>
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x32xf32>
// CHECK: memref.copy %{{.*}}, %[[Y]]
// CHECK: %[[MANY:.*]] = arith.cmpi uge, %{{.*}}, %c32
// CHECK: scf.if %[[MANY]] {
// Tensor cores: blocks of 256 threads; the steps of 32 codes staged in two
// shared-memory buffers. Before the loop, step 0: each thread's 16 values
// of a row of x (to f16) and its 8 codes of a weight row, decoded and
// dequantized to f16 with the scale and zero point of their group. In the
// loop (32 steps), the x of the next step is loaded first, then the warp's
// fragments of this step read from its buffer (16-byte loads) and 2 x 8
// mma.sync issued, then the next step's weights decoded and both stored
// into the other buffer, one barrier per step; the warp's 8 accumulator
// tiles carried over all of K.
// CHECK: scf.parallel
// CHECK: scf.parallel (%[[TID:.*]]) = (%c0{{.*}}) to (%c256{{.*}})
// CHECK-DAG: %[[XS:.*]] = memref.get_global @__tessera_mma_x : memref<2x128x32xf16, #gpu.address_space<workgroup>>
// CHECK-DAG: %[[WS:.*]] = memref.get_global @__tessera_mma_w : memref<2x64x32xf16, #gpu.address_space<workgroup>>
// CHECK: vector.load %[[X]][{{.*}}] : memref<?x1024xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// CHECK-COUNT-4: memref.load %[[W]]
// CHECK: vector.store %{{.*}}, %[[WS]][%c0{{.*}}] {alignment = 16 : i64} : memref<2x64x32xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xf16>
// CHECK: vector.store %{{.*}}, %[[XS]][%c0{{.*}}] {alignment = 16 : i64} : memref<2x128x32xf16, #gpu.address_space<workgroup>>, vector<16xf16>
// CHECK: gpu.barrier
// CHECK: scf.for %[[STEP:.*]] = %{{.*}} to %c32{{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: %[[CUR:.*]] = arith.remui %[[STEP]], %c2
// CHECK: %[[NEXT:.*]] = arith.subi %c1{{.*}}, %[[CUR]]
// CHECK: %[[XNEXT:.*]] = vector.load %[[X]]
// CHECK-COUNT-4: vector.load %[[WS]][%[[CUR]],
// CHECK: vector.load %[[XS]][%[[CUR]],
// CHECK: vector.from_elements {{.*}} : vector<4x2xf16>
// CHECK-COUNT-16: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK-NOT: nvgpu.mma.sync
// CHECK-COUNT-4: memref.load %[[W]]
// CHECK: vector.store %{{.*}}, %[[WS]][%[[NEXT]],
// CHECK: arith.truncf %[[XNEXT]]
// CHECK: vector.store %{{.*}}, %[[XS]][%[[NEXT]],
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: scf.yield
// CHECK: memref.store %{{.*}}, %[[Y]]
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = block_y
// CHECK: } else {
// Below 32 rows: blocks along M by 8 rows of x (the mma's n), along the
// 8 units of 32 weight rows (two 16-row tiles) x 128 codes of K in 2
// blocks of 4 warps. A lane's chunk: 32 values of its row of x (rounded to
// f16 in pairs), then per tile and weight row (g, g + 8) one 16-byte load
// of 32 codes, each word's pairs of codes (bits p, p + 16) shifted, masked
// and ORed into 1024 (0x64006400) and offset by an f16x2 add, and 2 x 8
// mma.sync into f32 products scaled per row into the accumulators; the
// lanes' results added into Y.
// CHECK: arith.ceildivui %{{.*}}, %c8
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%c2{{.*}}, %{{.*}})
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c128{{.*}})
// CHECK: scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>)
// CHECK-COUNT-8: vector.load %[[X]][{{.*}}] {alignment = 16 : i64} : memref<?x1024xf32, strided<[?, 1], offset: ?>>, vector<4xf32>
// CHECK: vector.load %[[W]][{{.*}}] {alignment = 16 : i64} : memref<16384xi8, strided<[1], offset: ?>>, vector<16xi8>
// CHECK: %[[FIELDS:.*]] = arith.andi %{{.*}}, %c983055_i32
// CHECK: arith.xori %[[FIELDS]], %c1677747200_i32
// CHECK: arith.addf %{{.*}} : vector<2xf16>
// CHECK: arith.shrui %{{.*}}, %c4_i32
// CHECK-COUNT-16: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK-NOT: nvgpu.mma.sync
// CHECK: math.fma
// CHECK: scf.yield
// CHECK-NOT: gpu.shuffle
// CHECK: memref.atomic_rmw addf %{{.*}}, %[[Y]]
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = block_y
// CHECK: bufferization.to_tensor %[[Y]] restrict writable
// CHECK-NOT: tessera.mpmm

// mma-min-rows=0: no tensor cores.
// NOMMA-LABEL: func @int_zero
// NOMMA-NOT: nvgpu
// NOMMA: bufferization.to_tensor

// Emulated (a CPU test mode), for every M: threads and lanes one after
// another, the staging, fragments and accumulators in memory.
// EMULATE-NOT: memref.global
// EMULATE-LABEL: func @int_zero
// EMULATE-NOT: scf.if
// EMULATE-NOT: nvgpu
// EMULATE-NOT: mapping
// EMULATE: memref.alloca() {alignment = 16 : i64} : memref<2x128x32xf16>
// EMULATE: memref.alloca() {alignment = 16 : i64} : memref<2x64x32xf16>
// EMULATE: memref.alloca() : memref<8x32x8x4xf32>
// EMULATE: memref.alloca() : memref<32x2x2x8xf16>
// EMULATE: memref.alloca() : memref<32x4x2x4xf16>
// EMULATE-NOT: nvgpu
// EMULATE: bufferization.to_tensor
func.func @int_zero(%x: tensor<?x1024xf32>, %w: tensor<32x1024xui4>,
                    %s: tensor<32x8xf16>, %z: tensor<32x8xui4>,
                    %init: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x1024xf32>, tensor<32x1024xui4>
         scales %s : tensor<32x8xf16> zeros %z : tensor<32x8xui4>
         group_size 128 outs %init : tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Float offsets are not the few-rows tensor-core kernel's: the warp kernel
// on CUDA cores for M = 1 and below 32 rows, K = 1024 one strip of 1024
// codes per warp.
// CHECK-LABEL: func @warp_kernel
// CHECK-DAG: %[[X:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<?x1024xf32> to memref<?x1024xf32, strided<[?, 1], offset: ?>>
// CHECK-DAG: %[[W:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<16384xi8> to memref<16384xi8, strided<[1], offset: ?>>
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x32xf32>
// CHECK: %[[ONE:.*]] = arith.cmpi ule
// CHECK: scf.if %[[ONE]] {
// M = 1: 8 warps (32 rows / 4) in 2 blocks of 128 threads. A lane's 4 runs
// of 8 codes are runs i, 32 + i, 64 + i, 96 + i of the strip (4-bit runs
// are whole words: the warp's loads of W and of x are contiguous); its x is
// loaded once, before the loop over the warp's row groups (one here); per
// run and weight row one 4-byte load; the sums of the warp's lanes by
// butterfly shuffles, added into Y by one lane each.
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%c2{{.*}}, %{{.*}})
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c128{{.*}})
// CHECK-COUNT-4: vector.load %[[X]][{{.*}}] {alignment = 16 : i64} : memref<?x1024xf32, strided<[?, 1], offset: ?>>, vector<8xf32>
// CHECK: scf.for
// CHECK-COUNT-4: vector.load %[[W]][{{.*}}] {alignment = 4 : i64} : memref<16384xi8, strided<[1], offset: ?>>, vector<4xi8>
// CHECK: arith.xori %{{.*}}, %c1258291200_i32
// CHECK: math.fma
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.atomic_rmw addf %{{.*}}, %[[Y]]
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = block_y
// CHECK: } else {
// CHECK: arith.cmpi uge, %{{.*}}, %c32
// CHECK: nvgpu.mma.sync
// CHECK: } else {
// CHECK: gpu.shuffle
// CHECK: memref.atomic_rmw addf
// CHECK: bufferization.to_tensor %[[Y]] restrict writable

// Warps emulated (a CPU test mode): no mapping, no shuffles; every lane adds
// its own sums into Y.
// WARPS-LABEL: func @warp_kernel
// WARPS-NOT: gpu.shuffle
// WARPS: scf.parallel
// WARPS-NOT: mapping
// WARPS: memref.atomic_rmw addf
// WARPS-NOT: gpu.shuffle
// WARPS: } else {
func.func @warp_kernel(%x: tensor<?x1024xf32>, %w: tensor<32x1024xui4>,
                       %s: tensor<32x8xf16>, %z: tensor<32x8xf16>,
                       %init: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x1024xf32>, tensor<32x1024xui4>
         scales %s : tensor<32x8xf16> zeros %z : tensor<32x8xf16>
         group_size 128 outs %init : tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Float codes decode through a table, a private constant.
// CHECK: memref.global "private" constant @__tessera_decode_e2m1 : memref<16xf32> = dense<
// CHECK-LABEL: func @float_codes
// CHECK: memref.get_global @__tessera_decode_e2m1
// CHECK: scf.parallel
// CHECK: nvgpu.mma.sync
func.func @float_codes(%x: tensor<?x64xf32>, %w: tensor<8x64x!tessera.f4e2m1>,
                       %s: tensor<8x2xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<8x64x!tessera.f4e2m1>
         scales %s : tensor<8x2xf32> group_size 32 outs %init : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Groups of 16 codes: no whole steps of 32, so neither the tensor-core nor
// the warp kernel; the split-K nest for M = 1 or 4 rows per thread.
// CHECK-LABEL: func @group_16
// CHECK: scf.if
// CHECK-NOT: gpu.shuffle
// CHECK: } else {
// CHECK-NOT: arith.cmpi uge
// CHECK-NOT: nvgpu
// CHECK-NOT: gpu.shuffle
// CHECK: memref.atomic_rmw addf
// CHECK: bufferization.to_tensor
func.func @group_16(%x: tensor<?x64xf32>, %w: tensor<8x64xui2>,
                   %s: tensor<8x4xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<8x64xui2>
         scales %s : tensor<8x4xf32> group_size 16 outs %init : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Left for the reference lowering: an f16 result, K not a multiple of 8.
// CHECK-LABEL: func @f16_result
// CHECK: tessera.mpmm
// CHECK-LABEL: func @odd_k
// CHECK: tessera.mpmm
func.func @f16_result(%x: tensor<?x64xf16>, %w: tensor<8x64xui4>,
                      %s: tensor<8x2xf16>, %init: tensor<?x8xf16>) -> tensor<?x8xf16> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf16>, tensor<8x64xui4>
         scales %s : tensor<8x2xf16> group_size 32 outs %init : tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}
func.func @odd_k(%x: tensor<?x12xf32>, %w: tensor<8x12xui4>,
                 %s: tensor<8x1xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x12xf32>, tensor<8x12xui4>
         scales %s : tensor<8x1xf32> group_size 12 outs %init : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
