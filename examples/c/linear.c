/* Loads a library compiled by tessera-compile from examples/mpmm.mlir, runs
 * its quantized linear layer (3-bit weights, group 32, f16 scales, integer
 * zero points, then ReLU) on random inputs and checks the result against a
 * plain C reference. The library reads the weights interleaved by 8 rows
 * (in bit planes) and the scales and zero points in spans of 64 rows, as
 * mpmm.h says: they are made canonically, then converted once by the
 * library's prepack functions.
 *
 *   build/bin/tessera-compile examples/mpmm.mlir -o libmpmm.so --header mpmm.h
 *   cc -O2 -I. examples/c/linear.c -L. -lmpmm -Wl,-rpath,'$ORIGIN' -lm -o linear
 *   ./linear
 */

#include "mpmm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { M = 5, N = 64, K = 128, GROUP = 32, BITS = 3 };

/* Canonical storage: code i at bits [3i, 3i + 3), least significant first. */
static void pack3(const int *codes, int n, uint8_t *out) {
  memset(out, 0, (size_t)(n * BITS + 7) / 8);
  for (int i = 0; i < n; ++i)
    for (int b = 0; b < BITS; ++b)
      if ((codes[i] >> b) & 1)
        out[(i * BITS + b) / 8] |= (uint8_t)(1u << ((i * BITS + b) % 8));
}

/* Nearest f16 bit pattern of a float in [2^-14, 65504) (no subnormals). */
static uint16_t toHalf(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000, exp = ((bits >> 23) & 0xff) - 112;
  uint32_t mant = (bits >> 13) & 0x3ff;
  return (uint16_t)(sign | (exp << 10) | mant);
}

static float fromHalf(uint16_t h) {
  uint32_t bits = ((uint32_t)(h & 0x8000) << 16) |
                  ((((h >> 10) & 0x1f) + 112) << 23) | ((uint32_t)(h & 0x3ff) << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

int main(void) {
  static float x[M * K], y[M * N];
  static int codes[N * K], zeros[N * (K / GROUP)];
  static uint16_t scales[N * (K / GROUP)];
  static uint8_t w[N * K * BITS / 8], z[N * (K / GROUP) * BITS / 8];
  static uint8_t wPrepacked[sizeof w], zPrepacked[sizeof z];
  static uint16_t sPrepacked[N * (K / GROUP)];
  srand(7);
  for (int i = 0; i < M * K; ++i)
    x[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int i = 0; i < N * K; ++i)
    codes[i] = rand() % 8;
  for (int i = 0; i < N * (K / GROUP); ++i) {
    zeros[i] = rand() % 8;
    scales[i] = toHalf(0.01f + 0.1f * (float)rand() / RAND_MAX);
  }
  pack3(codes, N * K, w);
  pack3(zeros, N * (K / GROUP), z);
  if (mpmm_prepack_linear_arg1(w, wPrepacked) != 0 ||
      mpmm_prepack_linear_arg2(scales, sPrepacked) != 0 ||
      mpmm_prepack_linear_arg3(z, zPrepacked) != 0) {
    fprintf(stderr, "prepacking failed: %s\n", mpmm_last_error());
    return 1;
  }

  if (mpmm_linear(x, M, wPrepacked, sPrepacked, zPrepacked, y, M) != 0) {
    fprintf(stderr, "mpmm_linear failed: %s\n", mpmm_last_error());
    return 1;
  }

  double maxError = 0;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double sum = 0;
      for (int k = 0; k < K; ++k) {
        int g = n * (K / GROUP) + k / GROUP;
        sum += x[m * K + k] * fromHalf(scales[g]) * (codes[n * K + k] - zeros[g]);
      }
      double want = sum > 0 ? sum : 0;
      double error = fabs(y[m * N + n] - want);
      if (error > maxError)
        maxError = error;
    }
  printf("mpmm_linear: %d x %d outputs, max |error| vs the C reference %.3g: %s\n",
         M, N, maxError, maxError < 1e-4 ? "PASS" : "FAIL");

  /* A bad call is reported, and the next good call works. */
  if (mpmm_linear(NULL, M, wPrepacked, sPrepacked, zPrepacked, y, M) != 1)
    return 1;
  printf("null input rejected: %s\n", mpmm_last_error());
  if (mpmm_linear(x, M, wPrepacked, sPrepacked, zPrepacked, y, M) != 0)
    return 1;
  return maxError < 1e-4 ? 0 : 1;
}
