// RUN: tessera-opt %s --transform-interpreter --canonicalize --split-input-file --verify-diagnostics | FileCheck %s

// tessera.mpmm implements TilingInterface over (M, N): upstream tiling
// makes each tile an mpmm of slices of x (rows), of the weights, scales and
// zero points (whole rows: K is not tiled) and of init.
// CHECK-LABEL: func @tile_forall
// CHECK: scf.forall (%[[TI:.*]], %[[TJ:.*]]) in (%{{.*}}, 2) shared_outs(%[[OUT:.*]] = %{{.*}})
// CHECK-DAG: %[[I:.*]] = affine.apply #{{.*}}(%[[TI]])
// CHECK-DAG: %[[J:.*]] = affine.apply #{{.*}}(%[[TJ]])
// CHECK-DAG: %[[X:.*]] = tensor.extract_slice %{{.*}}[%[[I]], 0] [%{{.*}}, 64] [1, 1] : tensor<?x64xf32> to tensor<?x64xf32>
// CHECK-DAG: %[[W:.*]] = tensor.extract_slice %{{.*}}[%[[J]], 0] [128, 64] [1, 1] : tensor<256x64xui3> to tensor<128x64xui3>
// CHECK-DAG: %[[S:.*]] = tensor.extract_slice %{{.*}}[%[[J]], 0] [128, 2] [1, 1] : tensor<256x2xf16> to tensor<128x2xf16>
// CHECK-DAG: %[[Z:.*]] = tensor.extract_slice %{{.*}}[%[[J]], 0] [128, 2] [1, 1] : tensor<256x2xui3> to tensor<128x2xui3>
// CHECK-DAG: %[[INIT:.*]] = tensor.extract_slice %[[OUT]][%[[I]], %[[J]]] [%{{.*}}, 128] [1, 1]
// CHECK: %[[Y:.*]] = tessera.mpmm %[[X]], %[[W]] : tensor<?x64xf32>, tensor<128x64xui3> scales %[[S]] : tensor<128x2xf16> zeros %[[Z]] : tensor<128x2xui3> group_size 32 outs %[[INIT]] : tensor<?x128xf32> {strategy = "dequantize"}
// CHECK: tensor.parallel_insert_slice %[[Y]] into %[[OUT]][%[[I]], %[[J]]] [%{{.*}}, 128] [1, 1]
func.func @tile_forall(%x: tensor<?x64xf32>, %w: tensor<256x64xui3>, %s: tensor<256x2xf16>,
                       %z: tensor<256x2xui3>, %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<256x64xui3> scales %s : tensor<256x2xf16>
         zeros %z : tensor<256x2xui3> group_size 32 outs %init : tensor<?x256xf32>
         {strategy = "dequantize"}
  return %y : tensor<?x256xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["tessera.mpmm"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l = transform.structured.tile_using_forall %mm tile_sizes [16, 128]
      : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// A codebook is not sliced; scf.for loops work as well.
// CHECK-LABEL: func @tile_for_codebook
// CHECK: scf.for %[[J:.*]] = %c0 to %c64 step %c32
// CHECK: %[[W:.*]] = tensor.extract_slice %{{.*}}[%[[J]], 0] [32, 16] [1, 1] : tensor<64x16xui2> to tensor<32x16xui2>
// CHECK: tessera.mpmm %{{.*}}, %[[W]] : tensor<4x16xf32>, tensor<32x16xui2> scales %{{.*}} : tensor<32x1xf32> codebook %{{.*}} : tensor<4xf32> group_size 16 outs %{{.*}} : tensor<4x32xf32>
// CHECK: tensor.insert_slice
func.func @tile_for_codebook(%x: tensor<4x16xf32>, %w: tensor<64x16xui2>, %s: tensor<64x1xf32>,
                             %cb: tensor<4xf32>, %init: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %y = tessera.mpmm %x, %w : tensor<4x16xf32>, tensor<64x16xui2> scales %s : tensor<64x1xf32>
         codebook %cb : tensor<4xf32> group_size 16 outs %init : tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["tessera.mpmm"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l = transform.structured.tile_using_for %mm tile_sizes [0, 32]
      : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// An elementwise consumer tiled, the mpmm fused into its loop as the
// producer of each tile (upstream fuse_into_containing_op).
// CHECK-LABEL: func @fuse_into_consumer
// CHECK-NOT: tessera.mpmm %
// CHECK: scf.forall (%[[J:.*]]) in (2)
// CHECK: %[[Y:.*]] = tessera.mpmm %{{.*}} : tensor<?x64xf32>, tensor<256x64xui1> {{.*}} outs %{{.*}} : tensor<?x256xf32>
// CHECK: %[[B:.*]] = tensor.extract_slice %{{.*}} : tensor<512xf32> to tensor<256xf32>
// CHECK: linalg.generic {{.*}} ins(%[[Y]], %[[B]] : tensor<?x256xf32>, tensor<256xf32>)
// CHECK: tensor.parallel_insert_slice
// CHECK-NOT: tessera.mpmm %
// CHECK: return
func.func @fuse_into_consumer(%x: tensor<?x64xf32>, %w: tensor<512x64xui1>, %s: tensor<512x2xf16>,
                              %init: tensor<?x512xf32>, %bias: tensor<512xf32>) -> tensor<?x512xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<512x64xui1> scales %s : tensor<512x2xf16>
         group_size 32 outs %init : tensor<?x512xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
       ins(%y, %bias : tensor<?x512xf32>, tensor<512xf32>) outs(%init : tensor<?x512xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<?x512xf32>
  return %r : tensor<?x512xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %g = transform.structured.match ops{["linalg.generic"]} in %root : (!transform.any_op) -> !transform.any_op
    %mm = transform.structured.match ops{["tessera.mpmm"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %forall = transform.structured.tile_using_forall %g tile_sizes [0, 256]
      : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %f, %l = transform.structured.fuse_into_containing_op %mm into %forall
      : (!transform.any_op, !transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Tiles of N keep the weights' static shape: a size that does not divide N
// (a partial last tile) does not tile.
func.func @tile_not_dividing_n(%x: tensor<?x64xf32>, %w: tensor<256x64xui4>, %s: tensor<256x2xf32>,
                               %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  // expected-error @below {{faild to tile operation}}
  // expected-error @below {{failed to generate tiling loops}}
  // expected-note @below {{when applied to this op}}
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<256x64xui4> scales %s : tensor<256x2xf32>
         group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["tessera.mpmm"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{failed to apply}}
    %t, %l = transform.structured.tile_using_forall %mm tile_sizes [0, 96]
      : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
