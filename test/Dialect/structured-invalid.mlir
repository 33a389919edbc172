// RUN: tessera-opt %s -split-input-file -verify-diagnostics

func.func @monarch_rank(%x: tensor<4xf32>, %w1: tensor<2x2x2xf32>, %w2: tensor<2x2x2xf32>,
                        %i: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{expects x to be a 2-D tensor, got rank 1}}
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<4xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32> outs %i : tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @monarch_factor_rank(%x: tensor<1x4xf32>, %w1: tensor<2x2xf32>, %w2: tensor<2x2x2xf32>,
                               %i: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{expects w1 to be a 3-D tensor of static shape, got 2x2}}
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<1x4xf32>, tensor<2x2xf32>, tensor<2x2x2xf32> outs %i : tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @monarch_dynamic_factor(%x: tensor<1x4xf32>, %w1: tensor<2x2x2xf32>, %w2: tensor<?x2x2xf32>,
                                  %i: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{expects w2 to be a 3-D tensor of static shape, got ?x2x2}}
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<1x4xf32>, tensor<2x2x2xf32>, tensor<?x2x2xf32> outs %i : tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @monarch_middle(%x: tensor<1x4xf32>, %w1: tensor<2x3x2xf32>, %w2: tensor<2x2x2xf32>,
                          %i: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{expects k * q = l * r for w1 (k x q x p) and w2 (l x s x r), got 2 * 3 != 2 * 2}}
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<1x4xf32>, tensor<2x3x2xf32>, tensor<2x2x2xf32> outs %i : tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @monarch_too_many_inputs(%x: tensor<1x5xf32>, %w1: tensor<2x2x2xf32>, %w2: tensor<2x2x2xf32>,
                                   %i: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{expects x to have at most k * p = 4 columns, got 5}}
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<1x5xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32> outs %i : tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @monarch_too_many_outputs(%x: tensor<1x4xf32>, %w1: tensor<2x2x2xf32>, %w2: tensor<2x2x2xf32>,
                                    %i: tensor<1x5xf32>) -> tensor<1x5xf32> {
  // expected-error @+1 {{expects init to have at most l * s = 4 columns, got 5}}
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<1x4xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32> outs %i : tensor<1x5xf32>
  return %y : tensor<1x5xf32>
}

// -----

func.func @monarch_rows(%x: tensor<2x4xf32>, %w1: tensor<2x2x2xf32>, %w2: tensor<2x2x2xf32>,
                        %i: tensor<3x4xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{expects x and init to have the same rows, got 2x4 and 3x4}}
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<2x4xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32> outs %i : tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @monarch_dynamic_columns(%x: tensor<2x?xf32>, %w1: tensor<2x2x2xf32>, %w2: tensor<2x2x2xf32>,
                                   %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects static columns of x and init, got 2x? and 2x4}}
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<2x?xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32> outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @monarch_element_type(%x: tensor<1x4xi32>, %w1: tensor<2x2x2xf32>, %w2: tensor<2x2x2xf32>,
                                %i: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %y = tessera.monarch_mm %x, %w1, %w2 : tensor<1x4xi32>, tensor<2x2x2xf32>, tensor<2x2x2xf32> outs %i : tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @bsr_blocks_rank(%x: tensor<2x8xf32>, %p: tensor<3xi32>, %j: tensor<?xi32>,
                           %b: tensor<?x4xf32>, %i: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{expects blocks of shape nnz x R x C with static R, C > 0, got ?x4}}
  %y = tessera.bsr_mm %x, %p, %j, %b : tensor<2x8xf32>, tensor<3xi32>, tensor<?xi32>, tensor<?x4xf32> outs %i : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @bsr_block_divides(%x: tensor<2x8xf32>, %p: tensor<3xi32>, %j: tensor<?xi32>,
                             %b: tensor<?x3x4xf32>, %i: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{expects the block shape 3x4 to divide the weights' shape 8x8 (N x K)}}
  %y = tessera.bsr_mm %x, %p, %j, %b : tensor<2x8xf32>, tensor<3xi32>, tensor<?xi32>, tensor<?x3x4xf32> outs %i : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @bsr_indptr_size(%x: tensor<2x8xf32>, %p: tensor<4xi32>, %j: tensor<?xi32>,
                           %b: tensor<?x4x4xf32>, %i: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{expects indptr of N/R + 1 = 3 entries, got 4}}
  %y = tessera.bsr_mm %x, %p, %j, %b : tensor<2x8xf32>, tensor<4xi32>, tensor<?xi32>, tensor<?x4x4xf32> outs %i : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @bsr_nnz(%x: tensor<2x8xf32>, %p: tensor<3xi32>, %j: tensor<3xi32>,
                   %b: tensor<2x4x4xf32>, %i: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{expects one block per index, got 3 indices and 2 blocks}}
  %y = tessera.bsr_mm %x, %p, %j, %b : tensor<2x8xf32>, tensor<3xi32>, tensor<3xi32>, tensor<2x4x4xf32> outs %i : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @bsr_index_type(%x: tensor<2x8xf32>, %p: tensor<3xi16>, %j: tensor<?xi32>,
                          %b: tensor<?x4x4xf32>, %i: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{operand #1 must be 1D tensor of 32-bit signless integer or 64-bit signless integer values}}
  %y = tessera.bsr_mm %x, %p, %j, %b : tensor<2x8xf32>, tensor<3xi16>, tensor<?xi32>, tensor<?x4x4xf32> outs %i : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @bsr_constant_start(%x: tensor<2x8xf32>, %j: tensor<?xi32>,
                              %b: tensor<?x4x4xf32>, %i: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %p = arith.constant dense<[1, 1, 2]> : tensor<3xi32>
  // expected-error @+1 {{expects indptr[0] = 0, got 1}}
  %y = tessera.bsr_mm %x, %p, %j, %b : tensor<2x8xf32>, tensor<3xi32>, tensor<?xi32>, tensor<?x4x4xf32> outs %i : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @bsr_constant_decreasing(%x: tensor<2x8xf32>, %j: tensor<?xi32>,
                                   %b: tensor<?x4x4xf32>, %i: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %p = arith.constant dense<[0, 2, 1]> : tensor<3xi32>
  // expected-error @+1 {{expects non-decreasing indptr, got indptr[2] = 1 < indptr[1] = 2}}
  %y = tessera.bsr_mm %x, %p, %j, %b : tensor<2x8xf32>, tensor<3xi32>, tensor<?xi32>, tensor<?x4x4xf32> outs %i : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @bsr_constant_nnz(%x: tensor<2x8xf32>, %j: tensor<3xi32>,
                            %b: tensor<3x4x4xf32>, %i: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %p = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  // expected-error @+1 {{expects indptr[N/R] = nnz, got 2 for 3 indices and 3 blocks}}
  %y = tessera.bsr_mm %x, %p, %j, %b : tensor<2x8xf32>, tensor<3xi32>, tensor<3xi32>, tensor<3x4x4xf32> outs %i : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @bsr_constant_index(%x: tensor<2x8xf32>, %b: tensor<2x4x4xf32>,
                              %i: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %p = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %j = arith.constant dense<[1, 2]> : tensor<2xi32>
  // expected-error @+1 {{expects block column indices in [0, K/C = 2), got indices[1] = 2}}
  %y = tessera.bsr_mm %x, %p, %j, %b : tensor<2x8xf32>, tensor<3xi32>, tensor<2xi32>, tensor<2x4x4xf32> outs %i : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
