// RUN: tessera-opt %s --tessera-lower-to-linalg --canonicalize -split-input-file | FileCheck %s

// Integer zero points: v - z in i32, converted once, times the f16 scale.
// The dequantized N x K/G x G tensor feeds an f32 contraction.
// CHECK-LABEL: func @int_zero
// CHECK: %[[G:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [8, 4, 32] : tensor<8x128xi8> into tensor<8x4x32xi8>
// CHECK: linalg.generic {indexing_maps = [#[[FULL:.*]], #[[GRP:.*]], #[[GRP]], #[[FULL]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[G]], %{{.*}}, %{{.*}} : tensor<8x4x32xi8>, tensor<8x4xf16>, tensor<8x4xi8>)
// CHECK: ^bb0(%[[Q:.*]]: i8, %[[S:.*]]: f16, %[[Z:.*]]: i8, %{{.*}}: f32):
// CHECK: %[[SF:.*]] = arith.extf %[[S]] : f16 to f32
// CHECK: %[[ZI:.*]] = arith.extui %[[Z]] : i8 to i32
// CHECK: %[[QI:.*]] = arith.extui %[[Q]] : i8 to i32
// CHECK: %[[D:.*]] = arith.subi %[[QI]], %[[ZI]] : i32
// CHECK: %[[DF:.*]] = arith.sitofp %[[D]] : i32 to f32
// CHECK: arith.mulf %[[SF]], %[[DF]] : f32
// CHECK: tensor.collapse_shape {{.*}} : tensor<8x4x32xf32> into tensor<8x128xf32>
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @int_zero(%x: tensor<?x128xf32>, %wb: tensor<384xi8>, %s: tensor<8x4xf16>,
                    %zb: tensor<12xi8>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %w = tessera.unpack %wb : tensor<384xi8> -> tensor<8x128xui3>
  %z = tessera.unpack %zb : tensor<12xi8> -> tensor<8x4xui3>
  %y = tessera.mpmm %x, %w : tensor<?x128xf32>, tensor<8x128xui3>
         scales %s : tensor<8x4xf16> zeros %z : tensor<8x4xui3>
         group_size 32 outs %init : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Float offsets are added after scaling; signed codes convert with sitofp;
// an f16 result accumulates in f32 and is rounded once at the end.
// CHECK-LABEL: func @float_offset_f16
// CHECK: ^bb0(%[[Q:.*]]: i8, %[[S:.*]]: f32, %[[Z:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[V:.*]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK: %[[M:.*]] = arith.mulf %[[S]], %[[V]] : f32
// CHECK: arith.addf %[[M]], %[[Z]] : f32
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: return %{{.*}} : tensor<3x4xf16>
func.func @float_offset_f16(%x: tensor<3x64xf16>, %wb: tensor<32xi8>, %s: tensor<4x1xf32>,
                            %z: tensor<4x1xf32>, %init: tensor<3x4xf16>) -> tensor<3x4xf16> {
  %w = tessera.unpack %wb : tensor<32xi8> -> tensor<4x64xsi1>
  %y = tessera.mpmm %x, %w : tensor<3x64xf16>, tensor<4x64xsi1>
         scales %s : tensor<4x1xf32> zeros %z : tensor<4x1xf32>
         group_size 64 outs %init : tensor<3x4xf16>
  return %y : tensor<3x4xf16>
}

// -----

// A codebook replaces the code's value: out = s * codebook[q].
// CHECK-LABEL: func @codebook
// CHECK-SAME: %[[CB:[a-z0-9]+]]: tensor<16xbf16>
// CHECK: ^bb0(%[[Q:.*]]: i8, %[[S:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[IDX:.*]] = arith.index_castui %[[Q]] : i8 to index
// CHECK: %[[E:.*]] = tensor.extract %[[CB]][%[[IDX]]] : tensor<16xbf16>
// CHECK: %[[EF:.*]] = arith.extf %[[E]] : bf16 to f32
// CHECK: arith.mulf %[[S]], %[[EF]] : f32
func.func @codebook(%x: tensor<1x32xf32>, %wb: tensor<32xi8>, %s: tensor<2x1xf32>,
                    %cb: tensor<16xbf16>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = tessera.unpack %wb : tensor<32xi8> -> tensor<2x32xui4>
  %y = tessera.mpmm %x, %w : tensor<1x32xf32>, tensor<2x32xui4>
         scales %s : tensor<2x1xf32> codebook %cb : tensor<16xbf16>
         group_size 32 outs %init : tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// A tile of the weights (a slice of whole rows, as TilingInterface makes
// it) is the same slice of the unpacked codes, one per byte.
// CHECK-LABEL: func @tile_of_weights
// CHECK: %[[CODES:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<64x32xi8>)
// CHECK: %[[TILE:.*]] = tensor.extract_slice %[[CODES]][%{{.*}}, 0] [16, 32] [1, 1] : tensor<64x32xi8> to tensor<16x32xi8>
// CHECK: %[[GROUPS:.*]] = tensor.expand_shape %[[TILE]] {{\[\[}}0], [1, 2]] output_shape [16, 1, 32]
// CHECK: linalg.generic {{.*}} ins(%[[GROUPS]], %{{.*}} : tensor<16x1x32xi8>, tensor<16x1xf32>)
// CHECK-NOT: tessera.
func.func @tile_of_weights(%x: tensor<2x32xf32>, %wb: tensor<256xi8>, %s: tensor<16x1xf32>,
                           %init: tensor<2x16xf32>, %row: index) -> tensor<2x16xf32> {
  %w = tessera.unpack %wb : tensor<256xi8> -> tensor<64x32xui1>
  %tile = tensor.extract_slice %w[%row, 0] [16, 32] [1, 1] : tensor<64x32xui1> to tensor<16x32xui1>
  %y = tessera.mpmm %x, %tile : tensor<2x32xf32>, tensor<16x32xui1> scales %s : tensor<16x1xf32>
         group_size 32 outs %init : tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
