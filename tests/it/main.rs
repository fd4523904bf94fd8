//! The one integration-test binary. Each module covers one command or stage;
//! `support` holds shared helpers.

mod bump;
mod fuzz;
mod scan;
mod settings;
mod support;
