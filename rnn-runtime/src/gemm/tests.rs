//! The products against a naive triple loop: every layout, every blocking
//! boundary, both element types, and the portable kernel against the one
//! the CPU runs.

use super::kernel::kernel_portable;
use super::*;
use num_traits::cast;
use std::fmt::Display;

fn naive(m: usize, n: usize, k: usize, a: impl Fn(usize, usize) -> f64, b: impl Fn(usize, usize) -> f64) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a(i, p) * b(p, j)).sum();
        }
    }
    c
}

fn check<F: GemmElem + Display>(m: usize, n: usize, k: usize, tol: f64) {
    let from = |x: f64| cast::<f64, F>(x).expect("a float");
    let to = |x: F| cast::<F, f64>(x).expect("a float");
    let lda = k + 3;
    let a: Vec<F> = (0..m * lda).map(|v| from(((v * 7 % 13) as f64 - 6.0) * 0.25)).collect();
    let w: Vec<F> = (0..n * k).map(|v| from(((v * 5 % 11) as f64 - 5.0) * 0.5)).collect();
    let want = naive(m, n, k, |i, p| to(a[i * lda + p]), |p, j| to(w[j * k + p]));
    let mut c = vec![F::one(); m * n];
    gemm_packed(
        m,
        Strided::rows(&a, lda),
        &PackedB::nt(&w, n, k, k),
        F::zero(),
        &mut c,
        n,
    );
    for (x, y) in c.iter().zip(&want) {
        assert!((to(*x) - y).abs() <= tol * (1.0 + y.abs()), "{m}x{n}x{k}: {x} vs {y}");
    }
    // B stored as K x N, A transposed, beta = 1 accumulates.
    let wt: Vec<F> = (0..k * n).map(|i| w[(i % n) * k + i / n]).collect();
    let at: Vec<F> = (0..k * m).map(|i| a[(i % m) * lda + i / m]).collect();
    gemm_packed(
        m,
        Strided::transposed(&at, m),
        &PackedB::nn(&wt, k, n, n),
        F::one(),
        &mut c,
        n,
    );
    for (x, y) in c.iter().zip(&want) {
        assert!(
            (to(*x) - 2.0 * y).abs() <= tol * (1.0 + y.abs()),
            "{m}x{n}x{k} nn: {x} vs {y}"
        );
    }
}

#[test]
fn packed_products_match_naive() {
    for &(m, n, k) in &[
        (1, 1, 1),
        (3, 5, 7),
        (8, 32, 16),
        (9, 33, 300),
        (17, 70, 520),
        (64, 64, 1),
        // Several blocks of every kind: MC rows, NC columns, KC depth.
        (2 * MC + 9, NC + 40, KC + 18),
    ] {
        check::<f64>(m, n, k, 1e-12);
        check::<f32>(m, n, k, 1e-4);
    }
}

fn check_picked<F: GemmElem + Display>(m: usize, n: usize, k: usize, tol: f64) {
    let from = |x: f64| cast::<f64, F>(x).expect("a float");
    let to = |x: F| cast::<F, f64>(x).expect("a float");
    // Rows of k + 5 values, picked out of order, some twice, some not at all.
    let (row, stock) = (k + 5, m + 3);
    let data: Vec<F> = (0..stock * row)
        .map(|v| from(((v * 7 % 13) as f64 - 6.0) * 0.25))
        .collect();
    let picked: Vec<usize> = (0..m).map(|i| (i * 5 + 2) % stock).collect();
    let w: Vec<F> = (0..n * k).map(|v| from(((v * 5 % 11) as f64 - 5.0) * 0.5)).collect();
    let want = naive(m, n, k, |i, p| to(data[picked[i] * row + p]), |p, j| to(w[j * k + p]));
    let mut c = vec![F::one(); m * n];
    gemm_packed_picked(&data, row, &picked, &PackedB::nt(&w, n, k, k), F::one(), &mut c, n);
    for (x, y) in c.iter().zip(&want) {
        assert!(
            (to(*x) - 1.0 - y).abs() <= tol * (1.0 + y.abs()),
            "picked {m}x{n}x{k}: {x} vs 1 + {y}"
        );
    }
}

#[test]
fn picked_rows_match_naive() {
    for &(m, n, k) in &[
        (1, 1, 1),
        (3, 5, 7),
        (MR, 32, 16),
        (MR + 1, 33, 300),
        (2 * MC + 9, NC + 40, KC + 18),
    ] {
        check_picked::<f64>(m, n, k, 1e-12);
        check_picked::<f32>(m, n, k, 1e-4);
    }
}

#[test]
#[should_panic(expected = "outside")]
fn a_picked_row_past_the_matrix_panics() {
    let b = PackedB::nt(&[1.0_f64, 2.0], 1, 2, 2);
    gemm_packed_picked(&[0.0; 6], 2, &[1, 3], &b, 0.0, &mut [0.0; 2], 1);
}

/// `m` rows of `A` (rows of `k` values, or the rows `picked`) times `b`
/// through the portable kernel alone, block by block.
fn portable(a: &[f32], k: usize, picked: Option<&[usize]>, m: usize, b: &PackedB<f32>) -> Vec<f32> {
    let n = b.n();
    let mut c = vec![0.0_f32; m * n];
    for p in 0..n.div_ceil(NR) {
        for i0 in (0..m).step_by(MR) {
            let blk = Block {
                a: if picked.is_some() { a } else { &a[i0 * k..] },
                row: k,
                col: 1,
                picked: picked.map(|r| &r[i0..]),
                panel: &b.data[p * k * NR..][..k * NR],
                kc: k,
                mr: MR.min(m - i0),
                w: NR.min(n - p * NR),
                beta: 0.0,
            };
            kernel_portable(&blk, &mut c[i0 * n + p * NR..], n);
        }
    }
    c
}

#[test]
fn portable_kernel_matches_the_dispatched_one() {
    let (m, n, k) = (11, 40, 37);
    let a: Vec<f32> = (0..m * k).map(|v| (v as f32 * 0.37).sin()).collect();
    let w: Vec<f32> = (0..n * k).map(|v| (v as f32 * 0.11).cos()).collect();
    let b = PackedB::nt(&w, n, k, k);
    let mut c1 = vec![0.0_f32; m * n];
    gemm_packed(m, Strided::rows(&a, k), &b, 0.0, &mut c1, n);
    let want = naive(m, n, k, |i, p| a[i * k + p] as f64, |p, j| w[j * k + p] as f64);
    let c2 = portable(&a, k, None, m, &b);
    for ((x, y), z) in c1.iter().zip(&c2).zip(&want) {
        assert!((*x as f64 - z).abs() < 1e-4 && (*y as f64 - z).abs() < 1e-4);
    }
    // Rows picked in reverse order read what the reversed matrix gives.
    let rev: Vec<usize> = (0..m).rev().collect();
    let mut c3 = vec![0.0_f32; m * n];
    gemm_packed_picked(&a, k, &rev, &b, 0.0, &mut c3, n);
    let c4 = portable(&a, k, Some(&rev), m, &b);
    for i in 0..m {
        for j in 0..n {
            let z = want[(m - 1 - i) * n + j];
            assert!((c3[i * n + j] as f64 - z).abs() < 1e-4 && (c4[i * n + j] as f64 - z).abs() < 1e-4);
        }
    }
}

#[test]
fn weight_gradients_from_panels_match_strided() {
    // dY [k x w] with w not a multiple of MR, filled a few rows at a time;
    // a member's panels hold its columns only.
    let (k, w, n) = (37, 2 * MR + 3, 5);
    let dy: Vec<f64> = (0..k * w).map(|v| (v as f64 * 0.3).sin()).collect();
    let x: Vec<f64> = (0..k * n).map(|v| (v as f64 * 0.7).cos()).collect();
    let mut ws = Workspace::new();
    for (col, m) in [(0, w), (3, w - 3)] {
        let mut panels = PanelsA::new_in(&mut ws, k, m);
        for r0 in (0..k).step_by(8) {
            let rows = 8.min(k - r0);
            panels.put_rows(r0, &dy[r0 * w + col..], w, rows);
        }
        let mut want = vec![0.5; m * n];
        gemm_tn(&mut ws, m, n, k, &dy[col..], w, &x, n, 1.0, &mut want, n);
        let mut got = vec![0.5; m * n];
        gemm_tn_panels(&mut ws, m, n, k, &panels, &x, n, 1.0, &mut got, n);
        for (g, e) in got.iter().zip(&want) {
            assert!((g - e).abs() < 1e-12, "col {col}: {g} vs {e}");
        }
        // Two operands in one pass: x, and x's first 3 columns.
        let (mut g1, mut g2) = (vec![0.5; m * n], vec![0.5; m * 3]);
        gemm_tn_panels_parts(
            &mut ws,
            m,
            k,
            &panels,
            [(&x[..], n, n, &mut g1[..], n), (&x[..], n, 3, &mut g2[..], 3)],
            1.0,
        );
        assert_eq!(g1, got, "col {col}: first operand");
        for i in 0..m {
            assert_eq!(
                &g2[i * 3..i * 3 + 3],
                &got[i * n..i * n + 3],
                "col {col}: second operand"
            );
        }
    }
}

#[test]
fn products_match_naive_with_strides() {
    let (m, n, k) = (3, 4, 5);
    let a: Vec<f64> = (0..m * 7).map(|v| v as f64 * 0.5 - 3.0).collect(); // ld 7
    let bt: Vec<f64> = (0..n * 6).map(|v| (v as f64).sin()).collect(); // n×k, ld 6
    let mut c = vec![1.0; m * n];
    gemm_nt(&mut Workspace::new(), m, n, k, &a, 7, &bt, 6, 1.0, &mut c, n);
    let want = naive(m, n, k, |i, p| a[i * 7 + p], |p, j| bt[j * 6 + p]);
    for (x, y) in c.iter().zip(&want) {
        assert!((x - (y + 1.0)).abs() < 1e-12);
    }
    let b: Vec<f64> = (0..k * n).map(|v| (v as f64).cos()).collect();
    let mut c2 = vec![0.0; m * n];
    gemm_nn(&mut Workspace::new(), m, n, k, &a, 7, &b, n, 0.0, &mut c2, n);
    let want2 = naive(m, n, k, |i, p| a[i * 7 + p], |p, j| b[p * n + j]);
    for (x, y) in c2.iter().zip(&want2) {
        assert!((x - y).abs() < 1e-12);
    }
    // A stored as k×m.
    let at: Vec<f64> = (0..k * m).map(|v| v as f64 - 2.0).collect();
    let mut c3 = vec![0.0; m * n];
    gemm_tn(&mut Workspace::new(), m, n, k, &at, m, &b, n, 0.0, &mut c3, n);
    let want3 = naive(m, n, k, |i, p| at[p * m + i], |p, j| b[p * n + j]);
    for (x, y) in c3.iter().zip(&want3) {
        assert!((x - y).abs() < 1e-12);
    }
}
