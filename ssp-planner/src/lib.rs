//! # ssp-planner
//!
//! Turns a live view, written in SurrealQL or with the typed builder, into an
//! `ssp-ops` circuit.

pub mod ast;
