// RUN: tessera-opt %s --tessera-pack-function-boundaries --tessera-lower-mpmm-to-parallel-loops --split-input-file | FileCheck %s

// 4-bit codes, group 128, K = 1024: chunks of 256 codes (2 groups), so 4
// chunks per row and N * 4 iterations along the inner dimension; Y starts as
// a copy of init; one nest for M = 1, one with 4 rows per iteration.
// CHECK-LABEL: func @int_zero
// CHECK-DAG: %[[X:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<?x1024xf32> to memref<?x1024xf32, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[W:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<16384xi8> to memref<16384xi8, strided<[?], offset: ?>>
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x32xf32>
// CHECK: memref.copy %{{.*}}, %[[Y]]
// CHECK: %[[ONE:.*]] = arith.cmpi ule
// CHECK: scf.if %[[ONE]] {
// CHECK-DAG: %[[CHUNKS:.*]] = arith.constant 128 : index
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %[[CHUNKS]])
// CHECK: scf.for
// CHECK: scf.for {{.*}} -> (f32, f32)
// CHECK-COUNT-4: memref.load %[[W]]
// CHECK: math.fma
// CHECK: memref.atomic_rmw addf %{{.*}}, %[[Y]]
// CHECK: } else {
// CHECK: scf.parallel
// CHECK-COUNT-4: memref.atomic_rmw addf
// CHECK: bufferization.to_tensor %[[Y]] restrict writable
// CHECK-NOT: tessera.mpmm
func.func @int_zero(%x: tensor<?x1024xf32>, %w: tensor<32x1024xui4>,
                    %s: tensor<32x8xf16>, %z: tensor<32x8xui4>,
                    %init: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x1024xf32>, tensor<32x1024xui4>
         scales %s : tensor<32x8xf16> zeros %z : tensor<32x8xui4>
         group_size 128 outs %init : tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Float codes decode through a table, a private constant.
// CHECK: memref.global "private" constant @__tessera_decode_e2m1 : memref<16xf32> = dense<
// CHECK-LABEL: func @float_codes
// CHECK: memref.get_global @__tessera_decode_e2m1
// CHECK: scf.parallel
func.func @float_codes(%x: tensor<?x64xf32>, %w: tensor<8x64x!tessera.f4e2m1>,
                       %s: tensor<8x2xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<8x64x!tessera.f4e2m1>
         scales %s : tensor<8x2xf32> group_size 32 outs %init : tensor<?x8xf32>
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
