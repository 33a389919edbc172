// The functions the ABI fuzzer (abi_fuzzer.cpp) calls through their C entry
// points: a block-sparse product with a run-time pattern (two dynamic sizes),
// a Monarch product, a 2-bit mpmm with integer zero points, and an
// elementwise sum of two inputs whose dynamic sizes must agree.

func.func @bsr(%x: tensor<?x64xf32> {tessera.name = "x", tessera.dims = ["M", ""]},
               %indptr: tensor<9xi32> {tessera.name = "indptr"},
               %indices: tensor<?xi32> {tessera.name = "indices", tessera.dims = ["nnz"]},
               %blocks: tensor<?x4x8xf32> {tessera.name = "blocks", tessera.dims = ["nnz", "", ""]})
    -> (tensor<?x32xf32> {tessera.name = "y", tessera.dims = ["M", ""]}) {
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

func.func @monarch(%x: tensor<?x64xf32> {tessera.name = "x", tessera.dims = ["B", ""]},
                   %w1: tensor<4x4x16xf32> {tessera.name = "w1"},
                   %w2: tensor<4x12x4xf32> {tessera.name = "w2"})
    -> (tensor<?x48xf32> {tessera.name = "y", tessera.dims = ["B", ""]}) {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%b) : tensor<?x48xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?x48xf32>) -> tensor<?x48xf32>
  %y = tessera.monarch_mm %x, %w1, %w2
         : tensor<?x64xf32>, tensor<4x4x16xf32>, tensor<4x12x4xf32>
         outs %init : tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}

func.func @mpmm(%x: tensor<?x64xf32> {tessera.name = "x", tessera.dims = ["M", ""]},
                %w: tensor<24x64xui2> {tessera.name = "codes"},
                %s: tensor<24x2xf32> {tessera.name = "scales"},
                %z: tensor<24x2xui2> {tessera.name = "zeros"})
    -> (tensor<?x24xf32> {tessera.name = "y", tessera.dims = ["M", ""]}) {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%m) : tensor<?x24xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?x24xf32>) -> tensor<?x24xf32>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<24x64xui2>
         scales %s : tensor<24x2xf32> zeros %z : tensor<24x2xui2> group_size 32
         outs %init : tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

func.func @add(%a: tensor<?x?xf32> {tessera.name = "a", tessera.dims = ["M", "N"]},
               %b: tensor<?x?xf32> {tessera.name = "b", tessera.dims = ["M", "N"]})
    -> (tensor<?x?xf32> {tessera.name = "sum", tessera.dims = ["M", "N"]}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xf32>
  %n = tensor.dim %a, %c1 : tensor<?x?xf32>
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %sum = linalg.add ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>)
                    outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %sum : tensor<?x?xf32>
}
