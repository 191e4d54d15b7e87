// The qkv projection split into heads and RoPE applied in one pass, forward and backward: what is
// otherwise a split, a permute, three elementwise kernels for the rotation each way and, backward,
// two concatenations (eight launches a layer, a few microseconds each).
//
// One block per (batch, position) row. The work is four bytes moved per element and a multiply-add,
// so the kernel is as fast as its loads: every thread reads and writes kVec neighbouring elements
// at a time (16 bytes where head size, strides and addresses allow), and issues kBatch such loads
// before it uses any. Values go straight through; queries and keys are staged in shared memory as
// float, because an element's rotation partner may be any dim of its head, and rotated from there.
// (A thread per element, each reading two bytes and its partner's, ran at about 1 TB/s on an
// H200: 0.41 ms a call at 64 x 512, 11% of the Transformer's bf16 step.)

#include "rotary_cuda_kernel.hpp"

#include <parrot/cuda_convert.cuh>
#include <parrot/cuda_vector.cuh>

namespace parrot::transformer::cuda_rotary {
namespace {

constexpr int kThreads = 128;
constexpr int kBatch = 4;
constexpr int kMaxVectorBytes = 16;

using parrot::cuda::aligned;
using parrot::cuda::from_float;
using parrot::cuda::to_float;
using parrot::cuda::Vector;

struct Args {
  Heads in[3];
  Sizes sizes;
  Rotation rotation;
  float direction;
};

// Where the kVec elements numbered `index` of a row lie: part (queries, keys, values), head, dim.
struct Place {
  int part, head, dim;
};
__device__ __forceinline__ Place place_of(int index, int vectors_per_head, int vectors_per_part,
                                          int vector_width) {
  const int part = index / vectors_per_part, rest = index - part * vectors_per_part;
  const int head = rest / vectors_per_head;
  return {part, head, (rest - head * vectors_per_head) * vector_width};
}

template <typename T, int kVec>
__global__ void __launch_bounds__(kThreads)
    rotate_heads_kernel(const Args args, T* __restrict__ out) {
  using V = Vector<T, kVec>;
  const int head_dim = static_cast<int>(args.sizes.head_dim);
  const int heads = static_cast<int>(args.sizes.heads);
  const int part_width = heads * head_dim;
  const int vectors_per_head = head_dim / kVec, vectors_per_part = heads * vectors_per_head;
  const unsigned length = static_cast<unsigned>(args.sizes.length);
  const int64_t t = blockIdx.x % length;
  const int64_t b = blockIdx.x / length;
  T* const out_row = out + static_cast<int64_t>(blockIdx.x) * 3 * part_width;

  // Queries, then keys, of this position as they came, [2][heads][head_dim]; then the tables.
  extern __shared__ float4 shared[];
  T* const rows = reinterpret_cast<T*>(shared);
  float* const cos = reinterpret_cast<float*>(shared) + (2 * part_width * sizeof(T) + 15) / 16 * 4;
  float* const sin = cos + head_dim;
  int* const partner = reinterpret_cast<int*>(sin + head_dim);

  const auto source = [&](const Place& p) {
    // Chosen by value: indexing the parameter array with a runtime index would copy it to local
    // memory.
    const Heads in = p.part == 0 ? args.in[0] : p.part == 1 ? args.in[1] : args.in[2];
    return reinterpret_cast<const V*>(static_cast<const T*>(in.data) + b * in.batch_stride +
                                      p.head * in.head_stride + t * in.position_stride + p.dim);
  };
  const int all_vectors = 3 * vectors_per_part;
  for (int first = threadIdx.x; first < all_vectors; first += kBatch * kThreads) {
    V x[kBatch];
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      const int index = first + k * kThreads;
      if (index < all_vectors)
        x[k] = *source(place_of(index, vectors_per_head, vectors_per_part, kVec));
    }
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      const int index = first + k * kThreads;
      if (index >= all_vectors) break;
      const Place p = place_of(index, vectors_per_head, vectors_per_part, kVec);
      const int at = p.part * part_width + p.head * head_dim + p.dim;
      *reinterpret_cast<V*>(p.part == 2 ? out_row + at : rows + at) = x[k];
    }
  }
  // The tables after the heads' loads are out, so that their latency is not waited for twice.
  for (int d = threadIdx.x; d < head_dim; d += kThreads) {
    cos[d] = args.rotation.cos[t * head_dim + d];
    sin[d] = args.direction * args.rotation.sin[t * head_dim + d];
    partner[d] = static_cast<int>(args.rotation.partner[d]);
  }
  __syncthreads();

  for (int index = threadIdx.x; index < 2 * vectors_per_part; index += kThreads) {
    const Place p = place_of(index, vectors_per_head, vectors_per_part, kVec);
    const T* const head = rows + p.part * part_width + p.head * head_dim;
    const V x = *reinterpret_cast<const V*>(head + p.dim);
    V y;
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      const int d = p.dim + e;
      // Dims past the rotated ones have sin 0: their partner is not read.
      const float rotated = sin[d] == 0.0f ? 0.0f : to_float(head[partner[d]]) * sin[d];
      y.v[e] = from_float<T>(fmaf(to_float(x.v[e]), cos[d], rotated));
    }
    *reinterpret_cast<V*>(out_row + p.part * part_width + p.head * head_dim + p.dim) = y;
  }
}

// The widest vector (a power of two, at most 16 bytes) that head size, strides and addresses allow.
int vector_width(int64_t element_bytes, const Args& args, const void* out) {
  for (int width = static_cast<int>(kMaxVectorBytes / element_bytes); width > 1; width /= 2) {
    bool fits = args.sizes.head_dim % width == 0 && aligned(out, width * element_bytes);
    for (const Heads& in : args.in)
      fits = fits && aligned(in.data, width * element_bytes) && in.batch_stride % width == 0 &&
             in.head_stride % width == 0 && in.position_stride % width == 0;
    if (fits) return width;
  }
  return 1;
}

template <typename T, int kVec>
cudaError_t launch(const Args& args, void* out, cudaStream_t stream) {
  const auto kernel = rotate_heads_kernel<T, kVec>;
  const int64_t head_dim = args.sizes.head_dim;
  const int64_t shared_bytes = (2 * args.sizes.heads * head_dim * sizeof(T) + 15) / 16 * 16 +
                               (sizeof(float) * 2 + sizeof(int)) * head_dim;
  int device = 0, most = 0;
  if (const auto error = cudaGetDevice(&device)) return error;
  if (const auto error =
          cudaDeviceGetAttribute(&most, cudaDevAttrMaxSharedMemoryPerBlockOptin, device))
    return error;
  if (shared_bytes > most) return cudaErrorInvalidValue;  // a head width no model has
  if (const auto error = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                              static_cast<int>(shared_bytes)))
    return error;
  kernel<<<static_cast<unsigned>(args.sizes.batch * args.sizes.length), kThreads,
           static_cast<size_t>(shared_bytes), stream>>>(args, static_cast<T*>(out));
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_widest(const Args& args, void* out, cudaStream_t stream) {
  switch (vector_width(sizeof(T), args, out)) {
    case 8:
      if constexpr (sizeof(T) <= 2) return launch<T, 8>(args, out, stream);
      break;
    case 4:
      return launch<T, 4>(args, out, stream);
    case 2:
      return launch<T, 2>(args, out, stream);
  }
  return launch<T, 1>(args, out, stream);
}

}  // namespace

cudaError_t rotate_heads(Dtype dtype, const Heads (&in)[3], const Sizes& sizes,
                         const Rotation& rotation, float direction, void* out,
                         cudaStream_t stream) {
  const int64_t rows = sizes.batch * sizes.length, width = 3 * sizes.heads * sizes.head_dim;
  if (rows == 0 || width == 0) return cudaSuccess;
  // A grid has at most 2^31 - 1 blocks across; a row's offsets are int.
  if (rows > INT32_MAX || width > INT32_MAX) return cudaErrorInvalidValue;
  const Args args{{in[0], in[1], in[2]}, sizes, rotation, direction};
  return dtype == Dtype::kBFloat16 ? launch_widest<__nv_bfloat16>(args, out, stream)
                                   : launch_widest<float>(args, out, stream);
}

}  // namespace parrot::transformer::cuda_rotary
