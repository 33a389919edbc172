// RUN: tessera-opt %s --tessera-tile-mpmm=column-tile=256 --canonicalize -split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-tile-mpmm --canonicalize -split-input-file | FileCheck %s --check-prefix=T128

// The columns in an scf.forall of column-tile columns (the threads' unit,
// by default 128, the vector kernel's tile; 256 here), through the
// op's TilingInterface: each tile an mpmm of the tile's rows of the
// weights, scales and zero points.
// CHECK-LABEL: func @columns
// CHECK: %[[W:.*]] = tessera.unpack
// CHECK: scf.forall (%[[J:.*]]) = (0) to (512) step (256) shared_outs(%[[OUT:.*]] = %{{.*}})
// CHECK-DAG: %[[WT:.*]] = tensor.extract_slice %[[W]][%[[J]], 0] [256, 64] [1, 1] : tensor<512x64xui4> to tensor<256x64xui4>
// CHECK-DAG: %[[ST:.*]] = tensor.extract_slice %{{.*}}[%[[J]], 0] [256, 2] [1, 1] : tensor<512x2xf32> to tensor<256x2xf32>
// CHECK-DAG: %[[IT:.*]] = tensor.extract_slice %[[OUT]][0, %[[J]]] [%{{.*}}, 256] [1, 1]
// CHECK: %[[Y:.*]] = tessera.mpmm %{{.*}}, %[[WT]] : tensor<?x64xf32>, tensor<256x64xui4> scales %[[ST]] : tensor<256x2xf32> group_size 32 outs %[[IT]] : tensor<?x256xf32>
// CHECK: tensor.parallel_insert_slice %[[Y]] into %[[OUT]][0, %[[J]]] [%{{.*}}, 256] [1, 1]
// T128-LABEL: func @columns
// T128: scf.forall (%{{.*}}) = (0) to (512) step (128)
// T128: tessera.mpmm {{.*}} : tensor<?x64xf32>, tensor<128x64xui4>
func.func @columns(%x: tensor<?x64xf32>, %wb: tensor<16384xi8>, %s: tensor<512x2xf32>,
                   %init: tensor<?x512xf32>) -> tensor<?x512xf32> {
  %w = tessera.unpack %wb : tensor<16384xi8> -> tensor<512x64xui4>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<512x64xui4> scales %s : tensor<512x2xf32>
         group_size 32 outs %init : tensor<?x512xf32> {strategy = "dequantize"}
  return %y : tensor<?x512xf32>
}

// -----

// An elementwise consumer (bias and ReLU) is tiled with it: the mpmm is
// fused into each of its tiles as the producer of the tile it reads. The
// consumer, which does not read its own init, writes over the mpmm's: the
// loop's shared output starts from it, and the mpmm of a tile accumulates
// into the tile of the shared output, which the consumer rewrites in place.
// CHECK-LABEL: func @with_consumer
// CHECK-SAME: %[[INIT:[a-z0-9]+]]: tensor<?x512xf32>, %{{.*}}: tensor<512xf32>)
// CHECK-NOT: tessera.mpmm
// CHECK: scf.forall (%[[J:.*]]) = (0) to (512) step (256) shared_outs(%[[OUT:.*]] = %[[INIT]])
// CHECK: %[[IT:.*]] = tensor.extract_slice %[[OUT]][0, %[[J]]] [%{{.*}}, 256] [1, 1]
// CHECK: %[[Y:.*]] = tessera.mpmm {{.*}} outs %[[IT]] : tensor<?x256xf32>
// CHECK: %[[B:.*]] = tensor.extract_slice %{{.*}}[%[[J]]] [256] [1] : tensor<512xf32> to tensor<256xf32>
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[Y]], %[[B]] : tensor<?x256xf32>, tensor<256xf32>)
// CHECK: arith.maximumf
// CHECK: tensor.parallel_insert_slice %[[R]]
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @with_consumer(%x: tensor<?x64xf32>, %wb: tensor<16384xi8>, %s: tensor<512x2xf32>,
                         %init: tensor<?x512xf32>, %bias: tensor<512xf32>) -> tensor<?x512xf32> {
  %w = tessera.unpack %wb : tensor<16384xi8> -> tensor<512x64xui4>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<512x64xui4> scales %s : tensor<512x2xf32>
         group_size 32 outs %init : tensor<?x512xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
       ins(%y, %bias : tensor<?x512xf32>, tensor<512xf32>) outs(%init : tensor<?x512xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %t = arith.addf %a, %b : f32
    %u = arith.maximumf %t, %zero : f32
    linalg.yield %u : f32
  } -> tensor<?x512xf32>
  return %r : tensor<?x512xf32>
}

// -----

// Left whole (the vector lowering makes the column tiles itself): N not a
// multiple of the tile, N not above it, weights in the LUT kernel's bit
// planes, weights not from an unpack.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: scf.forall
// CHECK-COUNT-4: tessera.mpmm
// CHECK-NOT: scf.forall
func.func @left_alone(%x: tensor<?x64xf32>, %wb300: tensor<9600xi8>, %s300: tensor<300x2xf32>,
                      %i300: tensor<?x300xf32>, %wb256: tensor<8192xi8>, %s256: tensor<256x2xf32>,
                      %i256: tensor<?x256xf32>, %wp: tensor<16384xi8>, %w: tensor<512x64xui4>,
                      %s512: tensor<512x2xf32>, %i512: tensor<?x512xf32>)
    -> (tensor<?x300xf32>, tensor<?x256xf32>, tensor<?x512xf32>, tensor<?x512xf32>) {
  %w300 = tessera.unpack %wb300 : tensor<9600xi8> -> tensor<300x64xui4>
  %y300 = tessera.mpmm %x, %w300 : tensor<?x64xf32>, tensor<300x64xui4> scales %s300 : tensor<300x2xf32>
            group_size 32 outs %i300 : tensor<?x300xf32>
  %w256 = tessera.unpack %wb256 : tensor<8192xi8> -> tensor<256x64xui4>
  %y256 = tessera.mpmm %x, %w256 : tensor<?x64xf32>, tensor<256x64xui4> scales %s256 : tensor<256x2xf32>
            group_size 32 outs %i256 : tensor<?x256xf32>
  %wpl = tessera.unpack %wp {layout = #tessera.layout<tile = [64, 8], bit_planes>}
           : tensor<16384xi8> -> tensor<512x64xui4>
  %ypl = tessera.mpmm %x, %wpl : tensor<?x64xf32>, tensor<512x64xui4> scales %s512 : tensor<512x2xf32>
           group_size 32 outs %i512 : tensor<?x512xf32>
  %yarg = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<512x64xui4> scales %s512 : tensor<512x2xf32>
            group_size 32 outs %i512 : tensor<?x512xf32>
  return %y300, %y256, %ypl, %yarg : tensor<?x300xf32>, tensor<?x256xf32>, tensor<?x512xf32>, tensor<?x512xf32>
}
