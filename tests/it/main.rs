//! The one integration-test binary. Each module covers one command or stage;
//! `support` holds shared helpers.

mod support;
