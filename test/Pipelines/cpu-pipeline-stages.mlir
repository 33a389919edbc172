// The pipeline's stages, in order, as --dump-pass-pipeline prints them.
// RUN: tessera-opt %s --tessera-cpu-pipeline --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s
// CHECK: tessera-pack-function-boundaries
// CHECK: tessera-mark-inputs-readonly
// CHECK: linalg-fuse-elementwise-ops
// CHECK: tessera-tile-mpmm
// CHECK: tessera-lower-mpmm-to-vector
// CHECK: loop-invariant-code-motion
// CHECK: tessera-lower-to-linalg
// CHECK: convert-elementwise-to-linalg
// CHECK: one-shot-bufferize
// CHECK: convert-linalg-to-loops
// CHECK: convert-to-llvm
// CHECK: reconcile-unrealized-casts
module {}
