// tessera-opt --help lists the Tessera passes and pipeline with a summary.
// RUN: tessera-opt --help | FileCheck %s
// CHECK-DAG: --tessera-cpu-pipeline {{ *}}- Lower a module of Tessera, linalg, tensor and arith ops to the LLVM dialect for the host CPU
// CHECK-DAG: --tessera-lower-to-linalg {{ *}}- Lower Tessera ops to linalg, tensor and arith (reference lowering)
// CHECK-DAG: --tessera-pack-function-boundaries {{ *}}- Pass low-bit tensors across function boundaries as packed bytes
// CHECK-DAG: --one-shot-bufferize
