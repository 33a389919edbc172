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
  // expected-error @+1 {{operand #1 must be ranked tensor of integer of 1 to 8 bits with explicit signedness (siN or uiN) values, but got 'tensor<4x64xi4>'}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xi4>
         scales %s : tensor<4x2xf32> group_size 32 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @weights_too_wide(%x: tensor<2x64xf32>, %w: tensor<4x64xui9>,
                            %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{operand #1 must be ranked tensor of integer of 1 to 8 bits with explicit signedness (siN or uiN) values, but got 'tensor<4x64xui9>'}}
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
  // expected-error @+1 {{expects a codebook of 16 entries (2^4 for the weight width), got shape 8}}
  %y = tessera.mpmm %x, %w : tensor<2x64xf32>, tensor<4x64xui4>
         scales %s : tensor<4x2xf32> codebook %cb : tensor<8xf32> group_size 32
         outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @codebook_signed(%x: tensor<2x64xf32>, %w: tensor<4x64xsi4>, %s: tensor<4x2xf32>,
                           %cb: tensor<16xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects unsigned weight codes with a codebook, got 'si4'}}
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
