"""WORKLOAD v1 (../shared/WORKLOAD.md) in PyTorch, for a side-by-side run.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 taskset -c 0 python3 examples/peers/torch_workload.py --threads 1
    OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 taskset -c 0,1 python3 examples/peers/torch_workload.py --threads 2

Prints one JSON object per line, as `cargo run --release --example bench -- --json`
does: system, cell, config, mode, threads, median_ms, min_ms, reps, gflops.
The data are uniform in the ranges of section 2 (timing does not depend on
the values; the checksums of section 8 are checked by our own benchmark).
Not part of the Rust build or of CI: it needs `pip install torch`.
"""
import argparse
import json
import statistics
import time

import torch

CONFIGS = {
    "tiny": (100, 1, 16, 32),
    "small": (64, 32, 64, 128),
    "medium": (64, 32, 256, 256),
    "large": (64, 64, 512, 512),
}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def time_steps(step):
    for _ in range(3):
        step()
    times = []
    while len(times) < 3 or (sum(times) < 2.0 and len(times) < 20):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, min(times) * 1e3, len(times)


def module(cell, i, h):
    if cell == "lstm":
        return torch.nn.LSTM(i, h)
    if cell == "gru":
        return torch.nn.GRU(i, h)
    return torch.nn.RNN(i, h, nonlinearity="tanh")


def run(cell, name, mode, threads):
    t, b, i, h = CONFIGS[name]
    torch.manual_seed(0)
    m = module(cell, i, h)
    x = (torch.rand(t, b, i) * 2 - 1).requires_grad_(mode == "train")
    gout = torch.rand(t, b, h) * 2 - 1
    params = [m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0]

    def train():
        out, _ = m(x)
        loss = (out * gout).sum()
        torch.autograd.grad(loss, params + [x])

    def infer():
        with torch.no_grad():
            m(x)

    median, best, reps = time_steps(train if mode == "train" else infer)
    fwd = 2 * t * b * (i + h) * GATES[cell] * h
    flops = fwd * (3 if mode == "train" else 1)
    return {
        "system": f"pytorch {torch.__version__}",
        "cell": cell,
        "config": name,
        "mode": mode,
        "threads": threads,
        "median_ms": median,
        "min_ms": best,
        "reps": reps,
        "gflops": flops / (median * 1e-3) / 1e9,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--configs", default="tiny,small,medium,large")
    ap.add_argument("--modes", default="train,infer")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    for name in a.configs.split(","):
        for cell in a.cells.split(","):
            for mode in a.modes.split(","):
                print(json.dumps(run(cell, name, mode, a.threads)), flush=True)


if __name__ == "__main__":
    main()
