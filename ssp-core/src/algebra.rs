//! The weight algebra: a small ladder of traits, so that each stream primitive
//! and operator asks only for what it uses.

/// The weight of an element in a Z-set: `+1` per insertion, `-1` per deletion.
///
/// Weights add with wrapping arithmetic: the weights form the group ℤ/2⁶⁴,
/// so no sequence of updates can make addition panic, and the group laws hold
/// exactly. No real stream comes near the wrap.
pub type ZWeight = i64;

/// A commutative monoid: values that add, with a zero.
///
/// [`Integrate`](crate::Integrate) and [`Delay`](crate::Delay) need no more.
pub trait Monoid: Clone {
    /// The neutral element.
    fn zero() -> Self;
    /// Whether this is the neutral element.
    fn is_zero(&self) -> bool;
    /// `self = self + rhs`.
    fn plus_assign(&mut self, rhs: &Self);
}

/// An abelian group: a [`Monoid`] with negation.
///
/// [`Differentiate`](crate::Differentiate) needs it; Z-sets are the model.
pub trait Abelian: Monoid {
    /// `self = -self`.
    fn negate(&mut self);

    /// `self = self - rhs`.
    fn minus_assign(&mut self, rhs: &Self) {
        let mut neg = rhs.clone();
        neg.negate();
        self.plus_assign(&neg);
    }
}

impl Monoid for ZWeight {
    fn zero() -> Self {
        0
    }

    fn is_zero(&self) -> bool {
        *self == 0
    }

    fn plus_assign(&mut self, rhs: &Self) {
        *self = self.wrapping_add(*rhs);
    }
}

impl Abelian for ZWeight {
    fn negate(&mut self) {
        *self = self.wrapping_neg();
    }
}
