//! AVX-512 register blocks: `MR` rows times two (f32) or four (f64)
//! vectors of accumulators, `A` broadcast one element at a time.
use super::kernel::{Block, NR, by_rows, prefetch, store};
use std::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn kernel_f32(blk: &Block<'_, f32>, c: &mut [f32], ldc: usize) {
    by_rows!(rows_f32[], blk, c, ldc)
}

/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn kernel_f64(blk: &Block<'_, f64>, c: &mut [f64], ldc: usize) {
    by_rows!(rows_f64[], blk, c, ldc)
}

/// Checks once that every `A` element the block reads is in bounds.
fn check_a<F>(blk: &Block<'_, F>, rows: usize) {
    let last = match blk.picked {
        Some(p) => {
            assert!(p.len() >= rows && blk.col == 1, "gemm block: picked rows");
            p[..rows].iter().max().copied().unwrap_or(0)
        }
        None => rows - 1,
    };
    assert!(
        blk.a.len() > last * blk.row + (blk.kc - 1) * blk.col,
        "gemm block: A too short"
    );
    assert!(blk.panel.len() >= blk.kc * NR, "gemm block: panel too short");
}

#[target_feature(enable = "avx512f")]
fn rows_f32<const R: usize>(blk: &Block<'_, f32>, c: &mut [f32], ldc: usize) {
    check_a(blk, R);
    if blk.beta != 0.0 {
        // The C tile is read after the loop: ask for it now, so that it
        // arrives (often from L3: C is large) while the FMAs run.
        for i in 0..R {
            if let Some(row) = c.get(i * ldc..i * ldc + blk.w) {
                prefetch(row);
            }
        }
    }
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    let (pa, pb) = (blk.a.as_ptr(), blk.panel.as_ptr());
    // The two layouts of A get loops whose addresses are a pointer plus
    // the loop counter or a constant, so no address arithmetic is left
    // between the FMAs.
    if blk.col == 1 {
        // Row-major A: one pointer per row, walked along k.
        // SAFETY: i < R rows, `check_a` verified they are in bounds.
        let rows: [*const f32; R] = core::array::from_fn(|i| unsafe { pa.add(blk.row_start(i)) });
        for kk in 0..blk.kc {
            // SAFETY: kk < kc, within the bounds `check_a` verified.
            unsafe {
                let b0 = _mm512_loadu_ps(pb.add(kk * NR));
                let b1 = _mm512_loadu_ps(pb.add(kk * NR + 16));
                for (row, p) in acc.iter_mut().zip(&rows) {
                    let av = _mm512_set1_ps(*p.add(kk));
                    row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                    row[1] = _mm512_fmadd_ps(av, b1, row[1]);
                }
            }
        }
    } else if blk.row == 1 {
        // Transposed A (weight gradients): the R values of a k are adjacent.
        for kk in 0..blk.kc {
            // SAFETY: kk < kc and i < R, within the bounds `check_a` verified.
            unsafe {
                let b0 = _mm512_loadu_ps(pb.add(kk * NR));
                let b1 = _mm512_loadu_ps(pb.add(kk * NR + 16));
                let ak = pa.add(kk * blk.col);
                for (i, row) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*ak.add(i));
                    row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                    row[1] = _mm512_fmadd_ps(av, b1, row[1]);
                }
            }
        }
    } else {
        for kk in 0..blk.kc {
            // SAFETY: kk < kc and i < R, both within the bounds `check_a` verified.
            unsafe {
                let b0 = _mm512_loadu_ps(pb.add(kk * NR));
                let b1 = _mm512_loadu_ps(pb.add(kk * NR + 16));
                let ak = pa.add(kk * blk.col);
                for (i, row) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*ak.add(i * blk.row));
                    row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                    row[1] = _mm512_fmadd_ps(av, b1, row[1]);
                }
            }
        }
    }
    if blk.w == NR {
        // A full panel: straight to C (with `beta C` added by one FMA).
        for (i, row) in acc.iter().enumerate() {
            let out = &mut c[i * ldc..][..NR];
            let p = out.as_mut_ptr();
            // SAFETY: `out` holds NR = 32 floats.
            unsafe {
                if blk.beta == 0.0 {
                    _mm512_storeu_ps(p, row[0]);
                    _mm512_storeu_ps(p.add(16), row[1]);
                } else {
                    let beta = _mm512_set1_ps(blk.beta);
                    _mm512_storeu_ps(p, _mm512_fmadd_ps(_mm512_loadu_ps(p), beta, row[0]));
                    _mm512_storeu_ps(p.add(16), _mm512_fmadd_ps(_mm512_loadu_ps(p.add(16)), beta, row[1]));
                }
            }
        }
        return;
    }
    let mut out = [[0.0_f32; NR]; R];
    for (o, row) in out.iter_mut().zip(&acc) {
        // SAFETY: `o` holds NR = 32 floats.
        unsafe {
            _mm512_storeu_ps(o.as_mut_ptr(), row[0]);
            _mm512_storeu_ps(o.as_mut_ptr().add(16), row[1]);
        }
    }
    store(blk, &out, c, ldc);
}

#[target_feature(enable = "avx512f")]
fn rows_f64<const R: usize>(blk: &Block<'_, f64>, c: &mut [f64], ldc: usize) {
    check_a(blk, R);
    let mut acc = [[_mm512_setzero_pd(); 4]; R];
    let (pa, pb) = (blk.a.as_ptr(), blk.panel.as_ptr());
    for kk in 0..blk.kc {
        // SAFETY: kk < kc and i < R, both within the bounds `check_a` verified.
        unsafe {
            let b = [
                _mm512_loadu_pd(pb.add(kk * NR)),
                _mm512_loadu_pd(pb.add(kk * NR + 8)),
                _mm512_loadu_pd(pb.add(kk * NR + 16)),
                _mm512_loadu_pd(pb.add(kk * NR + 24)),
            ];
            let ak = pa.add(kk * blk.col);
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_pd(*ak.add(blk.row_start(i)));
                for (r, &bq) in row.iter_mut().zip(&b) {
                    *r = _mm512_fmadd_pd(av, bq, *r);
                }
            }
        }
    }
    let mut out = [[0.0_f64; NR]; R];
    for (o, row) in out.iter_mut().zip(&acc) {
        for (q, &v) in row.iter().enumerate() {
            // SAFETY: `o` holds NR = 32 doubles and q * 8 + 8 <= 32.
            unsafe { _mm512_storeu_pd(o.as_mut_ptr().add(q * 8), v) };
        }
    }
    store(blk, &out, c, ldc);
}
