// RUN: tessera-opt %s --tessera-assign-lut-layouts=lanes=32 -split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-assign-lut-layouts="lanes=64 byte-permute=1" -split-input-file | FileCheck %s --check-prefix=PERMUTE
// RUN: tessera-opt %s --tessera-assign-lut-layouts=lanes=0 -split-input-file | FileCheck %s --check-prefix=NONE

// Weights passed by the caller: the argument takes the bit-plane layout,
// and a public prepack function converts canonical storage into it.
// CHECK-LABEL: func @arg
// CHECK-SAME: %{{.*}}: tensor<64x64xui2> {tessera.layout = #tessera.layout<tile = [32, 8], bit_planes>, tessera.name = "w"}
// CHECK: tessera.lut_accumulate %{{.*}}, %arg1
// CHECK-LABEL: func @prepack_arg_w
// CHECK-SAME: (%[[W:.*]]: tensor<64x64xui2> {tessera.name = "w"}) -> (tensor<64x64xui2> {tessera.layout = #tessera.layout<tile = [32, 8], bit_planes>, tessera.name = "w_prepacked"})
// CHECK-NEXT: return %[[W]]
// With byte permutes (K and the group multiples of 32): tiles of 64 x 32.
// PERMUTE-LABEL: func @arg
// PERMUTE-SAME: {tessera.layout = #tessera.layout<tile = [64, 32], bit_planes>, tessera.name = "w"}
// PERMUTE-LABEL: func @prepack_arg_w
// NONE-LABEL: func @arg
// NONE-NOT: tessera.layout
// NONE-NOT: prepack
func.func @arg(%t: tensor<1x16x16xi8>, %w: tensor<64x64xui2> {tessera.name = "w"}) -> tensor<2x1x64x2xi32> {
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x16x16xi8>, tensor<64x64xui2> -> tensor<2x1x64x2xi32>
  return %acc : tensor<2x1x64x2xi32>
}

// -----

// Constant weights are packed in the layout at compile time: 32 rows x 8
// codes of 2 bits, all 2 (binary 10): one tile, plane 0 (32 bytes, one per
// row) all clear, plane 1 all set.
// CHECK-LABEL: func @constant
// CHECK: %[[C:.*]] = arith.constant dense<[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]> : tensor<64xi8>
// CHECK: %[[W:.*]] = tessera.unpack %[[C]] layout <tile = [32, 8], bit_planes> : tensor<64xi8> -> tensor<32x8xui2>
// CHECK: tessera.lut_accumulate %{{.*}}, %[[W]]
func.func @constant(%t: tensor<1x2x16xi8>) -> tensor<2x1x32x1xi32> {
  %w = arith.constant dense<2> : tensor<32x8xui2>
  %acc = tessera.lut_accumulate %t, %w group_size 8 : tensor<1x2x16xi8>, tensor<32x8xui2> -> tensor<2x1x32x1xi32>
  return %acc : tensor<2x1x32x1xi32>
}

// -----

// Weights computed in the function are repacked where they are used; f32
// tables and N not a multiple of 32 are not the kernel's; a private
// function's argument is not part of the ABI.
// CHECK-LABEL: func private @computed
// CHECK: %[[P:.*]] = tessera.pack %arg1 layout <tile = [32, 8], bit_planes> : tensor<32x64xsi3> -> tensor<768xi8>
// CHECK: %[[W:.*]] = tessera.unpack %[[P]] layout <tile = [32, 8], bit_planes> : tensor<768xi8> -> tensor<32x64xsi3>
// CHECK: tessera.lut_accumulate %{{.*}}, %[[W]]
// CHECK: tessera.lut_accumulate %{{.*}}, %arg3
// CHECK: tessera.lut_accumulate %{{.*}}, %arg4
// CHECK-NOT: prepack
func.func private @computed(%t: tensor<1x16x16xi8>, %w: tensor<32x64xsi3>, %tf: tensor<1x16x16xf32>,
                            %w2: tensor<32x64xsi3>, %w40: tensor<40x64xsi3>) -> (tensor<3x1x32x2xi32>, tensor<3x1x32x2xf32>, tensor<3x1x40x2xi32>) {
  %a = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x16x16xi8>, tensor<32x64xsi3> -> tensor<3x1x32x2xi32>
  %b = tessera.lut_accumulate %tf, %w2 group_size 32 : tensor<1x16x16xf32>, tensor<32x64xsi3> -> tensor<3x1x32x2xf32>
  %c = tessera.lut_accumulate %t, %w40 group_size 32 : tensor<1x16x16xi8>, tensor<40x64xsi3> -> tensor<3x1x40x2xi32>
  return %a, %b, %c : tensor<3x1x32x2xi32>, tensor<3x1x32x2xf32>, tensor<3x1x40x2xi32>
}

// -----

// Per-activation (codebook) tables: 4-bit codes densely in tiles of 32 x 2,
// row r's two codes in byte r of a tile.
// CHECK-LABEL: func @codebook
// CHECK-SAME: {tessera.layout = #tessera.layout<tile = [32, 2]>}
// CHECK-LABEL: func @prepack_codebook_arg1
func.func @codebook(%t: tensor<1x64x16xi8>, %w: tensor<32x64xui4>) -> tensor<1x1x32x1xi32> {
  %acc = tessera.lut_accumulate %t, %w group_size 64 : tensor<1x64x16xi8>, tensor<32x64xui4> -> tensor<1x1x32x1xi32>
  return %acc : tensor<1x1x32x1xi32>
}

// -----

// Groups of more than 1024 codes overflow the kernel's exact i16 sums: no
// layout, no prepack (the reference lowering takes the op).
// CHECK-LABEL: func @long_groups
// CHECK-NOT: tessera.layout
// CHECK-NOT: prepack
func.func @long_groups(%t: tensor<1x512x16xi8>, %w: tensor<32x2048xui2>) -> tensor<2x1x32x1xi32> {
  %acc = tessera.lut_accumulate %t, %w group_size 2048 : tensor<1x512x16xi8>, tensor<32x2048xui2> -> tensor<2x1x32x1xi32>
  return %acc : tensor<2x1x32x1xi32>
}

// -----

// A dequantize-strategy mpmm on the same weights (the run-time choice of
// tessera-choose-mpmm-strategy) reads the bit planes as well: the argument
// still takes the layout, stored once. Any other user keeps the argument
// canonical and the kernel's weights are repacked.
// With byte permutes the shared argument takes the permute kernel's tiles
// of 64 x 32 (the dequantize kernel reads those too), and keeps them when
// the pass runs again on the argument's unpack (the pipeline's second run
// after lowerSignatures).
// PERMUTE-LABEL: func @shared_with_dequantize
// PERMUTE-SAME: {tessera.layout = #tessera.layout<tile = [64, 32], bit_planes>}
// PERMUTE-NOT: tessera.pack
// PERMUTE-LABEL: func @other_user
// PERMUTE: tessera.pack %arg1 layout <tile = [64, 32], bit_planes>
// PERMUTE-LABEL: func @shared_unpack
// PERMUTE-NOT: tessera.pack
// PERMUTE: tessera.lut_accumulate %{{.*}}, %[[W:.*]] group_size
// PERMUTE: tessera.mpmm %{{.*}}, %[[W]]
// CHECK-LABEL: func @shared_with_dequantize
// CHECK-SAME: %{{.*}}: tensor<64x64xui4> {tessera.layout = #tessera.layout<tile = [32, 8], bit_planes>}
// CHECK-NOT: tessera.pack
// CHECK: tessera.lut_accumulate %{{.*}}, %arg1
// CHECK: tessera.mpmm %{{.*}}, %arg1
// CHECK: func @prepack_shared_with_dequantize_arg1
// CHECK-LABEL: func @other_user
// CHECK-SAME: %{{.*}}: tensor<64x64xui4>, %{{.*}}: tensor<?x64xf32>
// CHECK: %[[P:.*]] = tessera.pack %arg1 layout <tile = [32, 8], bit_planes>
// CHECK: %[[W:.*]] = tessera.unpack %[[P]]
// CHECK: tessera.lut_accumulate %{{.*}}, %[[W]]
// CHECK: tessera.mpmm %{{.*}}, %arg1
// CHECK-NOT: func @prepack_other_user
func.func @shared_with_dequantize(%t: tensor<1x16x16xi8>, %w: tensor<64x64xui4>, %x: tensor<?x64xf32>,
                                  %s: tensor<64x2xf32>, %i: tensor<?x64xf32>) -> (tensor<4x1x64x2xi32>, tensor<?x64xf32>) {
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x16x16xi8>, tensor<64x64xui4> -> tensor<4x1x64x2xi32>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<64x64xui4> scales %s : tensor<64x2xf32> group_size 32 outs %i : tensor<?x64xf32> {strategy = "dequantize"}
  return %acc, %y : tensor<4x1x64x2xi32>, tensor<?x64xf32>
}
func.func @other_user(%t: tensor<1x16x16xi8>, %w: tensor<64x64xui4>, %x: tensor<?x64xf32>,
                      %s: tensor<64x2xf32>, %i: tensor<?x64xf32>) -> (tensor<4x1x64x2xi32>, tensor<?x64xf32>) {
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x16x16xi8>, tensor<64x64xui4> -> tensor<4x1x64x2xi32>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<64x64xui4> scales %s : tensor<64x2xf32> group_size 32 outs %i : tensor<?x64xf32>
  return %acc, %y : tensor<4x1x64x2xi32>, tensor<?x64xf32>
}
func.func @shared_unpack(%t: tensor<1x16x16xi8>, %wb: tensor<2048xi8>, %x: tensor<?x64xf32>,
                         %s: tensor<64x2xf32>, %i: tensor<?x64xf32>) -> (tensor<4x1x64x2xi32>, tensor<?x64xf32>) {
  %w = tessera.unpack %wb layout <tile = [64, 32], bit_planes> : tensor<2048xi8> -> tensor<64x64xui4>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x16x16xi8>, tensor<64x64xui4> -> tensor<4x1x64x2xi32>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<64x64xui4> scales %s : tensor<64x2xf32> group_size 32 outs %i : tensor<?x64xf32> {strategy = "dequantize"}
  return %acc, %y : tensor<4x1x64x2xi32>, tensor<?x64xf32>
}

// -----

// The scales and zero points of a combine whose lookups read the kernel's
// layout, N a multiple of 64: spans of 64 rows, with prepack functions.
// Without a kernel (NONE) they stay canonical.
// CHECK-LABEL: func @terms
// CHECK-SAME: %{{.*}}: tensor<64x64xui2> {tessera.layout = #tessera.layout<tile = [32, 8], bit_planes>}
// CHECK-SAME: %{{.*}}: tensor<64x2xf16> {tessera.layout = #tessera.layout<tile = [64, 1]>}
// CHECK-SAME: %{{.*}}: tensor<64x2xui2> {tessera.layout = #tessera.layout<tile = [64, 1]>}
// CHECK-DAG: func @prepack_terms_arg4
// CHECK-DAG: func @prepack_terms_arg5
// NONE-LABEL: func @terms
// NONE-NOT: tessera.layout
func.func @terms(%t: tensor<?x16x16xi8>, %ts: tensor<?x2xf32>, %sums: tensor<?x2xf32>,
                 %w: tensor<64x64xui2>, %s: tensor<64x2xf16>, %z: tensor<64x2xui2>,
                 %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<?x16x16xi8>, tensor<64x64xui2> -> tensor<2x?x64x2xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<2x?x64x2xi32>, tensor<?x2xf32>, tensor<?x2xf32>
         scales %s : tensor<64x2xf16> zeros %z : tensor<64x2xui2> code_type ui2 outs %init : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
