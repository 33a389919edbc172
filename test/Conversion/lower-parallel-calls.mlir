// RUN: tessera-opt %s --tessera-lower-parallel-calls -split-input-file -verify-diagnostics | FileCheck %s
// RUN: tessera-opt %s --tessera-lower-parallel-calls=threads=3 -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=CAP

// A call of a parallel body runs on the thread pool: the begin and the
// other arguments go to a context on the caller's stack (allocated in its
// entry block), and a trampoline unpacks them for each chunk.
// CHECK-LABEL: llvm.func @caller
// CHECK-SAME: (%[[B:.*]]: i64, %[[E:.*]]: i64, %[[P:.*]]: !llvm.ptr, %[[F:.*]]: f32)
// CHECK: %[[CTX:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(i64, ptr, f32)>
// CHECK: llvm.cond_br
// CHECK: %[[A0:.*]] = llvm.getelementptr %[[CTX]][0, 0]
// CHECK: llvm.store %[[B]], %[[A0]]
// CHECK: %[[A1:.*]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK: llvm.store %[[P]], %[[A1]]
// CHECK: %[[A2:.*]] = llvm.getelementptr %[[CTX]][0, 2]
// CHECK: llvm.store %[[F]], %[[A2]]
// CHECK: %[[N:.*]] = llvm.sub %[[E]], %[[B]]
// CHECK: %[[GRAIN:.*]] = llvm.mlir.constant(1 : i64)
// CHECK: %[[THREADS:.*]] = llvm.mlir.constant(0 : i32)
// CHECK: %[[FN:.*]] = llvm.mlir.addressof @body_trampoline
// CHECK: llvm.call @tessera_rt_parallel_for(%[[N]], %[[GRAIN]], %[[THREADS]], %[[FN]], %[[CTX]])
// CHECK-NOT: llvm.call @body(
// CHECK: llvm.func internal @body_trampoline(%[[C:.*]]: !llvm.ptr, %[[LO:.*]]: i64, %[[HI:.*]]: i64)
// CHECK: %[[BEGIN:.*]] = llvm.load
// CHECK: %[[PTR:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[VAL:.*]] = llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: %[[S:.*]] = llvm.add %[[BEGIN]], %[[LO]]
// CHECK: %[[T:.*]] = llvm.add %[[BEGIN]], %[[HI]]
// CHECK: llvm.call @body(%[[S]], %[[T]], %[[PTR]], %[[VAL]])
// CHECK: llvm.func @tessera_rt_parallel_for(i64, i64, i32, !llvm.ptr, !llvm.ptr)

// CAP: llvm.mlir.constant(3 : i32)
llvm.func @caller(%b: i64, %e: i64, %p: !llvm.ptr, %f: f32) {
  %c = llvm.icmp "slt" %b, %e : i64
  llvm.cond_br %c, ^run, ^done
^run:
  llvm.call @body(%b, %e, %p, %f) : (i64, i64, !llvm.ptr, f32) -> ()
  llvm.br ^done
^done:
  llvm.return
}
llvm.func @body(%b: i64, %e: i64, %p: !llvm.ptr, %f: f32) attributes {tessera.parallel_body} {
  llvm.return
}

// -----

// expected-error @below {{'llvm.func' op is marked tessera.parallel_body but does not take (i64 begin, i64 end, ...)}}
llvm.func @bad(%p: !llvm.ptr) attributes {tessera.parallel_body} {
  llvm.return
}
