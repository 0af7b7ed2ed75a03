//! The verifier's integration tests, in one binary.

mod cli;
mod witness;
