// RUN: tessera-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline="builtin.module(func.func(tessera-tile-parallel-loops-for-gpu))" | FileCheck %s
// RUN: tessera-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline="builtin.module(func.func(tessera-tile-parallel-loops-for-gpu{threads-per-block=256}))" \
// RUN:   | FileCheck %s --check-prefix=T256

// Dynamic innermost size: blocks of 128 threads along it, 1 along the rest;
// the inner loop has constant bounds and a guard.
// CHECK-LABEL: func @dynamic
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[T:.*]] = arith.constant 128 : index
// CHECK: %[[S0:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: %[[S1:.*]] = arith.muli %[[ONE]], %[[T]] : index
// CHECK: scf.parallel ({{.*}}) = ({{.*}}) to (%{{.*}}, %{{.*}}) step (%[[S0]], %[[S1]])
// CHECK: scf.parallel ({{.*}}) = ({{.*}}) to (%[[S0]], %[[S1]]) step
// CHECK: scf.if
// CHECK: memref.store
// T256-LABEL: func @dynamic
// T256: arith.constant 256 : index
func.func @dynamic(%a: memref<?x?xf32>, %m: index, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1) {
    memref.store %zero, %a[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// -----

// A short static innermost dimension (4): one warp covers it.
// CHECK-LABEL: func @short
// CHECK: arith.constant 32 : index
// CHECK-NOT: arith.constant 128 : index
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @short(%a: memref<64x4x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c64, %c4, %c4) step (%c1, %c1, %c1) {
    memref.store %zero, %a[%i, %j, %k] : memref<64x4x4xf32>
    scf.reduce
  }
  return
}


// -----

// A nest in which a loop already has a mapping (the tensor-core mpmm kernel's
// thread loop, inside a block loop the canonicalizer rebuilt without one)
// is left as it is.
// CHECK-LABEL: func @mapped
// CHECK: scf.parallel (%[[B:.*]]) = (%c0) to (%{{.*}}) step (%c1) {
// CHECK-NEXT: arith.muli
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c128) step (%c1) {
// CHECK-NOT: scf.parallel
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_x
func.func @mapped(%a: memref<?xf32>, %blocks: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%b) = (%c0) to (%blocks) step (%c1) {
    %base = arith.muli %b, %c128 : index
    scf.parallel (%t) = (%c0) to (%c128) step (%c1) {
      %i = arith.addi %base, %t : index
      memref.store %zero, %a[%i] : memref<?xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
    scf.reduce
  }
  return
}
