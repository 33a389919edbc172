// RUN: tessera-opt %s --tessera-assign-mpmm-layouts -split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-assign-mpmm-layouts=byte-tiles=1 -split-input-file | FileCheck %s --check-prefix=BYTES

// Weights passed by the caller: the argument takes the interleaved layout
// (tiles of 8 rows x 32 / b codes), and a public prepack function converts
// canonical storage into it.
// CHECK-LABEL: func @arg
// CHECK-SAME: %{{.*}}: tensor<16x64xui2> {tessera.layout = #tessera.layout<tile = [8, 16]>, tessera.name = "w"}
// CHECK: tessera.mpmm %{{.*}}, %arg1
// CHECK-LABEL: func @prepack_arg_w
// CHECK-SAME: (%[[W:.*]]: tensor<16x64xui2> {tessera.name = "w"}) -> (tensor<16x64xui2> {tessera.layout = #tessera.layout<tile = [8, 16]>, tessera.name = "w_prepacked"})
// CHECK-NEXT: return %[[W]]
func.func @arg(%x: tensor<?x64xf32>, %w: tensor<16x64xui2> {tessera.name = "w"},
               %s: tensor<16x2xf16>, %init: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<16x64xui2>
         scales %s : tensor<16x2xf16> group_size 32 outs %init : tensor<?x16xf32> {strategy = "dequantize"}
  return %y : tensor<?x16xf32>
}

// -----

// The lane of a tile holds 32 / b codes: 8 (4 bits), 4 (8 bits), 32 (1 bit);
// 3 bits: 3 bit planes of 32 codes per lane.
// CHECK-LABEL: func @widths
// CHECK-SAME: tensor<8x32xsi4> {tessera.layout = #tessera.layout<tile = [8, 8]>}
// CHECK-SAME: tensor<8x32xui8> {tessera.layout = #tessera.layout<tile = [8, 4]>}
// CHECK-SAME: tensor<8x32xui1> {tessera.layout = #tessera.layout<tile = [8, 32]>}
// CHECK-SAME: tensor<8x32xsi3> {tessera.layout = #tessera.layout<tile = [8, 32], bit_planes>}
// CHECK-DAG: func @prepack_widths_arg1
// CHECK-DAG: func @prepack_widths_arg2
// CHECK-DAG: func @prepack_widths_arg3
// CHECK-DAG: func @prepack_widths_arg4
func.func @widths(%x: tensor<?x32xf32>, %w4: tensor<8x32xsi4>, %w8: tensor<8x32xui8>, %w1: tensor<8x32xui1>,
                  %w3: tensor<8x32xsi3>, %s: tensor<8x1xf32>, %init: tensor<?x8xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %a = tessera.mpmm %x, %w4 : tensor<?x32xf32>, tensor<8x32xsi4>
         scales %s : tensor<8x1xf32> group_size 32 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %b = tessera.mpmm %x, %w8 : tensor<?x32xf32>, tensor<8x32xui8>
         scales %s : tensor<8x1xf32> group_size 32 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %c = tessera.mpmm %x, %w1 : tensor<?x32xf32>, tensor<8x32xui1>
         scales %s : tensor<8x1xf32> group_size 32 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %d = tessera.mpmm %x, %w3 : tensor<?x32xf32>, tensor<8x32xsi3>
         scales %s : tensor<8x1xf32> group_size 32 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  return %a, %b, %c, %d : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// Constant weights are packed in the layout at compile time: 8 rows of 8
// codes of 8 bits, code k of row r is 8 r + k: two tiles of 8 rows x 4
// codes, lane r of tile j the codes 4 j .. 4 j + 3 of row r.
// CHECK-LABEL: func @constant
// CHECK: %[[C:.*]] = arith.constant dense<[0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27, 32, 33, 34, 35, 40, 41, 42, 43, 48, 49, 50, 51, 56, 57, 58, 59, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31, 36, 37, 38, 39, 44, 45, 46, 47, 52, 53, 54, 55, 60, 61, 62, 63]> : tensor<64xi8>
// CHECK: %[[W:.*]] = tessera.unpack %[[C]] layout <tile = [8, 4]> : tensor<64xi8> -> tensor<8x8xui8>
// CHECK: tessera.mpmm %{{.*}}, %[[W]]
func.func @constant(%x: tensor<?x8xf32>, %s: tensor<8x1xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %w = arith.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15],
                             [16, 17, 18, 19, 20, 21, 22, 23], [24, 25, 26, 27, 28, 29, 30, 31],
                             [32, 33, 34, 35, 36, 37, 38, 39], [40, 41, 42, 43, 44, 45, 46, 47],
                             [48, 49, 50, 51, 52, 53, 54, 55], [56, 57, 58, 59, 60, 61, 62, 63]]> : tensor<8x8xui8>
  %y = tessera.mpmm %x, %w : tensor<?x8xf32>, tensor<8x8xui8>
         scales %s : tensor<8x1xf32> group_size 8 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  return %y : tensor<?x8xf32>
}

// -----

// Weights computed in the function are repacked where they are used; a
// private function's argument is not part of the ABI.
// CHECK-LABEL: func private @computed
// CHECK: %[[P:.*]] = tessera.pack %arg1 layout <tile = [8, 8]> : tensor<8x64xui4> -> tensor<256xi8>
// CHECK: %[[W:.*]] = tessera.unpack %[[P]] layout <tile = [8, 8]> : tensor<256xi8> -> tensor<8x64xui4>
// CHECK: tessera.mpmm %{{.*}}, %[[W]]
// CHECK-NOT: prepack
func.func private @computed(%x: tensor<?x64xf32>, %w: tensor<8x64xui4>, %s: tensor<8x1xf32>,
                            %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<8x64xui4>
         scales %s : tensor<8x1xf32> group_size 64 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  return %y : tensor<?x8xf32>
}

// -----

// Left canonical: 5, 6 and 7 bits, 3 bits in groups of 16 (not a multiple
// of its 32 codes per lane), N not a multiple of 8, groups not a multiple of
// 32 / b (1 bit, groups of 16), float codes,
// codebooks, f16 activations, the LUT strategy, weights that another op
// also reads, and weights that have a layout already.
// CHECK-LABEL: func @canonical
// CHECK-NOT: tessera.layout
// CHECK-NOT: tessera.pack
// CHECK-NOT: prepack
func.func @canonical(%x: tensor<?x32xf32>, %xh: tensor<?x32xf16>, %w3: tensor<8x32xui3>, %w12: tensor<12x32xui4>,
                     %w1: tensor<8x32xui1>, %wf: tensor<8x32xf4E2M1FN>, %wc: tensor<8x32xui4>, %cb: tensor<16xf32>,
                     %wh: tensor<8x32xui4>, %wl: tensor<8x32xui2>, %ws: tensor<8x32xui4>,
                     %w5: tensor<8x32xui5>, %w6: tensor<8x32xsi6>, %w7: tensor<8x32xui7>,
                     %s: tensor<8x2xf32>, %s12: tensor<12x2xf32>, %init: tensor<?x8xf32>, %init12: tensor<?x12xf32>)
    -> (tensor<?x8xf32>, tensor<?x12xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>,
        tensor<?x8xf32>, tensor<8x32xui4>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %a = tessera.mpmm %x, %w3 : tensor<?x32xf32>, tensor<8x32xui3>
         scales %s : tensor<8x2xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %b = tessera.mpmm %x, %w12 : tensor<?x32xf32>, tensor<12x32xui4>
         scales %s12 : tensor<12x2xf32> group_size 16 outs %init12 : tensor<?x12xf32> {strategy = "dequantize"}
  %c = tessera.mpmm %x, %w1 : tensor<?x32xf32>, tensor<8x32xui1>
         scales %s : tensor<8x2xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %d = tessera.mpmm %x, %wf : tensor<?x32xf32>, tensor<8x32xf4E2M1FN>
         scales %s : tensor<8x2xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %e = tessera.mpmm %x, %wc : tensor<?x32xf32>, tensor<8x32xui4>
         scales %s : tensor<8x2xf32> codebook %cb : tensor<16xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %f = tessera.mpmm %xh, %wh : tensor<?x32xf16>, tensor<8x32xui4>
         scales %s : tensor<8x2xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %g = tessera.mpmm %x, %wl : tensor<?x32xf32>, tensor<8x32xui2>
         scales %s : tensor<8x2xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "lut_f32"}
  %h = tessera.mpmm %x, %ws : tensor<?x32xf32>, tensor<8x32xui4>
         scales %s : tensor<8x2xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %i = tessera.mpmm %x, %w5 : tensor<?x32xf32>, tensor<8x32xui5>
         scales %s : tensor<8x2xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %j = tessera.mpmm %x, %w6 : tensor<?x32xf32>, tensor<8x32xsi6>
         scales %s : tensor<8x2xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  %k = tessera.mpmm %x, %w7 : tensor<?x32xf32>, tensor<8x32xui7>
         scales %s : tensor<8x2xf32> group_size 16 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  return %a, %b, %c, %d, %e, %f, %g, %ws, %i, %j, %k
      : tensor<?x8xf32>, tensor<?x12xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>,
        tensor<?x8xf32>, tensor<8x32xui4>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// CHECK-LABEL: func @has_layout
// CHECK-SAME: {tessera.layout = #tessera.layout<tile = [8, 8], bit_planes>}
// CHECK-NOT: prepack
func.func @has_layout(%x: tensor<?x32xf32>, %w: tensor<8x32xui2> {tessera.layout = #tessera.layout<tile = [8, 8], bit_planes>},
                      %s: tensor<8x1xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x32xf32>, tensor<8x32xui2>
         scales %s : tensor<8x1xf32> group_size 32 outs %init : tensor<?x8xf32> {strategy = "dequantize"}
  return %y : tensor<?x8xf32>
}

// -----

// 5, 6 and 7-bit codes stay canonical, except for byte dot products
// (byte-tiles): tiles of 16 rows x 4 codes, N a multiple of 16 (not 8),
// groups up to 16384 codes. Other widths keep their layouts.
// CHECK-LABEL: func @wide_codes
// CHECK-SAME: %{{[^:]*}}: tensor<16x32xui5>, %{{[^:]*}}: tensor<16x32xsi6>, %{{[^:]*}}: tensor<8x32xui7>, %{{[^:]*}}: tensor<?x32768xf32>, %{{[^:]*}}: tensor<16x32768xui7>, %{{[^:]*}}: tensor<16x32xui4> {tessera.layout = #tessera.layout<tile = [8, 8]>}
// BYTES-LABEL: func @wide_codes
// BYTES-SAME: tensor<16x32xui5> {tessera.layout = #tessera.layout<tile = [16, 4]>}
// BYTES-SAME: tensor<16x32xsi6> {tessera.layout = #tessera.layout<tile = [16, 4]>}
// BYTES-SAME: %{{[^:]*}}: tensor<8x32xui7>,
// BYTES-SAME: %{{[^:]*}}: tensor<16x32768xui7>,
// BYTES-SAME: tensor<16x32xui4> {tessera.layout = #tessera.layout<tile = [8, 8]>}
// BYTES-DAG: func @prepack_wide_codes_arg1
// BYTES-DAG: func @prepack_wide_codes_arg2
// BYTES-DAG: func @prepack_wide_codes_arg6
func.func @wide_codes(%x: tensor<?x32xf32>, %w5: tensor<16x32xui5>, %w6: tensor<16x32xsi6>,
                      %w7: tensor<8x32xui7>, %x2: tensor<?x32768xf32>, %wl: tensor<16x32768xui7>,
                      %w4: tensor<16x32xui4>, %s: tensor<16x1xf32>, %s8: tensor<8x1xf32>,
                      %init: tensor<?x16xf32>, %init8: tensor<?x8xf32>)
    -> (tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
  %a = tessera.mpmm %x, %w5 : tensor<?x32xf32>, tensor<16x32xui5>
         scales %s : tensor<16x1xf32> group_size 32 outs %init : tensor<?x16xf32> {strategy = "dequantize"}
  %b = tessera.mpmm %x, %w6 : tensor<?x32xf32>, tensor<16x32xsi6>
         scales %s : tensor<16x1xf32> group_size 32 outs %init : tensor<?x16xf32> {strategy = "dequantize"}
  %c = tessera.mpmm %x, %w7 : tensor<?x32xf32>, tensor<8x32xui7>
         scales %s8 : tensor<8x1xf32> group_size 32 outs %init8 : tensor<?x8xf32> {strategy = "dequantize"}
  %d = tessera.mpmm %x2, %wl : tensor<?x32768xf32>, tensor<16x32768xui7>
         scales %s : tensor<16x1xf32> group_size 32768 outs %init : tensor<?x16xf32> {strategy = "dequantize"}
  %e = tessera.mpmm %x, %w4 : tensor<?x32xf32>, tensor<16x32xui4>
         scales %s : tensor<16x1xf32> group_size 32 outs %init : tensor<?x16xf32> {strategy = "dequantize"}
  return %a, %b, %c, %d, %e : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}
