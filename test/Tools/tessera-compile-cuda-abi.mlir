// The ABI of a CUDA library is the one its kernels read: every mpmm
// dequantized from canonical weights, whatever the CPU would choose. The
// 4-bit weights below take the interleaved layout on a CPU, not on CUDA.
// REQUIRES: ptxas
// RUN: tessera-compile %s --target=cuda:sm_80 --emit=ptx -o %t.ptx --header %t.cuda.h
// RUN: FileCheck %s --check-prefix=CUDA --input-file %t.cuda.h
// RUN: tessera-compile %s --target=x86-64-v3 --emit=obj -o %t.o --header %t.cpu.h
// RUN: FileCheck %s --check-prefix=CPU --input-file %t.cpu.h
// RUN: not tessera-compile %s --target=cuda:sm_80 --mpmm-strategy=lut -o %t.so 2>&1 \
// RUN:   | FileCheck %s --check-prefix=STRATEGY

// CUDA: arg1 (input): 4096 bytes: the ui4 codes of a 64 x 128 tensor, packed: row-major, code i at bits [4i, 4i + 4), LSB first
// CUDA-NOT: prepack
// CPU: arg1 (input): 4096 bytes: the ui4 codes of a 64 x 128 tensor in the storage layout {{.*}}tile = [8, 8]{{.*}}prepack_f_arg1
// STRATEGY: error: the CUDA target computes every mpmm by dequantizing (strategy 'lut' is a CPU kernel)

func.func @f(%x: tensor<?x128xf32>, %w: tensor<64x128xui4>, %s: tensor<64x1xf16>)
    -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x128xf32>
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty(%m) : tensor<?x64xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x64xf32>)
      -> tensor<?x64xf32>
  %y = tessera.mpmm %x, %w : tensor<?x128xf32>, tensor<64x128xui4>
         scales %s : tensor<64x1xf16> group_size 128 outs %init : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
