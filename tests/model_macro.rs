//! `rnn::model!` end to end: models declared in source build the same
//! parameters and losses as the equivalent hand-built `SeqModel` (same seed),
//! expose the runtime's whole API, check their sizes when built, save and
//! load, and learn; so do models with the optional parts (a pooled head,
//! dropout, learned initial states, binary cross-entropy).

use ndarray::{Array2, Array3};
use rnn::cells::{Gru, GruDims, Lstm, LstmDims};
use rnn::runtime::model::{
    Activation, Dropout, Encoding, LossKind, Pooling, SeqInput, SeqModel, SeqModelConfig, SeqTarget,
};
use rnn::runtime::optim::{Adam, AdamConfig};
use rnn::{Float, RnnError};
use std::collections::BTreeMap;

rnn::model! {
    /// A character language model: one-hot characters, two LSTM layers,
    /// a softmax over the next character.
    pub model CharLm(V, H = 24) {
        input: one_hot(V);
        cell: Lstm { h: H } x 2;
        head: softmax(V);
        loss: cross_entropy;
    }
}

rnn::model! {
    /// Real-valued sequences in, real values out.
    pub model Regressor(W, H, O) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H };
        head: identity(O);
        loss: mse;
    }
}

rnn::cell! {
    /// A minimal gated unit, declared by the user.
    pub cell Mgu(I, H) {
        input x: [I];
        state h: [H];
        param w_f: [H, I];
        param u_f: [H, H];
        param b_f: [H];
        param w_h: [H, I];
        param u_h: [H, H];
        param b_h: [H];

        let f = sigmoid(w_f @ x + u_f @ h + b_f);
        let cand = tanh(w_h @ x + u_h @ (f * h) + b_h);
        h = (1.0 - f) * h + f * cand;
    }
}

rnn::model! {
    /// A user's cell, embedded tokens, both directions, yes/no outputs.
    pub model Tagger(V, H, O) {
        input: embedding(V, 6);
        cell: Mgu { h: H } x 2 bidirectional;
        head: sigmoid(O);
        loss: mse;
    }
}

rnn::model! {
    /// Layers bound when built, and a model without a sizes header.
    model Deep(L) {
        input: dense(2);
        cell: Gru { h: 5 } x L;
        head: identity(1);
        loss: mse;
    }
}

/// Every parameter value, in order, with its name.
fn params<F: Float, C: rnn::Cell<F>>(m: &SeqModel<F, C>) -> Vec<(String, Vec<F>)> {
    m.named_params()
        .into_iter()
        .map(|(n, v)| (n, v.iter().copied().collect()))
        .collect()
}

fn rand3(seed: u64, shape: (usize, usize, usize)) -> Array3<f64> {
    use rand::Rng;
    let mut rng = rnn::seeded_rng(seed);
    Array3::from_shape_simple_fn(shape, || rng.random::<f64>() * 2.0 - 1.0)
}

#[test]
fn char_lm_is_the_hand_built_model() -> Result<(), RnnError> {
    let sizes = CharLmSizes { v: 7 };
    let model = CharLm::<f64>::new(sizes, &mut rnn::seeded_rng(3))?;
    let config = SeqModelConfig::language_model(Encoding::OneHot { vocab: 7 }, 7).layers(2);
    let hand = SeqModel::<f64, Lstm<f64>>::new(LstmDims { i: 0, h: 24 }, config, &mut rnn::seeded_rng(3))?;

    assert_eq!(*model.config(), config);
    assert_eq!(CharLm::<f64>::config(sizes), config);
    assert_eq!(model.sizes(), sizes);
    assert_eq!(params(&model), params(&hand));
    assert_eq!(model.named_params()[0].0, "rnn.weight_ih_l0");
    assert_eq!(model.named_params()[0].1.shape(), &[4 * 24, 7]);

    let ids: Vec<usize> = (0..5 * 3).map(|k| (k * 5 + 1) % 7).collect();
    let next: Vec<usize> = ids.iter().map(|i| (i + 1) % 7).collect();
    let input = SeqInput::tokens(&ids, 5, 3);
    let target = SeqTarget::Classes(&next);
    let ours = model.loss(&input, &target, None, &[])?;
    assert_eq!(ours, hand.loss(&input, &target, None, &[])?);
    let (probs, _) = model.forward(&input, &[])?;
    assert_eq!(probs.dim(), (5, 3, 7));
    Ok(())
}

#[test]
fn regressor_is_the_hand_built_model() -> Result<(), RnnError> {
    let sizes = RegressorSizes { w: 3, h: 8, o: 2 };
    let model = Regressor::<f64>::new(sizes, &mut rnn::seeded_rng(5))?;
    let hand = SeqModel::<f64, Gru<f64>>::new(
        GruDims { i: 0, h: 8 },
        SeqModelConfig::regression(3, 2),
        &mut rnn::seeded_rng(5),
    )?;
    assert_eq!(params(&model), params(&hand));
    let xs = rand3(1, (6, 2, 3));
    let ys = rand3(2, (6, 2, 2));
    let input = SeqInput::values(xs.view());
    let target = SeqTarget::Values(ys.view());
    let (ours, our_grads) = model.loss_and_grad(&input, &target, None, &[])?;
    let (theirs, their_grads) = hand.loss_and_grad(&input, &target, None, &[])?;
    assert_eq!(ours.loss, theirs.loss);
    assert_eq!(params(&our_grads), params(&their_grads));
    Ok(())
}

#[test]
fn user_cell_is_the_hand_built_model() -> Result<(), RnnError> {
    let sizes = TaggerSizes { v: 9, h: 4, o: 3 };
    let model = Tagger::<f64>::new(sizes, &mut rnn::seeded_rng(8))?;
    let config = SeqModelConfig::new(
        Encoding::Embedding { vocab: 9, dim: 6 },
        3,
        Activation::Sigmoid,
        LossKind::Mse,
    )
    .layers(2)
    .bidirectional(true);
    let hand = SeqModel::<f64, Mgu<f64>>::new(MguDims { i: 0, h: 4 }, config, &mut rnn::seeded_rng(8))?;
    assert_eq!(*model.config(), config);
    assert_eq!(params(&model), params(&hand));
    assert!(model.named_params().iter().any(|(n, _)| n == "rnn.w_f_l1_reverse"));
    assert_eq!(model.hidden_size(), 2 * 4);

    let ids: Vec<usize> = (0..4 * 2).map(|k| k % 9).collect();
    let ys = rand3(4, (4, 2, 3)).mapv(|y| (y > 0.0) as u8 as f64);
    let input = SeqInput::tokens(&ids, 4, 2);
    let target = SeqTarget::Values(ys.view());
    assert_eq!(
        model.loss(&input, &target, None, &[])?,
        hand.loss(&input, &target, None, &[])?
    );
    Ok(())
}

#[test]
fn constants_describe_the_declaration() {
    assert_eq!(
        <CharLm>::DECLARATION,
        "model CharLm(V, H = 24) {\n    input: one_hot(V);\n    cell: Lstm { h: H } x 2;\n    head: softmax(V);\n    loss: cross_entropy;\n}"
    );
    assert_eq!(<CharLm>::SIZE_NAMES, ["V"]);
    assert_eq!(<Regressor>::SIZE_NAMES, ["W", "H", "O"]);
    assert_eq!(<CharLm>::ACTIVATION, Activation::Softmax);
    assert_eq!(<CharLm>::LOSS, LossKind::CrossEntropy);
    const { assert!(!<CharLm>::BIDIRECTIONAL) };
    const { assert!(<Tagger>::BIDIRECTIONAL) };
    assert_eq!(
        <Tagger>::DECLARATION.lines().nth(2),
        Some("    cell: Mgu { h: H } x 2 bidirectional;")
    );
    // The cell alias names the cell at any float type.
    let _: Option<CharLmCell<f64>> = None::<Lstm<f64>>;
    let dims: LstmDims = CharLm::<f32>::cell_dims(CharLmSizes { v: 3 });
    assert_eq!(dims, LstmDims { i: 0, h: 24 });
}

#[test]
fn layers_bound_when_built() -> Result<(), RnnError> {
    let deep = Deep::<f64>::new(DeepSizes { l: 3 }, &mut rnn::seeded_rng(0))?;
    assert_eq!(deep.layers().num_layers(), 3);
    assert_eq!(deep.config().encoding, Encoding::Dense { width: 2 });
    Ok(())
}

rnn::model! {
    /// Names the LSTM's input size, which the encoding sets.
    model SetsInput(V) {
        input: one_hot(V);
        cell: Lstm { i: 3, h: 4 };
        head: softmax(V);
        loss: cross_entropy;
    }
}

rnn::model! {
    /// Forgets the LSTM's hidden size.
    model NoHidden(V) {
        input: one_hot(V);
        cell: Lstm;
        head: softmax(V);
        loss: cross_entropy;
    }
}

#[test]
fn sizes_are_checked_when_built() {
    let msg = |r: Result<_, RnnError>| match r {
        Ok(_) => String::from("built"),
        Err(e) => e.to_string(),
    };
    let zero = msg(CharLm::<f64>::new(CharLmSizes { v: 0 }, &mut rnn::seeded_rng(0)).map(|_| ()));
    assert!(zero.contains("size `V` of `CharLm` is 0"), "{zero}");
    let layers = msg(Deep::<f64>::zeros(DeepSizes { l: 0 }).map(|_| ()));
    assert!(layers.contains("size `L` of `Deep` is 0"), "{layers}");
    let input = msg(SetsInput::<f64>::new(SetsInputSizes { v: 5 }, &mut rnn::seeded_rng(0)).map(|_| ()));
    assert!(
        input.contains("the cell's size `i` is its input width, which the model sets from `one_hot(V)`"),
        "{input}"
    );
    let hidden = msg(NoHidden::<f64>::zeros(NoHiddenSizes { v: 5 }).map(|_| ()));
    assert!(hidden.contains("the cell `Lstm` has output width 0"), "{hidden}");
}

#[test]
fn save_and_load() -> Result<(), RnnError> {
    let dir = std::env::temp_dir().join(format!("rnn-model-macro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| RnnError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let path = dir.join("tagger.safetensors");
    let sizes = TaggerSizes { v: 5, h: 3, o: 2 };
    let model = Tagger::<f64>::new(sizes, &mut rnn::seeded_rng(2))?;
    model.save(&path, None, &BTreeMap::new())?;
    let (loaded, meta) = Tagger::<f64>::from_file(sizes, &path)?;
    assert_eq!(params(&loaded), params(&model));
    assert_eq!(meta.get("cell").map(String::as_str), Some("Mgu"));
    // Another model's sizes do not fit the file.
    assert!(Tagger::<f64>::from_file(TaggerSizes { h: 4, ..sizes }, &path).is_err());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn char_lm_learns() -> Result<(), RnnError> {
    // A repeating sequence over 5 characters: the next one is predictable.
    let (len, batch, vocab) = (12, 4, 5);
    let ids: Vec<usize> = (0..len * batch).map(|k| (k / batch + k % batch) % vocab).collect();
    let next: Vec<usize> = ids.iter().map(|i| (i + 1) % vocab).collect();
    let input = SeqInput::tokens(&ids, len, batch);
    let target = SeqTarget::Classes(&next);

    let mut model = CharLm::<f32>::new(CharLmSizes { v: vocab }, &mut rnn::seeded_rng(0))?;
    let mut grads = model.zeros_like();
    let mut adam = Adam::new(AdamConfig {
        lr: 0.02,
        ..AdamConfig::default()
    })?;
    let first = model.loss(&input, &target, None, &[])?;
    for _ in 0..40 {
        model.loss_and_grad_into(&input, &target, None, &[], &mut grads)?;
        model.apply_gradients(&mut grads, &mut adam, Some(1.0))?;
    }
    let last = model.loss(&input, &target, None, &[])?;
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    Ok(())
}

rnn::model! {
    /// Says whether a sequence of numbers sums to more than 0: the last
    /// step of both directions, dropout at every site, learned initial
    /// states, binary cross-entropy on one logit.
    pub model SignOfSum(H) {
        input: dense(1);
        cell: Gru { h: H } x 2 bidirectional;
        head: sigmoid(1);
        loss: bce;
        pool: last;
        dropout: input 0.1, layers 0.2, head 0.1;
        init: learned;
    }
}

rnn::model! {
    /// The most frequent token of a sequence, from the mean of the steps.
    pub model Majority(V, H = 12) {
        input: embedding(V, 6);
        cell: Lstm { h: H };
        head: softmax(V);
        loss: cross_entropy;
        pool: mean;
        dropout: head 0.1;
    }
}

/// `batch` sequences of `len` numbers in `[-1, 1)` and whether each sums to more than 0 (`[B, 1]`).
fn sign_of_sum_task(len: usize, batch: usize) -> (Array3<f64>, Array2<f64>) {
    let xs = rand3(11, (len, batch, 1));
    let ys = Array2::from_shape_fn((batch, 1), |(b, _)| {
        (xs.slice(ndarray::s![.., b, 0]).sum() > 0.0) as u8 as f64
    });
    (xs, ys)
}

#[test]
fn pooled_bce_model_is_the_hand_built_model() -> Result<(), RnnError> {
    let sizes = SignOfSumSizes { h: 5 };
    let model = SignOfSum::<f64>::new(sizes, &mut rnn::seeded_rng(4))?;
    let config = SeqModelConfig::new(
        Encoding::Dense { width: 1 },
        1,
        Activation::Sigmoid,
        LossKind::BinaryCrossEntropy,
    )
    .layers(2)
    .bidirectional(true)
    .pooling(Pooling::Last)
    .dropout(Dropout {
        input: 0.1,
        layers: 0.2,
        head: 0.1,
    })
    .learn_init(true);
    let hand = SeqModel::<f64, Gru<f64>>::new(GruDims { i: 0, h: 5 }, config, &mut rnn::seeded_rng(4))?;
    assert_eq!(*model.config(), config);
    assert_eq!(SignOfSum::<f64>::config(sizes), config);
    assert_eq!(params(&model), params(&hand));
    assert!(model.named_params().iter().any(|(n, _)| n == "init.h"));
    // The same seed draws the same dropout masks: the first training pass agrees exactly.
    assert_eq!(model.dropout_state(), hand.dropout_state());
    assert!(model.is_training());

    let (xs, ys) = sign_of_sum_task(6, 4);
    let input = SeqInput::values(xs.view());
    let target = SeqTarget::Sequences(ys.view());
    let (ours, our_grads) = model.loss_and_grad(&input, &target, None, &[])?;
    let (theirs, their_grads) = hand.loss_and_grad(&input, &target, None, &[])?;
    assert_eq!(ours.loss, theirs.loss);
    assert_eq!(params(&our_grads), params(&their_grads));
    let (probs, _) = model.forward(&input, &[])?;
    assert_eq!(probs.dim(), (1, 4, 1));
    Ok(())
}

#[test]
fn pooled_mean_model_is_the_hand_built_model() -> Result<(), RnnError> {
    let sizes = MajoritySizes { v: 3 };
    let model = Majority::<f64>::new(sizes, &mut rnn::seeded_rng(6))?;
    let config = SeqModelConfig::language_model(Encoding::Embedding { vocab: 3, dim: 6 }, 3)
        .pooling(Pooling::Mean)
        .dropout(Dropout {
            head: 0.1,
            ..Dropout::default()
        });
    let hand = SeqModel::<f64, Lstm<f64>>::new(LstmDims { i: 0, h: 12 }, config, &mut rnn::seeded_rng(6))?;
    assert_eq!(*model.config(), config);
    assert_eq!(params(&model), params(&hand));
    assert!(model.initial_states().is_empty());
    Ok(())
}

#[test]
fn constants_describe_the_optional_parts() {
    assert_eq!(<SignOfSum>::POOLING, Pooling::Last);
    assert_eq!(
        <SignOfSum>::DROPOUT,
        Dropout {
            input: 0.1,
            layers: 0.2,
            head: 0.1
        }
    );
    const { assert!(<SignOfSum>::LEARN_INIT) };
    assert_eq!(<SignOfSum>::LOSS, LossKind::BinaryCrossEntropy);
    assert_eq!(<SignOfSum>::ACTIVATION, Activation::Sigmoid);
    assert_eq!(
        <SignOfSum>::DECLARATION.lines().skip(5).collect::<Vec<_>>(),
        [
            "    pool: last;",
            "    dropout: input 0.1, layers 0.2, head 0.1;",
            "    init: learned;",
            "}"
        ]
    );
    assert_eq!(<Majority>::POOLING, Pooling::Mean);
    assert_eq!(
        <Majority>::DROPOUT,
        Dropout {
            head: 0.1,
            ..Dropout::default()
        }
    );
    const { assert!(!<Majority>::LEARN_INIT) };
    // Without the optional parts: the runtime's defaults.
    assert_eq!(<CharLm>::POOLING, Pooling::Steps);
    assert_eq!(<CharLm>::DROPOUT, Dropout::default());
    const { assert!(!<CharLm>::LEARN_INIT) };
    assert_eq!(
        CharLm::<f32>::config(CharLmSizes { v: 3 }),
        SeqModelConfig::language_model(Encoding::OneHot { vocab: 3 }, 3).layers(2)
    );
}

/// Trains `model` on one fixed batch with Adam; the loss in evaluation mode (no dropout) before and after.
fn train<C: rnn::Cell<f64>>(
    model: &mut SeqModel<f64, C>,
    input: &SeqInput<'_, f64>,
    target: &SeqTarget<'_, f64>,
    steps: usize,
) -> Result<(f64, f64), RnnError> {
    let mut grads = model.zeros_like();
    let mut adam = Adam::new(AdamConfig {
        lr: 0.03,
        ..AdamConfig::default()
    })?;
    model.set_training(false);
    let first = model.loss(input, target, None, &[])?;
    model.set_training(true);
    for _ in 0..steps {
        model.loss_and_grad_into(input, target, None, &[], &mut grads)?;
        model.apply_gradients(&mut grads, &mut adam, Some(1.0))?;
    }
    model.set_training(false);
    let last = model.loss(input, target, None, &[])?;
    Ok((first, last))
}

#[test]
fn pooled_bce_model_learns_the_sign_of_a_sum() -> Result<(), RnnError> {
    let (xs, ys) = sign_of_sum_task(8, 16);
    assert!(ys.sum() > 3.0 && ys.sum() < 13.0, "both classes: {ys}");
    let input = SeqInput::values(xs.view());
    let target = SeqTarget::Sequences(ys.view());
    let mut model = SignOfSum::<f64>::new(SignOfSumSizes { h: 8 }, &mut rnn::seeded_rng(0))?;
    let init_before = model.initial_states()[0].clone();
    let (first, last) = train(&mut model, &input, &target, 80)?;
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    // The initial states are parameters, and they were trained.
    assert_ne!(model.initial_states()[0], init_before);
    Ok(())
}

#[test]
fn pooled_mean_model_learns_the_majority_token() -> Result<(), RnnError> {
    use rand::Rng;
    let (len, batch, vocab) = (7, 12, 3);
    let mut rng = rnn::seeded_rng(9);
    let ids: Vec<usize> = (0..len * batch).map(|_| rng.random_range(0..vocab)).collect();
    // Time-major ids: the majority of sequence `b` (ties to the smaller id).
    let classes: Vec<usize> = (0..batch)
        .map(|b| {
            let mut counts = vec![0; vocab];
            for t in 0..len {
                counts[ids[t * batch + b]] += 1;
            }
            (0..vocab).rev().max_by_key(|&v| counts[v]).unwrap_or(0)
        })
        .collect();
    let input = SeqInput::tokens(&ids, len, batch);
    let target = SeqTarget::Classes(&classes);
    let mut model = Majority::<f64>::new(MajoritySizes { v: vocab }, &mut rnn::seeded_rng(0))?;
    let (first, last) = train(&mut model, &input, &target, 80)?;
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    Ok(())
}
