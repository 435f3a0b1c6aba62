//! Subcommands of the `argva` binary: argument parsing, file output, progress display.

pub mod bench;
pub mod data;
pub mod embed;
pub mod output;
pub mod plot;
pub mod train;

pub use argva::train::Prepared;
