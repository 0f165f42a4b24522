//! The preview1 imports, one file per syscall group in the spec's order. This file only
//! routes the generated trait to them, bracketing each call with the policy gate's begin/end
//! (audit timing and result); each group function decodes, checks (`ctx.gate.check`, once,
//! before acting), acts and encodes.

// Signatures mirror the preview1 ABI (path_open takes nine arguments).
#![allow(clippy::too_many_arguments)]

use crate::abi::types::*;
use crate::abi::wasi_snapshot_preview1::WasiSnapshotPreview1;
use crate::audit::{AuditValue, CallResult};
use crate::ctx::WasiCtx;
use crate::policy::Syscall;
use wiggle::{GuestMemory, GuestPtr};

// Private: the groups are reached only through the routing below (and `fast`, which the
// linker calls first), so no caller can skip the gate's begin/end.
mod args_env;
mod clock;
mod convert;
pub(crate) mod fast;
mod fd_io;
mod fd_meta;
mod fd_readdir;
mod fd_table;
mod path;
mod path_open;
mod poll;
mod proc;
mod random;
mod request;
mod sock;
pub(crate) mod sock_host;

impl WasiCtx {
    /// Runs one syscall between the gate's `begin` and `end`: while nothing audits, two atomic
    /// loads and branches in all.
    #[inline]
    fn gated<T: AuditValue>(
        &mut self,
        syscall: Syscall,
        call: impl FnOnce(&mut WasiCtx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        // `begin` before the body's first check and `end` whatever it returned: a call that fails
        // early (EBADF, a bad pointer's trap) is audited too, under its own syscall.
        self.gate.begin(syscall);
        let result = call(self);
        self.gate.end(&result);
        result
    }
}

/// The routing of one import: between the gate's `begin` and `end`, the group function of the
/// same name (`proc_exit`, which never returns, records its trap itself).
macro_rules! route_one {
    (exit, $name:ident, $variant:ident, $group:ident, ($($arg:ident: $argty:ty),*), $ret:ty) => {
        fn $name(&mut self, mem: &mut GuestMemory<'_>, $($arg: $argty),*) -> wiggle::error::Error {
            // No `Result` to hand `end`: the returned error *is* how the guest stops (an exit or a
            // policy's trap), so it is recorded as a trap before it propagates.
            self.gate.begin(Syscall::$variant);
            let stop = $group::$name(self, mem, $($arg),*);
            self.gate.end_with(CallResult::Trap(stop.to_string()));
            stop
        }
    };
    ($kind:ident, $name:ident, $variant:ident, $group:ident, ($($arg:ident: $argty:ty),*), $ret:ty) => {
        // Inlined: the fast decoders (`fast.rs`) call these same methods, and the routing must not
        // cost them a call of its own.
        #[inline]
        fn $name(&mut self, mem: &mut GuestMemory<'_>, $($arg: $argty),*) -> Result<$ret, Error> {
            self.gated(Syscall::$variant, |ctx| $group::$name(ctx, mem, $($arg),*))
        }
    };
}

/// wiggle's trait, every method routed by the syscall table (`crate::syscalls`).
macro_rules! route {
    ($($name:ident => $variant:ident, $group:ident, $kind:ident, $raw:tt, ($($arg:ident: $argty:ty),*) -> $ret:ty;)*) => {
        impl WasiSnapshotPreview1 for WasiCtx {
            $(route_one!($kind, $name, $variant, $group, ($($arg: $argty),*), $ret);)*
        }
    };
}

// Generated from the one table: an import cannot exist in the linker or the `Syscall` enum
// without being routed (and gated) here.
crate::syscalls::for_each_syscall!(route);
