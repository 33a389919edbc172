// RUN: tessera-opt %s --tessera-lower-to-linalg --canonicalize -split-input-file -verify-diagnostics | FileCheck %s

// 3-bit codes may straddle bytes: two bytes are read (the second index
// clamped to the last byte), shifted, and masked by a pair of shifts (left
// by 29, logical right by 29 for unsigned codes). Packing gathers the 8 bits
// of each byte from the codes that own them.
// CHECK-LABEL: func @round_trip_u3
// CHECK-SAME: (%[[B:.*]]: tensor<6xi8>) -> tensor<6xi8>
// CHECK-DAG: %[[LAST:.*]] = arith.constant 5 : index
// CHECK-DAG: %[[UP:.*]] = arith.constant 29 : i32
// CHECK: %[[CODES:.*]] = linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<2x8xi8>)
// CHECK: tensor.extract %[[B]]
// CHECK: arith.minui %{{.*}}, %[[LAST]] : index
// CHECK: tensor.extract %[[B]]
// CHECK: arith.shrui
// CHECK: %[[HIGH:.*]] = arith.shli %{{.*}}, %[[UP]] : i32
// CHECK: arith.shrui %[[HIGH]], %[[UP]] : i32
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[CODES]] {{\[\[}}0, 1]] : tensor<2x8xi8> into tensor<16xi8>
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<6xi8>)
// CHECK-COUNT-8: tensor.extract %[[FLAT]]
// CHECK: linalg.yield
func.func @round_trip_u3(%b: tensor<6xi8>) -> tensor<6xi8> {
  %w = tessera.unpack %b : tensor<6xi8> -> tensor<2x8xui3>
  %p = tessera.pack %w : tensor<2x8xui3> -> tensor<6xi8>
  return %p : tensor<6xi8>
}

// -----

// 4-bit codes never straddle: one byte read; signed codes are sign-extended
// by shifting the code's top bit to bit 31 and back arithmetically.
// CHECK-LABEL: func @unpack_s4
// CHECK-DAG: %[[UP:.*]] = arith.constant 28 : i32
// CHECK: linalg.generic
// CHECK-COUNT-1: tensor.extract
// CHECK-NOT: tensor.extract
// CHECK: arith.shli %{{.*}}, %[[UP]] : i32
// CHECK: arith.shrsi %{{.*}}, %[[UP]] : i32
// CHECK: linalg.yield
func.func @unpack_s4(%b: tensor<2xi8>) -> tensor<2xi8> {
  %w = tessera.unpack %b : tensor<2xi8> -> tensor<4xsi4>
  %p = tessera.pack %w : tensor<4xsi4> -> tensor<2xi8>
  return %p : tensor<2xi8>
}

// -----

// Low-bit constants are packed at compile time: -4, 3, -1, 0 as 3-bit
// codes 100 011 111 000, LSB first, are the bytes 0b11011100 = -36 and 0b0001 = 1.
// CHECK-LABEL: func @constant
// CHECK: %[[C:.*]] = arith.constant dense<[-36, 1]> : tensor<2xi8>
// CHECK: linalg.generic
// CHECK: tensor.extract %[[C]]
func.func @constant() -> tensor<2xi8> {
  %c = arith.constant dense<[-4, 3, -1, 0]> : tensor<4xsi3>
  %p = tessera.pack %c : tensor<4xsi3> -> tensor<2xi8>
  return %p : tensor<2xi8>
}

// -----

// expected-error @+1 {{has low-bit tensor 'tensor<4xui3>' in its signature; run tessera-pack-function-boundaries first}}
func.func @unpacked_signature(%w: tensor<4xui3>) -> tensor<2xi8> {
  %p = tessera.pack %w : tensor<4xui3> -> tensor<2xi8>
  return %p : tensor<2xi8>
}

// -----

// Bit planes: each bit of a code comes from its own plane (one byte read
// per bit), then the bits are or-ed together.
// CHECK-LABEL: func @unpack_planes
// CHECK: linalg.generic
// CHECK-COUNT-3: tensor.extract
// CHECK-NOT: tensor.extract
// CHECK: linalg.yield
func.func @unpack_planes(%b: tensor<6xi8>) -> tensor<6xi8> {
  %w = tessera.unpack %b layout <tile = [2, 8], bit_planes> : tensor<6xi8> -> tensor<2x8xui3>
  %p = tessera.pack %w : tensor<2x8xui3> -> tensor<6xi8>
  return %p : tensor<6xi8>
}

// -----

// Tiles of float group terms that no kernel read in place (linalg.unpack at
// a boundary, linalg.pack in a prepack function) become a transpose and
// reshapes, which bufferize.
// CHECK-LABEL: func @leftover_tiles
// CHECK-SAME: (%[[T:.*]]: tensor<2x4x64xf16>)
// CHECK: %[[TR:.*]] = linalg.transpose ins(%[[T]] : tensor<2x4x64xf16>) outs(%{{.*}} : tensor<2x64x4xf16>) permutation = [0, 2, 1]
// CHECK: %[[S:.*]] = tensor.collapse_shape %[[TR]] {{\[\[}}0, 1], [2]] : tensor<2x64x4xf16> into tensor<128x4xf16>
// CHECK: %[[A:.*]] = arith.addf
// CHECK: %[[X:.*]] = tensor.expand_shape %[[A]] {{\[\[}}0, 1], [2]] output_shape [2, 64, 4] : tensor<128x4xf16> into tensor<2x64x4xf16>
// CHECK: %[[P:.*]] = linalg.transpose ins(%[[X]] : tensor<2x64x4xf16>) outs(%{{.*}} : tensor<2x4x64xf16>) permutation = [0, 2, 1]
// CHECK: return %[[P]]
// CHECK-NOT: linalg.pack
func.func @leftover_tiles(%t: tensor<2x4x64xf16>) -> tensor<2x4x64xf16> {
  %e = tensor.empty() : tensor<128x4xf16>
  %s = linalg.unpack %t inner_dims_pos = [0] inner_tiles = [64] into %e : tensor<2x4x64xf16> -> tensor<128x4xf16>
  %a = arith.addf %s, %s : tensor<128x4xf16>
  %e2 = tensor.empty() : tensor<2x4x64xf16>
  %p = linalg.pack %a inner_dims_pos = [0] inner_tiles = [64] into %e2 : tensor<128x4xf16> -> tensor<2x4x64xf16>
  return %p : tensor<2x4x64xf16>
}
