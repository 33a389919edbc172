// RUN: tessera-opt %s --tessera-pack-function-boundaries -split-input-file -verify-diagnostics | FileCheck %s

// Arguments: 64x128 ui3 codes are 3072 bytes; 64x4 ui3 zeros are 96 bytes.
// CHECK-LABEL: func @args
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<?x128xf32>, %[[W:[a-z0-9]+]]: tensor<3072xi8>, %[[S:[a-z0-9]+]]: tensor<64x4xf16>, %[[Z:[a-z0-9]+]]: tensor<96xi8>,
// CHECK-DAG: %[[WU:.*]] = tessera.unpack %[[W]] : tensor<3072xi8> -> tensor<64x128xui3>
// CHECK-DAG: %[[ZU:.*]] = tessera.unpack %[[Z]] : tensor<96xi8> -> tensor<64x4xui3>
// CHECK: tessera.mpmm %[[X]], %[[WU]] {{.*}} zeros %[[ZU]]
func.func @args(%x: tensor<?x128xf32>, %w: tensor<64x128xui3>,
                %s: tensor<64x4xf16>, %z: tensor<64x4xui3>,
                %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x128xf32>, tensor<64x128xui3>
         scales %s : tensor<64x4xf16> zeros %z : tensor<64x4xui3>
         group_size 32 outs %init : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Results are packed before each return; 3x3 si5 is 45 bits, 6 bytes.
// CHECK-LABEL: func @results
// CHECK-SAME: -> tensor<6xi8>
// CHECK: %[[P:.*]] = tessera.pack %{{.*}} : tensor<3x3xsi5> -> tensor<6xi8>
// CHECK: return %[[P]] : tensor<6xi8>
func.func @results(%w: tensor<3x3xsi5>) -> tensor<3x3xsi5> {
  return %w : tensor<3x3xsi5>
}

// -----

// Calls between functions follow the new signatures; declarations too.
// CHECK-LABEL: func.func private @external(tensor<2xi8>) -> tensor<1xi8>
func.func private @external(tensor<4x4xui1>) -> tensor<2x2xsi2>
// CHECK-LABEL: func @caller
// CHECK: %[[P:.*]] = tessera.pack %{{.*}} : tensor<4x4xui1> -> tensor<2xi8>
// CHECK: %[[R:.*]] = call @external(%[[P]]) : (tensor<2xi8>) -> tensor<1xi8>
// CHECK: tessera.unpack %[[R]] : tensor<1xi8> -> tensor<2x2xsi2>
func.func @caller(%a: tensor<4x4xui1>) -> tensor<1xi8> {
  %r = call @external(%a) : (tensor<4x4xui1>) -> tensor<2x2xsi2>
  %p = tessera.pack %r : tensor<2x2xsi2> -> tensor<1xi8>
  return %p : tensor<1xi8>
}

// -----

// Functions without low-bit tensors are left alone.
// CHECK-LABEL: func @plain(%{{.*}}: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NOT: tessera.
func.func @plain(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}

// -----

// expected-error @+1 {{low-bit tensor 'tensor<?x8xui4>' at a function boundary needs a static shape to have a packed storage size}}
func.func @dynamic(%w: tensor<?x8xui4>) {
  return
}

// -----

// A tessera.layout attribute: the argument (or result) is passed in that
// storage layout, here 2 tiles x 3 planes x 32 bytes.
// CHECK-LABEL: func @with_layout
// CHECK-SAME: (%[[B:.*]]: tensor<192xi8> {tessera.layout = #tessera.layout<tile = [32, 8], bit_planes>}) -> (tensor<192xi8> {tessera.layout = #tessera.layout<tile = [32, 8], bit_planes>})
// CHECK: %[[W:.*]] = tessera.unpack %[[B]] layout <tile = [32, 8], bit_planes> : tensor<192xi8> -> tensor<64x8xui3>
// CHECK: %[[P:.*]] = tessera.pack %[[W]] layout <tile = [32, 8], bit_planes> : tensor<64x8xui3> -> tensor<192xi8>
// CHECK: return %[[P]]
func.func @with_layout(%w: tensor<64x8xui3> {tessera.layout = #tessera.layout<tile = [32, 8], bit_planes>})
    -> (tensor<64x8xui3> {tessera.layout = #tessera.layout<tile = [32, 8], bit_planes>}) {
  return %w : tensor<64x8xui3>
}

// -----

// A float tensor with a layout of tiles crosses as linalg.pack tiles of the
// dimensions whose tile is larger than 1: 128 x 4 scales in spans of 64
// rows are 2 x 4 x 64; calls pass and receive the tiles too.
// CHECK-LABEL: func @tiled_scales
// CHECK-SAME: (%[[T:.*]]: tensor<2x4x64xf16> {tessera.layout = #tessera.layout<tile = [64, 1]>}) -> (tensor<2x4x64xf16> {tessera.layout = #tessera.layout<tile = [64, 1]>})
// CHECK: %[[E:.*]] = tensor.empty() : tensor<128x4xf16>
// CHECK: %[[S:.*]] = linalg.unpack %[[T]] inner_dims_pos = [0] inner_tiles = [64] into %[[E]] : tensor<2x4x64xf16> -> tensor<128x4xf16>
// CHECK: %[[P:.*]] = linalg.pack %[[S]] inner_dims_pos = [0] inner_tiles = [64] into %{{.*}} : tensor<128x4xf16> -> tensor<2x4x64xf16>
// CHECK: return %[[P]]
// CHECK-LABEL: func @calls_tiled
// CHECK: %[[A:.*]] = linalg.pack %{{.*}} inner_dims_pos = [0] inner_tiles = [64]
// CHECK: %[[R:.*]] = call @tiled_scales(%[[A]]) : (tensor<2x4x64xf16>) -> tensor<2x4x64xf16>
// CHECK: linalg.unpack %[[R]] inner_dims_pos = [0] inner_tiles = [64]
func.func @tiled_scales(%s: tensor<128x4xf16> {tessera.layout = #tessera.layout<tile = [64, 1]>})
    -> (tensor<128x4xf16> {tessera.layout = #tessera.layout<tile = [64, 1]>}) {
  return %s : tensor<128x4xf16>
}
func.func @calls_tiled(%s: tensor<128x4xf16>) -> tensor<128x4xf16> {
  %r = call @tiled_scales(%s) : (tensor<128x4xf16>) -> tensor<128x4xf16>
  return %r : tensor<128x4xf16>
}

// -----

// Tiles of both dimensions: 8 x 6 in tiles of 4 x 2 is 2 x 3 x 4 x 2.
// CHECK-LABEL: func @tiled_both
// CHECK-SAME: tensor<2x3x4x2xf32>
// CHECK: linalg.unpack %{{.*}} inner_dims_pos = [0, 1] inner_tiles = [4, 2]
func.func @tiled_both(%s: tensor<8x6xf32> {tessera.layout = #tessera.layout<tile = [4, 2]>}) -> tensor<8x6xf32> {
  return %s : tensor<8x6xf32>
}

// -----

// expected-error @+1 {{argument 0 of type 'tensor<128x4xf16>' has layout #tessera.layout<tile = [64, 1], bit_planes>, which needs tiles without bit planes (only low-bit codes have bit planes)}}
func.func @float_bit_planes(%s: tensor<128x4xf16> {tessera.layout = #tessera.layout<tile = [64, 1], bit_planes>}) {
  return
}

// -----

// expected-error @+1 {{result 0 of type 'tensor<96x4xf16>' has layout #tessera.layout<tile = [64, 1]>, which needs tiles that divide the shape (tile 64 of dimension 0)}}
func.func @float_tile_not_dividing(%s: tensor<96x4xf16>) -> (tensor<96x4xf16> {tessera.layout = #tessera.layout<tile = [64, 1]>}) {
  return %s : tensor<96x4xf16>
}

// -----

// expected-error @+1 {{argument 0 of type 'tensor<?x4xf16>' has layout #tessera.layout<tile = [64, 1]>, which needs a statically shaped tensor of a standard element type}}
func.func @float_dynamic(%s: tensor<?x4xf16> {tessera.layout = #tessera.layout<tile = [64, 1]>}) {
  return
}

// -----

// expected-error @+1 {{argument 0 of type 'tensor<128x4xf16>' has layout #tessera.layout<tile = [64]>, which needs a tile of rank 2}}
func.func @float_tile_rank(%s: tensor<128x4xf16> {tessera.layout = #tessera.layout<tile = [64]>}) {
  return
}
