// RUN: tessera-opt %s --tessera-set-kernel-min-blocks | FileCheck %s
// RUN: tessera-opt %s "--tessera-set-kernel-min-blocks=min-blocks=3" | FileCheck %s --check-prefix=THREE
// RUN: not tessera-opt %s "--tessera-set-kernel-min-blocks=min-blocks=0" 2>&1 | FileCheck %s --check-prefix=BAD

// Kernels of 256 threads or more get nvvm.minctasm = 1 (ptxas'
// .minnctapersm); kernels that have one keep it; smaller kernels, device
// functions and kernels of unknown block size get none.
// CHECK-LABEL: gpu.func @kernel
// CHECK-SAME: kernel
// CHECK-SAME: nvvm.minctasm = 1 : i32
// CHECK-LABEL: gpu.func @small
// CHECK-NOT: nvvm.minctasm
// CHECK-LABEL: gpu.func @unknown
// CHECK-NOT: nvvm.minctasm
// CHECK-LABEL: gpu.func @own
// CHECK-SAME: nvvm.minctasm = 4 : i32
// CHECK-LABEL: gpu.func @helper
// CHECK-NOT: nvvm.minctasm
// THREE: gpu.func @kernel{{.*}} nvvm.minctasm = 3 : i32
// BAD: error: min-blocks must be at least 1, got 0
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @kernel(%a: memref<4xf32>) kernel attributes {known_block_size = array<i32: 128, 2, 1>} {
      gpu.return
    }
    gpu.func @small(%a: memref<4xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>} {
      gpu.return
    }
    gpu.func @unknown(%a: memref<4xf32>) kernel {
      gpu.return
    }
    gpu.func @own(%a: memref<4xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvvm.minctasm = 4 : i32} {
      gpu.return
    }
    gpu.func @helper(%a: f32) -> f32 {
      gpu.return %a : f32
    }
  }
}
