// RUN: not tessera-opt %s --pass-pipeline="builtin.module(func.func(tessera-tile-parallel-loops-for-gpu{threads-per-block=48}))" 2>&1 | FileCheck %s
// CHECK: error: threads-per-block must be a positive multiple of 32, got 48
func.func @f() {
  return
}
