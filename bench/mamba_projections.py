#!/usr/bin/env python3
"""Times ways to write Mamba's two narrow projections on the GPU, forward and backward.

Mamba's block projects the convolution's output u [batch, channels, length] to the step sizes'
low-rank input and the scan's B and C (x_proj, channels -> dt_rank + 2 * state), and that
low-rank input back to the step sizes (dt_proj, dt_rank -> channels). Their products have a long
reduction (2048 channels) and a small result per batch row, which cuBLAS's batched kernels
handle poorly. This script times each formulation of the pair, with everything its layout costs
(copies, the scan's [batch, channels, length] layout for delta, B and C, the sum of u's two
gradients), through autograd, with CUDA events. Usage:

  python3 bench/mamba_projections.py [--shape 8x220 --shape 64x512] [--dtype float32 bfloat16]
"""

import argparse
import statistics

import torch

CHANNELS, DT_RANK, STATE = 2048, 64, 32


def left_multiply(weight, x):
    """The model's way (mamba.cpp): weight [out, in] times x [batch, in, length], batched."""
    return torch.bmm(weight.expand(x.size(0), -1, -1), x)


def batched(u, wx, wdt):
    x_dbl = left_multiply(wx, u)
    dt, b, c = x_dbl.split([DT_RANK, STATE, STATE], 1)
    return left_multiply(wdt, dt), b.contiguous(), c.contiguous()


def tokens_major_x(u, wx, wdt):
    """x_proj as one product over every token ([batch * length, channels] times wx^T)."""
    x_dbl = torch.matmul(u.transpose(1, 2), wx.t())  # [batch, length, out]: u copied to fold it
    dt, b, c = x_dbl.split([DT_RANK, STATE, STATE], 2)
    delta = left_multiply(wdt, dt.transpose(1, 2))
    return delta, b.transpose(1, 2).contiguous(), c.transpose(1, 2).contiguous()


def tokens_major_both(u, wx, wdt):
    """Both projections over every token; delta copied back to the scan's layout."""
    x_dbl = torch.matmul(u.transpose(1, 2), wx.t())
    dt, b, c = x_dbl.split([DT_RANK, STATE, STATE], 2)
    delta = torch.matmul(dt, wdt.t()).transpose(1, 2).contiguous()
    return delta, b.transpose(1, 2).contiguous(), c.transpose(1, 2).contiguous()


def split_k(u, wx, wdt, splits=8):
    """The batched products with their long reduction cut into `splits` products, then summed."""
    batch, channels, length = u.shape
    part = channels // splits
    wx_parts = wx.view(wx.size(0), splits, part).transpose(0, 1)  # [splits, out, part]
    x_dbl = torch.matmul(wx_parts.unsqueeze(0), u.view(batch, splits, part, length)).sum(1)
    dt, b, c = x_dbl.split([DT_RANK, STATE, STATE], 1)
    return left_multiply(wdt, dt), b.contiguous(), c.contiguous()


VARIANTS = {
    "batched (the model's)": batched,
    "x_proj over tokens": tokens_major_x,
    "both over tokens": tokens_major_both,
    "x_proj split-K 8": split_k,
}


def time_variant(f, batch, length, dtype, repeats=50):
    device = torch.device("cuda")
    u = torch.randn(batch, CHANNELS, length, device=device, dtype=dtype, requires_grad=True)
    wx = (torch.randn(DT_RANK + 2 * STATE, CHANNELS, device=device) / CHANNELS**0.5).to(dtype)
    wdt = (torch.randn(CHANNELS, DT_RANK, device=device) / DT_RANK**0.5).to(dtype)
    wx.requires_grad_()
    wdt.requires_grad_()
    # Stand-ins for the gradients the scan hands back: delta's, B's, C's and u's own.
    g_delta = torch.randn(batch, CHANNELS, length, device=device, dtype=dtype)
    g_b = torch.randn(batch, STATE, length, device=device, dtype=dtype)
    g_c = torch.randn_like(g_b)
    g_u = torch.randn_like(u)

    def step():
        delta, b, c = f(u, wx, wdt)
        torch.autograd.backward([delta, b, c, u * 1], [g_delta, g_b, g_c, g_u])

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        u.grad = wx.grad = wdt.grad = None
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1e3)
    return statistics.median(times), (u.grad.float(), wx.grad.float(), wdt.grad.float())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", action="append", help="ROWSxTOKENS (default 8x220, 64x512)")
    parser.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"])
    args = parser.parse_args()
    shapes = args.shape or ["8x220", "64x512"]
    torch.manual_seed(0)
    print(f"{torch.cuda.get_device_name()}, PyTorch {torch.__version__}; forward + backward, "
          "median of 50, in us; 'grad err' is the largest gradient's relative difference "
          "from the model's way")
    for shape in shapes:
        batch, length = (int(n) for n in shape.split("x"))
        for dtype_name in args.dtype:
            dtype = getattr(torch, dtype_name)
            baseline = None
            for name, f in VARIANTS.items():
                torch.manual_seed(1)
                us, grads = time_variant(f, batch, length, dtype)
                if baseline is None:
                    baseline = grads
                error = max(((g - r).norm() / r.norm()).item() for g, r in zip(grads, baseline))
                print(f"{shape:8s} {dtype_name:9s} {name:24s} {us:9.1f} us   grad err {error:.1e}")


if __name__ == "__main__":
    main()
