// RUN: tessera-opt %s --tessera-lower-x86-byte-ops | FileCheck %s

// CHECK-LABEL: func @byte_ops
// CHECK: %[[R:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pshuf.b"(%arg0, %arg1) : (vector<32xi8>, vector<32xi8>) -> vector<32xi8>
// CHECK: %[[ONES:.*]] = arith.constant dense<1> : vector<32xi8>
// CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%[[ONES]], %[[R]]) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.pshuf.b.512"(%arg2, %arg3) : (vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"({{.*}}) : (vector<64xi8>, vector<64xi8>) -> vector<32xi16>
// A weight w: vpmaddubsw with bytes w.
// CHECK: %[[FOURS:.*]] = arith.constant dense<4> : vector<32xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%[[FOURS]], %[[R]]) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// CHECK: %[[W127:.*]] = arith.constant dense<127> : vector<64xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"(%[[W127]], %{{.*}}) : (vector<64xi8>, vector<64xi8>) -> vector<32xi16>
// CHECK-NOT: tessera.
// CHECK-LABEL: func @permute_and_dot
// CHECK: %[[P:.*]] = llvm.call_intrinsic "llvm.x86.avx512.permvar.qi.512"(%arg0, %arg1) : (vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%arg2, %arg3, %[[P]]) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// CHECK-NOT: tessera.
func.func @byte_ops(%t: vector<32xi8>, %i: vector<32xi8>, %t64: vector<64xi8>, %i64: vector<64xi8>) -> (vector<16xi16>, vector<32xi16>, vector<16xi16>, vector<32xi16>) {
  %r = tessera.shuffle_bytes %t, %i : vector<32xi8>
  %s = tessera.sum_byte_pairs %r : vector<32xi8> -> vector<16xi16>
  %r64 = tessera.shuffle_bytes %t64, %i64 : vector<64xi8>
  %s64 = tessera.sum_byte_pairs %r64 : vector<64xi8> -> vector<32xi16>
  %w = tessera.sum_byte_pairs %r times 4 : vector<32xi8> -> vector<16xi16>
  %w64 = tessera.sum_byte_pairs %r64 times 127 : vector<64xi8> -> vector<32xi16>
  return %s, %s64, %w, %w64 : vector<16xi16>, vector<32xi16>, vector<16xi16>, vector<32xi16>
}

func.func @permute_and_dot(%t: vector<64xi8>, %i: vector<64xi8>, %acc: vector<16xi32>, %w: vector<64xi8>) -> vector<16xi32> {
  %r = tessera.permute_bytes %t, %i : vector<64xi8>
  %d = tessera.dot_bytes %acc, %w, %r : vector<64xi8> into vector<16xi32>
  return %d : vector<16xi32>
}

// Eight lanes: the ymm form (AVX512-VL).
// CHECK-LABEL: func @dot_ymm
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%arg0, %arg1, %arg2) : (vector<8xi32>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
func.func @dot_ymm(%acc: vector<8xi32>, %w: vector<32xi8>, %x: vector<32xi8>) -> vector<8xi32> {
  %d = tessera.dot_bytes %acc, %w, %x : vector<32xi8> into vector<8xi32>
  return %d : vector<8xi32>
}

// The shifts go first, the words second, as vpmultishiftqb's intrinsic
// takes them; 32 bytes take the ymm form (AVX512-VL).
// CHECK-LABEL: func @multishift
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.pmultishift.qb.512"(%arg1, %arg0) : (vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.pmultishift.qb.256"(%arg3, %arg2) : (vector<32xi8>, vector<32xi8>) -> vector<32xi8>
// CHECK-NOT: tessera.
func.func @multishift(%x: vector<64xi8>, %s: vector<64xi8>, %y: vector<32xi8>, %t: vector<32xi8>) -> (vector<64xi8>, vector<32xi8>) {
  %r = tessera.multishift_bytes %x, %s : vector<64xi8>
  %q = tessera.multishift_bytes %y, %t : vector<32xi8>
  return %r, %q : vector<64xi8>, vector<32xi8>
}

// A 16-entry f32 table looked up by i32 lanes: vpermps, the table first.
// CHECK-LABEL: func @permute_lanes
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%arg0, %arg1) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
// CHECK-NOT: tessera.
func.func @permute_lanes(%t: vector<16xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  %r = tessera.permute_lanes %t, %i : vector<16xi32> -> vector<16xf32>
  return %r : vector<16xf32>
}
