// Which LibTorch a file is compiled against: parrot builds with Debian's 1.13 (CPU) and with the
// 2.x inside PyTorch (CUDA), and uses 2.x's fused kernels where they exist.
#pragma once

#include <torch/version.h>

#define PARROT_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||         \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
