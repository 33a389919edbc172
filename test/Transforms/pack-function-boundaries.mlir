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
