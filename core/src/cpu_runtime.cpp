// glibc malloc and OpenBLAS threading.

#include "cpu_runtime.hpp"

#include <dlfcn.h>
#include <malloc.h>

namespace parrot {

void configure_cpu_runtime() {
  // Setting either threshold also turns off glibc's dynamic adjustment of both.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Looked up rather than linked: LibTorch may use another BLAS (MKL in PyTorch's builds).
  using SetThreads = void (*)(int);
  if (auto set_threads =
          reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_threads(1);
}

}  // namespace parrot
