//! doppel: a production-shaped, anonymised double of a dataset.
pub mod secret;
pub mod transform;
