//! The benchmark workload v1 (`WORKLOAD.md`): data, configurations, FLOP
//! counts, steps and reference checksums.
//!
//! Every input is drawn from a counter-based SplitMix64 stream so that any
//! language reproduces the same f32 bits: value `k` (from 1) of stream
//! `seed` is mixed from `seed + k·GOLDEN`, its top 24 bits become
//! `u ∈ [0, 1)` and the value is `(2u − 1)·s` in f32 arithmetic. Parameters
//! use `s = f32(1/sqrt(H))`, inputs `x` and output gradients `Gout` use
//! `s = 1`. A training step is a forward pass plus BPTT for
//! `L = Σ h_t · Gout_t` from a zero initial state with zero final-state
//! gradients; an inference step is a forward pass. The checksums of a
//! training step are compared with PyTorch float64 reference values.

use ndarray::{Array3, ArrayViewD};
use rnn::cells::{
    Gru, GruDims, LayerNormGru, LayerNormGruDims, LayerNormLstm, LayerNormLstmDims, Lstm, LstmDims, RnnTanh,
    RnnTanhDims,
};
use rnn::runtime::{LayersInputGrads, LayersOutput, LayersTrace};
use rnn::{Cell, CellInput, Forward, InputGrads, Layers, RnnError, Trace, Workspace};

/// The SplitMix64 increment `0x9E3779B97F4A7C15`.
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Seed of the `W_ih` stream.
pub const SEED_W_IH: u64 = 1;
/// Seed of the `W_hh` stream.
pub const SEED_W_HH: u64 = 2;
/// Seed of the `b_ih` stream.
pub const SEED_B_IH: u64 = 3;
/// Seed of the `b_hh` stream.
pub const SEED_B_HH: u64 = 4;
/// Seed of the input `x` stream.
pub const SEED_X: u64 = 5;
/// Seed of the output-gradient `Gout` stream.
pub const SEED_GOUT: u64 = 6;

/// The raw 64-bit SplitMix64 output for value `k` (from 1) of stream `seed`.
pub fn splitmix64(seed: u64, k: u64) -> u64 {
    let mut z = seed.wrapping_add(k.wrapping_mul(GOLDEN));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Value `k` (from 1) of stream `seed` with scale `s`: `(2u − 1)·s` in f32,
/// `u = f32(z >> 40)·2^-24`; lies in `[-s, s)`.
pub fn value(seed: u64, k: u64, s: f32) -> f32 {
    let z = splitmix64(seed, k);
    let u = (z >> 40) as f32 * (1.0f32 / 16_777_216.0);
    (2.0f32 * u - 1.0f32) * s
}

/// The first `n` values (k = 1..=n) of stream `seed` with scale `s`.
pub fn stream(seed: u64, n: usize, s: f32) -> Vec<f32> {
    (1..=n as u64).map(|k| value(seed, k, s)).collect()
}

/// The SplitMix64 stream of the sequence lengths of `bench --lengths uniform`.
pub const LENGTHS_SEED: u64 = 7;

/// The lengths of `bench --lengths uniform`: sequence `k` (0-based) has
/// length `1 + ((value k+1 of stream 7) >> 40) * T >> 24`, uniform in
/// `1..=T` and the same in every language (`examples/peers/workload_common.py`).
///
/// ```
/// let l = rnn_examples::workload::uniform_lengths(64, 32);
/// assert_eq!(&l[..4], &[25, 2, 58, 38]);
/// assert!(l.iter().all(|&n| (1..=64).contains(&n)));
/// ```
pub fn uniform_lengths(t: usize, b: usize) -> Vec<usize> {
    (0..b as u64)
        .map(|k| 1 + (((splitmix64(LENGTHS_SEED, k + 1) >> 40) * t as u64) >> 24) as usize)
        .collect()
}

/// The parameter scale `f32(1/sqrt(H))`, computed in f64 and rounded once.
pub fn param_scale(h: usize) -> f32 {
    (1.0f64 / (h as f64).sqrt()) as f32
}

/// The benchmarked cells: the three of the workload, and the
/// layer-normalised LSTM and GRU beside them (same sizes and products, no
/// peer to compare with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// `rnn::cells::Lstm` (4 gates).
    Lstm,
    /// `rnn::cells::Gru` (3 gates).
    Gru,
    /// `rnn::cells::RnnTanh` (1 block).
    Rnn,
    /// `rnn::cells::LayerNormLstm` (4 gates).
    LnLstm,
    /// `rnn::cells::LayerNormGru` (3 gates).
    LnGru,
    /// [`ConcatLstm`]: the LSTM written `w @ concat(x, h)` (4 gates).
    CatLstm,
}

impl CellKind {
    /// The workload's cells, in table order.
    pub const ALL: [CellKind; 3] = [CellKind::Lstm, CellKind::Gru, CellKind::Rnn];

    /// The cells benchmarked beside the workload's.
    pub const EXTRA: [CellKind; 3] = [CellKind::LnLstm, CellKind::LnGru, CellKind::CatLstm];

    /// The name: `lstm`, `gru`, `rnn`, `lnlstm`, `lngru` or `catlstm`.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
            CellKind::Rnn => "rnn",
            CellKind::LnLstm => "lnlstm",
            CellKind::LnGru => "lngru",
            CellKind::CatLstm => "catlstm",
        }
    }

    /// Number of gate blocks `G`.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Lstm | CellKind::LnLstm | CellKind::CatLstm => 4,
            CellKind::Gru | CellKind::LnGru => 3,
            CellKind::Rnn => 1,
        }
    }

    /// Parses a name (`lstm`, `gru`, `rnn`, `lnlstm`, `lngru`, `catlstm`).
    pub fn parse(s: &str) -> Option<CellKind> {
        CellKind::ALL.into_iter().chain(CellKind::EXTRA).find(|c| c.name() == s)
    }
}

/// One workload configuration: sequence length, batch, input and hidden size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Name: `tiny`, `small`, `medium` or `large`.
    pub name: &'static str,
    /// Sequence length `T`.
    pub t: usize,
    /// Batch size `B`.
    pub b: usize,
    /// Input size `I`.
    pub i: usize,
    /// Hidden size `H`.
    pub h: usize,
}

/// The configurations of section 4, smallest first.
pub const CONFIGS: [Config; 4] = [
    Config {
        name: "tiny",
        t: 100,
        b: 1,
        i: 16,
        h: 32,
    },
    Config {
        name: "small",
        t: 64,
        b: 32,
        i: 64,
        h: 128,
    },
    Config {
        name: "medium",
        t: 64,
        b: 32,
        i: 256,
        h: 256,
    },
    Config {
        name: "large",
        t: 64,
        b: 64,
        i: 512,
        h: 512,
    },
];

/// The configuration called `name`, if any.
pub fn config(name: &str) -> Option<Config> {
    CONFIGS.into_iter().find(|c| c.name == name)
}

/// Forward FLOPs (GEMM only): `2·T·B·(I + H)·G·H`.
pub fn forward_flops(kind: CellKind, cfg: &Config) -> f64 {
    2.0 * (cfg.t * cfg.b) as f64 * (cfg.i + cfg.h) as f64 * (kind.gates() * cfg.h) as f64
}

/// Training FLOPs: three times the forward FLOPs.
pub fn train_flops(kind: CellKind, cfg: &Config) -> f64 {
    3.0 * forward_flops(kind, cfg)
}

/// The f64 checksums of a training step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checksums {
    /// Σ h over all outputs `[T, B, H]`.
    pub sum_h: f64,
    /// Σ dW_ih.
    pub sum_dwih: f64,
    /// Σ dW_hh.
    pub sum_dwhh: f64,
    /// Σ db_ih.
    pub sum_dbih: f64,
    /// Σ db_hh.
    pub sum_dbhh: f64,
    /// Σ dx.
    pub sum_dx: f64,
    /// Σ |dx|.
    pub sumabs_dx: f64,
}

impl Checksums {
    /// Field names as `WORKLOAD.md` writes them, in [`Checksums::values`] order.
    pub const NAMES: [&'static str; 7] = [
        "sum_h",
        "sum_dWih",
        "sum_dWhh",
        "sum_dbih",
        "sum_dbhh",
        "sum_dx",
        "sumabs_dx",
    ];

    /// The values in [`Checksums::NAMES`] order.
    pub fn values(&self) -> [f64; 7] {
        [
            self.sum_h,
            self.sum_dwih,
            self.sum_dwhh,
            self.sum_dbih,
            self.sum_dbhh,
            self.sum_dx,
            self.sumabs_dx,
        ]
    }
}

/// One row of the section 8 reference table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reference {
    /// Cell name (`lstm`, `gru`, `rnn`).
    pub cell: &'static str,
    /// Config name (`tiny`, `small`).
    pub config: &'static str,
    /// PyTorch float64 reference checksums.
    pub sums: Checksums,
}

const fn r(cell: &'static str, config: &'static str, v: [f64; 7]) -> Reference {
    Reference {
        cell,
        config,
        sums: Checksums {
            sum_h: v[0],
            sum_dwih: v[1],
            sum_dwhh: v[2],
            sum_dbih: v[3],
            sum_dbhh: v[4],
            sum_dx: v[5],
            sumabs_dx: v[6],
        },
    }
}

/// The reference checksums of section 8 (PyTorch, float64).
pub const REFERENCE: [Reference; 6] = [
    r(
        "lstm",
        "tiny",
        [
            -51.95586751,
            5.617958238,
            -2.966239141,
            -9.862572262,
            -9.862572262,
            7.594863959,
            125.5442658,
        ],
    ),
    r(
        "lstm",
        "small",
        [
            -62.72051267,
            -136.4292299,
            -146.8004202,
            304.3862396,
            304.3862396,
            3.951108528,
            9917.668498,
        ],
    ),
    r(
        "gru",
        "tiny",
        [
            -38.65940907,
            8.155634124,
            -16.1178655,
            -33.1721307,
            -21.34465014,
            19.62111013,
            247.4200757,
        ],
    ),
    r(
        "gru",
        "small",
        [
            -441.9773937,
            -326.4865737,
            -293.955026,
            651.123418,
            305.2387629,
            23.84776381,
            19873.32199,
        ],
    ),
    r(
        "rnn",
        "tiny",
        [
            173.4284768,
            68.84471407,
            -196.8220988,
            -48.34941329,
            -48.34941329,
            1.592885758,
            429.1404845,
        ],
    ),
    r(
        "rnn",
        "small",
        [
            -869.8530979,
            -1577.519519,
            -563.5413464,
            632.5737846,
            632.5737846,
            51.60905226,
            38408.34245,
        ],
    ),
];

/// The reference checksums for `cell` on `config`, if the table has them.
pub fn reference(kind: CellKind, config: &str) -> Option<Checksums> {
    REFERENCE
        .iter()
        .find(|r| r.cell == kind.name() && r.config == config)
        .map(|r| r.sums)
}

/// Relative tolerance of the checksum comparison.
pub const TOLERANCE: f64 = 1e-4;

/// Names of the checksums that differ from `reference` by more than
/// [`TOLERANCE`] relative (`sum_dx` relative to the reference `sumabs_dx`,
/// since it nearly cancels). Empty means all match.
pub fn check(got: &Checksums, reference: &Checksums) -> Vec<&'static str> {
    let g = got.values();
    let r = reference.values();
    let mut failed = Vec::new();
    for (j, name) in Checksums::NAMES.iter().enumerate() {
        let denom = if *name == "sum_dx" {
            reference.sumabs_dx.abs()
        } else {
            r[j].abs()
        };
        let err = (g[j] - r[j]).abs();
        // Written so that a NaN checksum counts as a failure.
        let ok = err <= TOLERANCE * denom.max(f64::MIN_POSITIVE);
        if !ok {
            failed.push(*name);
        }
    }
    failed
}

/// The sequence inputs of a configuration.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `x[T, B, I]`, stream 5, scale 1.
    pub x: Array3<f32>,
    /// `Gout[T, B, H]`, stream 6, scale 1 (the gradient of the loss w.r.t. h).
    pub gout: Array3<f32>,
}

/// Builds `x` and `Gout` for `cfg`.
pub fn inputs(cfg: &Config) -> Inputs {
    let (t, b, i, h) = (cfg.t, cfg.b, cfg.i, cfg.h);
    let x = Array3::from_shape_vec((t, b, i), stream(SEED_X, t * b * i, 1.0)).expect("x shape");
    let gout = Array3::from_shape_vec((t, b, h), stream(SEED_GOUT, t * b * h, 1.0)).expect("gout shape");
    Inputs { x, gout }
}

/// Overwrites a cell's parameters (order `weight_ih`, `weight_hh`,
/// `bias_ih`, `bias_hh`) with streams 1–4 at scale `f32(1/sqrt(H))`,
/// in row-major order.
///
/// # Panics
/// If the cell does not have exactly those four parameters in that order,
/// or a parameter is not contiguous.
pub fn fill_params<C: Cell<f32>>(cell: &mut C, h: usize) {
    let s = param_scale(h);
    let expected = [
        ("weight_ih", SEED_W_IH),
        ("weight_hh", SEED_W_HH),
        ("bias_ih", SEED_B_IH),
        ("bias_hh", SEED_B_HH),
    ];
    let mut params = cell.params_mut();
    assert_eq!(params.len(), expected.len(), "expected four parameters");
    for ((name, p), (want, seed)) in params.iter_mut().zip(expected) {
        assert_eq!(*name, want, "parameter order");
        let data = p.as_slice_mut().expect("contiguous parameter");
        for (k, v) in data.iter_mut().enumerate() {
            *v = value(seed, k as u64 + 1, s);
        }
    }
}

/// An LSTM with the workload parameters for `cfg`.
pub fn lstm(cfg: &Config) -> Lstm<f32> {
    let mut c = Lstm::<f32>::zeros(LstmDims { i: cfg.i, h: cfg.h });
    fill_params(&mut c, cfg.h);
    c
}

/// A GRU with the workload parameters for `cfg`.
pub fn gru(cfg: &Config) -> Gru<f32> {
    let mut c = Gru::<f32>::zeros(GruDims { i: cfg.i, h: cfg.h });
    fill_params(&mut c, cfg.h);
    c
}

/// A tanh RNN with the workload parameters for `cfg`.
pub fn rnn_tanh(cfg: &Config) -> RnnTanh<f32> {
    let mut c = RnnTanh::<f32>::zeros(RnnTanhDims { i: cfg.i, h: cfg.h });
    fill_params(&mut c, cfg.h);
    c
}

/// Fills a layer-normalised cell: the weights and biases as
/// [`fill_params`] fills the plain cell's, every gain offset 0 (gain 1).
fn fill_layer_norm<C: Cell<f32>>(cell: &mut C, h: usize) {
    let s = param_scale(h);
    for (name, mut p) in cell.params_mut() {
        let seed = match name {
            "weight_ih" => SEED_W_IH,
            "weight_hh" => SEED_W_HH,
            "bias_ih" => SEED_B_IH,
            "bias_hh" | "bias_c" => SEED_B_HH,
            _ => continue, // gains: zero offsets
        };
        let data = p.as_slice_mut().expect("contiguous parameter");
        for (k, v) in data.iter_mut().enumerate() {
            *v = value(seed, k as u64 + 1, s);
        }
    }
}

rnn::cell! {
    /// The LSTM with one weight over the input and the state side by side
    /// (`[W_ih | W_hh]`, as Keras keeps it) and one bias: the workload's
    /// LSTM written with `concat`, to measure what the column blocks cost.
    pub cell ConcatLstm(I, H) {
        input x: [I];
        state h: [H];
        state c: [H];
        param w: [4 * H, I + H];
        param b: [4 * H];

        let [i, f, g, o] = split(w @ concat(x, h) + b);
        c = sigmoid(f) * c + sigmoid(i) * tanh(g);
        h = sigmoid(o) * tanh(c);
    }
}

/// [`ConcatLstm`] with the workload LSTM's parameters for `cfg` (the same
/// numbers as [`lstm`]).
pub fn concat_lstm(cfg: &Config) -> ConcatLstm<f32> {
    let l = lstm(cfg);
    let mut c = ConcatLstm::<f32>::zeros(ConcatLstmDims { i: cfg.i, h: cfg.h });
    let w = ndarray::concatenate(ndarray::Axis(1), &[l.weight_ih.view(), l.weight_hh.view()]).expect("same rows");
    // Row-major, as a parameter is held (concatenating columns is not).
    c.w = w.as_standard_layout().into_owned();
    c.b = &l.bias_ih + &l.bias_hh;
    c
}

/// A layer-normalised LSTM of the workload's sizes for `cfg`.
pub fn layer_norm_lstm(cfg: &Config) -> LayerNormLstm<f32> {
    let mut c = LayerNormLstm::<f32>::zeros(LayerNormLstmDims { i: cfg.i, h: cfg.h });
    fill_layer_norm(&mut c, cfg.h);
    c
}

/// A layer-normalised GRU of the workload's sizes for `cfg`.
pub fn layer_norm_gru(cfg: &Config) -> LayerNormGru<f32> {
    let mut c = LayerNormGru::<f32>::zeros(LayerNormGruDims { i: cfg.i, h: cfg.h });
    fill_layer_norm(&mut c, cfg.h);
    c
}

/// Everything a training step produces.
#[derive(Debug, Clone)]
pub struct TrainResult<C> {
    /// Outputs `h_1..h_T`, `[T, B, H]`.
    pub outputs: Array3<f32>,
    /// Parameter gradients (the cell type holds one gradient per parameter).
    pub grads: C,
    /// Gradients of `x` (and of the zero initial states).
    pub input_grads: InputGrads<f32>,
}

/// A training step: forward with zero initial state, then BPTT with
/// `d_out = Gout` and zero final-state gradients; fresh gradients each call.
pub fn train_step<C: Cell<f32>>(cell: &C, inp: &Inputs) -> Result<TrainResult<C>, RnnError> {
    let trace = cell.forward_train(inp.x.view(), &[])?;
    let (grads, input_grads) = cell.backward(&trace, inp.gout.view(), &[])?;
    Ok(TrainResult {
        outputs: trace.outputs,
        grads,
        input_grads,
    })
}

/// Buffers reused across steps: after the first call, [`Stepper::train`]
/// and [`Stepper::infer`] allocate nothing (see `tests/no_alloc.rs`).
#[derive(Debug)]
pub struct Stepper<C> {
    ws: Workspace<f32>,
    trace: Trace<f32>,
    forward: Forward<f32>,
    grads: C,
    input: InputGrads<f32>,
}

impl<C: Cell<f32>> Stepper<C> {
    /// Empty buffers for steps of `cell`.
    pub fn new(cell: &C) -> Self {
        Stepper {
            ws: Workspace::new(),
            trace: Trace::empty(),
            forward: Forward::empty(),
            grads: C::zeros(cell.dims()),
            input: InputGrads::empty(),
        }
    }

    /// A training step as [`train_step`] computes it (fresh zero gradients).
    pub fn train(&mut self, cell: &C, inp: &Inputs) -> Result<(), RnnError> {
        self.grads.fill_zero();
        cell.forward_train_ws(inp.x.view(), &[], &mut self.ws, &mut self.trace)?;
        cell.backward_ws(
            &self.trace,
            inp.gout.view(),
            &[],
            &mut self.grads,
            &mut self.ws,
            &mut self.input,
        )
    }

    /// An inference step as [`infer_step`] computes it.
    pub fn infer(&mut self, cell: &C, inp: &Inputs) -> Result<(), RnnError> {
        cell.forward_ws(inp.x.view(), &[], &mut self.ws, &mut self.forward)
    }

    /// The last training step's outputs.
    pub fn outputs(&self) -> &Array3<f32> {
        &self.trace.outputs
    }

    /// The last training step's parameter gradients.
    pub fn grads(&self) -> &C {
        &self.grads
    }

    /// The last training step's input gradients.
    pub fn input_grads(&self) -> &InputGrads<f32> {
        &self.input
    }
}

/// Buffers of steps over sequences of different lengths, through one
/// layer of [`Layers`] with [`uniform_lengths`] (sorted, packed and
/// unpacked inside every step, as PyTorch's `pack_padded_sequence` path
/// does): the same steps as [`Stepper`], each sequence cut to its length.
#[derive(Debug)]
pub struct LengthsStepper<C: Cell<f32>> {
    layers: Layers<f32, C>,
    lengths: Vec<usize>,
    ws: Workspace<f32>,
    trace: LayersTrace<f32>,
    out: LayersOutput<f32>,
    grads: Layers<f32, C>,
    input: LayersInputGrads<f32>,
}

impl<C: Cell<f32>> LengthsStepper<C> {
    /// Steps of `cell` as one layer over batches of `cfg`'s shape.
    pub fn new(cell: &C, cfg: &Config) -> Result<Self, RnnError> {
        let layers = Layers::from_cells(vec![cell.clone()], 1, false)?;
        let grads = layers.zeros_like();
        Ok(LengthsStepper {
            layers,
            lengths: uniform_lengths(cfg.t, cfg.b),
            ws: Workspace::new(),
            trace: LayersTrace::empty(),
            out: LayersOutput::empty(),
            grads,
            input: LayersInputGrads::empty(),
        })
    }

    /// The lengths of the batch.
    pub fn lengths(&self) -> &[usize] {
        &self.lengths
    }

    /// A training step: forward with lengths from a zero state, then BPTT
    /// with `d_out = Gout` (ignored at padding); fresh gradients each call.
    pub fn train(&mut self, inp: &Inputs) -> Result<(), RnnError> {
        self.grads.fill_zero();
        self.layers.forward_train_ws_with_lengths(
            CellInput::Values(inp.x.view()),
            Some(&self.lengths),
            &[],
            &mut self.ws,
            &mut self.trace,
        )?;
        self.layers.backward_ws(
            &self.trace,
            inp.gout.view(),
            &[],
            &mut self.grads,
            &mut self.ws,
            &mut self.input,
        )
    }

    /// An inference step with lengths.
    pub fn infer(&mut self, inp: &Inputs) -> Result<(), RnnError> {
        self.layers.forward_ws_with_lengths(
            CellInput::Values(inp.x.view()),
            Some(&self.lengths),
            &[],
            &mut self.ws,
            &mut self.out,
        )
    }

    /// The last training step's outputs `[T, B, H]` (zero at padding).
    pub fn outputs(&self) -> &Array3<f32> {
        &self.trace.out
    }
}

/// An inference step: forward over all steps from a zero state, no trace.
pub fn infer_step<C: Cell<f32>>(cell: &C, inp: &Inputs) -> Result<Forward<f32>, RnnError> {
    cell.forward(inp.x.view(), &[])
}

fn sum(v: &ArrayViewD<'_, f32>) -> f64 {
    v.iter().map(|&x| x as f64).sum()
}

/// The f64 checksums of a training step's results.
///
/// # Panics
/// If the cell's parameters are not `weight_ih, weight_hh, bias_ih, bias_hh`.
pub fn checksums<C: Cell<f32>>(res: &TrainResult<C>) -> Checksums {
    checksums_of(&res.outputs, &res.grads, &res.input_grads)
}

/// The checksums of a training step's outputs, parameter gradients and input gradients.
///
/// # Panics
/// If the cell's parameters are not `weight_ih, weight_hh, bias_ih, bias_hh`.
pub fn checksums_of<C: Cell<f32>>(outputs: &Array3<f32>, grads: &C, input_grads: &InputGrads<f32>) -> Checksums {
    let p = grads.params();
    let names: Vec<&str> = p.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"],
        "parameter order"
    );
    let dx = &input_grads.d_xs;
    Checksums {
        sum_h: outputs.iter().map(|&x| x as f64).sum(),
        sum_dwih: sum(&p[0].1),
        sum_dwhh: sum(&p[1].1),
        sum_dbih: sum(&p[2].1),
        sum_dbhh: sum(&p[3].1),
        sum_dx: dx.iter().map(|&x| x as f64).sum(),
        sumabs_dx: dx.iter().map(|&x| (x as f64).abs()).sum(),
    }
}

/// Builds `kind` for `cfg`, runs one training step and returns its checksums.
pub fn run_checksums(kind: CellKind, cfg: &Config) -> Result<Checksums, RnnError> {
    let inp = inputs(cfg);
    Ok(match kind {
        CellKind::Lstm => checksums(&train_step(&lstm(cfg), &inp)?),
        CellKind::Gru => checksums(&train_step(&gru(cfg), &inp)?),
        CellKind::Rnn => checksums(&train_step(&rnn_tanh(cfg), &inp)?),
        CellKind::LnLstm | CellKind::LnGru | CellKind::CatLstm => {
            return Err(RnnError::Invalid(format!(
                "no reference checksums for {} (not a workload cell)",
                kind.name()
            )));
        }
    })
}
