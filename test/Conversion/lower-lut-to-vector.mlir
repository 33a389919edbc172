// RUN: tessera-opt %s --tessera-lower-lut-to-vector=lanes=32 --canonicalize --cse -split-input-file | FileCheck %s --check-prefix=AVX2
// RUN: tessera-opt %s --tessera-lower-lut-to-vector=lanes=64 --canonicalize --cse -split-input-file | FileCheck %s --check-prefix=AVX512
// RUN: tessera-opt %s --tessera-lower-lut-to-vector="lanes=64 byte-permute=1" --canonicalize --cse -split-input-file | FileCheck %s --check-prefix=PERMUTE
// RUN: tessera-opt %s --tessera-lower-lut-to-vector=lanes=0 -split-input-file | FileCheck %s --check-prefix=NONE
// RUN: not tessera-opt %s --tessera-lower-lut-to-vector=lanes=16 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: tessera-lower-lut-to-vector: lanes must be 0, 32 or 64, got 16

// 2-bit weights in tiles of 32 x 8 bit planes: column tiles of 256 rows in
// an scf.forall; rows of x; four blocks of 32 rows at a time (four
// streams); groups; runs of 8 weights. Per run: two tables broadcast to
// every 16-byte lane; per block and plane one 32-byte load, its nibbles as
// indices of two byte shuffles, interleaved and summed in pairs into i16.
// Groups of 32 let both planes share a block's two accumulators (the
// second plane's sums weighted by 2), so the combine has no multiply. A
// tile's first plane (of each 64 bytes) is prefetched 2 KiB ahead in its
// block's stream, clamped to the storage's last byte.
// AVX2-LABEL: func @two_bits
// AVX2-NOT: tessera.lut_accumulate
// AVX2-NOT: tessera.lut_combine
// AVX2: scf.forall (%[[TILE:.*]]) = (0) to (512) step (256) shared_outs
// AVX2: scf.for {{.*}} -> (tensor<?x256xf32>)
// AVX2: scf.for {{.*}} step %c128 {{.*}} -> (tensor<?x256xf32>)
// AVX2: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// AVX2: scf.for {{.*}} iter_args(%[[A0:[^ ]*]] = %{{[^,]*}}, %[[A1:[^ ]*]] = {{.*}} -> (vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>)
// AVX2: %[[T0:.*]] = vector.transfer_read %{{.*}} : tensor<?x16x16xi8>, vector<16xi8>
// AVX2: %[[B0:.*]] = vector.shuffle %[[T0]], %[[T0]] [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
// AVX2: %[[AHEAD:.*]] = arith.addi %[[AT:.*]], %c2048 : index
// AVX2-NEXT: %[[CLAMPED:.*]] = arith.minui %[[AHEAD]], %c8191 : index
// AVX2-NEXT: memref.prefetch %{{.*}}[%[[CLAMPED]]], read, locality<3>, data : memref<8192xi8>
// AVX2-NEXT: %[[W:.*]] = vector.transfer_read %arg1[%[[AT]]], %{{.*}} {in_bounds = [true]} : tensor<8192xi8>, vector<32xi8>
// AVX2: %[[LO:.*]] = arith.andi %[[W]], %{{.*}} : vector<32xi8>
// AVX2: %[[HI:.*]] = arith.shrui %[[W]], %{{.*}} : vector<32xi8>
// AVX2: %[[R0:.*]] = tessera.shuffle_bytes %[[B0]], %[[LO]] : vector<32xi8>
// AVX2: %[[R1:.*]] = tessera.shuffle_bytes %{{.*}}, %[[HI]] : vector<32xi8>
// AVX2: %[[P:.*]] = vector.shuffle %[[R0]], %[[R1]] [0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39, 16, 48,
// AVX2: %[[S:.*]] = tessera.sum_byte_pairs %[[P]] : vector<32xi8> -> vector<16xi16>
// AVX2: %[[L0:.*]] = arith.addi %[[A0]], %[[S]] : vector<16xi16>
// AVX2: %[[L1:.*]] = arith.addi %[[A1]], %{{.*}} : vector<16xi16>
// AVX2: %[[S2:.*]] = tessera.sum_byte_pairs %{{.*}} times 2 : vector<32xi8> -> vector<16xi16>
// AVX2: arith.addi %[[L0]], %[[S2]] : vector<16xi16>
// AVX2: %[[S3:.*]] = tessera.sum_byte_pairs %{{.*}} times 2 : vector<32xi8> -> vector<16xi16>
// AVX2: arith.addi %[[L1]], %[[S3]] : vector<16xi16>
// AVX2-COUNT-12: tessera.sum_byte_pairs
// Per group: the accumulators widened to i32, converted, scaled.
// AVX2-NOT: arith.muli %{{.*}} : vector<8xi32>
// AVX2: vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [8], strides = [1]} : vector<16xi16> to vector<8xi16>
// AVX2: arith.extsi %{{.*}} : vector<8xi16> to vector<8xi32>
// AVX2-NOT: arith.muli %{{.*}} : vector<8xi32>
// AVX2: arith.sitofp %{{.*}} : vector<8xi32> to vector<8xf32>
// AVX2: vector.fma
// AVX2: scf.forall.in_parallel

// Tiles of 32 rows are not the 64-lane kernel's.
// AVX512-LABEL: func @two_bits
// AVX512: tessera.lut_accumulate
// NONE-LABEL: func @two_bits
// NONE: tessera.lut_accumulate
// NONE: tessera.lut_combine
func.func @two_bits(%x: tensor<?x64xf32>, %wb: tensor<8192xi8>, %s: tensor<512x2xf16>, %init: tensor<?x512xf32>) -> tensor<?x512xf32> {
  %w = tessera.unpack %wb layout <tile = [32, 8], bit_planes> : tensor<8192xi8> -> tensor<512x64xui2>
  %t, %ts, %sums = tessera.lut_tables %x group_size 32 : tensor<?x64xf32> -> tensor<?x16x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<?x16x16xi8>, tensor<512x64xui2> -> tensor<2x?x512x2xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<2x?x512x2xi32>, tensor<?x2xf32>, tensor<?x2xf32> scales %s : tensor<512x2xf16> code_type ui2 outs %init : tensor<?x512xf32>
  return %y : tensor<?x512xf32>
}

// -----

// Tiles of 64 x 32 with 64-byte permutes and byte dot products (signed
// 3-bit codes, one row of x, 8 groups: four blocks of 64 rows a step). Per 32 codes
// (8 runs) the tables are two 64-byte loads split into the even runs' and
// the odd runs'; per block, plane and 16 rows, one 64-byte load whose
// nibbles, ORed with 16 j (byte j of a row), index the four tables of a
// vector; the two lookups go into the rows' i32 accumulator, weighted by
// 2^i. The top plane is looked up complemented (XOR with 15 | 16 j). Each
// 64-byte load is preceded by a software prefetch 2 KiB ahead in its
// block's stream (clamped to the storage's last byte).
// Without byte-permute the layout is not the kernel's.
// AVX512-LABEL: func @permute
// AVX512: tessera.lut_combine
// PERMUTE-LABEL: func @permute
// PERMUTE-DAG: %[[SEL:.*]] = arith.constant dense<[0, 16, 32, 48, 0, 16, 32, 48,
// PERMUTE-DAG: %[[FLIP:.*]] = arith.constant dense<[15, 31, 47, 63, 15, 31, 47, 63,
// PERMUTE-DAG: %[[ONE:.*]] = arith.constant dense<1> : vector<64xi8>
// PERMUTE-DAG: %[[FOUR:.*]] = arith.constant dense<4> : vector<64xi8>
// PERMUTE: %[[BUF:.*]] = bufferization.to_buffer %arg1 read_only : tensor<98304xi8> to memref<98304xi8>
// PERMUTE: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<1x64x16xi8> into tensor<1x1024xi8>
// PERMUTE: scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// PERMUTE: %[[A:.*]] = vector.transfer_read %[[FLAT]]{{.*}} : tensor<1x1024xi8>, vector<64xi8>
// PERMUTE: %[[B:.*]] = vector.transfer_read %[[FLAT]]{{.*}} : tensor<1x1024xi8>, vector<64xi8>
// PERMUTE: %[[EVEN:.*]] = vector.shuffle %[[A]], %[[B]] [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 64,
// PERMUTE: %[[ODD:.*]] = vector.shuffle %[[A]], %[[B]] [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 48,
// PERMUTE: %[[AT:.*]] = arith.muli %{{.*}}, %c768 : index
// PERMUTE-NEXT: %[[AHEAD:.*]] = arith.addi %[[AT]], %c2048 : index
// One clamp per tile of 3 x 256 bytes: its last prefetch, 704 bytes past
// the first, stays in the buffer.
// PERMUTE-NEXT: %[[CLAMPED:.*]] = arith.minui %[[AHEAD]], %c97599 : index
// PERMUTE-NEXT: memref.prefetch %[[BUF]][%[[CLAMPED]]], read, locality<3>, data : memref<98304xi8>
// PERMUTE-NEXT: %[[W:.*]] = vector.transfer_read %arg1[%[[AT]]], %{{.*}} {in_bounds = [true]} : tensor<98304xi8>, vector<64xi8>
// PERMUTE: %[[LO:.*]] = arith.andi %[[W]], %{{.*}} : vector<64xi8>
// PERMUTE: %[[HI:.*]] = arith.shrui %[[W]], %[[FOUR]] : vector<64xi8>
// PERMUTE: %[[ILO:.*]] = arith.ori %[[LO]], %[[SEL]] : vector<64xi8>
// PERMUTE: %[[IHI:.*]] = arith.ori %[[HI]], %[[SEL]] : vector<64xi8>
// PERMUTE: %[[R0:.*]] = tessera.permute_bytes %[[EVEN]], %[[ILO]] : vector<64xi8>
// PERMUTE: %[[D0:.*]] = tessera.dot_bytes %{{.*}}, %[[ONE]], %[[R0]] : vector<64xi8> into vector<16xi32>
// PERMUTE: %[[R1:.*]] = tessera.permute_bytes %[[ODD]], %[[IHI]] : vector<64xi8>
// PERMUTE: tessera.dot_bytes %[[D0]], %[[ONE]], %[[R1]] : vector<64xi8> into vector<16xi32>
// PERMUTE: %[[NEXT:.*]] = arith.addi %[[CLAMPED]], %c64 : index
// PERMUTE-NEXT: memref.prefetch %[[BUF]][%[[NEXT]]], read, locality<3>, data : memref<98304xi8>
// PERMUTE: arith.xori %{{.*}}, %[[FLIP]] : vector<64xi8>
// PERMUTE: arith.xori %{{.*}}, %[[FLIP]] : vector<64xi8>
// PERMUTE-NOT: tessera.shuffle_bytes
// PERMUTE-NOT: tessera.lut_combine
func.func @permute(%x: tensor<1x256xf32>, %wb: tensor<98304xi8>, %s: tensor<1024x8xf32>, %init: tensor<1x1024xf32>) -> tensor<1x1024xf32> {
  %w = tessera.unpack %wb layout <tile = [64, 32], bit_planes> : tensor<98304xi8> -> tensor<1024x256xsi3>
  %t, %ts, %sums = tessera.lut_tables %x group_size 32 : tensor<1x256xf32> -> tensor<1x64x16xi8>, tensor<1x8xf32>, tensor<1x8xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x64x16xi8>, tensor<1024x256xsi3> -> tensor<3x1x1024x8xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<3x1x1024x8xi32>, tensor<1x8xf32>, tensor<1x8xf32> scales %s : tensor<1024x8xf32> code_type si3 outs %init : tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}

// -----

// Tiles of 64 rows for 64-byte shuffles: the 32-lane kernel leaves these
// weights alone, the 64-lane one takes them.
// AVX2-LABEL: func @wide_tiles
// AVX2: tessera.lut_combine
// AVX512-LABEL: func @wide_tiles
// AVX512: tessera.shuffle_bytes {{.*}} : vector<64xi8>
// AVX512: tessera.sum_byte_pairs {{.*}} : vector<64xi8> -> vector<32xi16>
// AVX512-NOT: tessera.lut_combine
// With byte permutes, tiles of 64 x 8 (weights shared with a dequantize
// mpmm) still take the shuffle kernel.
// PERMUTE-LABEL: func @wide_tiles
// PERMUTE: tessera.shuffle_bytes {{.*}} : vector<64xi8>
// PERMUTE-NOT: tessera.permute_bytes
func.func @wide_tiles(%x: tensor<1x64xf32>, %wb: tensor<3072xi8>, %s: tensor<128x2xf32>, %z: tensor<128x2xf32>, %init: tensor<1x128xf32>) -> tensor<1x128xf32> {
  %w = tessera.unpack %wb layout <tile = [64, 8], bit_planes> : tensor<3072xi8> -> tensor<128x64xsi3>
  %t, %ts, %sums = tessera.lut_tables %x group_size 32 : tensor<1x64xf32> -> tensor<1x16x16xi8>, tensor<1x2xf32>, tensor<1x2xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x16x16xi8>, tensor<128x64xsi3> -> tensor<3x1x128x2xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<3x1x128x2xi32>, tensor<1x2xf32>, tensor<1x2xf32> scales %s : tensor<128x2xf32> zeros %z : tensor<128x2xf32> code_type si3 outs %init : tensor<1x128xf32>
  return %y : tensor<1x128xf32>
}

// -----

// One row of x, 3-bit codes, 16 groups: the coefficients of the step's two
// blocks of 64 rows (S and B) are computed per batch of 8 groups, 8 rows x
// 8 groups at a time (scales and zero points read along the groups,
// transposed in registers), into a buffer of two batches the loops carry;
// the combine reads them as vectors. Batch 0 comes first; then each group
// of a batch, after its combine, computes two chunks of 8 rows of the next
// batch into the other half (where there is a next batch).
// AVX512-LABEL: func @one_row_step_coefficients
// AVX512: %[[EMPTY:.*]] = tensor.empty() : tensor<2x16x128xf32>
// AVX512: %[[FIRST:.*]] = scf.for %[[R8:.*]] = %c0 to %c128 step %c8 iter_args(%[[C:.*]] = %[[EMPTY]])
// AVX512: vector.transfer_read %{{.*}} : tensor<128x16xf16>, vector<8xf16>
// AVX512: vector.shuffle
// AVX512: vector.transfer_write %{{.*}}, %[[C]][%c0, %c0, %[[R8]]]
// AVX512: scf.for %[[G8:.*]] = %c0 to %c16 step %c8 iter_args({{.*}}, %{{.*}} = %[[FIRST]])
// AVX512: %[[BATCH:.*]] = arith.divui %[[G8]], %c8 : index
// AVX512: %[[HALF:.*]] = arith.andi %[[BATCH]], %c1 : index
// AVX512: %[[AT:.*]] = arith.muli %[[HALF]], %c8 : index
// AVX512: %[[NEXT_AT:.*]] = arith.subi %c8, %[[AT]] : index
// AVX512: %[[NEXT_G8:.*]] = arith.addi %[[G8]], %c8 : index
// AVX512: %[[HAS_NEXT:.*]] = arith.cmpi ult, %[[NEXT_G8]], %c16 : index
// AVX512: %[[G0:.*]] = arith.subi %[[G8]], %[[AT]] : index
// AVX512: scf.for %[[G:.*]] = %[[G8]] to %[[NEXT_G8]] step %c1 iter_args({{.*}}, %[[COEF:.*]] = %{{.*}})
// AVX512: tessera.shuffle_bytes
// AVX512: %[[IN:.*]] = arith.subi %[[G]], %[[G0]] : index
// AVX512: vector.transfer_read %[[COEF]][%c0, %[[IN]], %c0], %{{.*}} : tensor<2x16x128xf32>, vector<8xf32>
// AVX512: vector.transfer_read %[[COEF]][%c1, %[[IN]], %c0], %{{.*}} : tensor<2x16x128xf32>, vector<8xf32>
// AVX512: scf.if %[[HAS_NEXT]] -> (tensor<2x16x128xf32>)
// AVX512: vector.transfer_read %{{.*}}[%{{.*}}, %[[NEXT_G8]]]{{.*}} : tensor<128x16xf16>, vector<8xf16>
// AVX512: vector.transfer_write %{{.*}}[%c0, %[[NEXT_AT]], %{{.*}}] {{.*}} : vector<8xf32>, tensor<2x16x128xf32>
// AVX512: scf.if %[[HAS_NEXT]] -> (tensor<2x16x128xf32>)
func.func @one_row_step_coefficients(%x: tensor<1x512xf32>, %wb: tensor<24576xi8>, %s: tensor<128x16xf16>,
                                     %zb: tensor<768xi8>, %init: tensor<1x128xf32>) -> tensor<1x128xf32> {
  %w = tessera.unpack %wb layout <tile = [64, 8], bit_planes> : tensor<24576xi8> -> tensor<128x512xui3>
  %z = tessera.unpack %zb : tensor<768xi8> -> tensor<128x16xui3>
  %t, %ts, %sums = tessera.lut_tables %x group_size 32 : tensor<1x512xf32> -> tensor<1x128x16xi8>, tensor<1x16xf32>, tensor<1x16xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x128x16xi8>, tensor<128x512xui3> -> tensor<3x1x128x16xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<3x1x128x16xi32>, tensor<1x16xf32>, tensor<1x16xf32> scales %s : tensor<128x16xf16> zeros %z : tensor<128x16xui3> code_type ui3 outs %init : tensor<1x128xf32>
  return %y : tensor<1x128xf32>
}

// -----

// One row of x, 1-bit codes, 8 groups, byte permutes: the coefficients are
// computed ahead here too (per 8 groups, for the step's rows, 16 rows at a
// time: two rows' scales per vector, transposed by 24 two-source
// shuffles), and a step looks up two blocks of 64 rows (four from 3 bits):
// 8 i32 accumulators.
// PERMUTE-LABEL: func @one_row_one_bit
// PERMUTE: scf.for %{{.*}} = %c0 to %c256 step %c128
// PERMUTE: tensor.empty() : tensor<2x16x128xf32>
// PERMUTE: scf.for %[[R16:.*]] = %c0 to %c128 step %c16
// PERMUTE: vector.transfer_read %{{.*}} : tensor<256x8xf16>, vector<8xf16>
// PERMUTE: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] : vector<8xf16>, vector<8xf16>
// PERMUTE-COUNT-24: vector.shuffle %{{.*}} : vector<16xf32>, vector<16xf32>
// PERMUTE: vector.transfer_write %{{.*}}[%c0, %c0, %[[R16]]] {{.*}} : vector<16xf32>, tensor<2x16x128xf32>
// PERMUTE: vector.transfer_write %{{.*}}[%c1, %c0, %[[R16]]] {{.*}} : vector<16xf32>, tensor<2x16x128xf32>
// PERMUTE: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// PERMUTE: scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// PERMUTE-COUNT-8: tessera.permute_bytes
// PERMUTE: vector.transfer_read %{{.*}} : tensor<2x16x128xf32>, vector<16xf32>
func.func @one_row_one_bit(%x: tensor<1x256xf32>, %wb: tensor<8192xi8>, %s: tensor<256x8xf16>, %init: tensor<1x256xf32>) -> tensor<1x256xf32> {
  %w = tessera.unpack %wb layout <tile = [64, 32], bit_planes> : tensor<8192xi8> -> tensor<256x256xui1>
  %t, %ts, %sums = tessera.lut_tables %x group_size 32 : tensor<1x256xf32> -> tensor<1x64x16xi8>, tensor<1x8xf32>, tensor<1x8xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x64x16xi8>, tensor<256x256xui1> -> tensor<1x1x256x8xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<1x1x256x8xi32>, tensor<1x8xf32>, tensor<1x8xf32> scales %s : tensor<256x8xf16> code_type ui1 outs %init : tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}

// -----

// One row of x, byte permutes, integer zero points of 3 bits: per 16 rows,
// each row's 8 zero codes (24 bits) are read as one word, the 16 words
// make one vector, and each group's codes are a shift and a mask of it.
// The second batch of 8 groups is computed by the first batch's groups, one
// chunk of 16 rows each (128 rows: one chunk per group).
// Each lookup step (32 codes; 16 of them) prefetches its share of the
// next step's scales (rows 128-255, 4 KiB: 256 bytes, 4 lines, at element
// 128 s + 2048, clamped to 3 lines before the end) and zero points (48
// bytes at byte 48 s + 768). While the coefficients of the first 8 groups
// are computed, 16 rows at a time, each of the two blocks' streams of
// weights is prefetched past the lookups' 2 KiB horizon: 256 bytes per 16
// rows, four lines, from its first tile + 2 KiB (block 0 here: byte 0).
// PERMUTE-LABEL: func @one_row_zero_codes
// PERMUTE: scf.for %{{.*}} = %c0 to %c128 step %c16
// PERMUTE: %[[ROWS16:.*]] = arith.divui %{{.*}}, %c16 : index
// PERMUTE: %[[PART:.*]] = arith.muli %[[ROWS16]], %c256 : index
// PERMUTE: %[[PAST:.*]] = arith.addi %[[PART]], %c2048 : index
// PERMUTE: %[[AHEAD:.*]] = arith.minui %[[PAST]], %c24383 : index
// PERMUTE: memref.prefetch %{{.*}}[%[[AHEAD]]], read, locality<3>, data : memref<24576xi8>
// PERMUTE-COUNT-7: memref.prefetch %{{.*}}, read, locality<3>, data : memref<24576xi8>
// PERMUTE-COUNT-16: vector.bitcast %{{.*}} : vector<3xi8> to vector<1xi24>
// PERMUTE: vector.from_elements %{{.*}} : vector<16xi32>
// PERMUTE: arith.andi %{{.*}} : vector<16xi32>
// PERMUTE: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// PERMUTE: arith.shrui %{{.*}}, %{{.*}} : vector<16xi32>
// PERMUTE-COUNT-7: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// PERMUTE-COUNT-16: vector.transfer_write %{{.*}} : vector<16xf32>, tensor<2x16x128xf32>
// PERMUTE: %[[SHARE:.*]] = arith.divui %{{.*}}, %c16 : index
// PERMUTE: %[[NEXT:.*]] = arith.addi %[[SHARE]], %c2048 : index
// PERMUTE: %[[AT:.*]] = arith.minui %[[NEXT]], %c1951 : index
// PERMUTE: memref.prefetch %{{.*}}[%[[AT]]], read, locality<3>, data : memref<2048xf16>
// PERMUTE-COUNT-3: memref.prefetch %{{.*}}, read, locality<3>, data : memref<2048xf16>
// PERMUTE: %[[ZSHARE:.*]] = arith.divui %{{.*}}, %c16 : index
// PERMUTE: %[[ZNEXT:.*]] = arith.addi %[[ZSHARE]], %c768 : index
// PERMUTE: %[[ZAT:.*]] = arith.minui %[[ZNEXT]], %c767 : index
// PERMUTE: memref.prefetch %{{.*}}[%[[ZAT]]], read, locality<3>, data : memref<768xi8>
// PERMUTE: tessera.permute_bytes
// PERMUTE: scf.if %{{.*}} -> (tensor<2x16x128xf32>)
// PERMUTE-COUNT-16: vector.bitcast %{{.*}} : vector<3xi8> to vector<1xi24>
// PERMUTE: vector.from_elements %{{.*}} : vector<16xi32>
// PERMUTE-NOT: scf.if
func.func @one_row_zero_codes(%x: tensor<1x512xf32>, %wb: tensor<24576xi8>, %s: tensor<128x16xf16>,
                              %zb: tensor<768xi8>, %init: tensor<1x128xf32>) -> tensor<1x128xf32> {
  %w = tessera.unpack %wb layout <tile = [64, 32], bit_planes> : tensor<24576xi8> -> tensor<128x512xui3>
  %z = tessera.unpack %zb : tensor<768xi8> -> tensor<128x16xui3>
  %t, %ts, %sums = tessera.lut_tables %x group_size 32 : tensor<1x512xf32> -> tensor<1x128x16xi8>, tensor<1x16xf32>, tensor<1x16xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x128x16xi8>, tensor<128x512xui3> -> tensor<3x1x128x16xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<3x1x128x16xi32>, tensor<1x16xf32>, tensor<1x16xf32> scales %s : tensor<128x16xf16> zeros %z : tensor<128x16xui3> code_type ui3 outs %init : tensor<1x128xf32>
  return %y : tensor<1x128xf32>
}

// -----

// One row of x, byte permutes, 11 groups: the first 8 have their
// coefficients computed ahead, the other 3 gathered in the combine (16
// rows' scales and zero points per group). A row of 3-bit zero points is
// 33 bits, so a run of 8 starts off a byte: 4 bytes are read from its
// first and shifted down by its first bit mod 8.
// PERMUTE-LABEL: func @one_row_groups_past_the_runs
// PERMUTE: scf.for %{{.*}} = %c0 to %c128 step %c16
// PERMUTE: %[[BIT:.*]] = arith.muli %{{.*}}, %c33 : index
// PERMUTE: %[[BYTE:.*]] = arith.shrui %[[BIT]], %c3 : index
// PERMUTE: %[[OFF:.*]] = arith.andi %[[BIT]], %c7 : index
// PERMUTE: %[[SHIFT:.*]] = arith.index_castui %[[OFF]] : index to i64
// PERMUTE: %[[READ:.*]] = vector.transfer_read %{{.*}}[%[[BYTE]]], %{{.*}} : tensor<528xi8>, vector<4xi8>
// PERMUTE: %[[CAST:.*]] = vector.bitcast %[[READ]] : vector<4xi8> to vector<1xi32>
// PERMUTE: %[[WORD:.*]] = vector.extract %[[CAST]][0] : i32 from vector<1xi32>
// PERMUTE: %[[WIDE:.*]] = arith.extui %[[WORD]] : i32 to i64
// PERMUTE: %[[DOWN:.*]] = arith.shrui %[[WIDE]], %[[SHIFT]] : i64
// PERMUTE: arith.trunci %[[DOWN]] : i64 to i32
// PERMUTE: %[[Y:.*]]:8 = scf.for %{{.*}} = %c0 to %c8 step %c1
// PERMUTE: tessera.permute_bytes
// PERMUTE: scf.for %[[G:.*]] = %c8 to %c11 step %c1 iter_args(%{{.*}} = %[[Y]]#0,
// PERMUTE: tessera.permute_bytes
// PERMUTE-COUNT-16: tensor.extract %{{.*}}[%{{.*}}, %[[G]]] : tensor<128x11xf16>
// PERMUTE: vector.from_elements %{{.*}} : vector<16xf32>
func.func @one_row_groups_past_the_runs(%x: tensor<1x352xf32>, %wb: tensor<16896xi8>, %s: tensor<128x11xf16>,
                                        %zb: tensor<528xi8>, %init: tensor<1x128xf32>) -> tensor<1x128xf32> {
  %w = tessera.unpack %wb layout <tile = [64, 32], bit_planes> : tensor<16896xi8> -> tensor<128x352xui3>
  %z = tessera.unpack %zb : tensor<528xi8> -> tensor<128x11xui3>
  %t, %ts, %sums = tessera.lut_tables %x group_size 32 : tensor<1x352xf32> -> tensor<1x88x16xi8>, tensor<1x11xf32>, tensor<1x11xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x88x16xi8>, tensor<128x352xui3> -> tensor<3x1x128x11xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<3x1x128x11xi32>, tensor<1x11xf32>, tensor<1x11xf32> scales %s : tensor<128x11xf16> zeros %z : tensor<128x11xui3> code_type ui3 outs %init : tensor<1x128xf32>
  return %y : tensor<1x128xf32>
}

// -----

// Left for the reference lowering: f32 tables; canonical weights.
// AVX512-LABEL: func @not_kernels
// AVX2-LABEL: func @not_kernels
// AVX2: tessera.lut_combine
// AVX2: tessera.lut_combine
// AVX2-NOT: tessera.shuffle_bytes
func.func @not_kernels(%x: tensor<1x64xf32>, %wb: tensor<1024xi8>, %s: tensor<128x2xf32>, %init: tensor<1x128xf32>) -> (tensor<1x128xf32>, tensor<1x128xf32>) {
  %w = tessera.unpack %wb layout <tile = [32, 8], bit_planes> : tensor<1024xi8> -> tensor<128x64xui1>
  %t, %ts, %sums = tessera.lut_tables %x group_size 32 : tensor<1x64xf32> -> tensor<1x16x16xf32>, tensor<1x2xf32>, tensor<1x2xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x16x16xf32>, tensor<128x64xui1> -> tensor<1x1x128x2xf32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<1x1x128x2xf32>, tensor<1x2xf32>, tensor<1x2xf32> scales %s : tensor<128x2xf32> code_type ui1 outs %init : tensor<1x128xf32>
  %wc = tessera.unpack %wb : tensor<1024xi8> -> tensor<128x64xui1>
  %t8, %ts8, %sums8 = tessera.lut_tables %x group_size 32 : tensor<1x64xf32> -> tensor<1x16x16xi8>, tensor<1x2xf32>, tensor<1x2xf32>
  %acc8 = tessera.lut_accumulate %t8, %wc group_size 32 : tensor<1x16x16xi8>, tensor<128x64xui1> -> tensor<1x1x128x2xi32>
  %y8 = tessera.lut_combine %acc8, %ts8, %sums8 : tensor<1x1x128x2xi32>, tensor<1x2xf32>, tensor<1x2xf32> scales %s : tensor<128x2xf32> code_type ui1 outs %init : tensor<1x128xf32>
  return %y, %y8 : tensor<1x128xf32>, tensor<1x128xf32>
}

// -----

// Per-activation (codebook) tables over 4-bit codes in tiles of 32 x 2:
// one plane, steps of two codes (two tables), i16 sums.
// AVX2-LABEL: func @codebook
// AVX2: tessera.shuffle_bytes {{.*}} : vector<32xi8>
// AVX2: tessera.sum_byte_pairs
// AVX2-NOT: tessera.lut_combine
func.func @codebook(%x: tensor<1x64xf32>, %wb: tensor<4096xi8>, %s: tensor<128x1xf32>, %cb: tensor<16xf32>, %init: tensor<1x128xf32>) -> tensor<1x128xf32> {
  %w = tessera.unpack %wb layout <tile = [32, 2]> : tensor<4096xi8> -> tensor<128x64xui4>
  %t, %ts, %sums = tessera.lut_tables %x codebook %cb : tensor<16xf32> group_size 64 : tensor<1x64xf32> -> tensor<1x64x16xi8>, tensor<1x1xf32>, tensor<1x1xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 64 : tensor<1x64x16xi8>, tensor<128x64xui4> -> tensor<1x1x128x1xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<1x1x128x1xi32>, tensor<1x1xf32>, tensor<1x1xf32> scales %s : tensor<128x1xf32> code_type ui4 direct outs %init : tensor<1x128xf32>
  return %y : tensor<1x128xf32>
}

// -----

// Groups of 128 (16 runs): a lane of an i16 accumulator may sum planes of
// relative weights up to 8 in all (16 * 2 * 127 * 8 < 2^15), so 4-bit
// codes take two plane sets, planes 0-2 (weights 1, 2, 4) and plane 3:
// four accumulators a block, two blocks a step, and the combine shifts the
// second set left by 3. One row of x (the scf.if's first branch) instead
// sums periods of 8 runs (relative weights up to 16: one set of 4 planes,
// two accumulators a block, four blocks a step), each period's sums
// widened to i32 before the next.
// AVX2-LABEL: func @plane_sets
// AVX2: scf.if
// AVX2: scf.for {{.*}} step %c128 {{.*}} -> (tensor<?x256xf32>)
// AVX2: scf.for %{{.*}} = %c0 to %c16 step %c8 iter_args({{.*}}) -> (vector<8xi32>,
// AVX2: scf.for {{.*}} -> (vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>)
// AVX2: tessera.sum_byte_pairs %{{.*}} : vector<32xi8> -> vector<16xi16>
// AVX2: tessera.sum_byte_pairs %{{.*}} times 2 :
// AVX2: tessera.sum_byte_pairs %{{.*}} times 4 :
// AVX2: tessera.sum_byte_pairs %{{.*}} times 8 :
// AVX2: } else {
// AVX2: scf.for {{.*}} step %c64 {{.*}} -> (tensor<?x256xf32>)
// AVX2: scf.for {{.*}} -> (vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>)
// AVX2: tessera.sum_byte_pairs %{{.*}} : vector<32xi8> -> vector<16xi16>
// AVX2: tessera.sum_byte_pairs %{{.*}} : vector<32xi8> -> vector<16xi16>
// AVX2: tessera.sum_byte_pairs %{{.*}} times 2 :
// AVX2: tessera.sum_byte_pairs %{{.*}} times 2 :
// AVX2: tessera.sum_byte_pairs %{{.*}} times 4 :
// AVX2: tessera.sum_byte_pairs %{{.*}} times 4 :
// AVX2: tessera.sum_byte_pairs %{{.*}} : vector<32xi8> -> vector<16xi16>
// AVX2: tessera.sum_byte_pairs %{{.*}} : vector<32xi8> -> vector<16xi16>
// AVX2-NOT: times 8
// AVX2: arith.shli %{{.*}}, %{{.*}} : vector<8xi32>
func.func @plane_sets(%x: tensor<?x256xf32>, %wb: tensor<32768xi8>, %s: tensor<256x2xf32>, %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [32, 8], bit_planes> : tensor<32768xi8> -> tensor<256x256xui4>
  %t, %ts, %sums = tessera.lut_tables %x group_size 128 : tensor<?x256xf32> -> tensor<?x64x16xi8>, tensor<?x2xf32>, tensor<?x2xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 128 : tensor<?x64x16xi8>, tensor<256x256xui4> -> tensor<4x?x256x2xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<4x?x256x2xi32>, tensor<?x2xf32>, tensor<?x2xf32> scales %s : tensor<256x2xf32> code_type ui4 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Signed 3-bit codes: the top plane (weight -4) is looked up with
// complemented nibbles (the weight bytes XORed with all ones), which
// negates its entries, so it joins planes 0-1 in one set with weight +4.
// AVX2-LABEL: func @signed_top_plane
// AVX2: %[[ONES:.*]] = arith.constant dense<-1> : vector<32xi8>
// AVX2: tessera.sum_byte_pairs %{{.*}} times 2 :
// AVX2: %[[W:.*]] = vector.transfer_read
// AVX2: %[[C:.*]] = arith.xori %[[W]], %[[ONES]] : vector<32xi8>
// AVX2: arith.andi %[[C]]
// AVX2: arith.shrui %[[C]]
// AVX2: tessera.sum_byte_pairs %{{.*}} times 4 :
// AVX2-NOT: arith.muli %{{.*}} : vector<8xi32>
// AVX2-NOT: arith.shli %{{.*}} : vector<8xi32>
// AVX2: return
func.func @signed_top_plane(%x: tensor<1x256xf32>, %wb: tensor<12288xi8>, %s: tensor<128x2xf32>, %init: tensor<1x128xf32>) -> tensor<1x128xf32> {
  %w = tessera.unpack %wb layout <tile = [32, 8], bit_planes> : tensor<12288xi8> -> tensor<128x256xsi3>
  %t, %ts, %sums = tessera.lut_tables %x group_size 128 : tensor<1x256xf32> -> tensor<1x64x16xi8>, tensor<1x2xf32>, tensor<1x2xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 128 : tensor<1x64x16xi8>, tensor<128x256xsi3> -> tensor<3x1x128x2xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<3x1x128x2xi32>, tensor<1x2xf32>, tensor<1x2xf32> scales %s : tensor<128x2xf32> code_type si3 outs %init : tensor<1x128xf32>
  return %y : tensor<1x128xf32>
}

// -----

// Scales and zero points in spans of 64 rows (getGroupTermsKernelLayout):
// a group's coefficients of 16 rows from one read of the scales' tiles and
// two runs of 8 zero points (3 bytes each), no transposes; the next step's
// terms are prefetched from the tiles (collapsed), as canonical ones are.
// PERMUTE-LABEL: func @permute_spans
// PERMUTE-NOT: linalg.unpack
// PERMUTE: tensor.collapse_shape %arg2 {{\[\[}}0, 1, 2]] : tensor<16x8x64xf16> into tensor<8192xf16>
// PERMUTE: vector.transfer_read %arg3[%{{.*}}], %{{.*}} : tensor<3072xi8>, vector<3xi8>
// PERMUTE: vector.transfer_read %arg2[%{{.*}}, %c0, %{{.*}}], %{{.*}} : tensor<16x8x64xf16>, vector<16xf16>
// PERMUTE: tessera.permute_bytes
// PERMUTE-NOT: tessera.lut_combine
// PERMUTE: return
// AVX512-LABEL: func @permute_spans
// AVX512: tessera.lut_combine
func.func @permute_spans(%x: tensor<1x256xf32>, %wb: tensor<98304xi8>, %st: tensor<16x8x64xf16>,
                         %zb: tensor<3072xi8>, %init: tensor<1x1024xf32>) -> tensor<1x1024xf32> {
  %w = tessera.unpack %wb layout <tile = [64, 32], bit_planes> : tensor<98304xi8> -> tensor<1024x256xsi3>
  %e = tensor.empty() : tensor<1024x8xf16>
  %s = linalg.unpack %st inner_dims_pos = [0] inner_tiles = [64] into %e : tensor<16x8x64xf16> -> tensor<1024x8xf16>
  %z = tessera.unpack %zb layout <tile = [64, 1]> : tensor<3072xi8> -> tensor<1024x8xsi3>
  %t, %ts, %sums = tessera.lut_tables %x group_size 32 : tensor<1x256xf32> -> tensor<1x64x16xi8>, tensor<1x8xf32>, tensor<1x8xf32>
  %acc = tessera.lut_accumulate %t, %w group_size 32 : tensor<1x64x16xi8>, tensor<1024x256xsi3> -> tensor<3x1x1024x8xi32>
  %y = tessera.lut_combine %acc, %ts, %sums : tensor<3x1x1024x8xi32>, tensor<1x8xf32>, tensor<1x8xf32>
         scales %s : tensor<1024x8xf16> zeros %z : tensor<1024x8xsi3> code_type si3 outs %init : tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}
