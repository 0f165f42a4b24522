//! The preview1 ABI's own types that the public API shows: errnos (what a policy denies with,
//! what audit records report), and the rights, flags and clock ids a policy [`Request`] carries
//! as the guest passed them. Generated from the witx, with its names and values.
//!
//! [`Request`]: crate::Request

pub use crate::abi::types::{Clockid, Errno, Fdflags, Fstflags, Lookupflags, Oflags, Rights};
