"""CHARLM v1 (../shared/CHARLM.md) in PyTorch, to time it beside `char_lm` on one machine.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 taskset -c 0 python3 examples/peers/torch_char_lm.py
    taskset -c 0 cargo run --release --example char_lm

Follows the spec: one-hot float inputs into a 1-layer nn.LSTM (H=256), a
linear head, mean cross-entropy, clip_grad_norm_(5.0), Adam(lr=2e-3), 2000
steps of 32 windows of 64 drawn with torch.randint from a seeded generator,
validation on the 64 fixed windows at steps 0, 250, ..., 2000. Training wall
time counts batch construction, forward, backward, clipping and the update
only. Prints one JSON line per evaluation and a summary line.
Not part of the Rust build or of CI: it needs `pip install torch`.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

B, T, H = 32, 64, 256


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/tinyshakespeare.txt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    text = open(args.data, encoding="utf-8", newline="").read()
    vocab = sorted(set(text))
    v = len(vocab)
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n = len(ids)
    n_train = n * 9 // 10
    train, val = ids[:n_train], ids[n_train:]
    n_val = len(val)

    lstm = torch.nn.LSTM(v, H, batch_first=True)
    head = torch.nn.Linear(H, v)
    bound = 1 / math.sqrt(H)
    for p in head.parameters():
        torch.nn.init.uniform_(p, -bound, bound)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)

    def loss_of(x_ids, y_ids):
        x = F.one_hot(x_ids, v).float()
        out, _ = lstm(x)
        logits = head(out)
        return F.cross_entropy(logits.reshape(-1, v), y_ids.reshape(-1))

    starts = [k * (n_val - T - 1) // 63 for k in range(64)]
    vx = torch.stack([val[o : o + T] for o in starts])
    vy = torch.stack([val[o + 1 : o + T + 1] for o in starts])

    def evaluate(step):
        with torch.no_grad():
            loss = loss_of(vx, vy).item()
        print(json.dumps({"step": step, "val_loss": loss}), flush=True)
        return loss

    evaluate(0)
    wall = 0.0
    final = None
    for step in range(1, args.steps + 1):
        t0 = time.perf_counter()
        offs = torch.randint(0, n_train - T, (B,), generator=gen)
        x = torch.stack([train[o : o + T] for o in offs.tolist()])
        y = torch.stack([train[o + 1 : o + T + 1] for o in offs.tolist()])
        opt.zero_grad(set_to_none=True)
        loss = loss_of(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        wall += time.perf_counter() - t0
        if step % 250 == 0 or step == args.steps:
            final = evaluate(step)
    chars = args.steps * B * T
    print(
        json.dumps(
            {
                "system": f"pytorch {torch.__version__}",
                "threads": args.threads,
                "final_val_loss": final,
                "train_wall_s": wall,
                "chars_per_s": chars / wall,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
