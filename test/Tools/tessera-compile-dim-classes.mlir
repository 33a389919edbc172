// Sizes a function needs equal become dimension classes in its descriptor,
// which the runtime checks before the call: dimensions named alike by
// tessera.dims, and those related by the body (a linalg loop over both, a
// destination and its result, tensor.empty sized by tensor.dim, the returned
// value and the result).
// RUN: tessera-compile %s --emit=llvm -o - --prefix t | FileCheck %s

// No names: the loops of linalg.add relate a, b and the result.
// CHECK-DAG: @_tessera_desc_add_classes0 = private constant [2 x i32] [i32 0, i32 1]
// CHECK-DAG: @_tessera_desc_add_classes1 = private constant [2 x i32] [i32 0, i32 1]
// CHECK-DAG: @_tessera_desc_add_classes2 = private constant [2 x i32] [i32 0, i32 1]
func.func @add(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xf32>
  %n = tensor.dim %a, %c1 : tensor<?x?xf32>
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %s = linalg.add ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>)
                  outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %s : tensor<?x?xf32>
}

// matmul: the reduction size K joins a's columns and b's rows; M and N reach
// the result through tensor.empty and the destination.
// CHECK-DAG: @_tessera_desc_mm_classes0 = private constant [2 x i32] [i32 0, i32 1]
// CHECK-DAG: @_tessera_desc_mm_classes1 = private constant [2 x i32] [i32 1, i32 2]
// CHECK-DAG: @_tessera_desc_mm_classes2 = private constant [2 x i32] [i32 0, i32 2]
func.func @mm(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xf32>
  %n = tensor.dim %b, %c1 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  %y = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>)
                     outs(%f : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// Names relate inputs the body does not (the block-sparse indices and
// blocks); static dimensions and unrelated dynamic ones get no class.
// CHECK-DAG: @_tessera_desc_bsr_classes0 = private constant [2 x i32] [i32 0, i32 -1]
// CHECK-DAG: @_tessera_desc_bsr_classes1 = private constant [1 x i32] [i32 -1]
// CHECK-DAG: @_tessera_desc_bsr_classes2 = private constant [1 x i32] [i32 1]
// CHECK-DAG: @_tessera_desc_bsr_classes3 = private constant [3 x i32] [i32 1, i32 -1, i32 -1]
// CHECK-DAG: @_tessera_desc_bsr_classes4 = private constant [2 x i32] [i32 0, i32 -1]
func.func @bsr(%x: tensor<?x64xf32>, %indptr: tensor<9xi32>,
               %indices: tensor<?xi32> {tessera.dims = ["nnz"]},
               %blocks: tensor<?x4x8xf32> {tessera.dims = ["nnz", "", ""]})
    -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%m) : tensor<?x32xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  %y = tessera.bsr_mm %x, %indptr, %indices, %blocks
         : tensor<?x64xf32>, tensor<9xi32>, tensor<?xi32>, tensor<?x4x8xf32>
         outs %init : tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// Unrelated dynamic sizes stay unchecked against each other.
// CHECK-DAG: @_tessera_desc_two_classes0 = private constant [1 x i32] zeroinitializer
// CHECK-DAG: @_tessera_desc_two_classes1 = private constant [1 x i32] [i32 -1]
// CHECK-DAG: @_tessera_desc_two_classes2 = private constant [1 x i32] zeroinitializer
func.func @two(%a: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  return %a : tensor<?xf32>
}
