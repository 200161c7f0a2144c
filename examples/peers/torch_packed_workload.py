"""WORKLOAD v1 with variable lengths (`bench --lengths uniform`) in
PyTorch's packed path, for a side-by-side run.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 taskset -c 0 python3 examples/peers/torch_packed_workload.py --threads 1

Each sequence's length is uniform in 1..T, drawn from SplitMix64 stream 7
(`workload_common.uniform_lengths`, the same lengths as our benchmark). A
step packs the padded input with `pack_padded_sequence(x, lengths,
enforce_sorted=False)`, runs the module, unpacks with `pad_packed_sequence`
and, in training, takes the gradients of `sum(out * Gout)` with respect to
every parameter and `x` (packing and unpacking are inside the timed step, as
they are in a training loop). Prints one JSON object per line, as
`cargo run --release --example bench -- --lengths uniform --json` does.
Not part of the Rust build or of CI: it needs `pip install torch`.
"""
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from torch_workload import module, set_threads
from workload_common import CONFIGS, main, uniform_lengths


def make_step(cell, name, mode):
    t, b, i, h = CONFIGS[name]
    torch.manual_seed(0)
    m = module(cell, i, h)
    x = (torch.rand(t, b, i) * 2 - 1).requires_grad_(mode == "train")
    gout = torch.rand(t, b, h) * 2 - 1
    lengths = torch.tensor(uniform_lengths(t, b))
    params = [m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0]

    def run():
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, _ = m(packed)
        return pad_packed_sequence(out, total_length=t)[0]

    def train():
        loss = (run() * gout).sum()
        torch.autograd.grad(loss, params + [x])

    def infer():
        with torch.no_grad():
            run()

    return train if mode == "train" else infer


if __name__ == "__main__":
    main(f"pytorch {torch.__version__} packed", make_step, set_threads)
