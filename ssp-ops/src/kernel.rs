//! A SIMD kernel for hydration: a column of floats compared with a constant.
//!
//! [`compare`] picks the AVX2 version at run time when the CPU has it, else
//! the scalar twin; both give the same answer for every input without NaN
//! (the caller keeps NaN, whose order in SSP differs from IEEE's, out of the
//! column). The test suite checks that they agree.

use crate::expr::CmpOp;

/// Sets `out[i]` to `column[i] <op> threshold`, for columns without NaN.
pub(crate) fn compare(column: &[f64], op: CmpOp, threshold: f64, out: &mut Vec<bool>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { compare_avx2(column, op, threshold, out) };
        return;
    }
    compare_scalar(column, op, threshold, out);
}

/// The scalar twin of the AVX2 kernel.
pub(crate) fn compare_scalar(column: &[f64], op: CmpOp, threshold: f64, out: &mut Vec<bool>) {
    out.clear();
    out.extend(column.iter().map(|&x| match op {
        CmpOp::Eq => x == threshold,
        CmpOp::Ne => x != threshold,
        CmpOp::Lt => x < threshold,
        CmpOp::Le => x <= threshold,
        CmpOp::Gt => x > threshold,
        CmpOp::Ge => x >= threshold,
    }));
}

/// The AVX2 kernel: four comparisons per instruction.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn compare_avx2(column: &[f64], op: CmpOp, threshold: f64, out: &mut Vec<bool>) {
    use std::arch::x86_64::{
        _CMP_EQ_OQ, _CMP_GE_OQ, _CMP_GT_OQ, _CMP_LE_OQ, _CMP_LT_OQ, _CMP_NEQ_UQ, _mm256_cmp_pd, _mm256_loadu_pd,
        _mm256_movemask_pd, _mm256_set1_pd,
    };

    out.clear();
    out.reserve(column.len());
    let t = _mm256_set1_pd(threshold);
    let chunks = column.chunks_exact(4);
    let rest = chunks.remainder();
    for chunk in chunks {
        // SAFETY: `chunk` holds four f64, and the load is unaligned.
        let x = unsafe { _mm256_loadu_pd(chunk.as_ptr()) };
        let mask = match op {
            CmpOp::Eq => _mm256_cmp_pd::<_CMP_EQ_OQ>(x, t),
            CmpOp::Ne => _mm256_cmp_pd::<_CMP_NEQ_UQ>(x, t),
            CmpOp::Lt => _mm256_cmp_pd::<_CMP_LT_OQ>(x, t),
            CmpOp::Le => _mm256_cmp_pd::<_CMP_LE_OQ>(x, t),
            CmpOp::Gt => _mm256_cmp_pd::<_CMP_GT_OQ>(x, t),
            CmpOp::Ge => _mm256_cmp_pd::<_CMP_GE_OQ>(x, t),
        };
        let bits = _mm256_movemask_pd(mask);
        out.extend((0..4).map(|i| bits & (1 << i) != 0));
    }
    let mut tail = Vec::new();
    compare_scalar(rest, op, threshold, &mut tail);
    out.extend(tail);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn float() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => (-4i32..4).prop_map(f64::from),
            2 => any::<f64>().prop_filter("no NaN", |f| !f.is_nan()),
            1 => prop_oneof![Just(0.0), Just(-0.0), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::MIN_POSITIVE / 2.0)],
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        // The AVX2 kernel and its scalar twin agree on every column without NaN.
        #[test]
        fn avx2_kernel_agrees_with_its_scalar_twin(column in prop::collection::vec(float(), 0..37), op in crate::expr::strategies::cmp_op(), t in float()) {
            let mut scalar = Vec::new();
            compare_scalar(&column, op, t, &mut scalar);
            let mut dispatched = Vec::new();
            compare(&column, op, t, &mut dispatched);
            prop_assert_eq!(&dispatched, &scalar);
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut simd = Vec::new();
                // SAFETY: AVX2 is available, checked just above.
                unsafe { compare_avx2(&column, op, t, &mut simd) };
                prop_assert_eq!(&simd, &scalar);
            }
        }
    }
}
