//! Hostile input, faults (kills, lost connections, full and read-only file systems), what a
//! run may write and replace, and the canary search for leaked personal values.

mod adversarial;
mod adversarial_inputs;
mod canary;
mod faults;
mod target_safety;
