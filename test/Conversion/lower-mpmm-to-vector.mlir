// RUN: tessera-opt %s --tessera-lower-mpmm-to-vector --canonicalize -split-input-file --allow-unregistered-dialect | FileCheck %s
// RUN: tessera-opt %s --tessera-lower-mpmm-to-vector=vector-registers=32 --canonicalize -split-input-file --allow-unregistered-dialect | FileCheck %s --check-prefix=PAIRS
// RUN: tessera-opt %s --tessera-lower-mpmm-to-vector="vector-registers=32 byte-dots=1 byte-tiles=1" --canonicalize -split-input-file --allow-unregistered-dialect | FileCheck %s --check-prefix=LIMBS
// RUN: tessera-opt %s --tessera-lower-mpmm-to-vector="vector-registers=32 byte-dots=1" --canonicalize -split-input-file --allow-unregistered-dialect | FileCheck %s --check-prefix=NOTILES

// 5-bit codes with integer zero points. Full blocks of 8 rows of x are
// packed ([M/8][K/8][8][8]) for contiguous reads. 8 codes are 5 bytes, read
// as 8 (the columns before the last) or exactly 5 (the last column, whose
// final run ends the weights), shuffled so that lane l holds the two bytes
// of code l, shifted by l*5 mod 8 and masked. The code goes into the
// mantissa of 2^23 (OR 0x4B000000 = 1258291200) and 2^23 + z is subtracted
// in f32: q - z exactly. With 8 or 4 rows, the group scale multiplies the 8
// values before the FMAs; with fewer it multiplies the group's accumulators.
// CHECK-LABEL: func @u5_int_zero
// CHECK-DAG: %[[SHIFTS:.*]] = arith.constant dense<[0, 5, 2, 7, 4, 1, 6, 3]> : vector<8xi32>
// CHECK-DAG: %[[MASK:.*]] = arith.constant dense<31> : vector<8xi32>
// CHECK-DAG: %[[MAGIC:.*]] = arith.constant dense<1258291200> : vector<8xi32>
// CHECK-DAG: %[[TWO23:.*]] = arith.constant dense<0x4B000000> : vector<8xf32>
// CHECK: %[[XP:.*]] = linalg.generic
// CHECK-SAME: ins(%{{.*}} : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x8x8x8xf32>)
// Rows in blocks of 8: column tiles, row chunks, K blocks, columns, rows.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[Z:.*]] = vector.broadcast %{{.*}} : i32 to vector<8xi32>
// CHECK: %[[S:.*]] = vector.broadcast %{{.*}} : f32 to vector<8xf32>
// CHECK: scf.for
// CHECK: %[[BYTES:.*]] = vector.transfer_read %{{.*}} : tensor<320xi8>, vector<8xi8>
// CHECK: %[[LANES:.*]] = vector.shuffle %[[BYTES]], %[[BYTES]] [0, 1, 0, 0, 0, 1, 0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 2, 3, 0, 0, 3, 4, 0, 0, 3, 4, 0, 0, 4, 4, 0, 0]
// CHECK: %[[WORDS:.*]] = vector.bitcast %[[LANES]] : vector<32xi8> to vector<8xi32>
// CHECK: %[[SHIFTED:.*]] = arith.shrui %[[WORDS]], %[[SHIFTS]] : vector<8xi32>
// CHECK: %[[CODES:.*]] = arith.andi %[[SHIFTED]], %[[MASK]] : vector<8xi32>
// CHECK: %[[BIASED:.*]] = arith.ori %[[CODES]], %[[MAGIC]] : vector<8xi32>
// CHECK: %[[QF:.*]] = vector.bitcast %[[BIASED]] : vector<8xi32> to vector<8xf32>
// CHECK: %[[ZF:.*]] = arith.sitofp %[[Z]] : vector<8xi32> to vector<8xf32>
// CHECK: %[[BIAS:.*]] = arith.addf %[[ZF]], %[[TWO23]] : vector<8xf32>
// CHECK: %[[F:.*]] = arith.subf %[[QF]], %[[BIAS]] : vector<8xf32>
// CHECK: %[[V:.*]] = arith.mulf %[[F]], %[[S]] : vector<8xf32>
// CHECK: vector.transfer_read %[[XP]]
// CHECK-COUNT-8: vector.fma %{{.*}}, %[[V]]
// CHECK: vector.reduction <add>, %{{.*}} fastmath<reassoc>
// Blocks of 4 rows, then single rows.
// CHECK: vector<8xi8>
// CHECK: vector<8xi8>
// The last column, exact reads.
// CHECK: tensor<320xi8>, vector<5xi8>
// CHECK-NOT: tessera.mpmm
// With 32 vector registers, blocks of rows take two columns at once: each
// load of x feeds the FMAs of both columns' dequantized runs (of 16 codes
// in place, see @s6_in_place); an odd last column is taken alone.
// PAIRS-LABEL: func @u5_int_zero
// PAIRS: scf.for %{{.*}} step %c2
// PAIRS: %[[V0:.*]] = arith.mulf %{{.*}} : vector<16xf32>
// PAIRS: %[[V1:.*]] = arith.mulf %{{.*}} : vector<16xf32>
// PAIRS: %[[X:.*]] = vector.transfer_read %{{.*}} : tensor<?x64xf32>, vector<16xf32>
// PAIRS-NEXT: vector.fma %[[X]], %[[V0]]
// PAIRS-NEXT: vector.fma %[[X]], %[[V1]]
func.func @u5_int_zero(%x: tensor<?x64xf32>, %wb: tensor<320xi8>, %s: tensor<8x2xf16>,
                       %zb: tensor<10xi8>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %w = tessera.unpack %wb : tensor<320xi8> -> tensor<8x64xui5>
  %z = tessera.unpack %zb : tensor<10xi8> -> tensor<8x2xui5>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<8x64xui5> scales %s : tensor<8x2xf16>
         zeros %z : tensor<8x2xui5> group_size 32 outs %init : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Signed 3-bit codes: 8 codes are 3 bytes, read as a 4-byte word and
// broadcast; sign extension by a shift pair. Single rows accumulate codes
// unscaled over a group and apply the scale to the accumulator.
// CHECK-LABEL: func @s3
// CHECK-DAG: %[[UP:.*]] = arith.constant dense<[29, 26, 23, 20, 17, 14, 11, 8]> : vector<8xi32>
// CHECK-DAG: %[[DOWN:.*]] = arith.constant dense<29> : vector<8xi32>
// CHECK: vector.transfer_read %{{.*}} : tensor<48xi8>, vector<4xi8>
// CHECK: vector.bitcast %{{.*}} : vector<4xi8> to vector<1xi32>
// CHECK: vector.broadcast %{{.*}} : i32 to vector<8xi32>
// CHECK: arith.shli %{{.*}}, %[[UP]] : vector<8xi32>
// CHECK: arith.shrsi %{{.*}}, %[[DOWN]] : vector<8xi32>
// CHECK: arith.sitofp
// CHECK: %[[ACC:.*]] = vector.fma
// CHECK: scf.yield
// CHECK: %[[S:.*]] = vector.broadcast %{{.*}} : f32 to vector<8xf32>
// CHECK: vector.fma %[[S]], %{{.*}}, %{{.*}} : vector<8xf32>
func.func @s3(%x: tensor<2x32xf32>, %wb: tensor<48xi8>, %s: tensor<4x1xf32>,
              %init: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = tessera.unpack %wb : tensor<48xi8> -> tensor<4x32xsi3>
  %y = tessera.mpmm %x, %w : tensor<2x32xf32>, tensor<4x32xsi3> scales %s : tensor<4x1xf32>
         group_size 32 outs %init : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// 2-bit codes, single rows: a 4-byte word holds two runs of 8 codes; it is
// read once, broadcast, and each run takes its own shifts (0, 2, ..., 14
// and 16, ..., 30). The reads of the group's runs are at constant offsets
// from the group's first (the run index is linear in the loop counters).
// CHECK-LABEL: func @u2_shared_word
// CHECK-DAG: %[[LO:.*]] = arith.constant dense<[0, 2, 4, 6, 8, 10, 12, 14]> : vector<8xi32>
// CHECK-DAG: %[[HI:.*]] = arith.constant dense<[16, 18, 20, 22, 24, 26, 28, 30]> : vector<8xi32>
// CHECK-DAG: %[[MASK:.*]] = arith.constant dense<3> : vector<8xi32>
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c4
// CHECK: %[[W0:.*]] = vector.transfer_read %{{.*}} : tensor<128xi8>, vector<4xi8>
// CHECK: %[[L0:.*]] = vector.broadcast %{{.*}} : i32 to vector<8xi32>
// CHECK: arith.andi %{{.*}}, %[[MASK]]
// CHECK: arith.shrui %[[L0]], %[[HI]]
// CHECK: %[[W1:.*]] = vector.transfer_read %{{.*}} : tensor<128xi8>, vector<4xi8>
// CHECK-NOT: vector.transfer_read %{{.*}} : tensor<128xi8>
// CHECK: arith.uitofp
// CHECK-COUNT-3: arith.uitofp
// CHECK: scf.yield
func.func @u2_shared_word(%x: tensor<1x64xf32>, %wb: tensor<128xi8>, %s: tensor<8x1xf32>,
                          %init: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %w = tessera.unpack %wb : tensor<128xi8> -> tensor<8x64xui2>
  %y = tessera.mpmm %x, %w : tensor<1x64xf32>, tensor<8x64xui2> scales %s : tensor<8x1xf32>
         group_size 64 outs %init : tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// A tile of the weights and zero points (whole rows from %row on, as
// TilingInterface slices them): row n of the tile is row n + %row of the
// packed storage.
// CHECK-LABEL: func @tile_of_weights
// CHECK-SAME: %[[ROW:[a-z0-9]+]]: index)
// CHECK: scf.for %[[N:.*]] = %c0 to %c7
// CHECK: %[[ZROW:.*]] = arith.addi %[[N]], %[[ROW]] : index
// CHECK: %[[ZBIT:.*]] = arith.muli %[[ZROW]], %c2 : index
// CHECK: arith.shrui %[[ZBIT]], %c3 : index
// CHECK: scf.for
// CHECK: %[[WROW:.*]] = arith.addi %[[N]], %[[ROW]] : index
// CHECK: %[[WBYTE:.*]] = arith.muli %[[WROW]], %c16 : index
// CHECK: %[[AT:.*]] = arith.addi %[[WBYTE]], %{{.*}} : index
// CHECK: vector.transfer_read %{{.*}}[%[[AT]]], %{{.*}} : tensor<512xi8>, vector<4xi8>
func.func @tile_of_weights(%x: tensor<1x64xf32>, %wb: tensor<512xi8>, %s: tensor<8x1xf32>,
                           %zb: tensor<8xi8>, %init: tensor<1x8xf32>, %row: index) -> tensor<1x8xf32> {
  %w = tessera.unpack %wb : tensor<512xi8> -> tensor<32x64xui2>
  %z = tessera.unpack %zb : tensor<8xi8> -> tensor<32x1xui2>
  %wt = tensor.extract_slice %w[%row, 0] [8, 64] [1, 1] : tensor<32x64xui2> to tensor<8x64xui2>
  %zt = tensor.extract_slice %z[%row, 0] [8, 1] [1, 1] : tensor<32x1xui2> to tensor<8x1xui2>
  %y = tessera.mpmm %x, %wt : tensor<1x64xf32>, tensor<8x64xui2> scales %s : tensor<8x1xf32>
         zeros %zt : tensor<8x1xui2> group_size 64 outs %init : tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// 8-bit codes (one load and extend per run: bound by the weights'
// bandwidth): with 16 registers, after the blocks of rows column by column,
// single rows take 4 columns 16 apart at once (4 streams of weights), two
// chains each. With 32 registers, columns one by one (or in pairs).
// CHECK-LABEL: func @spread_columns
// CHECK: scf.for %[[N0:.*]] = %c0 to %c16 step %c1
// CHECK: arith.addi %[[N0]], %c16
// CHECK: arith.addi %[[N0]], %c32
// CHECK: arith.addi %[[N0]], %c48
// CHECK: scf.for %{{.*}} step %c2 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-4: arith.extui %{{.*}} : vector<8xi8> to vector<8xi32>
// CHECK-COUNT-4: vector.fma
// PAIRS-LABEL: func @spread_columns
// PAIRS-NOT: %c48
// PAIRS: return
func.func @spread_columns(%x: tensor<?x64xf32>, %wb: tensor<4096xi8>, %s: tensor<64x1xf32>,
                          %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %w = tessera.unpack %wb : tensor<4096xi8> -> tensor<64x64xui8>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<64x64xui8> scales %s : tensor<64x1xf32>
         group_size 64 outs %init : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// A full column tile (128 columns) with 16 rows or more takes the GEMM
// path: per block of 256 codes, the tile's weights are dequantized 8 columns
// x 8 codes at a time, transposed in registers (24 shuffles) and stored into
// a panel of 8 micro panels of 16 columns; then each register block of rows
// (broadcasts of packed x) is multiplied with each micro panel (two 8-lane
// loads per k). The 8 columns' scales are read once per group (segments of
// 32 codes), not per 8 codes.
// CHECK-LABEL: func @gemm_path
// CHECK: %[[XP:.*]] = linalg.generic
// One column tile: the forall folds away, and the tile is full.
// CHECK: %[[USE:.*]] = arith.cmpi uge, %{{.*}}, %c16
// CHECK: scf.if %[[USE]]
// CHECK: tensor.empty() : tensor<8x256x16xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c32
// CHECK-COUNT-8: tensor.extract %{{.*}} : tensor<128x2xf32>
// CHECK-NOT: tensor.extract %{{.*}} : tensor<128x2xf32>
// CHECK: scf.for %{{.*}} step %c8
// CHECK-NOT: tensor.extract %{{.*}} : tensor<128x2xf32>
// CHECK-COUNT-8: arith.mulf %{{.*}} : vector<8xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 8, 1, 9, 4, 12, 5, 13] : vector<8xf32>, vector<8xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 8, 9, 4, 5, 12, 13] : vector<8xf32>, vector<8xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11] : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-8: vector.transfer_write %{{.*}} : vector<8xf32>, tensor<8x256x16xf32>
// CHECK: %[[B0:.*]] = vector.transfer_read %{{.*}} : tensor<8x256x16xf32>, vector<8xf32>
// CHECK: %[[B1:.*]] = vector.transfer_read %{{.*}} : tensor<8x256x16xf32>, vector<8xf32>
// CHECK: %[[A:.*]] = tensor.extract %[[XP]]
// CHECK: %[[AV:.*]] = vector.broadcast %[[A]] : f32 to vector<8xf32>
// CHECK: vector.fma %[[AV]], %[[B0]]
// CHECK: vector.fma %[[AV]], %[[B1]]
// CHECK: vector.transfer_write %{{.*}} : vector<8xf32>, tensor<?x128xf32>
// CHECK: } else {
// CHECK: scf.yield
func.func @gemm_path(%x: tensor<?x64xf32>, %wb: tensor<4096xi8>, %s: tensor<128x2xf32>,
                     %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %w = tessera.unpack %wb : tensor<4096xi8> -> tensor<128x64xui4>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<128x64xui4> scales %s : tensor<128x2xf32>
         group_size 32 outs %init : tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// An elementwise consumer (here bias by column, then a residual) is fused
// into the column tiles: it runs on the tile while it is in cache, its other
// inputs sliced along the tile, written in place, before the tile is
// inserted; the consumer itself is gone.
// CHECK-LABEL: func @fused_epilogue
// CHECK-SAME: (%{{.*}}: tensor<?x64xf32>, %{{.*}}: tensor<16384xi8>, %{{.*}}: tensor<512x2xf32>, %[[INIT:.*]]: tensor<?x512xf32>, %[[BIAS:.*]]: tensor<512xf32>, %[[RES:.*]]: tensor<?x512xf32>)
// CHECK: scf.forall (%[[T:.*]]) = (0) to (512) step (128)
// CHECK: %[[B:.*]] = tensor.extract_slice %[[BIAS]][%[[T]]] [128] [1]
// CHECK: %[[R:.*]] = tensor.extract_slice %[[RES]][0, %[[T]]] [%{{.*}}, 128] [1, 1]
// CHECK: %[[E:.*]] = linalg.generic
// CHECK-SAME: ins(%[[Y:.*]], %[[B]], %[[R]] :
// CHECK-SAME: outs(%[[Y]] :
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: tensor.parallel_insert_slice %[[E]]
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @fused_epilogue(%x: tensor<?x64xf32>, %wb: tensor<16384xi8>, %s: tensor<512x2xf32>,
                          %init: tensor<?x512xf32>, %bias: tensor<512xf32>,
                          %res: tensor<?x512xf32>) -> tensor<?x512xf32> {
  %w = tessera.unpack %wb : tensor<16384xi8> -> tensor<512x64xui4>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<512x64xui4> scales %s : tensor<512x2xf32>
         group_size 32 outs %init : tensor<?x512xf32>
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%m) : tensor<?x512xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
                                        affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias, %res : tensor<?x512xf32>, tensor<512xf32>, tensor<?x512xf32>)
      outs(%e : tensor<?x512xf32>) {
  ^bb0(%a: f32, %b: f32, %r: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    %u = arith.addf %t, %r : f32
    linalg.yield %u : f32
  } -> tensor<?x512xf32>
  return %z : tensor<?x512xf32>
}

// -----

// Not fused: a consumer reading a value computed after the mpmm, and a
// result with two users.
// CHECK-LABEL: func @not_fused
// CHECK: scf.forall
// CHECK-NOT: linalg.generic
// CHECK: scf.forall.in_parallel
// CHECK: %[[LATE:.*]] = arith.mulf
// CHECK: linalg.generic
// CHECK: scf.forall
// CHECK: linalg.generic
func.func @not_fused(%x: tensor<4x64xf32>, %wb: tensor<16384xi8>, %s: tensor<512x2xf32>,
                     %init: tensor<4x512xf32>, %f: f32) -> (tensor<4x512xf32>, tensor<4x512xf32>) {
  %w = tessera.unpack %wb : tensor<16384xi8> -> tensor<512x64xui4>
  %y = tessera.mpmm %x, %w : tensor<4x64xf32>, tensor<512x64xui4> scales %s : tensor<512x2xf32>
         group_size 32 outs %init : tensor<4x512xf32>
  %late = arith.mulf %f, %f : f32
  %z = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<4x512xf32>) outs(%init : tensor<4x512xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.addf %a, %late : f32
    linalg.yield %t : f32
  } -> tensor<4x512xf32>
  %y2 = tessera.mpmm %x, %w : tensor<4x64xf32>, tensor<512x64xui4> scales %s : tensor<512x2xf32>
         group_size 32 outs %init : tensor<4x512xf32>
  %z2 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%y2 : tensor<4x512xf32>) outs(%init : tensor<4x512xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.addf %a, %a : f32
    linalg.yield %t : f32
  } -> tensor<4x512xf32>
  "test.sink"(%y2) : (tensor<4x512xf32>) -> ()
  return %z, %z2 : tensor<4x512xf32>, tensor<4x512xf32>
}

// -----

// 8-bit codes are extended from their bytes; float zero points are added to
// the dequantized values (FMA) or, for single rows, through the group sum
// of x.
// CHECK-LABEL: func @u8_float_zero
// CHECK: %[[B:.*]] = vector.transfer_read %{{.*}} : tensor<512xi8>, vector<8xi8>
// CHECK: arith.extui %[[B]] : vector<8xi8> to vector<8xi32>
// CHECK: %[[F:.*]] = arith.uitofp
// CHECK: vector.fma %[[F]], %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: arith.addf %{{.*}} : vector<8xf32>
func.func @u8_float_zero(%x: tensor<?x64xf32>, %wb: tensor<512xi8>, %s: tensor<8x2xf32>,
                         %z: tensor<8x2xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %w = tessera.unpack %wb : tensor<512xi8> -> tensor<8x64xui8>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<8x64xui8> scales %s : tensor<8x2xf32>
         zeros %z : tensor<8x2xf32> group_size 32 outs %init : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Weights in the LUT kernel's bit planes (tiles of 32 rows x 8 codes, 3
// planes of 32 bytes each): a run of 8 codes of one row is a byte per plane
// (at tile * 96 + plane * 32 + row % 32), broadcast, lane l taking bit l to
// bit p; the GEMM's panel reads 8 bytes per plane (8 columns) and builds
// each of its 8 rows from them without a transpose, with the scales of the
// 8 columns gathered once per segment of a group (32 codes). x is packed with its last block padded, and the GEMM
// takes every row (its last register block stored only up to M).
// CHECK-LABEL: func @bit_planes
// CHECK: %[[LANES:.*]] = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : vector<8xi32>
// CHECK: arith.ceildivui
// CHECK: linalg.generic
// CHECK: linalg.index
// CHECK: arith.select
// CHECK: %[[REST:.*]] = arith.select %{{.*}}, %[[M:.*]], %c0 : index
// CHECK: scf.if
// CHECK: scf.for {{.*}} step %c32
// CHECK: %[[SCALE:.*]] = vector.from_elements {{.*}} : vector<8xf32>
// CHECK: scf.for {{.*}} step %c8
// CHECK: vector.transfer_read %{{.*}} : tensor<6144xi8>, vector<8xi8>
// CHECK: arith.extui %{{.*}} : vector<8xi8> to vector<8xi32>
// CHECK: arith.shrui
// CHECK: arith.andi
// CHECK: arith.ori
// CHECK: arith.uitofp
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: vector.transfer_write %{{.*}} : vector<8xf32>, tensor<8x256x16xf32>
// CHECK-NOT: vector.shuffle
// CHECK: vector.fma
// CHECK: arith.cmpi ult
// CHECK: scf.if
// CHECK: } else {
// CHECK: tensor.extract %{{.*}} : tensor<6144xi8>
// CHECK: vector.broadcast %{{.*}} : i32 to vector<8xi32>
// CHECK: arith.shrui %{{.*}}, %[[LANES]] : vector<8xi32>
func.func @bit_planes(%x: tensor<?x64xf32>, %wb: tensor<6144xi8>, %s: tensor<256x2xf32>,
                      %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [32, 8], bit_planes> : tensor<6144xi8> -> tensor<256x64xui3>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<256x64xui3> scales %s : tensor<256x2xf32>
         group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// The permute kernel's tiles of 64 x 32: 4 bytes (runs) per row and plane,
// a plane 256 bytes. The GEMM's panel reads the 8 columns' 4-byte words
// (32 bytes from the first column's word) and shifts each to the run's byte
// (8 (run % 4) bits); a row kernel's run is the byte 4 (n % 64) + run % 4
// of its tile.
// CHECK-LABEL: func @bit_planes_64x32
// CHECK: %[[RUNIDX:.*]] = arith.shrui %{{.*}}, %c3 : index
// CHECK: %[[TILECOL:.*]] = arith.divui %[[RUNIDX]], %c4 : index
// CHECK: %[[TILE:.*]] = arith.addi %{{.*}}, %[[TILECOL]] : index
// CHECK: %[[ROW:.*]] = arith.remui %{{.*}}, %c64 : index
// CHECK: %[[ROWBYTE:.*]] = arith.muli %[[ROW]], %c4 : index
// CHECK: %[[TILEBYTE:.*]] = arith.muli %[[TILE]], %c768 : index
// CHECK: %[[BASE:.*]] = arith.addi %[[TILEBYTE]], %[[ROWBYTE]] : index
// CHECK: %[[J:.*]] = arith.remui %[[RUNIDX]], %c4 : index
// CHECK: %[[BITS:.*]] = arith.muli %[[J]], %c8 : index
// CHECK: %[[BITS32:.*]] = arith.index_cast %[[BITS]] : index to i32
// CHECK: %[[SHIFT:.*]] = vector.broadcast %[[BITS32]] : i32 to vector<8xi32>
// CHECK: %[[WORDS:.*]] = vector.transfer_read %{{.*}}[%[[BASE]]], %{{.*}} : tensor<6144xi8>, vector<32xi8>
// CHECK: %[[LANES:.*]] = vector.bitcast %[[WORDS]] : vector<32xi8> to vector<8xi32>
// CHECK: arith.shrui %[[LANES]], %[[SHIFT]] : vector<8xi32>
// CHECK: %[[PLANE1:.*]] = arith.addi %[[BASE]], %c256 : index
// CHECK: vector.transfer_read %{{.*}}[%[[PLANE1]]], %{{.*}} : tensor<6144xi8>, vector<32xi8>
// CHECK: arith.addi %[[BASE]], %c512 : index
// CHECK: vector.fma
// CHECK: } else {
// CHECK: %[[ROW:.*]] = arith.remui %{{.*}}, %c64 : index
// CHECK: arith.muli %[[ROW]], %c4 : index
// CHECK: arith.muli %{{.*}}, %c768 : index
// CHECK: tensor.extract %{{.*}} : tensor<6144xi8>
func.func @bit_planes_64x32(%x: tensor<?x64xf32>, %wb: tensor<6144xi8>, %s: tensor<256x2xf32>,
                            %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [64, 32], bit_planes> : tensor<6144xi8> -> tensor<256x64xui3>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<256x64xui3> scales %s : tensor<256x2xf32>
         group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// From 5 bits on, the panel transposes each run as 8 x 8 bit matrices: per
// column an i64 lane whose byte p is plane p's byte (masked from the 4-byte
// word of tiles of 64 x 32), three delta swaps (shifts 7, 14, 28; masks
// 0x00AA00AA00AA00AA, 0x0000CCCC0000CCCC, 0xF0F0F0F0), then code c is byte
// c of the lane: truncated to i32 and sign-extended (signed 7 bits).
// CHECK-LABEL: func @bit_planes_transposed
// CHECK-DAG: %[[S28:.*]] = arith.constant dense<28> : vector<8xi64>
// CHECK-DAG: %[[M14:.*]] = arith.constant dense<225176545447116> : vector<8xi64>
// CHECK-DAG: %[[S14:.*]] = arith.constant dense<14> : vector<8xi64>
// CHECK-DAG: %[[M7:.*]] = arith.constant dense<47851476196393130> : vector<8xi64>
// CHECK-DAG: %[[S7:.*]] = arith.constant dense<7> : vector<8xi64>
// CHECK-DAG: %[[M28:.*]] = arith.constant dense<4042322160> : vector<8xi64>
// CHECK-DAG: %[[BYTE:.*]] = arith.constant dense<255> : vector<8xi64>
// CHECK: scf.if
// CHECK: %[[P0:.*]] = arith.extui %{{.*}} : vector<8xi32> to vector<8xi64>
// CHECK: arith.andi %[[P0]], %[[BYTE]] : vector<8xi64>
// CHECK-COUNT-6: arith.shli %{{.*}} : vector<8xi64>
// CHECK: %[[R0:.*]] = arith.shrui %[[Q:.*]], %[[S7]] : vector<8xi64>
// CHECK: %[[X0:.*]] = arith.xori %[[Q]], %[[R0]] : vector<8xi64>
// CHECK: %[[T0:.*]] = arith.andi %[[X0]], %[[M7]] : vector<8xi64>
// CHECK: arith.shli %[[T0]], %[[S7]] : vector<8xi64>
// CHECK: arith.andi %{{.*}}, %[[M14]] : vector<8xi64>
// CHECK: arith.andi %{{.*}}, %[[M28]] : vector<8xi64>
// CHECK: arith.xori
// CHECK-NEXT: %[[CODES:.*]] = arith.xori
// CHECK-NEXT: %[[C0:.*]] = arith.trunci %[[CODES]] : vector<8xi64> to vector<8xi32>
// CHECK: %[[UP:.*]] = arith.shli %[[C0]], %[[SIGN:.*]] : vector<8xi32>
// CHECK: arith.shrsi %[[UP]], %[[SIGN]] : vector<8xi32>
// CHECK: arith.sitofp
// CHECK: arith.shrui %[[CODES]], %{{.*}} : vector<8xi64>
// CHECK: arith.trunci
func.func @bit_planes_transposed(%x: tensor<?x64xf32>, %wb: tensor<14336xi8>, %s: tensor<256x2xf32>,
                                 %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [64, 32], bit_planes> : tensor<14336xi8> -> tensor<256x64xsi7>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<256x64xsi7> scales %s : tensor<256x2xf32>
         group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Not eligible, left for the reference lowering: float codes, a codebook,
// f16 activations, K not a multiple of 8, bit planes not in tiles.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-5: tessera.mpmm
func.func @left_alone(%x: tensor<2x32xf32>, %xh: tensor<2x32xf16>, %x12: tensor<2x12xf32>,
                      %fb: tensor<64xi8>, %ub: tensor<64xi8>, %ub12: tensor<24xi8>,
                      %s: tensor<4x1xf32>, %s12: tensor<4x1xf32>, %cb: tensor<16xf32>,
                      %i: tensor<2x4xf32>) {
  %f = tessera.unpack %fb : tensor<64xi8> -> tensor<4x32xf4E2M1FN>
  %u = tessera.unpack %ub : tensor<64xi8> -> tensor<4x32xui4>
  %u12 = tessera.unpack %ub12 : tensor<24xi8> -> tensor<4x12xui4>
  %p = tessera.unpack %ub layout <bit_planes> : tensor<64xi8> -> tensor<4x32xui4>
  %0 = tessera.mpmm %x, %f : tensor<2x32xf32>, tensor<4x32xf4E2M1FN> scales %s : tensor<4x1xf32> group_size 32 outs %i : tensor<2x4xf32>
  %1 = tessera.mpmm %x, %u : tensor<2x32xf32>, tensor<4x32xui4> scales %s : tensor<4x1xf32> codebook %cb : tensor<16xf32> group_size 32 outs %i : tensor<2x4xf32>
  %2 = tessera.mpmm %xh, %u : tensor<2x32xf16>, tensor<4x32xui4> scales %s : tensor<4x1xf32> group_size 32 outs %i : tensor<2x4xf32>
  %3 = tessera.mpmm %x12, %u12 : tensor<2x12xf32>, tensor<4x12xui4> scales %s12 : tensor<4x1xf32> group_size 12 outs %i : tensor<2x4xf32>
  %4 = tessera.mpmm %x, %p : tensor<2x32xf32>, tensor<4x32xui4> scales %s : tensor<4x1xf32> group_size 32 outs %i : tensor<2x4xf32>
  "test.sink"(%0, %1, %2, %3, %4) : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> ()
  return
}

// -----

// Weights interleaved by 8 columns (tessera-assign-mpmm-layouts): a 32-byte
// tile holds 8 codes of 4 bits of each of 8 columns, one column per i32
// lane. x is scaled once by 2^-4j for code j of a lane (1 for the last,
// which is shifted down instead of masked in place), and summed per group.
// CHECK-LABEL: func @interleaved
// CHECK-DAG: %[[FLIP:.*]] = arith.constant dense<-2004318072> : vector<8xi32>
// CHECK-DAG: %[[M1:.*]] = arith.constant dense<240> : vector<8xi32>
// CHECK-DAG: %[[XS:.*]] = arith.constant dense<[1.000000e+00, 6.250000e-02, 3.906250e-03, 2.44140625E-4, 1.52587891E-5, 9.53674316E-7, 5.96046448E-8, 1.000000e+00]> : vector<8xf32>
// The weights' buffer, for the row kernel's prefetches (below).
// CHECK: %[[BUF:.*]] = bufferization.to_buffer %arg1 read_only : tensor<8192xi8> to memref<8192xi8>
// CHECK: arith.mulf %{{.*}}, %[[XS]] : vector<8xf32>
// CHECK: vector.reduction <add>
// The GEMM's panel: a tile per 8 codes of 8 columns, each code a row of the
// panel by two shifts (sign extension), a conversion and one FMA with the
// scales and -s z of the 8 columns; no transpose.
// CHECK: scf.if
// CHECK: tensor.empty() : tensor<8x256x16xf32>
// CHECK-NOT: vector.shuffle
// CHECK: %[[T:.*]] = vector.transfer_read %{{.*}} : tensor<8192xi8>, vector<32xi8>
// CHECK: %[[L:.*]] = vector.bitcast %[[T]] : vector<32xi8> to vector<8xi32>
// CHECK: arith.shli %[[L]]
// CHECK: arith.shrsi
// CHECK: arith.sitofp
// CHECK: %[[ROW0:.*]] = vector.fma
// CHECK: vector.to_elements %[[ROW0]] : vector<8xf32>
// CHECK: vector.from_elements {{.*}} : vector<8x8xf32>
// CHECK-NEXT: vector.transfer_write %{{.*}} {in_bounds = [true, true]} : vector<8x8xf32>, tensor<8x256x16xf32>
// CHECK: } else {
// Rows outside the GEMM: 4-bit codes are read 512 bytes ahead by a software
// prefetch per tile (clamped to the storage's last byte), then the signed
// codes' sign bits flipped once per tile, masked in place (code 1: bits
// 4-7), converted and multiplied with the broadcast of scaled x, in
// registers.
// CHECK: } else {
// CHECK: %[[AHEAD:.*]] = arith.addi %{{.*}}, %c512 : index
// CHECK: %[[CLAMPED:.*]] = arith.minui %[[AHEAD]], %c8191 : index
// CHECK: memref.prefetch %[[BUF]][%[[CLAMPED]]], read, locality<3>, data : memref<8192xi8>
// CHECK: %[[T2:.*]] = vector.transfer_read %{{.*}} : tensor<8192xi8>, vector<32xi8>
// CHECK: %[[L2:.*]] = vector.bitcast %[[T2]] : vector<32xi8> to vector<8xi32>
// CHECK: %[[F:.*]] = arith.xori %[[L2]], %[[FLIP]] : vector<8xi32>
// CHECK: arith.andi %[[F]], %{{.*}} : vector<8xi32>
// CHECK: vector.fma
// CHECK: arith.andi %[[F]], %[[M1]] : vector<8xi32>
// CHECK-NOT: vector.shuffle
// CHECK: return
// With AVX-512's 32 registers the GEMM's fill and the row kernel take two
// tiles of 8 columns (K b = 256 bytes apart) side by side in 16 lanes: a
// code of a tile pair is a whole row of a 16-column micro panel; in the row
// kernel one flip, one mask, one conversion and one FMA serve 16 columns.
// PAIRS-LABEL: func @interleaved
// PAIRS: tensor.empty() : tensor<8x256x16xf32>
// PAIRS: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] : vector<8xi32>, vector<8xi32>
// PAIRS: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// PAIRS: vector.from_elements {{.*}} : vector<8x16xf32>
// PAIRS-NEXT: vector.transfer_write %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] {in_bounds = [true, true]} : vector<8x16xf32>, tensor<8x256x16xf32>
// PAIRS: } else {
// PAIRS: %[[A:.*]] = vector.transfer_read %{{.*}}[%[[AT:.*]]], %{{.*}} : tensor<8192xi8>, vector<32xi8>
// PAIRS: %[[AL:.*]] = vector.bitcast %[[A]] : vector<32xi8> to vector<8xi32>
// PAIRS: %[[BT:.*]] = arith.addi %[[AT]], %c256
// PAIRS: %[[B:.*]] = vector.transfer_read %{{.*}}[%[[BT]]], %{{.*}} : tensor<8192xi8>, vector<32xi8>
// PAIRS: %[[BL:.*]] = vector.bitcast %[[B]] : vector<32xi8> to vector<8xi32>
// PAIRS: %[[AB:.*]] = vector.shuffle %[[AL]], %[[BL]] [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
// PAIRS: %[[F:.*]] = arith.xori %[[AB]], %{{.*}} : vector<16xi32>
// PAIRS: %[[C0:.*]] = arith.andi %[[F]], %{{.*}} : vector<16xi32>
// PAIRS: %[[V0:.*]] = arith.sitofp %[[C0]] : vector<16xi32> to vector<16xf32>
// PAIRS: vector.fma %[[V0]], %{{.*}} : vector<16xf32>
// With byte dot products (byte-dots, AVX512-VNNI) the row kernels take
// the rows below 64 (the GEMM from 64 on). Per row and group of x: its
// largest |x| (as bits), x 2^t rounded to an integer, split into three
// signed bytes, each byte reordered so that a word holds the x of codes
// i 8/b + s, i < 4 (4 bits: codes 0, 2, 4, 6, then 1, 3, 5, 7), with the
// group sum of each limb.
// LIMBS-LABEL: func @interleaved
// LIMBS-DAG: %[[FLIP:.*]] = arith.constant dense<-2004318072> : vector<16xi32>
// LIMBS-DAG: %[[NIBBLES:.*]] = arith.constant dense<252645135> : vector<16xi32>
// LIMBS-DAG: %[[L2:.*]] = arith.constant dense<6.553600e+04> : vector<16xf32>
// LIMBS-DAG: %[[L1:.*]] = arith.constant dense<2.560000e+02> : vector<16xf32>
// LIMBS: arith.cmpi uge, %{{.*}}, %c64 : index
// LIMBS: tensor.empty(%{{.*}}) : tensor<?x3x16xi32>
// LIMBS: vector.reduction <maxsi>, %{{.*}} : vector<8xi32> into i32
// LIMBS: %[[XI:.*]] = arith.fptosi %{{.*}} : vector<8xf32> to vector<8xi32>
// LIMBS: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 1, 3, 5, 7] : vector<8xi8>, vector<8xi8>
// LIMBS: vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %c0, %{{.*}}] {in_bounds = [true]} : vector<2xi32>, tensor<?x3x16xi32>
// LIMBS: vector.reduction <add>, %{{.*}} : vector<8xi32> into i32
// The row kernel: a tile pair's codes, signs flipped (q + 8), their low
// nibbles as bytes, each byte dot product taking one limb word of x,
// broadcast; then the high nibbles with the next word.
// LIMBS: %[[F:.*]] = arith.xori %{{.*}}, %[[FLIP]] : vector<16xi32>
// LIMBS: %[[LOW:.*]] = arith.andi %[[F]], %[[NIBBLES]] : vector<16xi32>
// LIMBS: %[[LOWB:.*]] = vector.bitcast %[[LOW]] : vector<16xi32> to vector<64xi8>
// LIMBS: %[[W0:.*]] = tensor.extract %{{.*}}[%{{.*}}, %c0, %[[WORD:.*]]] : tensor<?x3x16xi32>
// LIMBS: %[[B0:.*]] = vector.broadcast %[[W0]] : i32 to vector<16xi32>
// LIMBS: %[[X0:.*]] = vector.bitcast %[[B0]] : vector<16xi32> to vector<64xi8>
// LIMBS: tessera.dot_bytes %{{.*}}, %[[LOWB]], %[[X0]] : vector<64xi8> into vector<16xi32>
// LIMBS: %[[HIGH:.*]] = arith.shrui %[[F]], %{{.*}} : vector<16xi32>
// LIMBS: arith.andi %[[HIGH]], %[[NIBBLES]] : vector<16xi32>
// LIMBS: %[[NEXT:.*]] = arith.addi %[[WORD]], %c1 : index
// LIMBS: tensor.extract %{{.*}}[%{{.*}}, %c0, %[[NEXT]]] : tensor<?x3x16xi32>
// Per group: -(z + 8) (integer) times each limb's group sum off the limb's
// sum, the limbs combined in f32, times 2^-t and the scale.
// LIMBS: %[[Z:.*]] = arith.fptosi %{{.*}} : vector<16xf32> to vector<16xi32>
// LIMBS: arith.muli %[[Z]], %{{.*}} : vector<16xi32>
// LIMBS: arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// LIMBS: %[[T1:.*]] = vector.fma %{{.*}}, %[[L1]], %{{.*}} : vector<16xf32>
// LIMBS: %[[T:.*]] = vector.fma %{{.*}}, %[[L2]], %[[T1]] : vector<16xf32>
// LIMBS: arith.mulf %[[T]], %{{.*}} : vector<16xf32>
// LIMBS-NOT: vector.transfer_read %{{.*}} : tensor<?x64xf32>, vector<16xf32>
// LIMBS: return
func.func @interleaved(%x: tensor<?x64xf32>, %wb: tensor<8192xi8>, %s: tensor<256x2xf16>, %zb: tensor<256xi8>,
                       %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [8, 8]> : tensor<8192xi8> -> tensor<256x64xsi4>
  %z = tessera.unpack %zb : tensor<256xi8> -> tensor<256x2xsi4>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<256x64xsi4> scales %s : tensor<256x2xf16>
         zeros %z : tensor<256x2xsi4> group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// 5, 6 and 7-bit codes in tiles of 16 x 4 (byte-dots targets: AVX512-VBMI
// and VNNI). A step of 8 codes of 16 columns is two halves of 8b = 48
// bytes, each read masked (nothing past it), its 64-bit word q (columns 2q
// and 2q + 1) gathered from bytes [6q, 6q + 6) by one byte shuffle, code i
// of the word taken to byte i by tessera.multishift_bytes (bits 6i on),
// masked to 6 bits: byte i of lane c is code 4h + i of column c. x's limbs
// stay in order (word w: codes 4w to 4w + 3).
// Without byte-tiles (AVX512-VNNI but not VBMI) such weights are left to
// the reference lowering.
// NOTILES-LABEL: func @byte_tiles
// NOTILES: tessera.mpmm
// NOTILES-NOT: tessera.multishift_bytes
// NOTILES: return
// LIMBS-LABEL: func @byte_tiles
// LIMBS-DAG: %[[SHIFTS:.*]] = arith.constant dense<[0, 6, 12, 18, 24, 30, 36, 42, 0, 6, {{.*}}]> : vector<64xi8>
// LIMBS-DAG: %[[SIXBITS:.*]] = arith.constant dense<1061109567> : vector<16xi32>
// LIMBS-DAG: %[[FLIP:.*]] = arith.constant dense<538976288> : vector<16xi32>
// LIMBS-NOT: vector.shuffle {{.*}} : vector<8xi8>, vector<8xi8>
// The GEMM's panel (from 64 rows): code 4h + j sign-extended from byte j.
// LIMBS: %[[FMASK:.*]] = vector.constant_mask [48] : vector<64xi1>
// LIMBS: %[[FLO:.*]] = vector.transfer_read %{{.*}}, %[[FMASK]] {in_bounds = [true]} : tensor<12288xi8>, vector<64xi8>
// LIMBS: %[[FW:.*]] = vector.shuffle %[[FLO]], %[[FLO]] [0, 1, 2, 3, 4, 5, 5, 5, 6, 7, 8, 9, 10, 11, 11, 11, {{.*}}, 42, 43, 44, 45, 46, 47, 47, 47] : vector<64xi8>, vector<64xi8>
// LIMBS: %[[FC:.*]] = tessera.multishift_bytes %[[FW]], %[[SHIFTS]] : vector<64xi8>
// LIMBS: %[[FL:.*]] = vector.bitcast %[[FC]] : vector<64xi8> to vector<16xi32>
// LIMBS: %[[FSIX:.*]] = arith.andi %[[FL]], %[[SIXBITS]] : vector<16xi32>
// LIMBS: %[[UP:.*]] = arith.shli %[[FSIX]], %[[B26:.*]] : vector<16xi32>
// LIMBS: arith.shrsi %[[UP]], %[[B26]] : vector<16xi32>
// The row kernels, signs flipped (q + 32).
// LIMBS: memref.prefetch
// LIMBS: %[[MASK:.*]] = vector.constant_mask [48] : vector<64xi1>
// LIMBS: %[[LO:.*]] = vector.transfer_read %{{.*}}[%[[AT:.*]]], %{{.*}}, %[[MASK]] {in_bounds = [true]} : tensor<12288xi8>, vector<64xi8>
// LIMBS: %[[WORDS:.*]] = vector.shuffle %[[LO]], %[[LO]]
// LIMBS: %[[CODES:.*]] = tessera.multishift_bytes %[[WORDS]], %[[SHIFTS]] : vector<64xi8>
// LIMBS: %[[LANES:.*]] = vector.bitcast %[[CODES]] : vector<64xi8> to vector<16xi32>
// LIMBS: %[[SIX:.*]] = arith.andi %[[LANES]], %[[SIXBITS]] : vector<16xi32>
// LIMBS: %[[F:.*]] = arith.xori %[[SIX]], %[[FLIP]] : vector<16xi32>
// LIMBS: %[[HI_AT:.*]] = arith.addi %[[AT]], %c48 : index
// LIMBS: vector.transfer_read %{{.*}}[%[[HI_AT]]], %{{.*}}, %[[MASK]] {in_bounds = [true]} : tensor<12288xi8>, vector<64xi8>
// LIMBS: tessera.multishift_bytes
// LIMBS: %[[WORD:.*]] = arith.divui %{{.*}}, %c4 : index
// LIMBS: %[[FB:.*]] = vector.bitcast %[[F]] : vector<16xi32> to vector<64xi8>
// LIMBS: tensor.extract %{{.*}}[%{{.*}}, %c0, %[[WORD]]] : tensor<?x3x16xi32>
// LIMBS: tessera.dot_bytes %{{.*}}, %[[FB]], %{{.*}} : vector<64xi8> into vector<16xi32>
// LIMBS: return
func.func @byte_tiles(%x: tensor<?x64xf32>, %wb: tensor<12288xi8>, %s: tensor<256x2xf16>,
                      %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [16, 4]> : tensor<12288xi8> -> tensor<256x64xsi6>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<256x64xsi6> scales %s : tensor<256x2xf16>
         group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// The row kernel's group terms, per column tile before its loops: for 8
// columns and 8 groups, each column's 8 scales (one f16 load) and 8 packed
// 2-bit zero points (their two bytes, one word shifted per lane), transposed
// to a vector per group, stored as the scale and -z of the group's 8
// columns; the row kernel's epilogue reads them back a vector at a time.
// CHECK-LABEL: func @interleaved_group_terms
// CHECK: %[[E:.*]] = tensor.empty() : tensor<16x2x128xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[E]]) -> (tensor<16x2x128xf32>)
// CHECK: %[[S:.*]] = vector.transfer_read %{{.*}} : tensor<256x16xf16>, vector<8xf16>
// CHECK: arith.extf %[[S]] : vector<8xf16> to vector<8xf32>
// CHECK: %[[ZB:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<1024xi8>, vector<2xi8>
// CHECK: %[[ZW:.*]] = vector.bitcast %[[ZB]] : vector<2xi8> to vector<1xi16>
// CHECK: %[[Z:.*]] = vector.extract %[[ZW]][0] : i16 from vector<1xi16>
// CHECK: %[[Z32:.*]] = arith.extui %[[Z]] : i16 to i32
// CHECK: %[[ZL:.*]] = vector.broadcast %[[Z32]] : i32 to vector<8xi32>
// CHECK: %[[ZS:.*]] = arith.shrui %[[ZL]], %{{.*}} : vector<8xi32>
// CHECK: arith.andi %[[ZS]], %{{.*}} : vector<8xi32>
// CHECK: vector.shuffle
// CHECK: vector.transfer_write %{{.*}}[%{{.*}}, %c0, %{{.*}}] {in_bounds = [true]} : vector<8xf32>, tensor<16x2x128xf32>
// CHECK: arith.negf
// CHECK: vector.transfer_write %{{.*}}[%{{.*}}, %c1, %{{.*}}] {in_bounds = [true]} : vector<8xf32>, tensor<16x2x128xf32>
// CHECK: vector.transfer_read %{{.*}} : tensor<16x2x128xf32>, vector<8xf32>
// CHECK: return
func.func @interleaved_group_terms(%x: tensor<?x512xf32>, %wb: tensor<32768xi8>,
                                   %s: tensor<256x16xf16>, %zb: tensor<1024xi8>,
                                   %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [8, 16]> : tensor<32768xi8> -> tensor<256x512xui2>
  %z = tessera.unpack %zb : tensor<1024xi8> -> tensor<256x16xui2>
  %y = tessera.mpmm %x, %w : tensor<?x512xf32>, tensor<256x512xui2> scales %s : tensor<256x16xf16>
         zeros %z : tensor<256x16xui2> group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// 5-bit signed zero points: a run of 8 is 5 bytes, so the word goes to i64
// lanes, each shifted down by l * 5, truncated to i32 and sign-extended from
// 5 bits by a pair of shifts (27 = 32 - 5); the runs are transposed like
// the 2-bit ones above.
// CHECK-LABEL: func @interleaved_group_terms_five_bit_zeros
// CHECK-DAG: %[[DOWN:.*]] = arith.constant dense<[0, 5, 10, 15, 20, 25, 30, 35]> : vector<8xi64>
// CHECK-DAG: %[[UP:.*]] = arith.constant dense<27> : vector<8xi32>
// CHECK: %[[ZB:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<2560xi8>, vector<5xi8>
// CHECK: %[[ZW:.*]] = vector.bitcast %[[ZB]] : vector<5xi8> to vector<1xi40>
// CHECK: %[[Z:.*]] = vector.extract %[[ZW]][0] : i40 from vector<1xi40>
// CHECK: %[[Z64:.*]] = arith.extui %[[Z]] : i40 to i64
// CHECK: %[[ZL:.*]] = vector.broadcast %[[Z64]] : i64 to vector<8xi64>
// CHECK: %[[ZS:.*]] = arith.shrui %[[ZL]], %[[DOWN]] : vector<8xi64>
// CHECK: %[[ZT:.*]] = arith.trunci %[[ZS]] : vector<8xi64> to vector<8xi32>
// CHECK: %[[ZU:.*]] = arith.shli %[[ZT]], %[[UP]] : vector<8xi32>
// CHECK: arith.shrsi %[[ZU]], %[[UP]] : vector<8xi32>
// CHECK: vector.shuffle
// CHECK: arith.negf
// CHECK: vector.transfer_write %{{.*}}[%{{.*}}, %c1, %{{.*}}] {in_bounds = [true]} : vector<8xf32>, tensor<16x2x128xf32>
// CHECK: return
func.func @interleaved_group_terms_five_bit_zeros(%x: tensor<?x512xf32>, %wb: tensor<32768xi8>,
                                                  %s: tensor<256x16xf16>, %zb: tensor<2560xi8>,
                                                  %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [8, 16]> : tensor<32768xi8> -> tensor<256x512xui2>
  %z = tessera.unpack %zb : tensor<2560xi8> -> tensor<256x16xsi5>
  %y = tessera.mpmm %x, %w : tensor<?x512xf32>, tensor<256x512xui2> scales %s : tensor<256x16xf16>
         zeros %z : tensor<256x16xsi5> group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// 5-bit zero points of 11 groups: a row of them is 55 bits, so a run of 8
// starts anywhere in a byte. Its 5 bytes and the next are read as one i48
// and shifted down by the run's first bit mod 8 before they go to the lanes.
// (Column c's first run starts at bit 55 c.)
// CHECK-LABEL: func @interleaved_group_terms_off_bytes
// CHECK: %[[BIT:.*]] = arith.muli %{{.*}}, %c55 : index
// CHECK: %[[BYTE:.*]] = arith.shrui %[[BIT]], %c3 : index
// CHECK: %[[OFF:.*]] = arith.andi %[[BIT]], %c7 : index
// CHECK: %[[SHIFT:.*]] = arith.index_castui %[[OFF]] : index to i64
// CHECK: %[[ZB:.*]] = vector.transfer_read %{{.*}}[%[[BYTE]]], %{{.*}} {in_bounds = [true]} : tensor<1760xi8>, vector<6xi8>
// CHECK: %[[ZW:.*]] = vector.bitcast %[[ZB]] : vector<6xi8> to vector<1xi48>
// CHECK: %[[Z:.*]] = vector.extract %[[ZW]][0] : i48 from vector<1xi48>
// CHECK: %[[Z64:.*]] = arith.extui %[[Z]] : i48 to i64
// CHECK: %[[LOW:.*]] = arith.shrui %[[Z64]], %[[SHIFT]] : i64
// CHECK: vector.broadcast %[[LOW]] : i64 to vector<8xi64>
// CHECK: vector.shuffle
// CHECK: return
func.func @interleaved_group_terms_off_bytes(%x: tensor<?x352xf32>, %wb: tensor<22528xi8>,
                                             %s: tensor<256x11xf16>, %zb: tensor<1760xi8>,
                                             %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [8, 16]> : tensor<22528xi8> -> tensor<256x352xui2>
  %z = tessera.unpack %zb : tensor<1760xi8> -> tensor<256x11xui5>
  %y = tessera.mpmm %x, %w : tensor<?x352xf32>, tensor<256x352xui2> scales %s : tensor<256x11xf16>
         zeros %z : tensor<256x11xui5> group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// 3-bit weights interleaved in bit planes (tessera-assign-mpmm-layouts): a
// tile is 3 vectors of 32 bytes, plane p's i32 lane r holding bit p of 32
// codes of column r. Per tile the planes are shifted (plane p by p) and
// mixed into 3 words, mix c taking bit i from plane (i - c) mod 3 (masks
// 0x49249249, 0x92492492, 0x24924924 for mix 0): code j is then bits
// [j, j + 3) of mix j mod 3.
// CHECK-LABEL: func @interleaved_planes
// CHECK-DAG: %[[M0:.*]] = arith.constant dense<1227133513> : vector<8xi32>
// CHECK-DAG: %[[M1:.*]] = arith.constant dense<-1840700270> : vector<8xi32>
// CHECK-DAG: %[[M2:.*]] = arith.constant dense<613566756> : vector<8xi32>
// CHECK-DAG: %[[SIGN:.*]] = arith.constant dense<29> : vector<8xi32>
// The GEMM's panel: code 0 sign-extended by two shifts, code 3 from the
// same mix.
// CHECK: tensor.empty() : tensor<8x256x16xf32>
// CHECK: %[[T0:.*]] = vector.transfer_read %{{.*}}[%[[B:.*]]], %{{.*}} : tensor<6144xi8>, vector<32xi8>
// CHECK: %[[P0:.*]] = vector.bitcast %[[T0]]
// CHECK: %[[B1:.*]] = arith.addi %[[B]], %c32 : index
// CHECK: vector.transfer_read %{{.*}}[%[[B1]]]
// CHECK: %[[B2:.*]] = arith.addi %[[B]], %c64 : index
// CHECK: vector.transfer_read %{{.*}}[%[[B2]]]
// CHECK: %[[A0:.*]] = arith.andi %[[P0]], %[[M0]]
// CHECK: %[[A1:.*]] = arith.andi %{{.*}}, %[[M1]]
// CHECK: %[[O1:.*]] = arith.ori %[[A0]], %[[A1]]
// CHECK: %[[A2:.*]] = arith.andi %{{.*}}, %[[M2]]
// CHECK: %[[MIX:.*]] = arith.ori %[[O1]], %[[A2]]
// CHECK: %[[UP:.*]] = arith.shli %[[MIX]], %[[SIGN]]
// CHECK: arith.shrsi %[[UP]], %[[SIGN]]
// CHECK: arith.shli %[[MIX]], %{{.*}}
// CHECK: vector.transfer_write %{{.*}} : vector<32x8xf32>, tensor<8x256x16xf32>
// CHECK: } else {
// Rows outside the GEMM: the top plane (the sign bits) flipped once per
// tile, codes masked in place (code 0: 7, code 3: 7 << 3) from the mixes.
// CHECK: %[[R0:.*]] = vector.transfer_read %{{.*}} : tensor<6144xi8>, vector<32xi8>
// CHECK: vector.transfer_read
// CHECK: %[[R2:.*]] = vector.transfer_read %{{.*}} : tensor<6144xi8>, vector<32xi8>
// CHECK: %[[TOP:.*]] = vector.bitcast %[[R2]]
// CHECK: %[[FLIP:.*]] = arith.xori %[[TOP]], %{{.*}} : vector<8xi32>
// CHECK: arith.shli %[[FLIP]]
// CHECK: %[[X:.*]] = arith.ori
// CHECK: %[[MIXR:.*]] = arith.ori %[[X]]
// CHECK: arith.andi %[[MIXR]], %{{.*}} : vector<8xi32>
// CHECK: vector.fma
// CHECK: arith.andi %[[MIXR]], %{{.*}} : vector<8xi32>
// No prefetches below 4 bits (the kernel is bound by its instructions).
// CHECK-NOT: memref.prefetch
// CHECK: return
// With byte dot products, in the row kernel: plane p rotated left by p (p = 1, 2), then for
// code 8 i + s of each byte i the bit (s + p) mod 8 of each rotated plane
// (s = 0: masks 0x01010101, 0x02020202, 0x04040404), or-ed into bytes; the
// top plane's sign bits flipped first.
// LIMBS-LABEL: func @interleaved_planes
// LIMBS-DAG: %[[B2:.*]] = arith.constant dense<67372036> : vector<16xi32>
// LIMBS-DAG: %[[B1:.*]] = arith.constant dense<33686018> : vector<16xi32>
// LIMBS-DAG: %[[B0:.*]] = arith.constant dense<16843009> : vector<16xi32>
// The row kernel, its weights prefetched (the GEMM's fill is not).
// LIMBS: memref.prefetch
// LIMBS: %[[P0:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] : vector<8xi32>, vector<8xi32>
// LIMBS: %[[P1:.*]] = vector.shuffle
// LIMBS: %[[P2:.*]] = vector.shuffle
// LIMBS: %[[F:.*]] = arith.xori %[[P2]], %{{.*}} : vector<16xi32>
// LIMBS: %[[R1R:.*]] = arith.shrui %[[P1]], %{{.*}} : vector<16xi32>
// LIMBS: %[[R1L:.*]] = arith.shli %[[P1]], %{{.*}} : vector<16xi32>
// LIMBS: %[[R1:.*]] = arith.ori %[[R1L]], %[[R1R]] : vector<16xi32>
// LIMBS: %[[R2:.*]] = arith.ori
// LIMBS: %[[A0:.*]] = arith.andi %[[P0]], %[[B0]] : vector<16xi32>
// LIMBS: %[[A1:.*]] = arith.andi %[[R1]], %[[B1]] : vector<16xi32>
// LIMBS: %[[O1:.*]] = arith.ori %[[A0]], %[[A1]] : vector<16xi32>
// LIMBS: %[[A2:.*]] = arith.andi %[[R2]], %[[B2]] : vector<16xi32>
// LIMBS: %[[CODES:.*]] = arith.ori %[[O1]], %[[A2]] : vector<16xi32>
// LIMBS: %[[BYTES:.*]] = vector.bitcast %[[CODES]] : vector<16xi32> to vector<64xi8>
// LIMBS: tessera.dot_bytes %{{.*}}, %[[BYTES]], %{{.*}} : vector<64xi8> into vector<16xi32>
// LIMBS: return
func.func @interleaved_planes(%x: tensor<?x64xf32>, %wb: tensor<6144xi8>, %s: tensor<256x2xf32>,
                              %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [8, 32], bit_planes> : tensor<6144xi8> -> tensor<256x64xsi3>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<256x64xsi3> scales %s : tensor<256x2xf32>
         group_size 32 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Signed 6-bit codes, canonical, with 32 vector registers (AVX-512): the
// rows outside the GEMM take runs of 16 codes in place. x is scaled by
// 2^-(l * 6 mod 8) per lane l first; a run's 12 bytes are read as 16 (as
// exactly 12 by the last column), shuffled so that lane l holds the two
// bytes of code l, masked in place and their sign bits flipped (q + 32);
// (z + 32) 2^(l * 6 mod 8) comes off through the mantissa of 2^23; the
// group scale multiplies the 16 values before the FMAs of blocks of 8 rows
// (2 columns x 8 rows of 16-lane accumulators). The next columns' bytes
// are prefetched. With 16 registers, runs of 8 codes shifted and masked.
// CHECK-LABEL: func @s6_in_place
// CHECK-NOT: vector<16xi8>
// CHECK: arith.shrsi %{{.*}} : vector<8xi32>
// CHECK-NOT: vector<16xi8>
// CHECK: return
// PAIRS-LABEL: func @s6_in_place
// PAIRS-DAG: %[[SIGNS:.*]] = arith.constant dense<[32, 2048, 512, 128, 32, 2048, 512, 128, 32, 2048, 512, 128, 32, 2048, 512, 128]> : vector<16xi32>
// PAIRS-DAG: %[[MASKS:.*]] = arith.constant dense<[63, 4032, 1008, 252, 63, 4032, 1008, 252, 63, 4032, 1008, 252, 63, 4032, 1008, 252]> : vector<16xi32>
// PAIRS-DAG: %[[SHIFTS:.*]] = arith.constant dense<[0, 6, 4, 2, 0, 6, 4, 2, 0, 6, 4, 2, 0, 6, 4, 2]> : vector<16xi32>
// PAIRS-DAG: %[[BIAS:.*]] = arith.constant dense<32> : vector<16xi32>
// PAIRS-DAG: %[[MAGIC:.*]] = arith.constant dense<1258291200> : vector<16xi32>
// PAIRS-DAG: %[[INVERSE:.*]] = arith.constant dense<[1.000000e+00, 1.562500e-02, 6.250000e-02, 2.500000e-01, 1.000000e+00, 1.562500e-02, 6.250000e-02, 2.500000e-01, 1.000000e+00, 1.562500e-02, 6.250000e-02, 2.500000e-01, 1.000000e+00, 1.562500e-02, 6.250000e-02, 2.500000e-01]> : vector<16xf32>
// PAIRS: %[[XV:.*]] = vector.transfer_read %arg0{{.*}} : tensor<?x64xf32>, vector<16xf32>
// PAIRS: arith.mulf %[[XV]], %[[INVERSE]] : vector<16xf32>
// PAIRS: %[[W:.*]] = bufferization.to_buffer %arg1 read_only
// PAIRS: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// PAIRS: %[[Z:.*]] = vector.broadcast %{{.*}} : i32 to vector<16xi32>
// PAIRS: %[[ZB:.*]] = arith.addi %[[Z]], %[[BIAS]] : vector<16xi32>
// PAIRS: %[[ZIN:.*]] = arith.shli %[[ZB]], %[[SHIFTS]] : vector<16xi32>
// PAIRS: %[[S:.*]] = vector.broadcast %{{.*}} : f32 to vector<16xf32>
// PAIRS: scf.for
// PAIRS: memref.prefetch %[[W]]
// PAIRS: %[[BYTES:.*]] = vector.transfer_read %arg1{{.*}} : tensor<384xi8>, vector<16xi8>
// PAIRS-NEXT: %[[LANES:.*]] = vector.shuffle %[[BYTES]], %[[BYTES]] [0, 1, 0, 0, 0, 1, 0, 0, 1, 2, 1, 1, 2, 3, 2, 2, 3, 4, 3, 3, 3, 4, 3, 3, 4, 5, 4, 4, 5, 6, 5, 5, 6, 7, 6, 6, 6, 7, 6, 6, 7, 8, 7, 7, 8, 9, 8, 8, 9, 10, 9, 9, 9, 10, 9, 9, 10, 11, 10, 10, 11, 11, 11, 11]
// PAIRS-NEXT: %[[WORDS:.*]] = vector.bitcast %[[LANES]] : vector<64xi8> to vector<16xi32>
// PAIRS-NEXT: %[[CODES:.*]] = arith.andi %[[WORDS]], %[[MASKS]] : vector<16xi32>
// PAIRS-NEXT: %[[FLIPPED:.*]] = arith.xori %[[CODES]], %[[SIGNS]] : vector<16xi32>
// PAIRS-NEXT: %[[BIASED:.*]] = arith.ori %[[FLIPPED]], %[[MAGIC]] : vector<16xi32>
// PAIRS-NEXT: %[[QF:.*]] = vector.bitcast %[[BIASED]] : vector<16xi32> to vector<16xf32>
// PAIRS-NEXT: %[[ZF:.*]] = arith.sitofp %[[ZIN]] : vector<16xi32> to vector<16xf32>
// PAIRS-NEXT: %[[ZF2:.*]] = arith.addf %[[ZF]], %{{.*}} : vector<16xf32>
// PAIRS-NEXT: %[[F:.*]] = arith.subf %[[QF]], %[[ZF2]] : vector<16xf32>
// PAIRS-NEXT: %[[V:.*]] = arith.mulf %[[F]], %[[S]] : vector<16xf32>
// PAIRS: vector.transfer_read %{{.*}} : tensor<?x64xf32>, vector<16xf32>
// PAIRS-NEXT: vector.fma %{{.*}}, %[[V]], %{{.*}} : vector<16xf32>
// Single rows, then the last column's exact reads.
// PAIRS: tensor<384xi8>, vector<16xi8>
// PAIRS: tensor<384xi8>, vector<12xi8>
// PAIRS-NOT: tessera.mpmm
func.func @s6_in_place(%x: tensor<?x64xf32>, %wb: tensor<384xi8>, %s: tensor<8x2xf32>,
                       %zb: tensor<2xi8>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %w = tessera.unpack %wb : tensor<384xi8> -> tensor<8x64xsi6>
  %z = tessera.unpack %zb : tensor<2xi8> -> tensor<8x2xui1>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<8x64xsi6> scales %s : tensor<8x2xf32>
         zeros %z : tensor<8x2xui1> group_size 32 outs %init : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// 1-bit codes interleaved by 8 columns, with 32 vector registers: the
// single rows look up the sum of x over each run of 4 codes (a nibble of a
// column's lane) in a table of 16 per run, built before the column tiles
// for the one row taken alone (the last, where M is odd) (x[4r] * bit 0 of the entry, then 3 FMAs; the group sums
// of x are entry 15's), one tessera.permute_lanes for 16 columns at once.
// That is for single rows: blocks of rows keep the f32 kernel, or the
// byte dot products (LIMBS). With 16 registers the f32 kernel is kept.
// CHECK-LABEL: func @one_bit_tables
// CHECK-NOT: tessera.permute_lanes
// CHECK-NOT: memref<1024xf16>
// CHECK: return
// PAIRS-LABEL: func @one_bit_tables
// PAIRS: tensor.empty() : tensor<1x128x16xf32>
// PAIRS: %[[X0:.*]] = tensor.extract %{{.*}} : tensor<?x512xf32>
// PAIRS: %[[B0:.*]] = vector.broadcast %[[X0]] : f32 to vector<16xf32>
// PAIRS: arith.mulf %[[B0]], %{{.*}} : vector<16xf32>
// PAIRS-COUNT-3: vector.fma
// PAIRS: vector.transfer_write %{{.*}} : vector<16xf32>, tensor<1x128x16xf32>
// PAIRS: vector.extract %{{.*}}[15] : f32 from vector<16xf32>
// The next column tile's scales, a share per group: the 512 bytes of a
// block of 64 columns, two lines a group.
// PAIRS: memref.prefetch %{{.*}}[%{{.*}}], read, locality<3>, data : memref<1024xf16>
// PAIRS-NEXT: arith.addi
// PAIRS-NEXT: memref.prefetch %{{.*}}[%{{.*}}], read, locality<3>, data : memref<1024xf16>
// PAIRS: %[[T:.*]] = vector.transfer_read %{{.*}} : tensor<1x128x16xf32>, vector<16xf32>
// PAIRS: tessera.permute_lanes %[[T]], %{{.*}} : vector<16xi32> -> vector<16xf32>
// PAIRS: %[[I:.*]] = arith.shrui %{{.*}}, %{{.*}} : vector<16xi32>
// PAIRS: tessera.permute_lanes %{{.*}}, %[[I]] : vector<16xi32> -> vector<16xf32>
// PAIRS: return
// LIMBS-LABEL: func @one_bit_tables
// LIMBS-DAG: tessera.dot_bytes
// LIMBS-DAG: tessera.permute_lanes
// LIMBS: return
func.func @one_bit_tables(%x: tensor<?x512xf32>, %wb: tensor<16384xi8>,
                          %s: tensor<256x4xf16>, %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [8, 32]> : tensor<16384xi8> -> tensor<256x512xsi1>
  %y = tessera.mpmm %x, %w : tensor<?x512xf32>, tensor<256x512xsi1> scales %s : tensor<256x4xf16>
         group_size 128 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Group terms in spans of 64 columns (getGroupTermsKernelLayout): the
// scales' tiles (through linalg.unpack) and the zero points' storage are
// read where the kernels apply them, 8 or 16 columns of a group in one
// read (16 1-bit zero points: 2 bytes), rather than gathered into a tile
// of terms (4 groups x 2 terms x 128 columns) before the loops; nothing
// reads the unpacked scales, and the table kernel prefetches no terms.
// CHECK-LABEL: func @terms_in_spans
// CHECK-NOT: tensor<4x2x128xf32>
// CHECK: vector.transfer_read %{{.*}} : tensor<4x4x64xf16>, vector<8xf16>
// CHECK-NOT: tensor<4x2x128xf32>
// CHECK-NOT: linalg.unpack
// CHECK: return
// PAIRS-LABEL: func @terms_in_spans
// PAIRS-NOT: tensor<4x2x128xf32>
// PAIRS: %[[S:.*]] = vector.transfer_read %{{.*}} : tensor<4x4x64xf16>, vector<16xf16>
// PAIRS: arith.extf %[[S]] : vector<16xf16> to vector<16xf32>
// PAIRS: %[[Z:.*]] = vector.transfer_read %{{.*}} : tensor<128xi8>, vector<2xi8>
// PAIRS: %[[ZW:.*]] = vector.bitcast %[[Z]] : vector<2xi8> to vector<1xi16>
// PAIRS: arith.extui %{{.*}} : i16 to i32
// PAIRS: %[[ZL:.*]] = vector.broadcast %{{.*}} : i32 to vector<16xi32>
// PAIRS: %[[UP:.*]] = arith.shli %[[ZL]], %{{.*}} : vector<16xi32>
// PAIRS: arith.shrui %[[UP]], %{{.*}} : vector<16xi32>
// PAIRS: tessera.permute_lanes
// PAIRS-NOT: tensor<4x2x128xf32>
// PAIRS-NOT: memref.prefetch {{.*}}xf16>
// PAIRS-NOT: linalg.unpack
// PAIRS: return
// LIMBS-LABEL: func @terms_in_spans
// LIMBS-NOT: tensor<4x2x128xf32>
// LIMBS: vector.transfer_read %{{.*}} : tensor<4x4x64xf16>, vector<16xf16>
// LIMBS: tessera.dot_bytes
// LIMBS-NOT: tensor<4x2x128xf32>
// LIMBS: return
func.func @terms_in_spans(%x: tensor<?x512xf32>, %wb: tensor<16384xi8>, %st: tensor<4x4x64xf16>,
                          %zb: tensor<128xi8>, %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [8, 32]> : tensor<16384xi8> -> tensor<256x512xui1>
  %e = tensor.empty() : tensor<256x4xf16>
  %s = linalg.unpack %st inner_dims_pos = [0] inner_tiles = [64] into %e : tensor<4x4x64xf16> -> tensor<256x4xf16>
  %z = tessera.unpack %zb layout <tile = [64, 1]> : tensor<128xi8> -> tensor<256x4xui1>
  %y = tessera.mpmm %x, %w : tensor<?x512xf32>, tensor<256x512xui1> scales %s : tensor<256x4xf16>
         zeros %z : tensor<256x4xui1> group_size 128 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Scales in spans but zero points canonical: the kernel takes neither
// (the reference lowering does).
// CHECK-LABEL: func @terms_mixed
// CHECK: tessera.mpmm
func.func @terms_mixed(%x: tensor<?x512xf32>, %wb: tensor<16384xi8>, %st: tensor<4x4x64xf16>,
                       %zb: tensor<128xi8>, %init: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = tessera.unpack %wb layout <tile = [8, 32]> : tensor<16384xi8> -> tensor<256x512xui1>
  %e = tensor.empty() : tensor<256x4xf16>
  %s = linalg.unpack %st inner_dims_pos = [0] inner_tiles = [64] into %e : tensor<4x4x64xf16> -> tensor<256x4xf16>
  %z = tessera.unpack %zb : tensor<128xi8> -> tensor<256x4xui1>
  %y = tessera.mpmm %x, %w : tensor<?x512xf32>, tensor<256x512xui1> scales %s : tensor<256x4xf16>
         zeros %z : tensor<256x4xui1> group_size 128 outs %init : tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}
