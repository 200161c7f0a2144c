// The model has a mistake in an optional part, and the code below uses its
// constants, its sizes struct and its constructor: only the macro's error
// is reported, no "no associated item" cascade.
rnn::model! {
    /// A classifier whose dropout is out of range.
    pub model Classifier(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H } x 2;
        head: sigmoid(1);
        loss: bce;
        pool: last;
        dropout: layers 1.5;
        init: learned;
    }
}

fn main() {
    let model = Classifier::<f32>::new(ClassifierSizes { w: 2, h: 8 }, &mut rnn::seeded_rng(0)).unwrap();
    let _ = (Classifier::<f32>::POOLING, Classifier::<f32>::DROPOUT.layers, Classifier::<f32>::LEARN_INIT);
    let _ = (<Classifier>::ACTIVATION, <Classifier>::LOSS, <Classifier>::BIDIRECTIONAL, <Classifier>::SIZE_NAMES);
    let _ = Classifier::<f32>::config(model.sizes());
}
