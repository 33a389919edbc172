// RUN: tessera-opt %s --tessera-choose-mpmm-strategy="lut-lanes=32" | FileCheck %s --check-prefix=AUTO
// RUN: tessera-opt %s --tessera-choose-mpmm-strategy="lut-lanes=32 dequantize-layouts=1" | FileCheck %s --check-prefix=LAYOUTS
// RUN: tessera-opt %s --tessera-choose-mpmm-strategy="lut-lanes=0" | FileCheck %s --check-prefix=NOSHUFFLE
// RUN: tessera-opt %s --tessera-choose-mpmm-strategy="strategy=lut_f32" | FileCheck %s --check-prefix=FORCED
// RUN: not tessera-opt %s --tessera-choose-mpmm-strategy="strategy=fast" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: unknown strategy 'fast' (expected auto, dequantize, lut or lut_f32)

// 1-3 bit codes: LUT at any M (where the target has byte shuffles).
// AUTO-LABEL: func @two_bits
// AUTO: tessera.mpmm {{.*}} {strategy = "lut"}
// NOSHUFFLE-LABEL: func @two_bits
// NOSHUFFLE: tessera.mpmm {{.*}} {strategy = "dequantize"}
// FORCED-LABEL: func @two_bits
// FORCED: tessera.mpmm {{.*}} {strategy = "lut_f32"}
func.func @two_bits(%x: tensor<?x64xf32>, %w: tensor<64x64xui2>, %s: tensor<64x2xf32>, %i: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<64x64xui2> scales %s : tensor<64x2xf32> group_size 32 outs %i : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// Up to 6 bits: LUT at any M. 7 bits: LUT for at most 16 rows, dequantize
// for more; with rows known only at run time, both, chosen on tensor.dim
// (on the same weights); 8 bits: at most 8 rows.
// AUTO-LABEL: func @by_width
// AUTO-SAME: (%[[X1:[^:]*]]: tensor<1x64xf32>, %[[X:[^:]*]]: tensor<?x64xf32>
// AUTO-SAME: %[[W7:[^:]*]]: tensor<64x64xsi7>, %[[W8:[^:]*]]: tensor<64x64xui8>
// AUTO: tessera.mpmm {{.*}} tensor<512x64xf32>, tensor<64x64xui6> {{.*}} {strategy = "lut"}
// AUTO: tessera.mpmm {{.*}} tensor<?x64xf32>, tensor<64x64xui6> {{.*}} {strategy = "lut"}
// AUTO: tessera.mpmm {{.*}} tensor<16x64xf32>, tensor<64x64xsi7> {{.*}} {strategy = "lut"}
// AUTO: tessera.mpmm {{.*}} tensor<17x64xf32>, tensor<64x64xsi7> {{.*}} {strategy = "dequantize"}
// AUTO: %[[C0:.*]] = arith.constant 0 : index
// AUTO: %[[ROWS:.*]] = tensor.dim %[[X]], %[[C0]]
// AUTO: %[[C16:.*]] = arith.constant 16 : index
// AUTO: %[[FEW:.*]] = arith.cmpi ule, %[[ROWS]], %[[C16]]
// AUTO: %[[Y:.*]] = scf.if %[[FEW]] -> (tensor<?x64xf32>)
// AUTO-NEXT: %[[LUT:.*]] = tessera.mpmm %[[X]], %[[W7]] {{.*}} {strategy = "lut"}
// AUTO-NEXT: scf.yield %[[LUT]]
// AUTO-NEXT: } else {
// AUTO-NEXT: %[[DEQ:.*]] = tessera.mpmm %[[X]], %[[W7]] {{.*}} {strategy = "dequantize"}
// AUTO-NEXT: scf.yield %[[DEQ]]
// AUTO: tensor.dim %[[X]]
// AUTO: %[[C8:.*]] = arith.constant 8 : index
// AUTO: arith.cmpi ule, %{{.*}}, %[[C8]]
// AUTO: tessera.mpmm %[[X]], %[[W8]] {{.*}} {strategy = "lut"}
// AUTO: tessera.mpmm %[[X]], %[[W8]] {{.*}} {strategy = "dequantize"}
// AUTO: return %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[Y]],
// With interleaved dequantize weights, 8-bit codes (N = 64) take dequantize
// at every M; 7 bits (no interleaved layout) as before.
// LAYOUTS-LABEL: func @by_width
// LAYOUTS: arith.cmpi ule, %{{.*}}, %c16
// LAYOUTS-NOT: arith.cmpi
// LAYOUTS: tessera.mpmm {{.*}}, tensor<64x64xui8> {{.*}} {strategy = "dequantize"}
// LAYOUTS-NOT: tessera.mpmm
// LAYOUTS: return
func.func @by_width(%x1: tensor<1x64xf32>, %x: tensor<?x64xf32>, %x512: tensor<512x64xf32>,
                    %x16: tensor<16x64xf32>, %x17: tensor<17x64xf32>,
                    %w6: tensor<64x64xui6>, %w7: tensor<64x64xsi7>, %w8: tensor<64x64xui8>,
                    %s: tensor<64x2xf32>, %i: tensor<?x64xf32>, %i512: tensor<512x64xf32>,
                    %i16: tensor<16x64xf32>, %i17: tensor<17x64xf32>)
    -> (tensor<512x64xf32>, tensor<?x64xf32>, tensor<16x64xf32>, tensor<17x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %a = tessera.mpmm %x512, %w6 : tensor<512x64xf32>, tensor<64x64xui6> scales %s : tensor<64x2xf32> group_size 32 outs %i512 : tensor<512x64xf32>
  %b = tessera.mpmm %x, %w6 : tensor<?x64xf32>, tensor<64x64xui6> scales %s : tensor<64x2xf32> group_size 32 outs %i : tensor<?x64xf32>
  %c = tessera.mpmm %x16, %w7 : tensor<16x64xf32>, tensor<64x64xsi7> scales %s : tensor<64x2xf32> group_size 32 outs %i16 : tensor<16x64xf32>
  %d = tessera.mpmm %x17, %w7 : tensor<17x64xf32>, tensor<64x64xsi7> scales %s : tensor<64x2xf32> group_size 32 outs %i17 : tensor<17x64xf32>
  %e = tessera.mpmm %x, %w7 : tensor<?x64xf32>, tensor<64x64xsi7> scales %s : tensor<64x2xf32> group_size 32 outs %i : tensor<?x64xf32>
  %f = tessera.mpmm %x, %w8 : tensor<?x64xf32>, tensor<64x64xui8> scales %s : tensor<64x2xf32> group_size 32 outs %i : tensor<?x64xf32>
  return %a, %b, %c, %d, %e, %f : tensor<512x64xf32>, tensor<?x64xf32>, tensor<16x64xf32>, tensor<17x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// Not for the LUT kernel: N not a multiple of the shuffle width, float
// codes; a written strategy is kept; forcing LUT skips ops it cannot take.
// AUTO-LABEL: func @not_lut
// AUTO: tessera.mpmm {{.*}} {strategy = "dequantize"}
// AUTO: tessera.mpmm {{.*}} {strategy = "dequantize"}
// AUTO: tessera.mpmm {{.*}} {strategy = "lut_f32"}
// FORCED-LABEL: func @not_lut
// FORCED: tessera.mpmm {{.*}} {strategy = "lut_f32"}
// FORCED: tessera.mpmm {{.*}} {strategy = "dequantize"}
// FORCED: tessera.mpmm {{.*}} {strategy = "lut_f32"}
func.func @not_lut(%x: tensor<?x64xf32>, %w: tensor<40x64xui2>, %wf: tensor<64x64xf4E2M1FN>, %s: tensor<40x2xf32>, %sf: tensor<64x2xf32>,
                   %i: tensor<?x40xf32>, %if: tensor<?x64xf32>) -> (tensor<?x40xf32>, tensor<?x64xf32>, tensor<?x40xf32>) {
  %a = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<40x64xui2> scales %s : tensor<40x2xf32> group_size 32 outs %i : tensor<?x40xf32>
  %b = tessera.mpmm %x, %wf : tensor<?x64xf32>, tensor<64x64xf4E2M1FN> scales %sf : tensor<64x2xf32> group_size 32 outs %if : tensor<?x64xf32>
  %c = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<40x64xui2> scales %s : tensor<40x2xf32> group_size 32 outs %i : tensor<?x40xf32> {strategy = "lut_f32"}
  return %a, %b, %c : tensor<?x40xf32>, tensor<?x64xf32>, tensor<?x40xf32>
}

// NF4 (a 4-bit codebook): LUT with per-activation tables; a 3-bit codebook
// has no kernel.
// AUTO-LABEL: func @codebook
// AUTO: tessera.mpmm {{.*}} {strategy = "lut"}
// AUTO: tessera.mpmm {{.*}} {strategy = "dequantize"}
func.func @codebook(%x: tensor<?x64xf32>, %w: tensor<64x64xui4>, %w3: tensor<64x64xui3>, %s: tensor<64x1xf32>,
                    %cb: tensor<16xf32>, %cb3: tensor<8xf32>, %i: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %a = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<64x64xui4> scales %s : tensor<64x1xf32> codebook %cb : tensor<16xf32> group_size 64 outs %i : tensor<?x64xf32>
  %b = tessera.mpmm %x, %w3 : tensor<?x64xf32>, tensor<64x64xui3> scales %s : tensor<64x1xf32> codebook %cb3 : tensor<8xf32> group_size 64 outs %i : tensor<?x64xf32>
  return %a, %b : tensor<?x64xf32>, tensor<?x64xf32>
}

// With lut-max-rows=0, wider codes never take LUT, and no run-time choice
// is made for them.
// RUN: tessera-opt %s --tessera-choose-mpmm-strategy="lut-lanes=32 lut-max-rows=0" | FileCheck %s --check-prefix=NOROWS
// NOROWS-LABEL: func @by_width
// NOROWS-NOT: scf.if
// NOROWS: return

// With byte tiles (AVX512-VBMI and VNNI: 5-7 bit weights in tiles of 16 x
// 4 for the dequantize kernel, N a multiple of 16), 6 and 7-bit codes take
// dequantize but for at most 2 rows known at compile time; rows known only
// at run time take dequantize (no run-time choice); 5 bits keep LUT.
// Without them, 6 bits take LUT at every M.
// RUN: tessera-opt %s --tessera-choose-mpmm-strategy="lut-lanes=32 dequantize-layouts=1 byte-tiles=1" | FileCheck %s --check-prefix=BYTES
// BYTES-LABEL: func @byte_tiles
// BYTES-NOT: scf.if
// BYTES: tessera.mpmm {{.*}} tensor<2x64xf32>, tensor<64x64xui6> {{.*}} {strategy = "lut"}
// BYTES: tessera.mpmm {{.*}} tensor<3x64xf32>, tensor<64x64xui6> {{.*}} {strategy = "dequantize"}
// BYTES: tessera.mpmm {{.*}} tensor<?x64xf32>, tensor<64x64xsi7> {{.*}} {strategy = "dequantize"}
// BYTES: tessera.mpmm {{.*}} tensor<?x64xf32>, tensor<64x64xui5> {{.*}} {strategy = "lut"}
// BYTES: return
// LAYOUTS-LABEL: func @byte_tiles
// LAYOUTS: tessera.mpmm {{.*}} tensor<2x64xf32>, tensor<64x64xui6> {{.*}} {strategy = "lut"}
// LAYOUTS: tessera.mpmm {{.*}} tensor<3x64xf32>, tensor<64x64xui6> {{.*}} {strategy = "lut"}
// LAYOUTS: scf.if
func.func @byte_tiles(%x2: tensor<2x64xf32>, %x3: tensor<3x64xf32>, %x: tensor<?x64xf32>,
                      %w6: tensor<64x64xui6>, %w7: tensor<64x64xsi7>, %w5: tensor<64x64xui5>,
                      %s: tensor<64x2xf32>, %i2: tensor<2x64xf32>, %i3: tensor<3x64xf32>,
                      %i: tensor<?x64xf32>)
    -> (tensor<2x64xf32>, tensor<3x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %a = tessera.mpmm %x2, %w6 : tensor<2x64xf32>, tensor<64x64xui6> scales %s : tensor<64x2xf32> group_size 32 outs %i2 : tensor<2x64xf32>
  %b = tessera.mpmm %x3, %w6 : tensor<3x64xf32>, tensor<64x64xui6> scales %s : tensor<64x2xf32> group_size 32 outs %i3 : tensor<3x64xf32>
  %c = tessera.mpmm %x, %w7 : tensor<?x64xf32>, tensor<64x64xsi7> scales %s : tensor<64x2xf32> group_size 32 outs %i : tensor<?x64xf32>
  %d = tessera.mpmm %x, %w5 : tensor<?x64xf32>, tensor<64x64xui5> scales %s : tensor<64x2xf32> group_size 32 outs %i : tensor<?x64xf32>
  return %a, %b, %c, %d : tensor<2x64xf32>, tensor<3x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}
