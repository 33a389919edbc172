// A quantized linear layer: y = relu(x * deq(W)^T), with W of 64 x 128
// unsigned 3-bit codes, group size 32, f16 scales and integer zero points.
// The weights are passed in their packed storage (64*128*3/8 = 3072 bytes).
func.func @linear(%x: tensor<?x128xf32>, %w: tensor<64x128xui3>,
                  %s: tensor<64x4xf16>, %z: tensor<64x4xui3>)
    -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x128xf32>
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty(%m) : tensor<?x64xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x64xf32>)
      -> tensor<?x64xf32>
  %y = tessera.mpmm %x, %w : tensor<?x128xf32>, tensor<64x128xui3>
         scales %s : tensor<64x4xf16>
         zeros %z : tensor<64x4xui3>
         group_size 32
         outs %init : tensor<?x64xf32>
  %relu = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]} outs(%y : tensor<?x64xf32>) {
  ^bb0(%v: f32):
    %r = arith.maximumf %v, %zero : f32
    linalg.yield %r : f32
  } -> tensor<?x64xf32>
  return %relu : tensor<?x64xf32>
}
