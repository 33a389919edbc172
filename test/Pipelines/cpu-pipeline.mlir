// The whole CPU pipeline ends in the LLVM dialect with nothing else left.
// RUN: tessera-opt %s --tessera-cpu-pipeline | FileCheck %s

// CHECK-LABEL: llvm.func @linear
// x is a 2-D memref (ptr, ptr, offset, 2 sizes, 2 strides); the packed
// 3-bit weights follow as a 1-D memref (ptr, ptr, offset, size, stride).
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: !llvm.ptr
// CHECK-NOT: tessera.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-NOT: memref.
// CHECK-NOT: scf.
// CHECK-NOT: unrealized_conversion_cast
// CHECK: llvm.return
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
         scales %s : tensor<64x4xf16> zeros %z : tensor<64x4xui3>
         group_size 32 outs %init : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
