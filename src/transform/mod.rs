//! Transform strategies, one file per strategy.
pub mod fake;
pub mod hash;
pub mod mask;
pub mod noise;
pub mod redact;
