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

// Four 8 x 8 matrices of bfloat16 from shared memory: lane l gives the address of row l % 8 of
// matrix l / 8 (16 bytes, 16-byte aligned), and gets from every matrix the pair at (row g,
// columns 2t and 2t + 1), in out[matrix].
__device__ __forceinline__ void load(const __nv_bfloat16* row, unsigned (&out)[4]) {
  const auto address = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(out[0]), "=r"(out[1]), "=r"(out[2]), "=r"(out[3])
               : "r"(address));
}

// The same, transposed: from every matrix the pair at (rows 2t and 2t + 1, column g).
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

}  // namespace parrot::mamba::mma
