//! # wasi-warden
//!
//! A WASI preview1 import layer for [wasmtime], written from scratch so that every effect of an
//! untrusted guest stays under the host's control. Layers, top to bottom:
//!
//! - `linker.rs` / `abi.rs`: wasmtime glue and the wiggle-generated decoder of the ABI;
//! - `p1/`: one file per syscall group — decode, check, act, encode;
//! - `table.rs` + `rights.rs`: the descriptor table and the capability checks;
//! - `vfs/`: filesystem backends behind two traits, one shared path resolver;
//! - `stdio/`, `clock.rs`, `random.rs`: the other things a guest may be granted.
//!
//! Nothing is granted by default: a [`WasiCtx`] built with no calls has empty stdio, no args,
//! no env, no clocks, no randomness and no filesystem.
//!
//! ## Words that sound alike
//!
//! - Deciding a call: a [`Policy`] answers a [`Request`] with a [`Decision`] (allow, deny, trap
//!   — or ask); a person, through a [`Prompter`], answers an ask with an
//!   [`Answer`](policy::Answer) (once, always, never); what the call finally got is its
//!   [`Verdict`](policy::Verdict), and [`DecidedBy`](policy::DecidedBy) says who settled it
//!   (audit records carry both).
//! - Permissions: [`Access`] is what a call wants to do to a path (read, write, create,
//!   rename…), what policy rules filter on; [`Rights`](types::Rights) are preview1's
//!   capability bits on a guest's descriptor, which the guest asks for and we enforce;
//!   [`Mount::read_only`] is how a whole mount refuses changes. There is no other permission
//!   type.
//!
//! ```
//! use wasi_warden::{MemFs, Output, WasiCtx};
//! # fn main() -> wasmtime::Result<()> {
//! let engine = wasmtime::Engine::default();
//! let module = wasmtime::Module::new(&engine, r#"
//!     (module
//!       (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
//!       (memory (export "memory") 1)
//!       (data (i32.const 16) "hello\n")
//!       (func (export "_start")
//!         (i32.store (i32.const 0) (i32.const 16))
//!         (i32.store (i32.const 4) (i32.const 6))
//!         (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
//! "#)?;
//! let stdout = Output::capture().limit(1 << 20).build(); // the host keeps a handle
//! let ctx = WasiCtx::builder()
//!     .args(["hello.wasm"])
//!     .stdout(stdout.clone())
//!     .mount("/", MemFs::new())
//!     .build();
//! let (outcome, _ctx) = wasi_warden::run_command(&engine, &module, ctx)?;
//! assert_eq!(outcome.exit_code(), 0);
//! assert_eq!(stdout.contents(), b"hello\n");
//! # Ok(()) }
//! ```

#![deny(unsafe_code)]
#![warn(missing_docs)]

// Generated from witx: the ABI's own names and arities, documented by the spec. Internal: the
// types the public API needs are re-exported from `types`.
#[allow(missing_docs, clippy::too_many_arguments, unreachable_pub)]
mod abi;
pub mod audit;
pub mod clock;
mod ctx;
pub mod deadline;
#[doc(hidden)]
pub mod entry;
mod errno;
mod escape;
mod gate;
mod guest;
pub mod limits;
#[cfg(feature = "wasmtime")]
mod linker;
#[cfg(feature = "async")]
mod linker_async;
mod outcome;
mod p1;
pub mod policy;
mod random;
mod rights;
#[cfg(feature = "wasmtime")]
mod run;
pub mod stdio;
mod suspend;
mod syscalls;
mod table;
pub mod types;
pub mod vfs;

pub use audit::{AuditSink, JsonLinesAudit, TraceAudit};
pub use clock::ClockGrant;
pub use ctx::{WasiCtx, WasiCtxBuilder};
pub use deadline::Deadline;
pub use errno::{I32Exit, errno_name, parse_errno};
pub use escape::escape;
pub use gate::PolicyHandle;
pub use limits::FsLimits;
#[cfg(feature = "wasmtime")]
pub use linker::{AlreadyBound, add_to_linker};
#[cfg(feature = "async")]
pub use linker_async::{AsyncChannelPrompter, AsyncPromptReply, add_to_linker_async};
pub use outcome::{LimitStop, Outcome};
pub use policy::{
    Access, AsyncPrompter, ChannelPrompter, Decision, PathPattern, Policy, PolicyTable, PolicyTrap,
    Prompter, Request, Rule, Syscall, TerminalPrompter,
};
#[cfg(feature = "wasmtime")]
pub use run::{CommandState, RunLimits, run_command, run_command_with, run_module_with};
#[cfg(feature = "async")]
pub use run::{run_command_async, run_command_async_with};
pub use stdio::{Input, InputWriter, LimitAction, Output, OutputBuilder};
pub use types::Errno;
pub use vfs::{Dir, File, HostDir, MemFs, Mount, Overlay};
#[cfg(feature = "wasmtime")]
pub use wasmtime;
