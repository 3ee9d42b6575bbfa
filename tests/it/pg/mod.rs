//! PostgreSQL as source and target: reading, writing into new and existing databases,
//! `--replace`, branches, subsets, SQL dumps, roles, protection, TLS, type fidelity, and the
//! throwaway-cluster harness itself.

mod branch;
mod conninfo;
mod constraints;
mod dump;
mod from_parquet;
mod harness;
mod plan_checks;
mod post_data;
mod protect;
mod replace;
mod report;
mod risk;
mod roles;
mod source;
mod subset;
mod target;
mod tls;
mod to_parquet;
mod type_fidelity;
mod type_matrix;
mod unchanged;
