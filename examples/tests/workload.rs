//! Workload v1 (`WORKLOAD.md`): the generator and parity with the PyTorch
//! float64 reference checksums on the `tiny` config.

use rnn_examples::workload::{self, CellKind, Checksums};

fn parity(kind: CellKind) {
    let cfg = workload::config("tiny").unwrap();
    let got = workload::run_checksums(kind, &cfg).unwrap();
    let want = workload::reference(kind, "tiny").unwrap();
    let failed = workload::check(&got, &want);
    assert!(
        failed.is_empty(),
        "{} tiny: failing {:?}\n got  {:?}\n want {:?}",
        kind.name(),
        failed,
        got.values(),
        want.values()
    );
}

#[test]
fn lstm_tiny_matches_reference() {
    parity(CellKind::Lstm);
}

#[test]
fn gru_tiny_matches_reference() {
    parity(CellKind::Gru);
}

#[test]
fn rnn_tiny_matches_reference() {
    parity(CellKind::Rnn);
}

#[test]
fn splitmix_values_in_range_and_deterministic() {
    let s = workload::param_scale(32);
    assert_eq!(s, (1.0f64 / 32f64.sqrt()) as f32);
    for seed in 1..=6u64 {
        let a = workload::stream(seed, 16, s);
        let b = workload::stream(seed, 16, s);
        assert_eq!(a, b);
        for (k, v) in a.iter().enumerate() {
            assert!(*v >= -s && *v < s, "seed {seed} k {} value {v}", k + 1);
            assert_eq!(*v, workload::value(seed, k as u64 + 1, s));
        }
    }
    // Known SplitMix64 outputs: seed 0's first value is 0xE220A8397B1DCDAF.
    assert_eq!(workload::splitmix64(0, 1), 0xE220_A839_7B1D_CDAF);
    // Different streams differ.
    assert_ne!(workload::stream(1, 8, 1.0), workload::stream(2, 8, 1.0));
}

#[test]
fn check_reports_failures() {
    let want = workload::reference(CellKind::Lstm, "tiny").unwrap();
    assert!(workload::check(&want, &want).is_empty());
    let bad = Checksums {
        sum_h: want.sum_h * 1.01,
        ..want
    };
    assert_eq!(workload::check(&bad, &want), vec!["sum_h"]);
    // sum_dx is judged relative to sumabs_dx.
    let ok = Checksums {
        sum_dx: want.sum_dx + 0.5e-4 * want.sumabs_dx,
        ..want
    };
    assert!(workload::check(&ok, &want).is_empty());
}

#[test]
fn flops_match_table() {
    let small = workload::config("small").unwrap();
    let f = workload::forward_flops(CellKind::Lstm, &small) / 1e6;
    assert!((f - 402.7).abs() < 0.1, "{f}");
    let large = workload::config("large").unwrap();
    let f = workload::forward_flops(CellKind::Rnn, &large) / 1e6;
    assert!((f - 4295.0).abs() < 0.1, "{f}");
    assert_eq!(
        workload::train_flops(CellKind::Gru, &small),
        3.0 * workload::forward_flops(CellKind::Gru, &small)
    );
}
