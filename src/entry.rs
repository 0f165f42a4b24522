//! The entry points every frontend calls: one function per import, taking the guest's context,
//! its memory as bytes and the raw wasm arguments, answering the import's raw result (an errno)
//! or a trap. The Rust linkers (`linker.rs`) and the C API (`capi/`) only find the memory and
//! the context and map the trap; what a call does, and in which order it checks, is decided
//! below this line once. Not part of the stable API: it exists for wasi-warden's own frontends.

// The imports' own arities (path_open takes 9 raw values), plus the context and the memory.
#![allow(clippy::too_many_arguments)]

use crate::ctx::WasiCtx;
use crate::policy::Syscall;
use wiggle::GuestMemory;
use wiggle::error::Result;

/// A raw wasm value type of an import's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawType {
    /// `i32`.
    I32,
    /// `i64`.
    I64,
}

/// The raw wasm signature of one import, as a frontend declares it to its engine.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// The import's name in `wasi_snapshot_preview1`.
    pub name: &'static str,
    /// The syscall it is, for policies and audit.
    pub syscall: Syscall,
    /// Its parameters, in order.
    pub params: &'static [RawType],
    /// Whether it returns an errno (`i32`); only `proc_exit` returns nothing.
    pub returns_errno: bool,
}

/// The module name every preview1 import lives in.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// Makes the context's deadline the thread's current one for this call, so that backend work
/// that sees no context (an overlay copy-up) stops at it too. Free when no deadline is set.
#[inline]
fn deadline_scope(ctx: &WasiCtx) -> Option<crate::deadline::Scope> {
    let deadline = ctx.clocks.deadline_handle();
    // `is_set` is one relaxed load: a run without a time limit pays nothing more per call.
    deadline.is_set().then(|| deadline.enter())
}

macro_rules! raw_type {
    (i32) => {
        RawType::I32
    };
    (i64) => {
        RawType::I64
    };
}

/// Reads the raw argument `$value` (an `i64` holding an `i32` in its low half, or an `i64`) as
/// the parameter's type: truncation keeps the `i32`'s bits, as wasm's own values do.
macro_rules! from_raw {
    (i32, $value:expr) => {
        $value as i32
    };
    (i64, $value:expr) => {
        $value
    };
}

/// One entry of the syscall table: `general` imports go to wiggle's decoder; `fast` ones try
/// our raw decoder (`p1/fast.rs`) first, which runs the same routed call when the arguments
/// decode and declines before any effect otherwise; `exit` is `proc_exit`, whose decoder
/// always answers with the exit "trap".
macro_rules! entry_one {
    (exit, $name:ident, ($($raw:ident: $rawty:ident),*)) => {
        #[doc = concat!("`", stringify!($name), "`: never returns normally (the exit is an error).")]
        #[inline]
        pub fn $name(ctx: &mut WasiCtx, memory: &mut [u8], $($raw: $rawty),*) -> Result<()> {
            // No deadline scope (no backend or stream work to bound) and no `errno::decoded`:
            // this decoder answers only with the exit or a trap, never an errno.
            let mut memory = GuestMemory::Unshared(memory);
            crate::abi::wasi_snapshot_preview1::$name(ctx, &mut memory, $($raw),*)
        }
    };
    (general, $name:ident, ($($raw:ident: $rawty:ident),*)) => {
        #[doc = concat!("`", stringify!($name), "`: the errno, or a trap.")]
        #[inline]
        pub fn $name(ctx: &mut WasiCtx, memory: &mut [u8], $($raw: $rawty),*) -> Result<i32> {
            let _deadline = deadline_scope(ctx);
            let mut memory = GuestMemory::Unshared(memory);
            // Bad enum or flag values in the arguments become EINVAL here, where wiggle's
            // glue would trap.
            crate::errno::decoded(crate::abi::wasi_snapshot_preview1::$name(ctx, &mut memory, $($raw),*))
        }
    };
    (fast, $name:ident, ($($raw:ident: $rawty:ident),*)) => {
        #[doc = concat!("`", stringify!($name), "`: the errno, or a trap.")]
        #[inline]
        pub fn $name(ctx: &mut WasiCtx, memory: &mut [u8], $($raw: $rawty),*) -> Result<i32> {
            // Entered before the fast decoder, so both ways into a call run under one deadline.
            let _deadline = deadline_scope(ctx);
            // `None` means nothing ran: the whole call goes to wiggle's decoder, on the same
            // memory.
            if let Some(answer) = crate::p1::fast::$name(ctx, memory, $($raw),*) {
                return answer;
            }
            let mut memory = GuestMemory::Unshared(memory);
            crate::errno::decoded(crate::abi::wasi_snapshot_preview1::$name(ctx, &mut memory, $($raw),*))
        }
    };
}

/// What `call` answers for an import that returns: its errno; `proc_exit` answers only errors.
macro_rules! call_answer {
    (exit, $call:expr) => {
        $call.map(|()| 0)
    };
    ($kind:ident, $call:expr) => {
        $call
    };
}

macro_rules! returns_errno {
    (exit) => {
        false
    };
    ($kind:ident) => {
        true
    };
}

macro_rules! entries {
    ($($name:ident => $variant:ident, $group:ident, $kind:ident, ($($raw:ident: $rawty:ident),*), $typed:tt -> $ret:ty;)*) => {
        $(entry_one!($kind, $name, ($($raw: $rawty),*));)*

        /// Every import's raw signature, in the syscall table's order (the witx order): the
        /// index of a row is what [`call`] takes.
        pub const SIGNATURES: &[Signature] = &[
            $(Signature {
                name: stringify!($name),
                syscall: Syscall::$variant,
                params: &[$(raw_type!($rawty)),*],
                returns_errno: returns_errno!($kind),
            },)*
        ];

        /// Calls the import at `index` of [`SIGNATURES`] with raw arguments (each `i32` in the
        /// low half of its `i64`), for frontends whose engine hands them an array. Answers the
        /// errno (0 for `proc_exit`, which in fact always answers an error), a trap, or an
        /// error for an index or argument count that does not match the table.
        pub fn call(ctx: &mut WasiCtx, memory: &mut [u8], index: usize, args: &[i64]) -> Result<i32> {
            let mut which = 0usize;
            $(
                if index == which {
                    let expected = SIGNATURES[which].params.len();
                    if args.len() != expected {
                        wiggle::error::bail!(
                            "{} takes {expected} arguments, not {}", stringify!($name), args.len()
                        );
                    }
                    #[allow(unused_mut, unused_variables)]
                    let mut next = args.iter().copied();
                    $(let $raw = from_raw!($rawty, next.next().unwrap_or(0));)*
                    return call_answer!($kind, $name(ctx, memory, $($raw),*));
                }
                which += 1;
            )*
            let _ = which;
            wiggle::error::bail!("no import has index {index}")
        }
    };
}

crate::syscalls::for_each_syscall!(entries);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signatures_follow_the_syscall_enum() {
        assert_eq!(SIGNATURES.len(), 46);
        for (index, signature) in SIGNATURES.iter().enumerate() {
            assert_eq!(signature.syscall.as_str(), signature.name, "row {index}");
        }
        let exits: Vec<_> = SIGNATURES.iter().filter(|s| !s.returns_errno).collect();
        assert_eq!(exits.len(), 1);
        assert_eq!(exits[0].name, "proc_exit");
    }

    #[test]
    fn a_call_with_the_wrong_arity_or_index_is_an_error_not_a_panic() {
        let mut ctx = WasiCtx::builder().build();
        let mut memory = vec![0u8; 64];
        let fd_close = SIGNATURES
            .iter()
            .position(|s| s.name == "fd_close")
            .unwrap();
        assert!(call(&mut ctx, &mut memory, fd_close, &[]).is_err());
        assert!(call(&mut ctx, &mut memory, 46, &[]).is_err());
        // fd 9 is not open: EBADF (8), as a guest would get it.
        assert_eq!(call(&mut ctx, &mut memory, fd_close, &[9]).unwrap(), 8);
    }

    #[test]
    fn raw_i32_arguments_keep_their_bits() {
        let mut ctx = WasiCtx::builder().build();
        let mut memory = vec![0u8; 64];
        let fd_close = SIGNATURES
            .iter()
            .position(|s| s.name == "fd_close")
            .unwrap();
        // The high half is ignored: fd 1 (stdout) closes whatever sits above it.
        assert_eq!(
            call(&mut ctx, &mut memory, fd_close, &[0x7fff_0000_0000_0001]).unwrap(),
            0
        );
    }
}
