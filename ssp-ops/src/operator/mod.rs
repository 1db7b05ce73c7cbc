//! The operators: each file holds one operator's incremental state, its
//! step (the incremental form, documented by its formula) and its reference
//! (the plain evaluation over whole inputs).

pub(crate) mod aggregate;
pub(crate) mod distinct;
pub(crate) mod join;
pub(crate) mod linear;
pub(crate) mod reach;
pub(crate) mod semijoin;
pub(crate) mod topk;
