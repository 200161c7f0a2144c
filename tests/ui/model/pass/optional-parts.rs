// Every optional part: a pooled head, dropout by site, learned initial
// states, binary cross-entropy; the constants say what was declared, and a
// pass runs with one target per sequence.

use rnn::runtime::model::{Dropout, LossKind, Pooling};

rnn::model! {
    /// Says whether a sequence's sum is positive.
    pub model SignOfSum(W, H) {
        input: dense(W);
        cell: rnn::cells::Lstm { h: H } x 2 bidirectional;
        head: sigmoid(1);
        loss: bce;
        pool: last;
        dropout: input 0.1, layers 0.3, head 0.3;
        init: learned;
    }
}

rnn::model! {
    /// The same probability at every site, a mean over the steps.
    model Averaged(V, H) {
        init: zeros;
        dropout: 0.25;
        pool: mean;
        input: embedding(V, 4);
        cell: rnn::cells::Gru { h: H } x 2;
        head: softmax(V);
        loss: cross_entropy;
    }
}

fn main() {
    const { assert!(<SignOfSum>::LEARN_INIT) };
    assert_eq!(<SignOfSum>::POOLING, Pooling::Last);
    assert_eq!(<SignOfSum>::LOSS, LossKind::BinaryCrossEntropy);
    assert_eq!(<SignOfSum>::DROPOUT, Dropout { input: 0.1, layers: 0.3, head: 0.3 });
    assert_eq!(<Averaged>::POOLING, Pooling::Mean);
    assert_eq!(<Averaged>::DROPOUT, Dropout::all(0.25));
    const { assert!(!<Averaged>::LEARN_INIT) };

    let model = SignOfSum::<f64>::new(SignOfSumSizes { w: 2, h: 3 }, &mut rnn::seeded_rng(1)).unwrap();
    assert_eq!(model.initial_states().len(), 2);
    let xs = ndarray::Array3::<f64>::zeros((5, 3, 2));
    let ys = ndarray::Array2::<f64>::ones((3, 1));
    let loss = model
        .loss(&rnn::SeqInput::values(xs.view()), &rnn::SeqTarget::Sequences(ys.view()), None, &[])
        .unwrap();
    assert!(loss > 0.0);

    let model = Averaged::<f32>::new(AveragedSizes { v: 5, h: 3 }, &mut rnn::seeded_rng(1)).unwrap();
    let (probs, _) = model.forward(&rnn::SeqInput::tokens(&[0, 1, 2, 3, 4, 0], 3, 2), &[]).unwrap();
    assert_eq!(probs.dim(), (1, 2, 5));
}
