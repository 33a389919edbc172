// The thread count as a compile option of both tools.
// RUN: tessera-compile %s --emit=llvm -o - | FileCheck %s --check-prefix=POOL
// RUN: tessera-compile %s --emit=llvm --num-threads=2 -o - | FileCheck %s --check-prefix=CAP
// RUN: tessera-compile %s --emit=llvm --num-threads=1 -o - | FileCheck %s --check-prefix=SERIAL
// RUN: tessera-run %s -e layer --random --num-threads=1 | FileCheck %s --check-prefix=TIMED
// RUN: tessera-run %s -e layer --random --num-threads=2 | FileCheck %s --check-prefix=TIMED
// RUN: not tessera-run %s -e layer --random --num-threads=-1 2>&1 | FileCheck %s --check-prefix=NEG
// RUN: not tessera-compile %s --num-threads=-2 -o %t.so 2>&1 | FileCheck %s --check-prefix=NEG

// 600 columns: five column tiles of 128 (the last one of 88).
// POOL: call void @tessera_rt_parallel_for(i64 5, i64 1, i32 0,
// CAP: call void @tessera_rt_parallel_for(i64 5, i64 1, i32 2,
// SERIAL-NOT: tessera_rt_parallel_for
// TIMED: run (1 calls)
// NEG: error: --num-threads={{-[12]}} is negative
func.func @layer(%x: tensor<3x64xf32>, %w: tensor<600x64xui4>, %s: tensor<600x2xf32>)
    -> tensor<3x600xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<3x600xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<3x600xf32>) -> tensor<3x600xf32>
  %y = tessera.mpmm %x, %w : tensor<3x64xf32>, tensor<600x64xui4>
         scales %s : tensor<600x2xf32> group_size 32 outs %init : tensor<3x600xf32>
  return %y : tensor<3x600xf32>
}
