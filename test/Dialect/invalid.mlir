// RUN: tessera-opt %s -split-input-file -verify-diagnostics

func.func @k_mismatch(%x: tensor<2x32xf32>, %w: tensor<4x64xui4>,
                      %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects x to have K = 64 columns like the weights, got 32}}
  %y = tessera.mpmm %x, %w : tensor<2x32xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @group_not_dividing(%x: tensor<2x96xf32>, %w: tensor<4x96xui4>,
                              %s: tensor<4x1xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects group_size to divide K = 96, got group_size = 64}}
  %y = tessera.mpmm %x, %w : tensor<2x96xf32>, tensor<4x96xui4>
         scales %s : tensor<4x1xf32> group_size 64 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @group_not_positive(%x: tensor<2x96xf32>, %w: tensor<4x96xui4>,
                              %s: tensor<4x1xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{attribute 'group_size' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %y = tessera.mpmm %x, %w : tensor<2x96xf32>, tensor<4x96xui4>
         scales %s : tensor<4x1xf32> group_size 0 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @scale_shape(%x: tensor<2x64xf32>, %w: tensor<4x64xui4>,
                       %s: tensor<4x4xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects scales of shape 4x2 (N x K/group_size), got 4x4}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x4xf32> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @scale_type(%x: tensor<2x64xf32>, %w: tensor<4x64xui4>,
                      %s: tensor<4x2xf64>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{operand #2 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4x2xf64>'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf64> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @zero_shape(%x: tensor<2x64xf32>, %w: tensor<4x64xui4>, %s: tensor<4x2xf32>,
                      %z: tensor<4x1xui4>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects zeros of shape 4x2 (N x K/group_size), got 4x1}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> zeros %z : tensor<4x1xui4> group_size 32
         outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @zero_type(%x: tensor<2x64xf32>, %w: tensor<4x64xui4>, %s: tensor<4x2xf32>,
                     %z: tensor<4x2xi4>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{operand #3 must be ranked tensor of integer of 1 to 8 bits with explicit signedness (siN or uiN) or 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4x2xi4>'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> zeros %z : tensor<4x2xi4> group_size 32
         outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @zero_too_wide(%x: tensor<2x64xf32>, %w: tensor<4x64xui4>, %s: tensor<4x2xf32>,
                         %z: tensor<4x2xsi64>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{operand #3 must be ranked tensor of integer of 1 to 8 bits with explicit signedness (siN or uiN) or 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4x2xsi64>'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> zeros %z : tensor<4x2xsi64> group_size 32
         outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @signless_weights(%x: tensor<2x64xf32>, %w: tensor<4x64xi4>,
                            %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{operand #1 must be ranked tensor of low-bit code type (siN/uiN with N <= 8, !tessera.fNeXmY, f4E2M1FN, f6E3M2FN, f6E2M3FN, f8E4M3FN or f8E5M2) values, but got 'tensor<4x64xi4>'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xi4>
         scales %s : tensor<4x2xf32> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @weights_too_wide(%x: tensor<2x64xf32>, %w: tensor<4x64xui9>,
                            %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{operand #1 must be ranked tensor of low-bit code type (siN/uiN with N <= 8, !tessera.fNeXmY, f4E2M1FN, f6E3M2FN, f6E2M3FN, f8E4M3FN or f8E5M2) values, but got 'tensor<4x64xui9>'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui9>
         scales %s : tensor<4x2xf32> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @dynamic_weights(%x: tensor<2x64xf32>, %w: tensor<?x64xui4>,
                           %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects weights to have a static shape, got 'tensor<?x64xui4>'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<?x64xui4>
         scales %s : tensor<4x2xf32> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @x_rank(%x: tensor<64xf32>, %w: tensor<4x64xui4>,
                  %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects x to be a 2-D tensor (M x K), got rank 1}}
  %y = tessera.mpmm %x, %w : tensor<64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @init_rows(%x: tensor<3x64xf32>, %w: tensor<4x64xui4>,
                     %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects init to have M = 3 rows like x, got 2}}
  %y = tessera.mpmm %x, %w : tensor<3x64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @init_cols(%x: tensor<2x64xf32>, %w: tensor<4x64xui4>,
                     %s: tensor<4x2xf32>, %i: tensor<2x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{expects init to have N = 4 columns (the weight rows), got 5}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> group_size 32 outs %i : tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

func.func @x_type(%x: tensor<2x64xi8>, %w: tensor<4x64xui4>,
                  %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x64xi8>'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xi8>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @codebook_length(%x: tensor<2x64xf32>, %w: tensor<4x64xui4>, %s: tensor<4x2xf32>,
                           %cb: tensor<8xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects a codebook of 16 entries (2^4 for 'ui4' codes), got shape 8}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> codebook %cb : tensor<8xf32> group_size 32
         outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @codebook_signed(%x: tensor<2x64xf32>, %w: tensor<4x64xsi4>, %s: tensor<4x2xf32>,
                           %cb: tensor<16xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects unsigned integer codes with a codebook, got 'si4'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xsi4>
         scales %s : tensor<4x2xf32> codebook %cb : tensor<16xf32> group_size 32
         outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @unpack_size(%b: tensor<5xi8>) -> tensor<2x8xui3> {
  // expected-error @+1 {{expects packed storage of 6 bytes for 'tensor<2x8xui3>' (16 x 3 bits), got 5 bytes}}
  %w = tessera.unpack %b : tensor<5xi8> -> tensor<2x8xui3>
  return %w : tensor<2x8xui3>
}

// -----

func.func @pack_size(%w: tensor<3x3xsi5>) -> tensor<7xi8> {
  // expected-error @+1 {{expects packed storage of 6 bytes for 'tensor<3x3xsi5>' (9 x 5 bits), got 7 bytes}}
  %b = tessera.pack %w : tensor<3x3xsi5> -> tensor<7xi8>
  return %b : tensor<7xi8>
}

// -----

func.func @pack_dynamic(%w: tensor<?x3xsi5>) -> tensor<7xi8> {
  // expected-error @+1 {{expects a statically shaped low-bit tensor, got 'tensor<?x3xsi5>'}}
  %b = tessera.pack %w : tensor<?x3xsi5> -> tensor<7xi8>
  return %b : tensor<7xi8>
}

// -----

func.func @unpack_storage_type(%b: tensor<6xui8>) -> tensor<2x8xui3> {
  // expected-error @+1 {{operand #0 must be 1D tensor of 8-bit signless integer values, but got 'tensor<6xui8>'}}
  %w = tessera.unpack %b : tensor<6xui8> -> tensor<2x8xui3>
  return %w : tensor<2x8xui3>
}

// -----

func.func @float_codes_int_zero(%x: tensor<2x64xf32>, %w: tensor<4x64xf8E4M3FN>, %s: tensor<4x2xf32>,
                                %z: tensor<4x2xui4>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects no integer zero point with float codes 'f8E4M3FN' (use a float offset)}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xf8E4M3FN>
         scales %s : tensor<4x2xf32> zeros %z : tensor<4x2xui4> group_size 32
         outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @codebook_float_codes(%x: tensor<2x64xf32>, %w: tensor<4x64x!tessera.f4e2m1>, %s: tensor<4x2xf32>,
                                %cb: tensor<16xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects unsigned integer codes with a codebook, got '!tessera.f4e2m1'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64x!tessera.f4e2m1>
         scales %s : tensor<4x2xf32> codebook %cb : tensor<16xf32> group_size 32
         outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// expected-error @+1 {{unknown tessera type 'f6e3m3'; expected a float format fNeXmY with N = 1 + X + Y of 3 to 8 bits, X >= 1, Y >= 1 (such as f4e2m1)}}
func.func @bad_float_name(%w: tensor<4x!tessera.f6e3m3>)

// -----

// expected-error @+1 {{unknown tessera type 'f9e5m3'}}
func.func @too_wide_float(%w: tensor<4x!tessera.f9e5m3>)

// -----

func.func @dequantize_shape(%q: tensor<4x64xui4>, %s: tensor<4x2xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects a result of the codes' shape 4x64, got 4x32}}
  %d = tessera.dequantize %q : tensor<4x64xui4> scales %s : tensor<4x2xf32> group_size 32 -> tensor<4x32xf32>
  return %d : tensor<4x32xf32>
}

// -----

func.func @dequantize_group(%q: tensor<4x64xui4>, %s: tensor<4x2xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{expects group_size to divide K = 64, got group_size = 48}}
  %d = tessera.dequantize %q : tensor<4x64xui4> scales %s : tensor<4x2xf32> group_size 48 -> tensor<4x64xf32>
  return %d : tensor<4x64xf32>
}

// -----

func.func @quantize_unsigned_symmetric(%w: tensor<4x64xf32>) {
  // expected-error @+1 {{expects signed codes for symmetric quantization (no zero point), got 'ui4'}}
  %q, %s = tessera.quantize %w group_size 32 : tensor<4x64xf32> -> tensor<4x64xui4>, tensor<4x2xf32>
  return
}

// -----

func.func @quantize_si1_symmetric(%w: tensor<4x64xf32>) {
  // expected-error @+1 {{expects at least 2 bits for symmetric quantization, got 'si1' (it has no positive code)}}
  %q, %s = tessera.quantize %w group_size 32 : tensor<4x64xf32> -> tensor<4x64xsi1>, tensor<4x2xf32>
  return
}

// -----

func.func @quantize_float_zero(%w: tensor<4x64xf32>) {
  // expected-error @+1 {{expects no zero point with float codes '!tessera.f5e2m2' (they are scaled by absmax)}}
  %q, %s, %z = tessera.quantize %w group_size 32 : tensor<4x64xf32> -> tensor<4x64x!tessera.f5e2m2>, tensor<4x2xf32>, tensor<4x2xf32>
  return
}

// -----

func.func @quantize_shape(%w: tensor<4x64xf32>) {
  // expected-error @+1 {{expects codes of the input's shape 4x64, got 4x32}}
  %q, %s, %z = tessera.quantize %w group_size 32 : tensor<4x64xf32> -> tensor<4x32xui4>, tensor<4x1xf32>, tensor<4x1xui4>
  return
}

// -----

func.func @lookup_table_length(%t: tensor<8xf32>, %i: tensor<3x5xui4>) -> tensor<3x5xf32> {
  // expected-error @+1 {{expects a table of 16 entries for 'ui4' indices, got 8}}
  %v = tessera.lookup %t[%i] : tensor<8xf32>, tensor<3x5xui4> -> tensor<3x5xf32>
  return %v : tensor<3x5xf32>
}

// -----

func.func @lookup_result(%t: tensor<16xf16>, %i: tensor<3x5xui4>) -> tensor<3x5xf32> {
  // expected-error @+1 {{expects a result of the indices' shape and the table's element type, 'tensor<3x5xf16>', got 'tensor<3x5xf32>'}}
  %v = tessera.lookup %t[%i] : tensor<16xf16>, tensor<3x5xui4> -> tensor<3x5xf32>
  return %v : tensor<3x5xf32>
}

// -----

func.func @lookup_signed(%t: tensor<16xf32>, %i: tensor<3x5xsi4>) -> tensor<3x5xf32> {
  // expected-error @+1 {{expects unsigned or signless indices, got 'si4'}}
  %v = tessera.lookup %t[%i] : tensor<16xf32>, tensor<3x5xsi4> -> tensor<3x5xf32>
  return %v : tensor<3x5xf32>
}

// -----

func.func @layout_not_dividing(%w: tensor<8x64xui3>) {
  // expected-error @+1 {{expects a layout that divides the shape of 'tensor<8x64xui3>', got tile size 5 does not divide dimension 0 of size 8}}
  %a = tessera.pack %w layout <tile = [5, 32]> : tensor<8x64xui3> -> tensor<192xi8>
  return
}

// -----

func.func @layout_rank(%w: tensor<8x64xui3>) {
  // expected-error @+1 {{expects a layout that divides the shape of 'tensor<8x64xui3>', got a tile of rank 1 for a tensor of rank 2}}
  %a = tessera.pack %w layout <tile = [8]> : tensor<8x64xui3> -> tensor<192xi8>
  return
}

// -----

func.func @layout_size(%b: tensor<96xi8>) {
  // 6 x 20 codes of 3 bits in 2 x 4 tiles of bit planes: 15 tiles x 3 planes x 1 byte.
  // expected-error @+1 {{expects packed storage of 45 bytes for 'tensor<6x20xui3>' (120 x 3 bits in this layout), got 96 bytes}}
  %w = tessera.unpack %b layout <tile = [2, 4], bit_planes> : tensor<96xi8> -> tensor<6x20xui3>
  return
}

// -----

func.func @layout_keyword(%w: tensor<8x64xui3>) {
  // expected-error @+1 {{expected 'tile' or 'bit_planes', got 'planes'}}
  %a = tessera.pack %w layout <planes> : tensor<8x64xui3> -> tensor<192xi8>
  return
}

// -----

func.func @strategy_unknown(%x: tensor<?x64xf32>, %w: tensor<32x64xui3>, %s: tensor<32x2xf32>, %i: tensor<?x32xf32>) {
  // expected-error @+1 {{expects strategy "dequantize", "lut" or "lut_f32", got "fast"}}
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<32x64xui3> scales %s : tensor<32x2xf32> group_size 32 outs %i : tensor<?x32xf32> {strategy = "fast"}
  return
}

// -----

func.func @strategy_lut_float_codes(%x: tensor<?x64xf32>, %w: tensor<32x64xf4E2M1FN>, %s: tensor<32x2xf32>, %i: tensor<?x32xf32>) {
  // expected-error @+1 {{expects integer codes (with a codebook: of at most 4 bits) for the LUT strategy, got 'f4E2M1FN'}}
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<32x64xf4E2M1FN> scales %s : tensor<32x2xf32> group_size 32 outs %i : tensor<?x32xf32> {strategy = "lut"}
  return
}

// -----

func.func @strategy_lut_group(%x: tensor<?x12xf32>, %w: tensor<32x12xui3>, %s: tensor<32x2xf32>, %i: tensor<?x32xf32>) {
  // expected-error @+1 {{expects a group_size that is a multiple of 4 for the LUT strategy, got 6}}
  %y = tessera.mpmm %x, %w : tensor<?x12xf32>, tensor<32x12xui3> scales %s : tensor<32x2xf32> group_size 6 outs %i : tensor<?x32xf32> {strategy = "lut"}
  return
}

// -----

func.func @lut_tables_shape(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{expects tables of shape ?x16x16 (M x K/4 x 16), got ?x16x8}}
  %t, %ts, %s = tessera.lut_tables %x group_size 32 : tensor<?x64xf32> -> tensor<?x16x8xi8>, tensor<?x2xf32>, tensor<?x2xf32>
  return
}

// -----

func.func @lut_tables_group(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{expects a group_size that is a multiple of 4 and divides K = 64, got 24}}
  %t, %ts, %s = tessera.lut_tables %x group_size 24 : tensor<?x64xf32> -> tensor<?x16x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
  return
}

// -----

func.func @lut_tables_sums(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{expects table_scales and sums of shape ?x2 (M x K/group_size), got ?x4}}
  %t, %ts, %s = tessera.lut_tables %x group_size 32 : tensor<?x64xf32> -> tensor<?x16x16xi8>, tensor<?x2xf32>, tensor<?x4xf32>
  return
}

// -----

func.func @lut_accumulate_planes(%t: tensor<?x16x16xi8>, %w: tensor<32x64xui3>) {
  // expected-error @+1 {{expects a result of shape 3x?x32x2 (planes x M x N x K/group_size), got 2x?x32x2}}
  %a = tessera.lut_accumulate %t, %w group_size 32 : tensor<?x16x16xi8>, tensor<32x64xui3> -> tensor<2x?x32x2xi32>
  return
}

// -----

func.func @lut_accumulate_type(%t: tensor<?x16x16xi8>, %w: tensor<32x64xui3>) {
  // expected-error @+1 {{expects 'i32' sums for 'i8' tables, got 'f32'}}
  %a = tessera.lut_accumulate %t, %w group_size 32 : tensor<?x16x16xi8>, tensor<32x64xui3> -> tensor<3x?x32x2xf32>
  return
}

// -----

func.func @lut_accumulate_k(%t: tensor<?x8x16xi8>, %w: tensor<32x64xui3>) {
  // expected-error @+1 {{expects 16 tables per row (K/4), or 64 (K, per activation), got 8}}
  %a = tessera.lut_accumulate %t, %w group_size 32 : tensor<?x8x16xi8>, tensor<32x64xui3> -> tensor<3x?x32x2xi32>
  return
}

// -----

func.func @lut_combine_code_type(%a: tensor<3x?x32x2xi32>, %ts: tensor<?x2xf32>, %s: tensor<32x2xf32>, %i: tensor<?x32xf32>) {
  // expected-error @+1 {{expects an integer code_type (siN or uiN), got 'f32'}}
  %y = tessera.lut_combine %a, %ts, %ts : tensor<3x?x32x2xi32>, tensor<?x2xf32>, tensor<?x2xf32> scales %s : tensor<32x2xf32> code_type f32 outs %i : tensor<?x32xf32>
  return
}

// -----

func.func @lut_combine_planes(%a: tensor<3x?x32x2xi32>, %ts: tensor<?x2xf32>, %s: tensor<32x2xf32>, %i: tensor<?x32xf32>) {
  // expected-error @+1 {{expects acc of shape 4xMxNxG (one plane per bit of 'ui4'), got 3x?x32x2}}
  %y = tessera.lut_combine %a, %ts, %ts : tensor<3x?x32x2xi32>, tensor<?x2xf32>, tensor<?x2xf32> scales %s : tensor<32x2xf32> code_type ui4 outs %i : tensor<?x32xf32>
  return
}

// -----

func.func @lut_combine_scales(%a: tensor<3x?x32x2xi32>, %ts: tensor<?x2xf32>, %s: tensor<32x4xf32>, %i: tensor<?x32xf32>) {
  // expected-error @+1 {{expects scales of shape 32x2 (N x groups), got 32x4}}
  %y = tessera.lut_combine %a, %ts, %ts : tensor<3x?x32x2xi32>, tensor<?x2xf32>, tensor<?x2xf32> scales %s : tensor<32x4xf32> code_type ui3 outs %i : tensor<?x32xf32>
  return
}

// -----

func.func @lut_combine_init(%a: tensor<3x?x32x2xi32>, %ts: tensor<?x2xf32>, %s: tensor<32x2xf32>, %i: tensor<?x16xf32>) {
  // expected-error @+1 {{expects init of shape ?x32 (M x N), got ?x16}}
  %y = tessera.lut_combine %a, %ts, %ts : tensor<3x?x32x2xi32>, tensor<?x2xf32>, tensor<?x2xf32> scales %s : tensor<32x2xf32> code_type ui3 outs %i : tensor<?x16xf32>
  return
}

// -----

func.func @sum_byte_pairs_count(%x: vector<32xi8>) {
  // expected-error @+1 {{expects half as many i16 sums as bytes, got 'vector<32xi16>' for 'vector<32xi8>'}}
  %s = tessera.sum_byte_pairs %x : vector<32xi8> -> vector<32xi16>
  return
}

// -----

func.func @sum_byte_pairs_weight(%x: vector<32xi8>) {
  // expected-error @+1 {{expects a weight from 1 to 127, got 128}}
  %s = tessera.sum_byte_pairs %x times 128 : vector<32xi8> -> vector<16xi16>
  return
}

// -----

func.func @sum_byte_pairs_zero_weight(%x: vector<32xi8>) {
  // expected-error @+1 {{expects a weight from 1 to 127, got 0}}
  %s = tessera.sum_byte_pairs %x times 0 : vector<32xi8> -> vector<16xi16>
  return
}

// -----

func.func @shuffle_bytes_width(%x: vector<16xi8>) {
  // expected-error @+1 {{operand #0 must be vector of 8-bit signless integer values of length 32/64}}
  %s = tessera.shuffle_bytes %x, %x : vector<16xi8>
  return
}

// -----

func.func @permute_bytes_width(%x: vector<32xi8>) {
  // expected-error @+1 {{operand #0 must be vector of 8-bit signless integer values of length 64}}
  %s = tessera.permute_bytes %x, %x : vector<32xi8>
  return
}

// -----

func.func @permute_lanes_width(%t: vector<8xf32>, %i: vector<8xi32>) {
  // expected-error @+1 {{operand #0 must be vector of 32-bit float values of length 16}}
  %r = tessera.permute_lanes %t, %i : vector<8xi32> -> vector<8xf32>
  return
}

// -----

func.func @permute_lanes_indices(%t: vector<16xf32>, %i: vector<16xf32>) {
  // expected-error @+1 {{operand #1 must be vector of 32-bit signless integer values of length 16}}
  %r = "tessera.permute_lanes"(%t, %i) : (vector<16xf32>, vector<16xf32>) -> vector<16xf32>
  return
}

// -----

func.func @multishift_bytes_width(%x: vector<16xi8>) {
  // expected-error @+1 {{operand #0 must be vector of 8-bit signless integer values of length 32/64}}
  %s = tessera.multishift_bytes %x, %x : vector<16xi8>
  return
}

// -----

func.func @multishift_bytes_types(%x: vector<64xi8>, %s: vector<32xi8>) {
  // expected-error @+1 {{all of {x, shifts, result} have same type}}
  %r = "tessera.multishift_bytes"(%x, %s) : (vector<64xi8>, vector<32xi8>) -> vector<64xi8>
  return
}

// -----

func.func @dot_bytes_accumulator(%acc: vector<4xi32>, %x: vector<16xi8>) {
  // expected-error @+1 {{operand #0 must be vector of 32-bit signless integer values of length 8/16, but got 'vector<4xi32>'}}
  %s = "tessera.dot_bytes"(%acc, %x, %x) : (vector<4xi32>, vector<16xi8>, vector<16xi8>) -> vector<4xi32>
  return
}

// -----

func.func @dot_bytes_lanes(%acc: vector<8xi32>, %x: vector<64xi8>) {
  // expected-error @+1 {{expects four bytes per i32 lane, got 'vector<64xi8>' into 'vector<8xi32>'}}
  %s = tessera.dot_bytes %acc, %x, %x : vector<64xi8> into vector<8xi32>
  return
}

// -----

func.func @lut_accumulate_direct_signed(%t: tensor<?x64x16xi8>, %w: tensor<32x64xsi4>) {
  // expected-error @+1 {{expects unsigned codes of at most 4 bits with per-activation tables, got 'si4'}}
  %a = tessera.lut_accumulate %t, %w group_size 32 : tensor<?x64x16xi8>, tensor<32x64xsi4> -> tensor<1x?x32x2xi32>
  return
}

// -----

func.func @lut_tables_codebook(%x: tensor<?x64xf32>, %cb: tensor<32xf32>) {
  // expected-error @+1 {{expects a codebook of 1 to 16 values, got 32}}
  %t, %ts, %s = tessera.lut_tables %x codebook %cb : tensor<32xf32> group_size 32 : tensor<?x64xf32> -> tensor<?x64x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
  return
}
