//! The stream primitives of DBSP: differentiate `D`, integrate `I` and delay `z⁻¹`.
//!
//! A stream is a sequence of values, one per logical time. Each primitive is a
//! small stepping type that is fed one value per step. `I` turns changes into
//! states, `D` turns states into changes, and `D∘I = I∘D = id`.

use crate::algebra::{Abelian, Monoid};

/// `I`: the running sum of a stream, `I(s)[t] = s[0] + … + s[t]`.
///
/// ```
/// use ssp_core::{Integrate, ZSet};
/// let mut i = Integrate::new();
/// i.step(&ZSet::from_iter([("a", 1)]));
/// let state = i.step(&ZSet::from_iter([("a", -1), ("b", 1)]));
/// assert_eq!(state, &ZSet::from_iter([("b", 1)]));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Integrate<Z> {
    sum: Z,
}

impl<Z: Monoid> Integrate<Z> {
    /// An integrator at zero.
    pub fn new() -> Self {
        Integrate { sum: Z::zero() }
    }

    /// Adds `delta` and returns the running sum.
    pub fn step(&mut self, delta: &Z) -> &Z {
        self.sum.plus_assign(delta);
        &self.sum
    }

    /// The running sum so far.
    pub fn state(&self) -> &Z {
        &self.sum
    }

    /// The running sum, by value.
    pub fn into_state(self) -> Z {
        self.sum
    }
}

/// `D`: the change of a stream, `D(s)[t] = s[t] - s[t-1]` (with `s[-1] = 0`).
///
/// ```
/// use ssp_core::{Differentiate, ZSet};
/// let mut d = Differentiate::new();
/// d.step(&ZSet::from_iter([("a", 1)]));
/// let change = d.step(&ZSet::from_iter([("b", 1)]));
/// assert_eq!(change, ZSet::from_iter([("a", -1), ("b", 1)]));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Differentiate<Z> {
    previous: Z,
}

impl<Z: Abelian> Differentiate<Z> {
    /// A differentiator whose previous value is zero.
    pub fn new() -> Self {
        Differentiate { previous: Z::zero() }
    }

    /// Returns `value - previous` and remembers `value`.
    pub fn step(&mut self, value: &Z) -> Z {
        let mut change = value.clone();
        change.minus_assign(&self.previous);
        self.previous = value.clone();
        change
    }
}

/// `z⁻¹`: the stream delayed by one step, `z⁻¹(s)[t] = s[t-1]` (with `s[-1] = 0`).
///
/// ```
/// use ssp_core::Delay;
/// let mut z = Delay::<i64>::new();
/// assert_eq!(z.step(5), 0);
/// assert_eq!(z.step(7), 5);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Delay<Z> {
    previous: Z,
}

impl<Z: Monoid> Delay<Z> {
    /// A delay whose first output is zero.
    pub fn new() -> Self {
        Delay { previous: Z::zero() }
    }

    /// Returns the previous input and remembers `value`.
    pub fn step(&mut self, value: Z) -> Z {
        std::mem::replace(&mut self.previous, value)
    }
}

/// `I` over a whole stream: the running sums, one per step.
pub fn integrate<Z: Monoid>(stream: impl IntoIterator<Item = Z>) -> impl Iterator<Item = Z> {
    let mut i = Integrate::new();
    stream.into_iter().map(move |z| i.step(&z).clone())
}

/// `D` over a whole stream: the changes, one per step.
pub fn differentiate<Z: Abelian>(stream: impl IntoIterator<Item = Z>) -> impl Iterator<Item = Z> {
    let mut d = Differentiate::new();
    stream.into_iter().map(move |z| d.step(&z))
}

/// `z⁻¹` over a whole stream.
pub fn delay<Z: Monoid>(stream: impl IntoIterator<Item = Z>) -> impl Iterator<Item = Z> {
    let mut z = Delay::new();
    stream.into_iter().map(move |v| z.step(v))
}
