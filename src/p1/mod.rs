//! The preview1 imports, one file per syscall group in the spec's order. This file only
//! routes the generated trait to them; each group function decodes, checks, acts and encodes.

use crate::abi::types::*;
use crate::abi::wasi_snapshot_preview1::WasiSnapshotPreview1;
use crate::ctx::WasiCtx;
use wiggle::{GuestMemory, GuestPtr};

mod args_env;
mod clock;
mod convert;
mod fd_io;
mod fd_meta;
mod fd_readdir;
mod fd_table;
mod path;
mod path_open;
mod poll;
mod proc;
mod random;
mod sock;

impl WasiSnapshotPreview1 for WasiCtx {
    fn args_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        argv: GuestPtr<GuestPtr<u8>>,
        argv_buf: GuestPtr<u8>,
    ) -> Result<(), Error> {
        args_env::args_get(self, mem, argv, argv_buf)
    }
    fn args_sizes_get(&mut self, mem: &mut GuestMemory<'_>) -> Result<(Size, Size), Error> {
        args_env::args_sizes_get(self, mem)
    }
    fn environ_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        environ: GuestPtr<GuestPtr<u8>>,
        environ_buf: GuestPtr<u8>,
    ) -> Result<(), Error> {
        args_env::environ_get(self, mem, environ, environ_buf)
    }
    fn environ_sizes_get(&mut self, mem: &mut GuestMemory<'_>) -> Result<(Size, Size), Error> {
        args_env::environ_sizes_get(self, mem)
    }
    fn clock_res_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        id: Clockid,
    ) -> Result<Timestamp, Error> {
        clock::clock_res_get(self, mem, id)
    }
    fn clock_time_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        id: Clockid,
        precision: Timestamp,
    ) -> Result<Timestamp, Error> {
        clock::clock_time_get(self, mem, id, precision)
    }
    fn fd_advise(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        offset: Filesize,
        len: Filesize,
        advice: Advice,
    ) -> Result<(), Error> {
        fd_meta::fd_advise(self, mem, fd, offset, len, advice)
    }
    fn fd_allocate(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        offset: Filesize,
        len: Filesize,
    ) -> Result<(), Error> {
        fd_meta::fd_allocate(self, mem, fd, offset, len)
    }
    fn fd_close(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
        fd_table::fd_close(self, mem, fd)
    }
    fn fd_datasync(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
        fd_meta::fd_datasync(self, mem, fd)
    }
    fn fd_fdstat_get(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<Fdstat, Error> {
        fd_meta::fd_fdstat_get(self, mem, fd)
    }
    fn fd_filestat_get(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<Filestat, Error> {
        fd_meta::fd_filestat_get(self, mem, fd)
    }
    fn fd_pread(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        iovs: IovecArray,
        offset: Filesize,
    ) -> Result<Size, Error> {
        fd_io::fd_pread(self, mem, fd, iovs, offset)
    }
    fn fd_prestat_get(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<Prestat, Error> {
        fd_table::fd_prestat_get(self, mem, fd)
    }
    fn fd_pwrite(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        iovs: CiovecArray,
        offset: Filesize,
    ) -> Result<Size, Error> {
        fd_io::fd_pwrite(self, mem, fd, iovs, offset)
    }
    fn fd_read(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        iovs: IovecArray,
    ) -> Result<Size, Error> {
        fd_io::fd_read(self, mem, fd, iovs)
    }
    fn fd_readdir(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        buf: GuestPtr<u8>,
        buf_len: Size,
        cookie: Dircookie,
    ) -> Result<Size, Error> {
        fd_readdir::fd_readdir(self, mem, fd, buf, buf_len, cookie)
    }
    fn fd_renumber(&mut self, mem: &mut GuestMemory<'_>, fd: Fd, to: Fd) -> Result<(), Error> {
        fd_table::fd_renumber(self, mem, fd, to)
    }
    fn fd_seek(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        offset: Filedelta,
        whence: Whence,
    ) -> Result<Filesize, Error> {
        fd_io::fd_seek(self, mem, fd, offset, whence)
    }
    fn fd_sync(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<(), Error> {
        fd_meta::fd_sync(self, mem, fd)
    }
    fn fd_tell(&mut self, mem: &mut GuestMemory<'_>, fd: Fd) -> Result<Filesize, Error> {
        fd_io::fd_tell(self, mem, fd)
    }
    fn fd_write(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        iovs: CiovecArray,
    ) -> Result<Size, Error> {
        fd_io::fd_write(self, mem, fd, iovs)
    }
    fn path_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        flags: Lookupflags,
        path: GuestPtr<str>,
    ) -> Result<Filestat, Error> {
        path::path_filestat_get(self, mem, fd, flags, path)
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
        path::path_link(self, mem, old_fd, old_flags, old_path, new_fd, new_path)
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
        path::path_open(
            self,
            mem,
            fd,
            dirflags,
            path,
            oflags,
            fs_rights_base,
            fs_rights_inheriting,
            fdflags,
        )
    }
    fn path_readlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<str>,
        buf: GuestPtr<u8>,
        buf_len: Size,
    ) -> Result<Size, Error> {
        path::path_readlink(self, mem, fd, path, buf, buf_len)
    }
    fn path_rename(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        old_path: GuestPtr<str>,
        new_fd: Fd,
        new_path: GuestPtr<str>,
    ) -> Result<(), Error> {
        path::path_rename(self, mem, fd, old_path, new_fd, new_path)
    }
    fn path_symlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        old_path: GuestPtr<str>,
        fd: Fd,
        new_path: GuestPtr<str>,
    ) -> Result<(), Error> {
        path::path_symlink(self, mem, old_path, fd, new_path)
    }
    fn path_unlink_file(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<str>,
    ) -> Result<(), Error> {
        path::path_unlink_file(self, mem, fd, path)
    }
    fn poll_oneoff(
        &mut self,
        mem: &mut GuestMemory<'_>,
        in_: GuestPtr<Subscription>,
        out: GuestPtr<Event>,
        nsubscriptions: Size,
    ) -> Result<Size, Error> {
        poll::poll_oneoff(self, mem, in_, out, nsubscriptions)
    }
    fn proc_exit(&mut self, mem: &mut GuestMemory<'_>, rval: Exitcode) -> wiggle::error::Error {
        proc::proc_exit(self, mem, rval)
    }
    fn proc_raise(&mut self, mem: &mut GuestMemory<'_>, sig: Signal) -> Result<(), Error> {
        proc::proc_raise(self, mem, sig)
    }
    fn sched_yield(&mut self, mem: &mut GuestMemory<'_>) -> Result<(), Error> {
        proc::sched_yield(self, mem)
    }
    fn random_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        buf: GuestPtr<u8>,
        buf_len: Size,
    ) -> Result<(), Error> {
        random::random_get(self, mem, buf, buf_len)
    }
    fn sock_accept(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        flags: Fdflags,
    ) -> Result<Fd, Error> {
        sock::sock_accept(self, mem, fd, flags)
    }
    fn sock_recv(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        ri_data: IovecArray,
        ri_flags: Riflags,
    ) -> Result<(Size, Roflags), Error> {
        sock::sock_recv(self, mem, fd, ri_data, ri_flags)
    }
    fn sock_send(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        si_data: CiovecArray,
        si_flags: Siflags,
    ) -> Result<Size, Error> {
        sock::sock_send(self, mem, fd, si_data, si_flags)
    }
    fn sock_shutdown(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        how: Sdflags,
    ) -> Result<(), Error> {
        sock::sock_shutdown(self, mem, fd, how)
    }
    fn fd_fdstat_set_flags(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        flags: Fdflags,
    ) -> Result<(), Error> {
        fd_meta::fd_fdstat_set_flags(self, mem, fd, flags)
    }
    fn fd_fdstat_set_rights(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        fs_rights_base: Rights,
        fs_rights_inheriting: Rights,
    ) -> Result<(), Error> {
        fd_meta::fd_fdstat_set_rights(self, mem, fd, fs_rights_base, fs_rights_inheriting)
    }
    fn fd_filestat_set_size(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        size: Filesize,
    ) -> Result<(), Error> {
        fd_meta::fd_filestat_set_size(self, mem, fd, size)
    }
    fn fd_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        atim: Timestamp,
        mtim: Timestamp,
        fst_flags: Fstflags,
    ) -> Result<(), Error> {
        fd_meta::fd_filestat_set_times(self, mem, fd, atim, mtim, fst_flags)
    }
    fn fd_prestat_dir_name(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<u8>,
        path_len: Size,
    ) -> Result<(), Error> {
        fd_table::fd_prestat_dir_name(self, mem, fd, path, path_len)
    }
    fn path_create_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<str>,
    ) -> Result<(), Error> {
        path::path_create_directory(self, mem, fd, path)
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
        path::path_filestat_set_times(self, mem, fd, flags, path, atim, mtim, fst_flags)
    }
    fn path_remove_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: Fd,
        path: GuestPtr<str>,
    ) -> Result<(), Error> {
        path::path_remove_directory(self, mem, fd, path)
    }
}
