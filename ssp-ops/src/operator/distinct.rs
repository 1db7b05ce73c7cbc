//! `δ` (distinct): each row of positive weight, once.
//!
//! With `I` the integrated input before the step, for each row `r` of the
//! step's change: `Δout[r] = [I(r) + Δ(r) > 0] - [I(r) > 0]`.

use ssp_core::{Value, ZSet};

/// The state of an incremental distinct: its integrated input.
#[derive(Debug, Default)]
pub(crate) struct Distinct {
    pub(crate) input: ZSet<Value>,
}

impl Distinct {
    pub(crate) fn step(&mut self, delta: &ZSet<Value>) -> ZSet<Value> {
        let mut out = ZSet::new();
        for (row, w) in delta.iter() {
            let before = self.input.weight(row);
            let after = self.input.update(row.clone(), w);
            match (before > 0, after > 0) {
                (false, true) => out.update(row.clone(), 1),
                (true, false) => out.update(row.clone(), -1),
                _ => 0,
            };
        }
        out
    }
}

/// The distinct rows of a whole input.
pub(crate) fn reference(input: &ZSet<Value>) -> ZSet<Value> {
    input.iter().filter(|(_, w)| *w > 0).map(|(r, _)| (r.clone(), 1)).collect()
}
