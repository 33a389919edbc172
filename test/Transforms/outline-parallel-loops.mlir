// RUN: tessera-opt %s --tessera-outline-parallel-loops -split-input-file -verify-diagnostics | FileCheck %s
// RUN: tessera-opt %s --tessera-outline-parallel-loops=threads=1 -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=SERIAL

// The body becomes a function of an iteration range and the values it
// uses (constants are cloned in); the loop becomes a call over every
// iteration, ceil((ub - lb) / step).
// CHECK-LABEL: func.func @scale
// CHECK-SAME: (%[[A:.*]]: memref<?xf32>, %[[F:.*]]: f32, %[[N:.*]]: index)
// CHECK: %[[SPAN:.*]] = arith.subi %[[N]], %{{.*}} : index
// CHECK: %[[COUNT:.*]] = arith.ceildivsi %[[SPAN]], %{{.*}} : index
// CHECK: call @scale_parallel(%{{.*}}, %[[COUNT]], %[[A]], %[[F]], %{{.*}}, %{{.*}})
// CHECK-NOT: scf.forall
// CHECK: func.func private @scale_parallel(%[[B:.*]]: index, %[[E:.*]]: index, %[[A2:.*]]: memref<?xf32>, %[[F2:.*]]: f32, %[[LB:.*]]: index, %[[STEP:.*]]: index)
// CHECK-SAME: attributes {tessera.parallel_body}
// CHECK: %[[TWO:.*]] = arith.constant 2.0
// CHECK: scf.for %[[T:.*]] = %[[B]] to %[[E]]
// CHECK: %[[OFF:.*]] = arith.muli %[[T]], %[[STEP]]
// CHECK: %[[I:.*]] = arith.addi %[[LB]], %[[OFF]]
// CHECK: memref.load %[[A2]][%[[I]]]
// CHECK: arith.mulf %{{.*}}, %[[TWO]]
// CHECK: arith.addf %{{.*}}, %[[F2]]

// SERIAL-LABEL: func.func @scale
// SERIAL: scf.for
// SERIAL-NOT: call
// SERIAL-NOT: parallel_body
func.func @scale(%a: memref<?xf32>, %f: f32, %n: index) {
  %two = arith.constant 2.0 : f32
  %c1 = arith.constant 1 : index
  %lo = arith.divui %n, %n : index
  %st = arith.addi %c1, %lo : index
  scf.forall (%i) = (%lo) to (%n) step (%st) {
    %v = memref.load %a[%i] : memref<?xf32>
    %w = arith.mulf %v, %two : f32
    %x = arith.addf %w, %f : f32
    memref.store %x, %a[%i] : memref<?xf32>
  }
  return
}

// -----

// Nested loops: the inner one is outlined first; the outer body calls it.
// CHECK-LABEL: func.func @nested
// CHECK: call @nested_parallel_0(
// CHECK: func.func private @nested_parallel_0(
// CHECK: call @nested_parallel(
// CHECK: func.func private @nested_parallel(
// CHECK: memref.store
func.func @nested(%a: memref<8x8xf32>, %f: f32) {
  scf.forall (%i) in (8) {
    scf.forall (%j) in (8) {
      memref.store %f, %a[%i, %j] : memref<8x8xf32>
    }
  }
  return
}

// -----

// Loops of more than one dimension run serially.
// CHECK-LABEL: func.func @two_dims
// CHECK: scf.for
// CHECK: scf.for
// CHECK-NOT: call
func.func @two_dims(%a: memref<8x8xf32>, %f: f32) {
  scf.forall (%i, %j) in (8, 8) {
    memref.store %f, %a[%i, %j] : memref<8x8xf32>
  }
  return
}

// -----

func.func @tensors(%t: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @below {{has shared outputs: run tessera-outline-parallel-loops after bufferization}}
  %r = scf.forall (%i) in (8) shared_outs(%o = %t) -> tensor<8xf32> {
  }
  return %r : tensor<8xf32>
}
