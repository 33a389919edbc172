// RUN: tessera-opt %s --tessera-allow-large-mma-kernels | FileCheck %s

// The kernel that issues mma.sync may use up to 255 registers (one block per
// multiprocessor); the other kernel and the device function are left alone.
// CHECK-LABEL: gpu.func @mma
// CHECK-SAME: kernel
// CHECK-SAME: nvvm.minctasm = 1 : i32
// CHECK-LABEL: gpu.func @copy
// CHECK-NOT: nvvm.minctasm
// CHECK-LABEL: gpu.func @helper
// CHECK-NOT: nvvm.minctasm
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma(%a: vector<4x2xf16>, %b: vector<2x2xf16>, %out: memref<2x2xf32>) kernel {
      %c0 = arith.constant 0 : index
      %zero = arith.constant dense<0.0> : vector<2x2xf32>
      %d = nvgpu.mma.sync (%a, %b, %zero) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      vector.store %d, %out[%c0, %c0] : memref<2x2xf32>, vector<2x2xf32>
      gpu.return
    }
    gpu.func @copy(%a: memref<128xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %a[%t] : memref<128xf32>
      memref.store %v, %a[%t] : memref<128xf32>
      gpu.return
    }
    gpu.func @helper(%a: vector<4x2xf16>, %b: vector<2x2xf16>, %c: vector<2x2xf32>) -> vector<2x2xf32> {
      %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      gpu.return %d : vector<2x2xf32>
    }
  }
}
