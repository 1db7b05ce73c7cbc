//! # ssp-surreal
//!
//! SurrealDB as SSP's source of changes and second oracle. This first layer
//! converts values between SurrealDB and [`ssp_core::Value`] without loss:
//! every kind SurrealDB stores in a record maps to one of SSP's, and back;
//! a kind SSP cannot hold is a typed [`ConvertError`] naming where it was.

mod convert;
mod cvr_store;

pub use crate::convert::{ConvertError, from_surreal, to_surreal};
pub use crate::cvr_store::{CvrBackendError, CvrOpenError, SurrealCvrOptions, SurrealCvrStore};
