"""WORKLOAD v1 (../shared/WORKLOAD.md) in JAX (jit + lax.scan + grad), for a
side-by-side run.

    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \\
        taskset -c 0 python3 examples/peers/jax_workload.py --threads 1
    taskset -c 0,1 python3 examples/peers/jax_workload.py --threads 2

Prints one JSON object per line like `cargo run --release --example bench -- --json`.
Not part of the Rust build or of CI: it needs `pip install jax`.
"""
import jax
import jax.numpy as jnp

from workload_common import CONFIGS, GATES, main


def step_fn(cell):
    def lstm(p, carry, x):
        h, c = carry
        a = x @ p["wih"].T + p["bih"] + h @ p["whh"].T + p["bhh"]
        i, f, g, o = jnp.split(a, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    def gru(p, carry, x):
        (h,) = carry
        gi = x @ p["wih"].T + p["bih"]
        gh = h @ p["whh"].T + p["bhh"]
        ir, iz, inn = jnp.split(gi, 3, axis=-1)
        hr, hz, hn = jnp.split(gh, 3, axis=-1)
        r = jax.nn.sigmoid(ir + hr)
        z = jax.nn.sigmoid(iz + hz)
        n = jnp.tanh(inn + r * hn)
        h = (1 - z) * n + z * h
        return (h,), h

    def rnn(p, carry, x):
        (h,) = carry
        h = jnp.tanh(x @ p["wih"].T + p["bih"] + h @ p["whh"].T + p["bhh"])
        return (h,), h

    return {"lstm": lstm, "gru": gru, "rnn": rnn}[cell]


def make_step(cell, name, mode):
    t, b, i, h = CONFIGS[name]
    g = GATES[cell]
    keys = jax.random.split(jax.random.PRNGKey(0), 6)
    s = 1.0 / h**0.5
    p = {
        "wih": jax.random.uniform(keys[0], (g * h, i), minval=-s, maxval=s),
        "whh": jax.random.uniform(keys[1], (g * h, h), minval=-s, maxval=s),
        "bih": jax.random.uniform(keys[2], (g * h,), minval=-s, maxval=s),
        "bhh": jax.random.uniform(keys[3], (g * h,), minval=-s, maxval=s),
    }
    x = jax.random.uniform(keys[4], (t, b, i), minval=-1, maxval=1)
    gout = jax.random.uniform(keys[5], (t, b, h), minval=-1, maxval=1)
    f = step_fn(cell)
    carry0 = (jnp.zeros((b, h)), jnp.zeros((b, h))) if cell == "lstm" else (jnp.zeros((b, h)),)

    def forward(p, x):
        _, hs = jax.lax.scan(lambda c, xt: f(p, c, xt), carry0, x)
        return hs

    def loss(p, x):
        return jnp.sum(forward(p, x) * gout)

    train = jax.jit(jax.grad(loss, argnums=(0, 1)))
    infer = jax.jit(forward)

    def step():
        out = train(p, x) if mode == "train" else infer(p, x)
        jax.block_until_ready(out)

    return step


if __name__ == "__main__":
    main(f"jax {jax.__version__}", make_step)
