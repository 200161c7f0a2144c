// The model has a mistake, and the code below uses its type, its sizes
// struct and the runtime's methods: only the macro's error is reported, no
// "cannot find type" cascade.
rnn::model! {
    /// A model with a misspelled loss.
    pub model CharLm(V, H) {
        input: one_hot(V);
        cell: rnn::cells::Lstm { h: H };
        head: softmax(V);
        loss: crossentropy;
    }
}

fn main() {
    let model = CharLm::<f32>::new(CharLmSizes { v: 5, h: 8 }, &mut rnn::seeded_rng(0)).unwrap();
    let _ = CharLm::<f32>::config(model.sizes());
}
