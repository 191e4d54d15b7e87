// Warp-level bfloat16 products on tensor cores, in the fragments of mma.sync m16n8k16 (PTX ISA,
// "Matrix Fragments for mma.m16n8k16"), and the ldmatrix loads that fill them from shared memory.
// With g = lane / 4 and t = lane % 4, a lane holds, as pairs of bfloat16 packed in 32 bits:
//   a (16 x 16, rows x depth): a[0] (g, 2t..2t+1), a[1] (g + 8, 2t..), a[2] (g, 2t + 8..),
//     a[3] (g + 8, 2t + 8..);
//   b (16 x 8, depth x columns): b0 (2t..2t+1, g), b1 (2t + 8.., g);
//   the float sum (16 x 8): [0], [1] at (g, 2t) and (g, 2t + 1), [2], [3] eight rows further.
// For .cu files only.
#pragma once

#include <cuda_bf16.h>

namespace parrot::mamba::mma {

// Four 8 x 8 matrices of bfloat16 from shared memory, transposed: lane l gives the address of row
// l % 8 of matrix l / 8 (16 bytes, 16-byte aligned), and gets from every matrix the pair at (rows
// 2t and 2t + 1, column g), in out[matrix].
__device__ __forceinline__ void load_transposed(const __nv_bfloat16* row, unsigned (&out)[4]) {
  const auto address = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(out[0]), "=r"(out[1]), "=r"(out[2]), "=r"(out[3])
               : "r"(address));
}

// sum += a b, adding in float.
__device__ __forceinline__ void multiply_add(float (&sum)[4], const unsigned (&a)[4], unsigned b0,
                                             unsigned b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(sum[0]), "+f"(sum[1]), "+f"(sum[2]), "+f"(sum[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// A warp's 32 x 32 quarter of a tile, as 2 x 4 sums of 16 x 8: [16-row piece][8-column piece].
struct Quarter {
  float sum[2][4][4] = {};

  // One 16-deep step: a[i] holds rows 16 i..16 i + 15, b[j] columns 16 j..16 j + 7 (b[j][0],
  // b[j][1]) and then 16 j + 8..16 j + 15 (b[j][2], b[j][3]).
  __device__ __forceinline__ void multiply_add(const unsigned (&a)[2][4],
                                               const unsigned (&b)[2][4]) {
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j)
        mma::multiply_add(sum[i][j], a[i], b[j / 2][j % 2 * 2], b[j / 2][j % 2 * 2 + 1]);
  }

  // f(row, column, value) for each of lane's 32 sums, row and column within the quarter.
  template <typename F>
  __device__ __forceinline__ void for_each(int lane, F f) const {
    const int row = lane / 4, column = lane % 4 * 2;
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          f(16 * i + row + e / 2 * 8, 8 * j + column + e % 2, sum[i][j][e]);
  }
};

}  // namespace parrot::mamba::mma
