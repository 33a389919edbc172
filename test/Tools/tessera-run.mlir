// tessera-run: random inputs, timing, and clear errors for bad inputs.
// RUN: tessera-run %s -e scale --random --dynamic-size=3 --repeat=3 --print | FileCheck %s
// CHECK: tensor<3x4xf32> = [
// CHECK: compile: {{.*}} ms; run (3 calls): min {{.*}} us, median {{.*}} us

// A wrong shape names the argument; exit code 1.
// RUN: %python -c "import numpy as np; np.save('%t.bad.npy', np.ones((3, 5), np.float32))"
// RUN: not tessera-run %s -e scale -i %t.bad.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: error: argument 'arg0' (0) of 'scale': expected shape ?x4xf32, got 3x5xf32

// A wrong dtype names the argument.
// RUN: %python -c "import numpy as np; np.save('%t.i32.npy', np.ones((3, 4), np.int32))"
// RUN: not tessera-run %s -e scale -i %t.i32.npy 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: error: argument 'arg0' (0) of 'scale': expected dtype f32, got i32

// Results are checked against expected values.
// RUN: %python -c "import numpy as np; np.save('%t.x.npy', np.arange(8, dtype=np.float32).reshape(2, 4)); np.save('%t.y.npy', 2 * np.arange(8, dtype=np.float32).reshape(2, 4))"
// RUN: tessera-run %s -e scale -i %t.x.npy --expect=%t.y.npy | FileCheck %s --check-prefix=EXPECT
// EXPECT: result 0: 8 elements, max abs err 0, max rel err 0 {{.*}}: PASS
// RUN: not tessera-run %s -e scale -i %t.x.npy --expect=%t.x.npy | FileCheck %s --check-prefix=MISMATCH
// MISMATCH: 7 mismatches, first at flat index 1: got 2, expected 1
// MISMATCH: FAIL

// A missing function.
// RUN: not tessera-run %s -e nope --random 2>&1 | FileCheck %s --check-prefix=NOFN
// NOFN: error: no public function 'nope'

func.func @scale(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = arith.addf %x, %x : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// An input that is the destination of an in-place update is not written:
// the result is x + 1 and x itself is unchanged (checked by running twice).
// RUN: tessera-run %s -e accumulate -i %t.x.npy -o %t.acc.npy --repeat=2
// RUN: %python -c "import numpy as np; x = np.load('%t.x.npy'); assert (x == np.arange(8).reshape(2, 4)).all(); assert (np.load('%t.acc.npy') == x + 1).all()"
func.func @accumulate(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %one = arith.constant 1.0 : f32
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      outs(%x : tensor<?x4xf32>) {
  ^bb0(%v: f32):
    %s = arith.addf %v, %one : f32
    linalg.yield %s : f32
  } -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}
