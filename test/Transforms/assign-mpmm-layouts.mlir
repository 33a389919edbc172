// RUN: tessera-opt %s --tessera-assign-mpmm-layouts -split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-assign-mpmm-layouts=byte-tiles=1 -split-input-file | FileCheck %s --check-prefix=BYTES
// RUN: tessera-opt %s --tessera-assign-mpmm-layouts -split-input-file --mlir-print-elementsattrs-with-hex-if-larger=-1 | FileCheck %s --check-prefix=HEX

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

// -----

// The group terms of a kernel that reads its weights interleaved, N a
// multiple of 64: spans of 64 columns, group by group. Arguments take the
// layout and a prepack function (integer zero points packed as weights
// are, float scales tiled by linalg.pack: 128 x 2 -> 2 x 2 x 64).
// CHECK-LABEL: func @terms
// CHECK-SAME: %{{.*}}: tensor<128x256xui2> {tessera.layout = #tessera.layout<tile = [8, 16]>}
// CHECK-SAME: %{{.*}}: tensor<128x2xf16> {tessera.layout = #tessera.layout<tile = [64, 1]>}
// CHECK-SAME: %{{.*}}: tensor<128x2xui2> {tessera.layout = #tessera.layout<tile = [64, 1]>}
// CHECK-DAG: func @prepack_terms_arg2({{.*}}) -> (tensor<128x2xf16> {tessera.layout = #tessera.layout<tile = [64, 1]>, tessera.name = "arg2_prepacked"})
// CHECK-DAG: func @prepack_terms_arg3({{.*}}) -> (tensor<128x2xui2> {tessera.layout = #tessera.layout<tile = [64, 1]>, tessera.name = "arg3_prepacked"})
func.func @terms(%x: tensor<?x256xf32>, %w: tensor<128x256xui2>, %s: tensor<128x2xf16>,
                 %z: tensor<128x2xui2>, %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x256xf32>, tensor<128x256xui2>
         scales %s : tensor<128x2xf16> zeros %z : tensor<128x2xui2> group_size 128
         outs %init : tensor<?x128xf32> {strategy = "dequantize"}
  return %y : tensor<?x128xf32>
}

// -----

// Constant terms are tiled at compile time: scales [n, 0] = n of 64 rows
// and one group, float offsets too; one span, their order unchanged but
// their shape 1 x 1 x 64.
// CHECK-LABEL: func @constant_terms
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[\[\[}}0.000000e+00, 1.000000e+00, 2.000000e+00, {{.*}}, 6.300000e+01]]]> : tensor<1x1x64xf32>
// CHECK-DAG: %[[SE:.*]] = tensor.empty() : tensor<64x1xf32>
// CHECK: %[[SU:.*]] = linalg.unpack %[[S]] inner_dims_pos = [0] inner_tiles = [64] into %[[SE]] : tensor<1x1x64xf32> -> tensor<64x1xf32>
// CHECK: tessera.mpmm %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<64x8xui4> scales %[[SU]] : tensor<64x1xf32> zeros %{{.*}} : tensor<64x1xf32>
func.func @constant_terms(%x: tensor<?x8xf32>, %w: tensor<64x8xui4>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %s = arith.constant dense<[[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0], [8.0], [9.0], [10.0], [11.0], [12.0], [13.0], [14.0], [15.0], [16.0], [17.0], [18.0], [19.0], [20.0], [21.0], [22.0], [23.0], [24.0], [25.0], [26.0], [27.0], [28.0], [29.0], [30.0], [31.0], [32.0], [33.0], [34.0], [35.0], [36.0], [37.0], [38.0], [39.0], [40.0], [41.0], [42.0], [43.0], [44.0], [45.0], [46.0], [47.0], [48.0], [49.0], [50.0], [51.0], [52.0], [53.0], [54.0], [55.0], [56.0], [57.0], [58.0], [59.0], [60.0], [61.0], [62.0], [63.0]]> : tensor<64x1xf32>
  %o = arith.constant dense<0.5> : tensor<64x1xf32>
  %y = tessera.mpmm %x, %w : tensor<?x8xf32>, tensor<64x8xui4>
         scales %s : tensor<64x1xf32> zeros %o : tensor<64x1xf32> group_size 8
         outs %init : tensor<?x64xf32> {strategy = "dequantize"}
  return %y : tensor<?x64xf32>
}

// -----

// Two groups: element [n, g] moves to [n / 64, g, n % 64], so the groups of
// a column are 64 apart: [0, 1], [2, 3], ... become 0, 2, ..., then 1, 3, ...
// CHECK-LABEL: func @constant_groups
// HEX-LABEL: func @constant_groups
// HEX: arith.constant dense<{{\[\[\[}}0.000000e+00, 2.000000e+00, 4.000000e+00, {{.*}}, 1.260000e+02], [1.000000e+00, 3.000000e+00, {{.*}}, 1.270000e+02]]]> : tensor<1x2x64xf32>
// HEX: linalg.unpack
func.func @constant_groups(%x: tensor<?x16xf32>, %w: tensor<64x16xui4>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %s = arith.constant dense<[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0], [10.0, 11.0], [12.0, 13.0], [14.0, 15.0], [16.0, 17.0], [18.0, 19.0], [20.0, 21.0], [22.0, 23.0], [24.0, 25.0], [26.0, 27.0], [28.0, 29.0], [30.0, 31.0], [32.0, 33.0], [34.0, 35.0], [36.0, 37.0], [38.0, 39.0], [40.0, 41.0], [42.0, 43.0], [44.0, 45.0], [46.0, 47.0], [48.0, 49.0], [50.0, 51.0], [52.0, 53.0], [54.0, 55.0], [56.0, 57.0], [58.0, 59.0], [60.0, 61.0], [62.0, 63.0], [64.0, 65.0], [66.0, 67.0], [68.0, 69.0], [70.0, 71.0], [72.0, 73.0], [74.0, 75.0], [76.0, 77.0], [78.0, 79.0], [80.0, 81.0], [82.0, 83.0], [84.0, 85.0], [86.0, 87.0], [88.0, 89.0], [90.0, 91.0], [92.0, 93.0], [94.0, 95.0], [96.0, 97.0], [98.0, 99.0], [100.0, 101.0], [102.0, 103.0], [104.0, 105.0], [106.0, 107.0], [108.0, 109.0], [110.0, 111.0], [112.0, 113.0], [114.0, 115.0], [116.0, 117.0], [118.0, 119.0], [120.0, 121.0], [122.0, 123.0], [124.0, 125.0], [126.0, 127.0]]> : tensor<64x2xf32>
  %y = tessera.mpmm %x, %w : tensor<?x16xf32>, tensor<64x16xui4>
         scales %s : tensor<64x2xf32> group_size 8 outs %init : tensor<?x64xf32> {strategy = "dequantize"}
  return %y : tensor<?x64xf32>
}

// -----

// Terms computed in the function are tiled where they are used; terms that
// another kind of op reads (here the return) stay canonical, and so do
// terms of fewer than 64 columns.
// CHECK-LABEL: func private @computed_terms
// CHECK: %[[P:.*]] = linalg.pack %arg3 inner_dims_pos = [0] inner_tiles = [64] into %{{.*}} : tensor<64x1xf32> -> tensor<1x1x64xf32>
// CHECK: %[[U:.*]] = linalg.unpack %[[P]] inner_dims_pos = [0] inner_tiles = [64] into %{{.*}} : tensor<1x1x64xf32> -> tensor<64x1xf32>
// CHECK: tessera.mpmm %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x64xui4> scales %[[U]]
// CHECK: tessera.mpmm %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x64xui4> scales %arg4
// CHECK: tessera.mpmm %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8x64xui4> scales %arg6
// CHECK: return {{.*}}, %arg4 :
func.func private @computed_terms(%x: tensor<?x64xf32>, %w: tensor<64x64xui4>, %w2: tensor<64x64xui4>,
                                  %s: tensor<64x1xf32>, %shared: tensor<64x1xf32>, %init: tensor<?x64xf32>,
                                  %small: tensor<8x1xf32>, %w8: tensor<8x64xui4>, %init8: tensor<?x8xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x8xf32>, tensor<64x1xf32>) {
  %a = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<64x64xui4>
         scales %s : tensor<64x1xf32> group_size 64 outs %init : tensor<?x64xf32> {strategy = "dequantize"}
  %b = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<64x64xui4>
         scales %shared : tensor<64x1xf32> group_size 64 outs %init : tensor<?x64xf32> {strategy = "dequantize"}
  %d = tessera.mpmm %x, %w8 : tensor<?x64xf32>, tensor<8x64xui4>
         scales %small : tensor<8x1xf32> group_size 64 outs %init8 : tensor<?x8xf32> {strategy = "dequantize"}
  return %a, %b, %d, %shared : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x8xf32>, tensor<64x1xf32>
}
