"""WORKLOAD v1 (../shared/WORKLOAD.md) in PyTorch, for a side-by-side run.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 taskset -c 0 python3 examples/peers/torch_workload.py --threads 1
    OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 taskset -c 0,1 python3 examples/peers/torch_workload.py --threads 2

Prints one JSON object per line, as `cargo run --release --example bench -- --json`
does: system, cell, config, mode, threads, median_ms, min_ms, reps, gflops.
The data are uniform in the ranges of section 2 (timing does not depend on
the values; the checksums of section 8 are checked by our own benchmark).
Not part of the Rust build or of CI: it needs `pip install torch`.
"""
import torch

from workload_common import CONFIGS, main


def module(cell, i, h):
    if cell == "lstm":
        return torch.nn.LSTM(i, h)
    if cell == "gru":
        return torch.nn.GRU(i, h)
    return torch.nn.RNN(i, h, nonlinearity="tanh")


def make_step(cell, name, mode):
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

    return train if mode == "train" else infer


def set_threads(n):
    torch.set_num_threads(n)
    torch.set_num_interop_threads(n)


if __name__ == "__main__":
    main(f"pytorch {torch.__version__}", make_step, set_threads)
