"""What the PyTorch and JAX workload scripts share: the configs and FLOP
count of WORKLOAD.md, its timing protocol, the JSON record and the command
line. Each script gives `main` a function that builds one config's step."""
import argparse
import json
import statistics
import time

CONFIGS = {
    "tiny": (100, 1, 16, 32),
    "small": (64, 32, 64, 128),
    "medium": (64, 32, 256, 256),
    "large": (64, 64, 512, 512),
}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}

GOLDEN = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1
# Stream of the sequence lengths of `bench --lengths uniform`.
LENGTHS_SEED = 7


def splitmix(seed, k):
    """Value k (1-based) of the counter-based SplitMix64 stream `seed`
    (WORKLOAD.md section 2), as a 64-bit integer."""
    z = (seed + k * GOLDEN) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def uniform_lengths(t, b):
    """The lengths of `bench --lengths uniform`: length of sequence k is
    1 + ((value k+1 of stream 7) >> 40) * T >> 24, uniform in 1..T."""
    return [1 + (((splitmix(LENGTHS_SEED, k + 1) >> 40) * t) >> 24) for k in range(b)]


def time_steps(step):
    """3 warm-ups, then until 2 s or 20 steps (at least 3): median, min ms, reps."""
    for _ in range(3):
        step()
    times = []
    while len(times) < 3 or (sum(times) < 2.0 and len(times) < 20):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, min(times) * 1e3, len(times)


def record(system, cell, name, mode, threads, step):
    """Times `step` and returns the line `bench --json` would print."""
    t, b, i, h = CONFIGS[name]
    median, best, reps = time_steps(step)
    fwd = 2 * t * b * (i + h) * GATES[cell] * h
    flops = fwd * (3 if mode == "train" else 1)
    return {
        "system": system,
        "cell": cell,
        "config": name,
        "mode": mode,
        "threads": threads,
        "median_ms": median,
        "min_ms": best,
        "reps": reps,
        "gflops": flops / (median * 1e-3) / 1e9,
    }


def main(system, make_step, set_threads=None):
    """Parses --cells --configs --modes --threads and prints one record per run;
    `make_step(cell, config, mode)` returns the step to time."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--configs", default="tiny,small,medium,large")
    ap.add_argument("--modes", default="train,infer")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if set_threads:
        set_threads(a.threads)
    for name in a.configs.split(","):
        for cell in a.cells.split(","):
            for mode in a.modes.split(","):
                step = make_step(cell, name, mode)
                print(json.dumps(record(system, cell, name, mode, a.threads, step)), flush=True)
