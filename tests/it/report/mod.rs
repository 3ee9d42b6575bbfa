//! The assessment page (`run --report-html`, `doppel report`): drawn in a real browser, and
//! its utility figures checked against values computed independently.

mod browser;
mod fan_out;
mod figures;
mod flags;
mod generated;
