//! The one table of the 46 `wasi_snapshot_preview1` imports, in the witx order. Everything
//! that must list them all is generated from it: the policy's [`Syscall`](crate::policy::Syscall)
//! enum (`policy/syscall.rs`), the routing of wiggle's trait to the syscall groups and the
//! policy gate (`p1/mod.rs`), and the linker's `func_wrap`s with their raw wasm signatures
//! (`linker.rs`). A row names the import, its `Syscall` variant, the `p1` group that implements
//! it, how the linker enters it (`general`: wiggle's decoder; `fast`: our raw decoder in
//! `p1/fast.rs` first; `exit`: `proc_exit`, which never returns), its raw wasm parameters and
//! its typed ones. The compiler checks both signatures against the witx-generated code.

/// Calls `$callback! { rows }` with the table; see the module docs for the row format.
macro_rules! for_each_syscall {
    ($callback:ident) => {
        $callback! {
            args_get => ArgsGet, args_env, general, (a: i32, b: i32), (argv: GuestPtr<GuestPtr<u8>>, argv_buf: GuestPtr<u8>) -> ();
            args_sizes_get => ArgsSizesGet, args_env, general, (a: i32, b: i32), () -> (Size, Size);
            environ_get => EnvironGet, args_env, general, (a: i32, b: i32), (environ: GuestPtr<GuestPtr<u8>>, environ_buf: GuestPtr<u8>) -> ();
            environ_sizes_get => EnvironSizesGet, args_env, general, (a: i32, b: i32), () -> (Size, Size);
            clock_res_get => ClockResGet, clock, general, (a: i32, b: i32), (id: Clockid) -> Timestamp;
            clock_time_get => ClockTimeGet, clock, fast, (a: i32, b: i64, c: i32), (id: Clockid, precision: Timestamp) -> Timestamp;
            fd_advise => FdAdvise, fd_meta, general, (a: i32, b: i64, c: i64, d: i32), (fd: Fd, offset: Filesize, len: Filesize, advice: Advice) -> ();
            fd_allocate => FdAllocate, fd_meta, general, (a: i32, b: i64, c: i64), (fd: Fd, offset: Filesize, len: Filesize) -> ();
            fd_close => FdClose, fd_table, general, (a: i32), (fd: Fd) -> ();
            fd_datasync => FdDatasync, fd_meta, general, (a: i32), (fd: Fd) -> ();
            fd_fdstat_get => FdFdstatGet, fd_meta, general, (a: i32, b: i32), (fd: Fd) -> Fdstat;
            fd_fdstat_set_flags => FdFdstatSetFlags, fd_meta, general, (a: i32, b: i32), (fd: Fd, flags: Fdflags) -> ();
            fd_fdstat_set_rights => FdFdstatSetRights, fd_meta, general, (a: i32, b: i64, c: i64), (fd: Fd, fs_rights_base: Rights, fs_rights_inheriting: Rights) -> ();
            fd_filestat_get => FdFilestatGet, fd_meta, general, (a: i32, b: i32), (fd: Fd) -> Filestat;
            fd_filestat_set_size => FdFilestatSetSize, fd_meta, general, (a: i32, b: i64), (fd: Fd, size: Filesize) -> ();
            fd_filestat_set_times => FdFilestatSetTimes, fd_meta, general, (a: i32, b: i64, c: i64, d: i32), (fd: Fd, atim: Timestamp, mtim: Timestamp, fst_flags: Fstflags) -> ();
            fd_pread => FdPread, fd_io, general, (a: i32, b: i32, c: i32, d: i64, e: i32), (fd: Fd, iovs: IovecArray, offset: Filesize) -> Size;
            fd_prestat_get => FdPrestatGet, fd_table, general, (a: i32, b: i32), (fd: Fd) -> Prestat;
            fd_prestat_dir_name => FdPrestatDirName, fd_table, general, (a: i32, b: i32, c: i32), (fd: Fd, path: GuestPtr<u8>, path_len: Size) -> ();
            fd_pwrite => FdPwrite, fd_io, general, (a: i32, b: i32, c: i32, d: i64, e: i32), (fd: Fd, iovs: CiovecArray, offset: Filesize) -> Size;
            fd_read => FdRead, fd_io, general, (a: i32, b: i32, c: i32, d: i32), (fd: Fd, iovs: IovecArray) -> Size;
            fd_readdir => FdReaddir, fd_readdir, general, (a: i32, b: i32, c: i32, d: i64, e: i32), (fd: Fd, buf: GuestPtr<u8>, buf_len: Size, cookie: Dircookie) -> Size;
            fd_renumber => FdRenumber, fd_table, general, (a: i32, b: i32), (fd: Fd, to: Fd) -> ();
            fd_seek => FdSeek, fd_io, general, (a: i32, b: i64, c: i32, d: i32), (fd: Fd, offset: Filedelta, whence: Whence) -> Filesize;
            fd_sync => FdSync, fd_meta, general, (a: i32), (fd: Fd) -> ();
            fd_tell => FdTell, fd_io, general, (a: i32, b: i32), (fd: Fd) -> Filesize;
            fd_write => FdWrite, fd_io, fast, (a: i32, b: i32, c: i32, d: i32), (fd: Fd, iovs: CiovecArray) -> Size;
            path_create_directory => PathCreateDirectory, path, general, (a: i32, b: i32, c: i32), (fd: Fd, path: GuestPtr<str>) -> ();
            path_filestat_get => PathFilestatGet, path, general, (a: i32, b: i32, c: i32, d: i32, e: i32), (fd: Fd, flags: Lookupflags, path: GuestPtr<str>) -> Filestat;
            path_filestat_set_times => PathFilestatSetTimes, path, general, (a: i32, b: i32, c: i32, d: i32, e: i64, f: i64, g: i32), (fd: Fd, flags: Lookupflags, path: GuestPtr<str>, atim: Timestamp, mtim: Timestamp, fst_flags: Fstflags) -> ();
            path_link => PathLink, path, general, (a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32), (old_fd: Fd, old_flags: Lookupflags, old_path: GuestPtr<str>, new_fd: Fd, new_path: GuestPtr<str>) -> ();
            path_open => PathOpen, path, fast, (a: i32, b: i32, c: i32, d: i32, e: i32, f: i64, g: i64, h: i32, i: i32), (fd: Fd, dirflags: Lookupflags, path: GuestPtr<str>, oflags: Oflags, fs_rights_base: Rights, fs_rights_inheriting: Rights, fdflags: Fdflags) -> Fd;
            path_readlink => PathReadlink, path, general, (a: i32, b: i32, c: i32, d: i32, e: i32, f: i32), (fd: Fd, path: GuestPtr<str>, buf: GuestPtr<u8>, buf_len: Size) -> Size;
            path_remove_directory => PathRemoveDirectory, path, general, (a: i32, b: i32, c: i32), (fd: Fd, path: GuestPtr<str>) -> ();
            path_rename => PathRename, path, general, (a: i32, b: i32, c: i32, d: i32, e: i32, f: i32), (fd: Fd, old_path: GuestPtr<str>, new_fd: Fd, new_path: GuestPtr<str>) -> ();
            path_symlink => PathSymlink, path, general, (a: i32, b: i32, c: i32, d: i32, e: i32), (old_path: GuestPtr<str>, fd: Fd, new_path: GuestPtr<str>) -> ();
            path_unlink_file => PathUnlinkFile, path, general, (a: i32, b: i32, c: i32), (fd: Fd, path: GuestPtr<str>) -> ();
            poll_oneoff => PollOneoff, poll, general, (a: i32, b: i32, c: i32, d: i32), (in_: GuestPtr<Subscription>, out: GuestPtr<Event>, nsubscriptions: Size) -> Size;
            proc_exit => ProcExit, proc, exit, (a: i32), (rval: Exitcode) -> ();
            proc_raise => ProcRaise, proc, general, (a: i32), (sig: Signal) -> ();
            sched_yield => SchedYield, proc, general, (), () -> ();
            random_get => RandomGet, random, fast, (a: i32, b: i32), (buf: GuestPtr<u8>, buf_len: Size) -> ();
            sock_accept => SockAccept, sock, general, (a: i32, b: i32, c: i32), (fd: Fd, flags: Fdflags) -> Fd;
            sock_recv => SockRecv, sock, general, (a: i32, b: i32, c: i32, d: i32, e: i32, f: i32), (fd: Fd, ri_data: IovecArray, ri_flags: Riflags) -> (Size, Roflags);
            sock_send => SockSend, sock, general, (a: i32, b: i32, c: i32, d: i32, e: i32), (fd: Fd, si_data: CiovecArray, si_flags: Siflags) -> Size;
            sock_shutdown => SockShutdown, sock, general, (a: i32, b: i32), (fd: Fd, how: Sdflags) -> ();
        }
    };
}

pub(crate) use for_each_syscall;
