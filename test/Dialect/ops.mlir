// RUN: tessera-opt %s | FileCheck %s
// RUN: tessera-opt %s | tessera-opt | FileCheck %s
// RUN: tessera-opt %s --mlir-print-op-generic | tessera-opt | FileCheck %s

// CHECK-LABEL: func @mpmm_symmetric
func.func @mpmm_symmetric(%x: tensor<?x64xf32>, %w: tensor<16x64xsi4>,
                          %s: tensor<16x2xf32>, %init: tensor<?x16xf32>)
    -> tensor<?x16xf32> {
  // CHECK: tessera.mpmm %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<16x64xsi4>
  // CHECK-SAME: scales %{{.*}} : tensor<16x2xf32>
  // CHECK-NOT: zeros
  // CHECK-SAME: group_size 32 outs %{{.*}} : tensor<?x16xf32>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<16x64xsi4>
         scales %s : tensor<16x2xf32> group_size 32
         outs %init : tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// CHECK-LABEL: func @mpmm_int_zero
func.func @mpmm_int_zero(%x: tensor<3x96xf16>, %w: tensor<5x96xui3>,
                         %s: tensor<5x1xf16>, %z: tensor<5x1xui3>,
                         %init: tensor<3x5xf16>) -> tensor<3x5xf16> {
  // CHECK: tessera.mpmm {{.*}} tensor<3x96xf16>, tensor<5x96xui3>
  // CHECK-SAME: zeros %{{.*}} : tensor<5x1xui3> group_size 96
  %y = tessera.mpmm %x, %w : tensor<3x96xf16>, tensor<5x96xui3>
         scales %s : tensor<5x1xf16> zeros %z : tensor<5x1xui3> group_size 96
         outs %init : tensor<3x5xf16>
  return %y : tensor<3x5xf16>
}

// CHECK-LABEL: func @mpmm_float_offset
func.func @mpmm_float_offset(%x: tensor<1x256xbf16>, %w: tensor<8x256xui1>,
                             %s: tensor<8x2xbf16>, %z: tensor<8x2xbf16>,
                             %init: tensor<1x8xf32>) -> tensor<1x8xf32> {
  // CHECK: zeros %{{.*}} : tensor<8x2xbf16> group_size 128
  %y = tessera.mpmm %x, %w : tensor<1x256xbf16>, tensor<8x256xui1>
         scales %s : tensor<8x2xbf16> zeros %z : tensor<8x2xbf16>
         group_size 128 outs %init : tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// CHECK-LABEL: func @mpmm_codebook
func.func @mpmm_codebook(%x: tensor<2x32xf32>, %w: tensor<4x32xui4>,
                         %s: tensor<4x1xf32>, %cb: tensor<16xf32>,
                         %init: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // CHECK: codebook %{{.*}} : tensor<16xf32> group_size 32
  %y = tessera.mpmm %x, %w : tensor<2x32xf32>, tensor<4x32xui4>
         scales %s : tensor<4x1xf32> codebook %cb : tensor<16xf32>
         group_size 32 outs %init : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// CHECK-LABEL: func @pack_unpack
func.func @pack_unpack(%b: tensor<6xi8>) -> tensor<6xi8> {
  // CHECK: tessera.unpack %{{.*}} : tensor<6xi8> -> tensor<2x8xsi3>
  %w = tessera.unpack %b : tensor<6xi8> -> tensor<2x8xsi3>
  // CHECK: tessera.pack %{{.*}} : tensor<2x8xsi3> -> tensor<6xi8>
  %p = tessera.pack %w : tensor<2x8xsi3> -> tensor<6xi8>
  return %p : tensor<6xi8>
}

// Every width, both signednesses, as weight element types.
// CHECK-LABEL: func @all_widths
func.func @all_widths(%a: tensor<1xui1>, %b: tensor<1xsi2>, %c: tensor<1xui3>,
                      %d: tensor<1xsi4>, %e: tensor<1xui5>, %f: tensor<1xsi6>,
                      %g: tensor<1xui7>, %h: tensor<1xsi8>) {
  // CHECK: tessera.pack %{{.*}} : tensor<1xui5> -> tensor<1xi8>
  %p = tessera.pack %e : tensor<1xui5> -> tensor<1xi8>
  // CHECK: tessera.pack %{{.*}} : tensor<1xsi8> -> tensor<1xi8>
  %q = tessera.pack %h : tensor<1xsi8> -> tensor<1xi8>
  return
}

// Float codes: Tessera formats of any split, and the builtin small floats.
// CHECK-LABEL: func @float_types
// CHECK-SAME: tensor<4x!tessera.f3e1m1>, %{{.*}}: tensor<4x!tessera.f5e2m2>, %{{.*}}: tensor<4x!tessera.f8e5m2>, %{{.*}}: tensor<4xf8E4M3FN>, %{{.*}}: tensor<4xf4E2M1FN>, %{{.*}}: tensor<4xf6E3M2FN>, %{{.*}}: tensor<4xf6E2M3FN>, %{{.*}}: tensor<4xf8E5M2>
func.func @float_types(%a: tensor<4x!tessera.f3e1m1>, %b: tensor<4x!tessera.f5e2m2>,
                       %c: tensor<4x!tessera.f8e5m2>, %d: tensor<4xf8E4M3FN>,
                       %e: tensor<4xf4E2M1FN>, %f: tensor<4xf6E3M2FN>,
                       %g: tensor<4xf6E2M3FN>, %h: tensor<4xf8E5M2>) {
  // CHECK: tessera.pack %{{.*}} : tensor<4x!tessera.f5e2m2> -> tensor<3xi8>
  %p = tessera.pack %b : tensor<4x!tessera.f5e2m2> -> tensor<3xi8>
  return
}

// CHECK-LABEL: func @quant_ops
func.func @quant_ops(%w: tensor<4x64xf32>, %t: tensor<16xf32>) {
  // CHECK: tessera.quantize %{{.*}} group_size 32 : tensor<4x64xf32> -> tensor<4x64xui3>, tensor<4x2xf16>, tensor<4x2xui3>
  %q, %s, %z = tessera.quantize %w group_size 32 : tensor<4x64xf32> -> tensor<4x64xui3>, tensor<4x2xf16>, tensor<4x2xui3>
  // CHECK: tessera.dequantize %{{.*}} : tensor<4x64xui3> scales %{{.*}} : tensor<4x2xf16> zeros %{{.*}} : tensor<4x2xui3> group_size 32 -> tensor<4x64xf32>
  %d = tessera.dequantize %q : tensor<4x64xui3> scales %s : tensor<4x2xf16> zeros %z : tensor<4x2xui3> group_size 32 -> tensor<4x64xf32>
  // CHECK: tessera.quantize %{{.*}} group_size 64 : tensor<4x64xf32> -> tensor<4x64x!tessera.f6e3m2>, tensor<4x1xbf16>
  %fq, %fs = tessera.quantize %w group_size 64 : tensor<4x64xf32> -> tensor<4x64x!tessera.f6e3m2>, tensor<4x1xbf16>
  // CHECK: tessera.quantize %{{.*}} group_size 16 : tensor<4x64xf32> -> tensor<4x64xsi4>, tensor<4x4xf32>{{$}}
  %sq, %ss = tessera.quantize %w group_size 16 : tensor<4x64xf32> -> tensor<4x64xsi4>, tensor<4x4xf32>
  // CHECK: tessera.lookup %{{.*}}[%{{.*}}] : tensor<16xf32>, tensor<4x64xui4> -> tensor<4x64xf32>
  %c = arith.constant dense<3> : tensor<4x64xui4>
  %v = tessera.lookup %t[%c] : tensor<16xf32>, tensor<4x64xui4> -> tensor<4x64xf32>
  return
}

// CHECK-LABEL: func @layouts
func.func @layouts(%w: tensor<8x64xui3>) {
  // CHECK: tessera.pack %{{.*}} layout <tile = [4, 32], bit_planes> : tensor<8x64xui3> -> tensor<192xi8>
  %a = tessera.pack %w layout <tile = [4, 32], bit_planes> : tensor<8x64xui3> -> tensor<192xi8>
  // CHECK: tessera.pack %{{.*}} layout <bit_planes> : tensor<8x64xui3> -> tensor<192xi8>
  %b = tessera.pack %w layout <bit_planes> : tensor<8x64xui3> -> tensor<192xi8>
  // CHECK: tessera.unpack %{{.*}} layout <tile = [8, 8]> : tensor<192xi8> -> tensor<8x64xui3>
  %c = tessera.unpack %a layout <tile = [8, 8]> : tensor<192xi8> -> tensor<8x64xui3>
  return
}

// CHECK-LABEL: func @lut_ops
// CHECK: tessera.mpmm {{.*}} {strategy = "lut"}
// CHECK: %[[T:.*]], %[[TS:.*]], %[[S:.*]] = tessera.lut_tables %{{.*}} group_size 32 : tensor<?x64xf32> -> tensor<?x16x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
// CHECK: %[[A:.*]] = tessera.lut_accumulate %[[T]], %{{.*}} group_size 32 : tensor<?x16x16xi8>, tensor<32x64xsi3> -> tensor<3x?x32x2xi32>
// CHECK: tessera.lut_combine %[[A]], %[[TS]], %[[S]] : tensor<3x?x32x2xi32>, tensor<?x2xf32>, tensor<?x2xf32> scales %{{.*}} : tensor<32x2xf16> zeros %{{.*}} : tensor<32x2xf32> code_type si3 outs %{{.*}} : tensor<?x32xf32>
func.func @lut_ops(%x: tensor<?x64xf32>, %w: tensor<32x64xsi3>, %s: tensor<32x2xf16>,
                   %z: tensor<32x2xf32>, %init: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %y0 = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<32x64xsi3> scales %s : tensor<32x2xf16>
          group_size 32 outs %init : tensor<?x32xf32> {strategy = "lut"}
  %t, %ts, %sums = tessera.lut_tables %x group_size 32
      : tensor<?x64xf32> -> tensor<?x16x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32
      : tensor<?x16x16xi8>, tensor<32x64xsi3> -> tensor<3x?x32x2xi32>
  %y1 = tessera.lut_combine %acc, %ts, %sums : tensor<3x?x32x2xi32>, tensor<?x2xf32>, tensor<?x2xf32>
          scales %s : tensor<32x2xf16> zeros %z : tensor<32x2xf32> code_type si3
          outs %init : tensor<?x32xf32>
  return %y0, %y1 : tensor<?x32xf32>, tensor<?x32xf32>
}
