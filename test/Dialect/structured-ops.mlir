// RUN: tessera-opt %s | tessera-opt | FileCheck %s
// RUN: tessera-opt %s -mlir-print-op-generic | tessera-opt | FileCheck %s

// CHECK-LABEL: func @monarch_square
// CHECK: tessera.monarch_mm %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4096xf32>, tensor<64x64x64xf32>, tensor<64x64x64xf32> outs %{{.*}} : tensor<?x4096xf32>
func.func @monarch_square(%x: tensor<?x4096xf32>, %w1: tensor<64x64x64xf32>,
                          %w2: tensor<64x64x64xf32>, %i: tensor<?x4096xf32>) -> tensor<?x4096xf32> {
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<?x4096xf32>, tensor<64x64x64xf32>, tensor<64x64x64xf32>
         outs %i : tensor<?x4096xf32>
  return %y : tensor<?x4096xf32>
}

// Rectangular, padded input (10 <= 3 * 4) and truncated output (7 <= 2 * 4),
// f16 activations and bf16 factors.
// CHECK-LABEL: func @monarch_rectangular
// CHECK: tessera.monarch_mm {{.*}} : tensor<5x10xf16>, tensor<3x2x4xbf16>, tensor<2x4x3xbf16> outs %{{.*}} : tensor<5x7xf16>
func.func @monarch_rectangular(%x: tensor<5x10xf16>, %w1: tensor<3x2x4xbf16>,
                               %w2: tensor<2x4x3xbf16>, %i: tensor<5x7xf16>) -> tensor<5x7xf16> {
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<5x10xf16>, tensor<3x2x4xbf16>, tensor<2x4x3xbf16>
         outs %i : tensor<5x7xf16>
  return %y : tensor<5x7xf16>
}

// CHECK-LABEL: func @bsr_runtime
// CHECK: tessera.bsr_mm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<5xi32>, tensor<?xi32>, tensor<?x4x8xf32> outs %{{.*}} : tensor<?x16xf32>
func.func @bsr_runtime(%x: tensor<?x64xf32>, %ptr: tensor<5xi32>, %idx: tensor<?xi32>,
                       %b: tensor<?x4x8xf32>, %i: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %y = tessera.bsr_mm %x, %ptr, %idx, %b : tensor<?x64xf32>, tensor<5xi32>, tensor<?xi32>, tensor<?x4x8xf32>
         outs %i : tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// A constant pattern with an empty block row and i64 indices.
// CHECK-LABEL: func @bsr_constant_pattern
// CHECK: tessera.bsr_mm {{.*}} : tensor<3x8xf32>, tensor<4xi64>, tensor<3xi64>, tensor<3x2x4xf32> outs %{{.*}} : tensor<3x6xf32>
func.func @bsr_constant_pattern(%x: tensor<3x8xf32>, %b: tensor<3x2x4xf32>,
                                %i: tensor<3x6xf32>) -> tensor<3x6xf32> {
  %ptr = arith.constant dense<[0, 2, 2, 3]> : tensor<4xi64>
  %idx = arith.constant dense<[1, 0, 1]> : tensor<3xi64>
  %y = tessera.bsr_mm %x, %ptr, %idx, %b : tensor<3x8xf32>, tensor<4xi64>, tensor<3xi64>, tensor<3x2x4xf32>
         outs %i : tensor<3x6xf32>
  return %y : tensor<3x6xf32>
}
