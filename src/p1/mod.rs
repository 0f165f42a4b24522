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

impl WasiCtx {
    /// Runs one syscall between the gate's `begin` and `end`: while nothing audits, two atomic
    /// loads and branches in all.
    #[inline]
    fn gated<T: AuditValue>(
        &mut self,
        syscall: Syscall,
        call: impl FnOnce(&mut WasiCtx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.gate.begin(syscall);
        let result = call(self);
        self.gate.end(&result);
        result
    }
}

impl WasiSnapshotPreview1 for WasiCtx {
    fn args_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        argv: GuestPtr<GuestPtr<u8>>,
        argv_buf: GuestPtr<u8>,
    ) -> Result<(), Error> {
        self.gated(Syscall::ArgsGet, |ctx| {
            args_env::args_get(ctx, mem, argv, argv_buf)
        })
    }
    fn args_sizes_get(&mut self, mem: &mut GuestMemory<'_>) -> Result<(Size, Size), Error> {
        self.gated(Syscall::ArgsSizesGet, |ctx| {
            args_env::args_sizes_get(ctx, mem)
        })
    }
    fn environ_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        environ: GuestPtr<GuestPtr<u8>>,
        environ_buf: GuestPtr<u8>,
    ) -> Result<(), Error> {
        self.gated(Syscall::EnvironGet, |ctx| {
            args_env::environ_get(ctx, mem, environ, environ_buf)
        })
    }
    fn environ_sizes_get(&mut self, mem: &mut GuestMemory<'_>) -> Result<(Size, Size), Error> {
        self.gated(Syscall::EnvironSizesGet, |ctx| {
            args_env::environ_sizes_get(ctx, mem)
        })
    }
    fn clock_res_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        id: Clockid,
    ) -> Result<Timestamp, Error> {
        self.gated(Syscall::ClockResGet, |ctx| {
            clock::clock_res_get(ctx, mem, id)
        })
    }
    fn clock_time_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        id: Clockid,
        precision: Timestamp,
    ) -> Result<Timestamp, Error> {
        self.gated(Syscall::ClockTimeGet, |ctx| {
            clock::clock_time_get(ctx, mem, id, precision)
        })
    }
    fn fd_advise(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        offset: Filesize,
        len: Filesize,
        advice: Advice,
    ) -> Result<(), Error> {
        self.gated(Syscall::FdAdvise, |ctx| {
            fd_meta::fd_advise(ctx, mem, fd, offset, len, advice)
        })
    }
    fn fd_allocate(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        offset: Filesize,
        len: Filesize,
    ) -> Result<(), Error> {
        self.gated(Syscall::FdAllocate, |ctx| {
            fd_meta::fd_allocate(ctx, mem, fd, offset, len)
        })
    }
    fn fd_close(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
        self.gated(Syscall::FdClose, |ctx| fd_table::fd_close(ctx, mem, fd))
    }
    fn fd_datasync(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
        self.gated(Syscall::FdDatasync, |ctx| {
            fd_meta::fd_datasync(ctx, mem, fd)
        })
    }
    fn fd_fdstat_get(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<Fdstat, Error> {
        self.gated(Syscall::FdFdstatGet, |ctx| {
            fd_meta::fd_fdstat_get(ctx, mem, fd)
        })
    }
    fn fd_filestat_get(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<Filestat, Error> {
        self.gated(Syscall::FdFilestatGet, |ctx| {
            fd_meta::fd_filestat_get(ctx, mem, fd)
        })
    }
    fn fd_pread(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        iovs: IovecArray,
        offset: Filesize,
    ) -> Result<Size, Error> {
        self.gated(Syscall::FdPread, |ctx| {
            fd_io::fd_pread(ctx, mem, fd, iovs, offset)
        })
    }
    fn fd_prestat_get(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<Prestat, Error> {
        self.gated(Syscall::FdPrestatGet, |ctx| {
            fd_table::fd_prestat_get(ctx, mem, fd)
        })
    }
    fn fd_pwrite(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        iovs: CiovecArray,
        offset: Filesize,
    ) -> Result<Size, Error> {
        self.gated(Syscall::FdPwrite, |ctx| {
            fd_io::fd_pwrite(ctx, mem, fd, iovs, offset)
        })
    }
    fn fd_read(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        iovs: IovecArray,
    ) -> Result<Size, Error> {
        self.gated(Syscall::FdRead, |ctx| fd_io::fd_read(ctx, mem, fd, iovs))
    }
    fn fd_readdir(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        buf: GuestPtr<u8>,
        buf_len: Size,
        cookie: Dircookie,
    ) -> Result<Size, Error> {
        self.gated(Syscall::FdReaddir, |ctx| {
            fd_readdir::fd_readdir(ctx, mem, fd, buf, buf_len, cookie)
        })
    }
    fn fd_renumber(&mut self, mem: &mut GuestMemory<'_>, fd: Fd, to: Fd) -> Result<(), Error> {
        self.gated(Syscall::FdRenumber, |ctx| {
            fd_table::fd_renumber(ctx, mem, fd, to)
        })
    }
    fn fd_seek(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        offset: Filedelta,
        whence: Whence,
    ) -> Result<Filesize, Error> {
        self.gated(Syscall::FdSeek, |ctx| {
            fd_io::fd_seek(ctx, mem, fd, offset, whence)
        })
    }
    fn fd_sync(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
        self.gated(Syscall::FdSync, |ctx| fd_meta::fd_sync(ctx, mem, fd))
    }
    fn fd_tell(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<Filesize, Error> {
        self.gated(Syscall::FdTell, |ctx| fd_io::fd_tell(ctx, mem, fd))
    }
    fn fd_write(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        iovs: CiovecArray,
    ) -> Result<Size, Error> {
        self.gated(Syscall::FdWrite, |ctx| fd_io::fd_write(ctx, mem, fd, iovs))
    }
    fn path_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        flags: Lookupflags,
        path: GuestPtr<str>,
    ) -> Result<Filestat, Error> {
        self.gated(Syscall::PathFilestatGet, |ctx| {
            path::path_filestat_get(ctx, mem, fd, flags, path)
        })
    }
    fn path_link(
        &mut self,
        mem: &mut GuestMemory<'_>,
        old_fd: Fd,
        old_flags: Lookupflags,
        old_path: GuestPtr<str>,
        new_fd: Fd,
        new_path: GuestPtr<str>,
    ) -> Result<(), Error> {
        self.gated(Syscall::PathLink, |ctx| {
            path::path_link(ctx, mem, old_fd, old_flags, old_path, new_fd, new_path)
        })
    }
    fn path_open(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        dirflags: Lookupflags,
        path: GuestPtr<str>,
        oflags: Oflags,
        fs_rights_base: Rights,
        fs_rights_inheriting: Rights,
        fdflags: Fdflags,
    ) -> Result<Fd, Error> {
        self.gated(Syscall::PathOpen, |ctx| {
            path::path_open(
                ctx,
                mem,
                fd,
                dirflags,
                path,
                oflags,
                fs_rights_base,
                fs_rights_inheriting,
                fdflags,
            )
        })
    }
    fn path_readlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<str>,
        buf: GuestPtr<u8>,
        buf_len: Size,
    ) -> Result<Size, Error> {
        self.gated(Syscall::PathReadlink, |ctx| {
            path::path_readlink(ctx, mem, fd, path, buf, buf_len)
        })
    }
    fn path_rename(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        old_path: GuestPtr<str>,
        new_fd: Fd,
        new_path: GuestPtr<str>,
    ) -> Result<(), Error> {
        self.gated(Syscall::PathRename, |ctx| {
            path::path_rename(ctx, mem, fd, old_path, new_fd, new_path)
        })
    }
    fn path_symlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        old_path: GuestPtr<str>,
        fd: Fd,
        new_path: GuestPtr<str>,
    ) -> Result<(), Error> {
        self.gated(Syscall::PathSymlink, |ctx| {
            path::path_symlink(ctx, mem, old_path, fd, new_path)
        })
    }
    fn path_unlink_file(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<str>,
    ) -> Result<(), Error> {
        self.gated(Syscall::PathUnlinkFile, |ctx| {
            path::path_unlink_file(ctx, mem, fd, path)
        })
    }
    fn poll_oneoff(
        &mut self,
        mem: &mut GuestMemory<'_>,
        in_: GuestPtr<Subscription>,
        out: GuestPtr<Event>,
        nsubscriptions: Size,
    ) -> Result<Size, Error> {
        self.gated(Syscall::PollOneoff, |ctx| {
            poll::poll_oneoff(ctx, mem, in_, out, nsubscriptions)
        })
    }
    fn proc_exit(&mut self, mem: &mut GuestMemory<'_>, rval: Exitcode) -> wiggle::error::Error {
        self.gate.begin(Syscall::ProcExit);
        let stop = proc::proc_exit(self, mem, rval);
        self.gate.end_with(CallResult::Trap(stop.to_string()));
        stop
    }
    fn proc_raise(&mut self, mem: &mut GuestMemory<'_>, sig: Signal) -> Result<(), Error> {
        self.gated(Syscall::ProcRaise, |ctx| proc::proc_raise(ctx, mem, sig))
    }
    fn sched_yield(&mut self, mem: &mut GuestMemory<'_>) -> Result<(), Error> {
        self.gated(Syscall::SchedYield, |ctx| proc::sched_yield(ctx, mem))
    }
    fn random_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        buf: GuestPtr<u8>,
        buf_len: Size,
    ) -> Result<(), Error> {
        self.gated(Syscall::RandomGet, |ctx| {
            random::random_get(ctx, mem, buf, buf_len)
        })
    }
    fn sock_accept(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        flags: Fdflags,
    ) -> Result<Fd, Error> {
        self.gated(Syscall::SockAccept, |ctx| {
            sock::sock_accept(ctx, mem, fd, flags)
        })
    }
    fn sock_recv(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        ri_data: IovecArray,
        ri_flags: Riflags,
    ) -> Result<(Size, Roflags), Error> {
        self.gated(Syscall::SockRecv, |ctx| {
            sock::sock_recv(ctx, mem, fd, ri_data, ri_flags)
        })
    }
    fn sock_send(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        si_data: CiovecArray,
        si_flags: Siflags,
    ) -> Result<Size, Error> {
        self.gated(Syscall::SockSend, |ctx| {
            sock::sock_send(ctx, mem, fd, si_data, si_flags)
        })
    }
    fn sock_shutdown(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        how: Sdflags,
    ) -> Result<(), Error> {
        self.gated(Syscall::SockShutdown, |ctx| {
            sock::sock_shutdown(ctx, mem, fd, how)
        })
    }
    fn fd_fdstat_set_flags(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        flags: Fdflags,
    ) -> Result<(), Error> {
        self.gated(Syscall::FdFdstatSetFlags, |ctx| {
            fd_meta::fd_fdstat_set_flags(ctx, mem, fd, flags)
        })
    }
    fn fd_fdstat_set_rights(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        fs_rights_base: Rights,
        fs_rights_inheriting: Rights,
    ) -> Result<(), Error> {
        self.gated(Syscall::FdFdstatSetRights, |ctx| {
            fd_meta::fd_fdstat_set_rights(ctx, mem, fd, fs_rights_base, fs_rights_inheriting)
        })
    }
    fn fd_filestat_set_size(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        size: Filesize,
    ) -> Result<(), Error> {
        self.gated(Syscall::FdFilestatSetSize, |ctx| {
            fd_meta::fd_filestat_set_size(ctx, mem, fd, size)
        })
    }
    fn fd_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        atim: Timestamp,
        mtim: Timestamp,
        fst_flags: Fstflags,
    ) -> Result<(), Error> {
        self.gated(Syscall::FdFilestatSetTimes, |ctx| {
            fd_meta::fd_filestat_set_times(ctx, mem, fd, atim, mtim, fst_flags)
        })
    }
    fn fd_prestat_dir_name(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<u8>,
        path_len: Size,
    ) -> Result<(), Error> {
        self.gated(Syscall::FdPrestatDirName, |ctx| {
            fd_table::fd_prestat_dir_name(ctx, mem, fd, path, path_len)
        })
    }
    fn path_create_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<str>,
    ) -> Result<(), Error> {
        self.gated(Syscall::PathCreateDirectory, |ctx| {
            path::path_create_directory(ctx, mem, fd, path)
        })
    }
    fn path_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        flags: Lookupflags,
        path: GuestPtr<str>,
        atim: Timestamp,
        mtim: Timestamp,
        fst_flags: Fstflags,
    ) -> Result<(), Error> {
        self.gated(Syscall::PathFilestatSetTimes, |ctx| {
            path::path_filestat_set_times(ctx, mem, fd, flags, path, atim, mtim, fst_flags)
        })
    }
    fn path_remove_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<str>,
    ) -> Result<(), Error> {
        self.gated(Syscall::PathRemoveDirectory, |ctx| {
            path::path_remove_directory(ctx, mem, fd, path)
        })
    }
}
