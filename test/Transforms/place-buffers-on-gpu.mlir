// RUN: tessera-opt %s --tessera-place-buffers-on-gpu --split-input-file --verify-diagnostics | FileCheck %s

memref.global "private" constant @weights : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>

// Allocations become device allocations, copies device copies, a constant is
// copied to the device where it is taken; temporaries are freed before the
// return, the returned buffer (here through a view) is not.
// CHECK-LABEL: func @f(
// CHECK-SAME: %[[A:.*]]: memref<?xf32>
// CHECK: %[[T:.*]] = gpu.alloc (%{{.*}}) : memref<?xf32>
// CHECK: %[[R:.*]] = gpu.alloc () : memref<2x4xf32>
// CHECK: gpu.memcpy %[[T]], %[[A]] : memref<?xf32>, memref<?xf32>
// CHECK: %[[W:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: %[[G:.*]] = memref.get_global @weights
// CHECK: gpu.memcpy %[[W]], %[[G]]
// CHECK: gpu.launch
// CHECK: memref.load %[[W]]
// CHECK: memref.store %{{.*}}, %[[R]]
// CHECK: %[[V:.*]] = memref.collapse_shape %[[R]]
// CHECK-NOT: memref.alloc
// CHECK-DAG: gpu.dealloc %[[T]]
// CHECK-DAG: gpu.dealloc %[[W]]
// CHECK-NOT: gpu.dealloc %[[R]]
// CHECK: return %[[V]]
func.func @f(%a: memref<?xf32>) -> memref<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?xf32>
  %t = memref.alloc(%n) : memref<?xf32>
  %r = memref.alloc() : memref<2x4xf32>
  memref.copy %a, %t : memref<?xf32> to memref<?xf32>
  %w = memref.get_global @weights : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %w[%tx] : memref<4xf32>
    memref.store %v, %r[%tx, %tx] : memref<2x4xf32>
    gpu.terminator
  }
  memref.dealloc %t : memref<?xf32>
  %v = memref.collapse_shape %r [[0, 1]] : memref<2x4xf32> into memref<8xf32>
  return %v : memref<8xf32>
}

// -----

// The host cannot read device memory.
func.func @host_load(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{the host cannot access GPU memory: this op is left outside the GPU kernels of the CUDA pipeline}}
  %v = memref.load %a[%c0] : memref<4xf32>
  return %v : f32
}

// -----

// Control flow on the host is not supported.
// expected-error @+1 {{the CUDA pipeline needs host code without control flow; this function has 2 blocks}}
func.func @branches(%c: i1) {
  cf.cond_br %c, ^bb1, ^bb1
^bb1:
  return
}
