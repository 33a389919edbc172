// tessera-compile: its options, each stage it can stop at, and its errors.
// RUN: tessera-compile --help | FileCheck %s --check-prefix=HELP
// HELP: -O <uint>
// HELP: --dump-dir=<dir>
// HELP: --emit=<value>
// HELP: =mlir
// HELP: =llvm
// HELP: =obj
// HELP: =so
// HELP: --header=<path>
// HELP: -o <path>
// HELP: --prefix=<string>
// HELP: --target=<string>

// RUN: tessera-compile %s --emit=mlir -o - | FileCheck %s --check-prefix=MLIR
// MLIR: llvm.func @scale
// RUN: tessera-compile %s --emit=llvm -O2 -o - --prefix=demo | FileCheck %s --check-prefix=LLVM
// LLVM: define i32 @demo_scale(ptr %0, i64 %1, ptr %2, i64 %3)
// LLVM: call i32 @tessera_rt_call
// LLVM: define ptr @demo_last_error()
// LLVM: define{{.*}} i32 @demo_abi_version()

// RUN: rm -rf %t.dump && tessera-compile %s -o %t.so --dump-dir=%t.dump --target=x86-64-v2 -O1
// RUN: ls %t.dump | FileCheck %s --check-prefix=DUMP
// DUMP: 0-input.mlir
// DUMP-NEXT: 1-lowered.mlir
// DUMP-NEXT: 2-module.ll
// DUMP-NEXT: 3-module.o
// RUN: tessera-compile %s --emit=obj -o %t.o && test -s %t.o

// RUN: not tessera-compile %s -o %t.so --target=pentium9000 2>&1 | FileCheck %s --check-prefix=CPU
// CPU: error: unknown target CPU 'pentium9000'
// RUN: not tessera-compile %s -o %t.so -O7 2>&1 | FileCheck %s --check-prefix=OPT
// OPT: error: -O7 is not a level (0 to 3)

func.func @scale(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = arith.addf %x, %x : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
