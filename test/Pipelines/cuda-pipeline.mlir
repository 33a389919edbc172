// The CUDA pipeline: every loop becomes a kernel, the kernels PTX (format
// isa) or cubins that ptxas assembled for each architecture, the host side
// device allocations and launches through the runtime's mgpu* functions.
// REQUIRES: ptxas
// RUN: tessera-opt %s --tessera-cuda-pipeline="chip=sm_80 format=isa" | FileCheck %s
// RUN: tessera-opt %s --tessera-cuda-pipeline="chip=sm_80 format=isa" | FileCheck %s --check-prefix=LAUNCH
// RUN: tessera-opt %s --tessera-cuda-pipeline="chip=sm_80 format=bin" | FileCheck %s --check-prefix=BIN80
// RUN: tessera-opt %s --tessera-cuda-pipeline="chip=sm_89 format=bin" | FileCheck %s --check-prefix=BIN89
// RUN: tessera-opt %s --tessera-cuda-pipeline="chip=sm_90a format=bin" | FileCheck %s --check-prefix=BIN90A
// RUN: tessera-opt %s --tessera-cuda-pipeline="chip=sm_90 format=fatbin" | FileCheck %s --check-prefix=FATBIN
// RUN: tessera-compile %s --target=cuda:sm_80 --emit=ptx -o %t.ptx
// RUN: grep -c mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 %t.ptx | FileCheck %s --check-prefix=MMACOUNT
// MMACOUNT: {{^}}16{{$}}
// Without tensor cores: before sm_80 (no m16n8k16 f16 mma), or when asked.
// RUN: tessera-opt %s --tessera-cuda-pipeline="chip=sm_75 format=isa" | FileCheck %s --check-prefix=NOMMA
// RUN: tessera-opt %s --tessera-cuda-pipeline="chip=sm_80 format=isa mma-min-rows=0" | FileCheck %s --check-prefix=NOMMA

// A 3-bit mpmm with f16 scales and integer zero points, then SiLU.
func.func @linear(%x: tensor<?x128xf32>, %w: tensor<64x128xui3>,
                  %s: tensor<64x4xf16>, %z: tensor<64x4xui3>)
    -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x128xf32>
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %empty = tensor.empty(%m) : tensor<?x64xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x64xf32>)
      -> tensor<?x64xf32>
  %y = tessera.mpmm %x, %w : tensor<?x128xf32>, tensor<64x128xui3>
         scales %s : tensor<64x4xf16> zeros %z : tensor<64x4xui3>
         group_size 32 outs %init : tensor<?x64xf32>
  %silu = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]} outs(%y : tensor<?x64xf32>) {
  ^bb0(%v: f32):
    %n = arith.negf %v : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %r = arith.divf %v, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x64xf32>
  return %silu : tensor<?x64xf32>
}

// The host: the arguments are device pointers; Y is a device allocation that
// starts as a copy of init (the fill's temporary, freed) and is returned.
// The mpmm kernel for M = 1, for 4 rows per thread or on tensor cores (M >=
// 32) is chosen at run time.
// CHECK-LABEL: llvm.func @linear(
// CHECK: llvm.call @mgpuStreamCreate()
// CHECK-COUNT-2: llvm.call @mgpuMemAlloc
// CHECK: llvm.call @mgpuMemcpy
// CHECK: llvm.icmp "ule"
// CHECK: llvm.cond_br
// CHECK: llvm.icmp "uge"
// CHECK: llvm.cond_br
// CHECK: llvm.call @mgpuMemFree
// CHECK-NOT: llvm.call @mgpuMemFree
// CHECK: llvm.call @mgpuStreamDestroy
// CHECK-NOT: llvm.call @malloc

// Kernels: the fill, the fused split-K mpmm (1 row per thread; partial sums
// added atomically), the tensor-core mpmm (the steps of 32 codes staged in
// two shared-memory buffers, the next step stored while this one's
// fragments are read, one barrier per step; a warp's 2 x 4 tiles of
// mma.sync m16n8k16, f16 operands, f32 accumulators, twice per step: 16 in
// the loop, MMACOUNT), the split-K mpmm with 4 rows per thread, SiLU, each
// as PTX for sm_80.
// CHECK: gpu.binary @linear_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">{{.*}}assembly = "{{.*}}.target sm_80{{.*}}st.global
// CHECK: gpu.binary @linear_kernel_0 {{.*}}.target sm_80{{.*}}ld.global{{.*}}atom.global.add.f32
// CHECK: gpu.binary @linear_kernel_1 {{.*}}.target sm_80{{.*}}.shared .align 16 .b8 __tessera_mma_{{.*}}cvt.rn.f16x2.f32{{.*}}st.shared.v4{{.*}}bar.sync{{.*}}ld.shared.v4{{.*}}mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-NOT: atom.global
// CHECK: gpu.binary @linear_kernel_2 {{.*}}.target sm_80{{.*}}ld.global{{.*}}atom.global.add.f32
// CHECK: gpu.binary @linear_kernel_3 {{.*}}.target sm_80{{.*}}ld.global{{.*}}st.global
// CHECK-NOT: gpu.binary
// The tensor-core kernel (blocks of 256 threads: test_cuda.py checks the
// launch against its stand-in driver).
// LAUNCH-COUNT-2: gpu.launch_func <%{{.*}} : !llvm.ptr> @linear_kernel{{.*}}::@linear_kernel blocks in
// LAUNCH: gpu.launch_func <%{{.*}} : !llvm.ptr> @linear_kernel_1::@linear_kernel blocks in ({{.*}}) threads in (%[[T256:.*]], %{{.*}}, %{{.*}})
// LAUNCH-COUNT-2: gpu.launch_func <%{{.*}} : !llvm.ptr> @linear_kernel{{.*}}::@linear_kernel blocks in
// LAUNCH-NOT: gpu.launch_func

// BIN80-COUNT-5: gpu.binary {{.*}}chip = "sm_80"{{.*}}bin = "
// BIN89-COUNT-5: gpu.binary {{.*}}chip = "sm_89"{{.*}}bin = "
// BIN90A-COUNT-5: gpu.binary {{.*}}chip = "sm_90a"{{.*}}bin = "
// A fatbin (cubin and PTX), the default format, starts with its magic number
// 0xBA55ED50.
// FATBIN-COUNT-5: gpu.binary {{.*}}chip = "sm_90"{{.*}}}, "P\EDU\BA

// NOMMA-COUNT-4: gpu.binary
// NOMMA-NOT: mma.sync
// NOMMA-NOT: gpu.binary
