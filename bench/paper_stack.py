#!/usr/bin/env python3
"""The paper's own stack, timed the way `suite bench` times parrot's.

Issue 6 measures parrot against the Python code the paper trained with: Hugging Face's
GPT-NeoX and Mamba (without mamba_ssm's kernels) and torch.nn.LSTM, with AdamW, clipping 1.0
and a vocabulary of 30. This script trains those models on the rows of the issue's table and
prints the same columns as `suite bench` (and, with --json, the same keys), so both can run on
one GPU in one session:

    python3 bench/paper_stack.py --memory-gib 80 --json paper_stack.json

Each step draws fresh tokens on the GPU, as the paper draws fresh examples every step; PyTorch's
defaults stay as they are (no TF32 matmuls, AdamW's foreach path). --memory-gib caps what
PyTorch may allocate, to ask of an H200 what an 80 GB H100 could hold.
"""

import argparse
import gc
import json
import re
import sys
import time

import torch
import torch.nn.functional as F

VOCABULARY = 30

# The table: (model, rows, tokens, precision, compiled).
ROWS = [
    ("gpt-neox", 8, 220, "fp32", False),
    ("gpt-neox", 8, 220, "bf16", False),
    ("gpt-neox", 64, 512, "fp32", False),
    ("gpt-neox", 64, 512, "bf16", False),
    ("gpt-neox", 64, 512, "bf16", True),
    ("lstm", 8, 220, "fp32", False),
    ("lstm", 64, 512, "fp32", False),
    ("mamba", 8, 220, "fp32", False),
    ("mamba", 64, 512, "fp32", False),
]


class LstmLanguageModel(torch.nn.Module):
    """Embedding, torch.nn.LSTM, output layer: the paper's LSTM."""

    def __init__(self, width, layers):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCABULARY, width)
        self.lstm = torch.nn.LSTM(width, width, layers, batch_first=True)
        self.output = torch.nn.Linear(width, VOCABULARY)

    def forward(self, tokens):
        hidden, _ = self.lstm(self.embedding(tokens))
        return self.output(hidden)


def build_model(name):
    """The model and a function from tokens to logits."""
    if name == "lstm":
        model = LstmLanguageModel(width=1024, layers=4)
        return model, model
    import transformers

    if name == "gpt-neox":
        # GPT-NeoX's defaults already rotate a quarter of each head with base 10000, and use
        # parallel residuals and untied embeddings, as the paper's models do.
        config = transformers.GPTNeoXConfig(
            vocab_size=VOCABULARY, hidden_size=1024, num_hidden_layers=12,
            num_attention_heads=16, intermediate_size=4096, use_cache=False)
        model = transformers.GPTNeoXForCausalLM(config)
    else:
        config = transformers.MambaConfig(
            vocab_size=VOCABULARY, hidden_size=1024, num_hidden_layers=24, state_size=32,
            use_cache=False)
        model = transformers.MambaForCausalLM(config)
    return model, lambda tokens: model(input_ids=tokens, use_cache=False).logits


def timed_stretch(step, count, least, max_seconds):
    """Runs up to `count` steps, stopping after `least` once `max_seconds` have passed (HF
    Mamba takes seconds a step). Returns the steps run and their seconds, GPU work included."""
    torch.cuda.synchronize()
    start = time.perf_counter()
    done = 0
    while done < count and not (done >= least and time.perf_counter() - start > max_seconds):
        step()
        done += 1
    torch.cuda.synchronize()
    return done, time.perf_counter() - start


def bench_row(name, rows, tokens, precision, compiled, args):
    model, forward = build_model(name)
    model.cuda().train()
    parameters = sum(p.numel() for p in model.parameters())
    if compiled:
        forward = torch.compile(forward)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)

    def step():
        batch = torch.randint(0, VOCABULARY, (rows, tokens + 1), device="cuda")
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = forward(batch[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, VOCABULARY), batch[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    warmup, _ = timed_stretch(step, args.warmup, min(2, args.warmup), args.max_seconds)
    steps, seconds = timed_stretch(step, args.steps, min(3, args.steps), args.max_seconds)
    mode = "torch.compile" if compiled else "eager"
    attention = getattr(model.config, "_attn_implementation", None) if name == "gpt-neox" else None
    return {
        "parameters": parameters,
        "mode": mode + (f", {attention} attention" if attention else ""),
        "warmup_steps": warmup,
        "steps": steps,
        "step_ms": 1e3 * seconds / steps,
        "tokens_per_second": rows * tokens * steps / seconds,
        "peak_memory_bytes": torch.cuda.max_memory_allocated(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[],
                        help="regular expression on 'model shape precision [compiled]'; repeatable")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps (5)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (20)")
    parser.add_argument("--max-seconds", type=float, default=30.0,
                        help="stop a stretch early once it has taken this long (30)")
    parser.add_argument("--memory-gib", type=float, help="cap on PyTorch's allocations")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args()
    if args.warmup < 0 or args.steps < 1:
        parser.error("--warmup must be at least 0 and --steps at least 1")
    if not torch.cuda.is_available():
        sys.exit("paper_stack.py: no CUDA GPU; the paper's stack is timed on one")

    total = torch.cuda.get_device_properties(0).total_memory
    if args.memory_gib:
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.memory_gib * 2**30 / total))
    versions = f"torch {torch.__version__}"
    try:
        import transformers
        versions += f", transformers {transformers.__version__}"
    except ImportError:
        versions += ", no transformers (GPT-NeoX and Mamba rows will fail)"
    print(f"{torch.cuda.get_device_name(0)}, {total / 2**30:.0f} GiB"
          f"{f' (capped at {args.memory_gib:g} GiB)' if args.memory_gib else ''}; {versions}; "
          f"TF32 matmuls {torch.backends.cuda.matmul.allow_tf32}, "
          f"cuDNN {torch.backends.cudnn.allow_tf32}", flush=True)
    print(f"{'run':<28}{'shape':<9}{'params':<9}{'ms/step':<10}{'tokens/s':<11}{'peak GiB':<10}step",
          flush=True)

    results, failed = [], 0
    for name, rows, tokens, precision, compiled in ROWS:
        label = f"{name} {rows}x{tokens} {precision}" + (" compiled" if compiled else "")
        if args.only and not any(re.search(pattern, label) for pattern in args.only):
            continue
        run = f"{name}@precision={precision}" + (",compiled" if compiled else "")
        row = {"run": run, "architecture": name, "batch_size": rows, "context_length": tokens,
               "precision": precision, "device": "cuda"}
        # Printed whole once done: the libraries' warnings would otherwise split the line.
        line = f"{run:<28}{f'{rows}x{tokens}':<9}"
        torch.cuda.reset_peak_memory_stats()
        try:
            row.update(bench_row(name, rows, tokens, precision, compiled, args))
            millions = f"{row['parameters'] / 1e6:.0f}M"
            line += (f"{millions:<9}{row['step_ms']:<10.2f}{row['tokens_per_second']:<11.0f}"
                     f"{row['peak_memory_bytes'] / 2**30:<10.1f}{row['mode']}")
        except Exception as error:  # out of memory, most often; the other rows go on
            failed += 1
            row["error"] = f"{type(error).__name__}: {error}".splitlines()[0]
            line += f"FAILED: {row['error']}"
        print(line, flush=True)
        results.append(row)
        # The failed row's tensors go with its exception; free them before the next row.
        gc.collect()
        torch.cuda.empty_cache()
        torch._dynamo.reset()

    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
            out.write("\n")
    sys.exit(3 if failed else 0)


if __name__ == "__main__":
    main()
