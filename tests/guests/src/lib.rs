//! Shared helpers of the guest programs: raw `wasi_snapshot_preview1` imports (std hides most of
//! their errnos), thin wrappers that return `Result<T, Errno>`, and the printing conventions every
//! program follows — `op -> Ok(value)` / `op -> Err(noent)` lines, no inode numbers, no absolute
//! times, no host paths, so the output of two runtimes can be compared byte for byte.
#![allow(clippy::missing_safety_doc)]

use std::fmt::{self, Debug};
use std::io::Write;

/// The raw imports, declared by hand so the guests need no crates. Pointers are guest addresses.
pub mod sys {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        pub fn args_get(argv: *mut *mut u8, buf: *mut u8) -> i32;
        pub fn args_sizes_get(argc: *mut u32, buf_size: *mut u32) -> i32;
        pub fn environ_get(environ: *mut *mut u8, buf: *mut u8) -> i32;
        pub fn environ_sizes_get(count: *mut u32, buf_size: *mut u32) -> i32;
        pub fn clock_res_get(id: u32, res: *mut u64) -> i32;
        pub fn clock_time_get(id: u32, precision: u64, time: *mut u64) -> i32;
        pub fn fd_advise(fd: u32, offset: u64, len: u64, advice: u32) -> i32;
        pub fn fd_allocate(fd: u32, offset: u64, len: u64) -> i32;
        pub fn fd_close(fd: u32) -> i32;
        pub fn fd_datasync(fd: u32) -> i32;
        pub fn fd_fdstat_get(fd: u32, stat: *mut u8) -> i32;
        pub fn fd_fdstat_set_flags(fd: u32, flags: u32) -> i32;
        pub fn fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64) -> i32;
        pub fn fd_filestat_get(fd: u32, stat: *mut u8) -> i32;
        pub fn fd_filestat_set_size(fd: u32, size: u64) -> i32;
        pub fn fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, flags: u32) -> i32;
        pub fn fd_pread(fd: u32, iovs: *const u32, n: u32, offset: u64, nread: *mut u32) -> i32;
        pub fn fd_prestat_get(fd: u32, prestat: *mut u32) -> i32;
        pub fn fd_prestat_dir_name(fd: u32, path: *mut u8, len: u32) -> i32;
        pub fn fd_pwrite(fd: u32, iovs: *const u32, n: u32, offset: u64, nw: *mut u32) -> i32;
        pub fn fd_read(fd: u32, iovs: *const u32, n: u32, nread: *mut u32) -> i32;
        pub fn fd_readdir(fd: u32, buf: *mut u8, len: u32, cookie: u64, used: *mut u32) -> i32;
        pub fn fd_renumber(fd: u32, to: u32) -> i32;
        pub fn fd_seek(fd: u32, offset: i64, whence: u32, newoffset: *mut u64) -> i32;
        pub fn fd_sync(fd: u32) -> i32;
        pub fn fd_tell(fd: u32, offset: *mut u64) -> i32;
        pub fn fd_write(fd: u32, iovs: *const u32, n: u32, nwritten: *mut u32) -> i32;
        pub fn path_create_directory(fd: u32, path: *const u8, len: u32) -> i32;
        pub fn path_filestat_get(fd: u32, flags: u32, p: *const u8, l: u32, st: *mut u8) -> i32;
        pub fn path_filestat_set_times(
            fd: u32,
            flags: u32,
            path: *const u8,
            len: u32,
            atim: u64,
            mtim: u64,
            fst_flags: u32,
        ) -> i32;
        pub fn path_link(
            old_fd: u32,
            old_flags: u32,
            old_path: *const u8,
            old_len: u32,
            new_fd: u32,
            new_path: *const u8,
            new_len: u32,
        ) -> i32;
        pub fn path_open(
            fd: u32,
            dirflags: u32,
            path: *const u8,
            len: u32,
            oflags: u32,
            base: u64,
            inheriting: u64,
            fdflags: u32,
            opened: *mut u32,
        ) -> i32;
        pub fn path_readlink(
            fd: u32,
            path: *const u8,
            len: u32,
            buf: *mut u8,
            buf_len: u32,
            used: *mut u32,
        ) -> i32;
        pub fn path_remove_directory(fd: u32, path: *const u8, len: u32) -> i32;
        pub fn path_rename(
            fd: u32,
            old: *const u8,
            old_len: u32,
            new_fd: u32,
            new: *const u8,
            new_len: u32,
        ) -> i32;
        pub fn path_symlink(old: *const u8, old_len: u32, fd: u32, new: *const u8, l: u32) -> i32;
        pub fn path_unlink_file(fd: u32, path: *const u8, len: u32) -> i32;
        pub fn poll_oneoff(subs: *const u8, events: *mut u8, n: u32, nevents: *mut u32) -> i32;
        pub fn proc_exit(code: u32) -> !;
        pub fn proc_raise(sig: u32) -> i32;
        pub fn sched_yield() -> i32;
        pub fn random_get(buf: *mut u8, len: u32) -> i32;
        pub fn sock_accept(fd: u32, flags: u32, new_fd: *mut u32) -> i32;
        pub fn sock_recv(
            fd: u32,
            iovs: *const u32,
            n: u32,
            flags: u32,
            len: *mut u32,
            oflags: *mut u32,
        ) -> i32;
        pub fn sock_send(fd: u32, iovs: *const u32, n: u32, flags: u32, len: *mut u32) -> i32;
        pub fn sock_shutdown(fd: u32, how: u32) -> i32;
    }
}

/// The preopened root every scenario gets (mounted as `/`).
pub const ROOT: u32 = 3;

/// A preview1 errno, printed by name so the outputs read well.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub u16);

const ERRNO_NAMES: [&str; 77] = [
    "success",
    "2big",
    "acces",
    "addrinuse",
    "addrnotavail",
    "afnosupport",
    "again",
    "already",
    "badf",
    "badmsg",
    "busy",
    "canceled",
    "child",
    "connaborted",
    "connrefused",
    "connreset",
    "deadlk",
    "destaddrreq",
    "dom",
    "dquot",
    "exist",
    "fault",
    "fbig",
    "hostunreach",
    "idrm",
    "ilseq",
    "inprogress",
    "intr",
    "inval",
    "io",
    "isconn",
    "isdir",
    "loop",
    "mfile",
    "mlink",
    "msgsize",
    "multihop",
    "nametoolong",
    "netdown",
    "netreset",
    "netunreach",
    "nfile",
    "nobufs",
    "nodev",
    "noent",
    "noexec",
    "nolck",
    "nolink",
    "nomem",
    "nomsg",
    "noprotoopt",
    "nospc",
    "nosys",
    "notconn",
    "notdir",
    "notempty",
    "notrecoverable",
    "notsock",
    "notsup",
    "notty",
    "nxio",
    "overflow",
    "ownerdead",
    "perm",
    "pipe",
    "proto",
    "protonosupport",
    "prototype",
    "range",
    "rofs",
    "spipe",
    "srch",
    "stale",
    "timedout",
    "txtbsy",
    "xdev",
    "notcapable",
];

impl Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match ERRNO_NAMES.get(usize::from(self.0)) {
            Some(name) => f.write_str(name),
            None => write!(f, "errno{}", self.0),
        }
    }
}

pub type R<T> = Result<T, Errno>;

fn check(errno: i32) -> R<()> {
    if errno == 0 {
        Ok(())
    } else {
        Err(Errno(errno as u16))
    }
}

/// Prints `label -> Ok(value)` or `label -> Err(name)`, the line every program is made of.
pub fn show<T: Debug>(label: &str, result: &R<T>) {
    println!("{label} -> {result:?}");
}

/// Like [`show`] but only says whether the call succeeded (for values that are not deterministic).
pub fn show_ok<T>(label: &str, result: &R<T>) {
    match result {
        Ok(_) => println!("{label} -> Ok"),
        Err(e) => println!("{label} -> Err({e:?})"),
    }
}

/// Flushes stdout and exits with `code` through `proc_exit`.
pub fn exit(code: u32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    unsafe { sys::proc_exit(code) }
}

// Rights bits, as the witx numbers them.
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    /// Every right preview1 defines.
    pub const ALL: u64 = (1 << 30) - 1;
    // The three open modes request what wasi-libc's open() requests for O_RDONLY, O_WRONLY and
    // O_RDWR, so the guests see what ordinary C and Rust programs see.
    const WRITE_ONLY_RIGHTS: u64 = FD_DATASYNC | FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;
    const READ_ONLY_RIGHTS: u64 = FD_READ | FD_READDIR;
    /// What a read-only descriptor is opened with.
    pub const READ: u64 = ALL & !WRITE_ONLY_RIGHTS;
    /// What a write-only descriptor is opened with.
    pub const WRITE: u64 = ALL & !READ_ONLY_RIGHTS;
    /// Read and write.
    pub const RW: u64 = ALL;
}

pub mod oflags {
    pub const CREAT: u32 = 1;
    pub const DIRECTORY: u32 = 2;
    pub const EXCL: u32 = 4;
    pub const TRUNC: u32 = 8;
}

pub mod fdflags {
    pub const APPEND: u32 = 1;
    pub const DSYNC: u32 = 2;
    pub const NONBLOCK: u32 = 4;
    pub const RSYNC: u32 = 8;
    pub const SYNC: u32 = 16;
}

/// `lookupflags::SYMLINK_FOLLOW`.
pub const FOLLOW: u32 = 1;

pub mod whence {
    pub const SET: u32 = 0;
    pub const CUR: u32 = 1;
    pub const END: u32 = 2;
}

pub mod fst {
    pub const ATIM: u32 = 1;
    pub const ATIM_NOW: u32 = 2;
    pub const MTIM: u32 = 4;
    pub const MTIM_NOW: u32 = 8;
}

/// A file type as preview1 numbers it, printed by name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileType(pub u8);

impl Debug for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0 => "unknown",
            1 => "block_device",
            2 => "character_device",
            3 => "directory",
            4 => "regular_file",
            5 => "socket_dgram",
            6 => "socket_stream",
            7 => "symbolic_link",
            n => return write!(f, "filetype{n}"),
        };
        f.write_str(name)
    }
}

pub const DIRECTORY: FileType = FileType(3);
pub const REGULAR_FILE: FileType = FileType(4);
pub const SYMBOLIC_LINK: FileType = FileType(7);

/// The fields of a filestat a deterministic program may print (no dev, ino or times).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: FileType,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl Debug for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} size={} nlink={}",
            self.filetype, self.size, self.nlink
        )
    }
}

fn decode_stat(buf: &[u8; 64]) -> Stat {
    let u = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
    Stat {
        dev: u(0),
        ino: u(8),
        filetype: FileType(buf[16]),
        nlink: u(24),
        size: u(32),
        atim: u(40),
        mtim: u(48),
        ctim: u(56),
    }
}

/// The decoded `fdstat` (rights are printed only where a program means to).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fdstat {
    pub filetype: FileType,
    pub flags: u16,
    pub base: u64,
    pub inheriting: u64,
}

impl Debug for Fdstat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} flags={:#x}", self.filetype, self.flags)
    }
}

// ---- wrappers -------------------------------------------------------------------------------

pub fn args() -> R<Vec<Vec<u8>>> {
    unsafe { strings(sys::args_sizes_get, sys::args_get) }
}

pub fn environ() -> R<Vec<Vec<u8>>> {
    unsafe { strings(sys::environ_sizes_get, sys::environ_get) }
}

unsafe fn strings(
    sizes: unsafe extern "C" fn(*mut u32, *mut u32) -> i32,
    get: unsafe extern "C" fn(*mut *mut u8, *mut u8) -> i32,
) -> R<Vec<Vec<u8>>> {
    let (mut count, mut size) = (0u32, 0u32);
    check(unsafe { sizes(&mut count, &mut size) })?;
    let mut ptrs = vec![std::ptr::null_mut::<u8>(); count as usize];
    let mut buf = vec![0u8; size as usize];
    check(unsafe { get(ptrs.as_mut_ptr(), buf.as_mut_ptr()) })?;
    let base = buf.as_ptr() as usize;
    let mut out = Vec::new();
    for p in ptrs {
        let start = p as usize - base;
        let end = buf[start..]
            .iter()
            .position(|&b| b == 0)
            .map(|n| start + n)
            .unwrap();
        out.push(buf[start..end].to_vec());
    }
    Ok(out)
}

pub fn clock_res(id: u32) -> R<u64> {
    let mut v = 0;
    check(unsafe { sys::clock_res_get(id, &mut v) }).map(|()| v)
}

pub fn clock_time(id: u32) -> R<u64> {
    let mut v = 0;
    check(unsafe { sys::clock_time_get(id, 1, &mut v) }).map(|()| v)
}

pub fn random(buf: &mut [u8]) -> R<()> {
    check(unsafe { sys::random_get(buf.as_mut_ptr(), buf.len() as u32) })
}

/// `path_open` with `rights` as the base rights and every right as the inheriting ones (the
/// runtime narrows them to what `dir` may hand down, as wasi-libc relies on).
pub fn open(dir: u32, dirflags: u32, path: &str, oflags: u32, rights: u64, fdflags: u32) -> R<u32> {
    let mut fd = 0;
    check(unsafe {
        sys::path_open(
            dir,
            dirflags,
            path.as_ptr(),
            path.len() as u32,
            oflags,
            rights,
            rights::ALL,
            fdflags,
            &mut fd,
        )
    })
    .map(|()| fd)
}

/// Opens `path` below the root, following symlinks, with the given oflags and rights.
pub fn open_at_root(path: &str, oflags: u32, rights: u64) -> R<u32> {
    open(ROOT, FOLLOW, path, oflags, rights, 0)
}

/// Opens a directory below the root for reading it and opening things in it (every right but
/// FD_WRITE, which would ask for a writable directory: isdir).
pub fn open_dir(path: &str) -> R<u32> {
    open(
        ROOT,
        FOLLOW,
        path,
        oflags::DIRECTORY,
        rights::ALL & !rights::FD_WRITE,
        0,
    )
}

pub fn close(fd: u32) -> R<()> {
    check(unsafe { sys::fd_close(fd) })
}

pub fn write(fd: u32, data: &[u8]) -> R<u32> {
    writev(fd, &[data])
}

pub fn writev(fd: u32, bufs: &[&[u8]]) -> R<u32> {
    let iovs = iovecs(bufs.iter().map(|b| (b.as_ptr() as u32, b.len() as u32)));
    let mut n = 0;
    check(unsafe { sys::fd_write(fd, iovs.as_ptr(), bufs.len() as u32, &mut n) }).map(|()| n)
}

pub fn pwrite(fd: u32, data: &[u8], offset: u64) -> R<u32> {
    let iovs = [data.as_ptr() as u32, data.len() as u32];
    let mut n = 0;
    check(unsafe { sys::fd_pwrite(fd, iovs.as_ptr(), 1, offset, &mut n) }).map(|()| n)
}

/// Reads up to `len` bytes.
pub fn read(fd: u32, len: usize) -> R<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let iovs = [buf.as_mut_ptr() as u32, len as u32];
    let mut n = 0;
    check(unsafe { sys::fd_read(fd, iovs.as_ptr(), 1, &mut n) })?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// Reads into several buffers of the given sizes; returns what each got.
pub fn readv(fd: u32, sizes: &[usize]) -> R<Vec<Vec<u8>>> {
    let mut bufs: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![0u8; n]).collect();
    let iovs = iovecs(
        bufs.iter_mut()
            .map(|b| (b.as_mut_ptr() as u32, b.len() as u32)),
    );
    let mut n = 0;
    check(unsafe { sys::fd_read(fd, iovs.as_ptr(), sizes.len() as u32, &mut n) })?;
    let mut left = n as usize;
    for b in bufs.iter_mut() {
        let take = left.min(b.len());
        b.truncate(take);
        left -= take;
    }
    Ok(bufs)
}

/// Reads until end of file.
pub fn read_all(fd: u32) -> R<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let chunk = read(fd, 4096)?;
        if chunk.is_empty() {
            return Ok(out);
        }
        out.extend_from_slice(&chunk);
    }
}

pub fn pread(fd: u32, len: usize, offset: u64) -> R<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let iovs = [buf.as_mut_ptr() as u32, len as u32];
    let mut n = 0;
    check(unsafe { sys::fd_pread(fd, iovs.as_ptr(), 1, offset, &mut n) })?;
    buf.truncate(n as usize);
    Ok(buf)
}

fn iovecs(parts: impl Iterator<Item = (u32, u32)>) -> Vec<u32> {
    parts.flat_map(|(p, l)| [p, l]).collect()
}

pub fn seek(fd: u32, offset: i64, whence: u32) -> R<u64> {
    let mut pos = 0;
    check(unsafe { sys::fd_seek(fd, offset, whence, &mut pos) }).map(|()| pos)
}

pub fn tell(fd: u32) -> R<u64> {
    let mut pos = 0;
    check(unsafe { sys::fd_tell(fd, &mut pos) }).map(|()| pos)
}

pub fn fdstat(fd: u32) -> R<Fdstat> {
    let mut buf = [0u64; 3];
    check(unsafe { sys::fd_fdstat_get(fd, buf.as_mut_ptr().cast()) })?;
    let bytes = buf[0].to_le_bytes();
    Ok(Fdstat {
        filetype: FileType(bytes[0]),
        flags: u16::from_le_bytes([bytes[2], bytes[3]]),
        base: buf[1],
        inheriting: buf[2],
    })
}

pub fn set_flags(fd: u32, flags: u32) -> R<()> {
    check(unsafe { sys::fd_fdstat_set_flags(fd, flags) })
}

pub fn set_rights(fd: u32, base: u64, inheriting: u64) -> R<()> {
    check(unsafe { sys::fd_fdstat_set_rights(fd, base, inheriting) })
}

pub fn fstat(fd: u32) -> R<Stat> {
    let mut buf = [0u64; 8];
    check(unsafe { sys::fd_filestat_get(fd, buf.as_mut_ptr().cast()) })?;
    Ok(decode_stat(unsafe { &*(buf.as_ptr() as *const [u8; 64]) }))
}

pub fn stat_at(dir: u32, flags: u32, path: &str) -> R<Stat> {
    let mut buf = [0u64; 8];
    check(unsafe {
        sys::path_filestat_get(
            dir,
            flags,
            path.as_ptr(),
            path.len() as u32,
            buf.as_mut_ptr().cast(),
        )
    })?;
    Ok(decode_stat(unsafe { &*(buf.as_ptr() as *const [u8; 64]) }))
}

/// `path_filestat_get` below the root, following symlinks.
pub fn stat(path: &str) -> R<Stat> {
    stat_at(ROOT, FOLLOW, path)
}

/// `path_filestat_get` below the root, not following a final symlink.
pub fn lstat(path: &str) -> R<Stat> {
    stat_at(ROOT, 0, path)
}

pub fn set_size(fd: u32, size: u64) -> R<()> {
    check(unsafe { sys::fd_filestat_set_size(fd, size) })
}

pub fn fset_times(fd: u32, atim: u64, mtim: u64, flags: u32) -> R<()> {
    check(unsafe { sys::fd_filestat_set_times(fd, atim, mtim, flags) })
}

pub fn set_times_at(dir: u32, lookup: u32, path: &str, atim: u64, mtim: u64, flags: u32) -> R<()> {
    check(unsafe {
        sys::path_filestat_set_times(
            dir,
            lookup,
            path.as_ptr(),
            path.len() as u32,
            atim,
            mtim,
            flags,
        )
    })
}

pub fn allocate(fd: u32, offset: u64, len: u64) -> R<()> {
    check(unsafe { sys::fd_allocate(fd, offset, len) })
}

pub fn advise(fd: u32, offset: u64, len: u64, advice: u32) -> R<()> {
    check(unsafe { sys::fd_advise(fd, offset, len, advice) })
}

pub fn sync(fd: u32) -> R<()> {
    check(unsafe { sys::fd_sync(fd) })
}

pub fn datasync(fd: u32) -> R<()> {
    check(unsafe { sys::fd_datasync(fd) })
}

pub fn renumber(from: u32, to: u32) -> R<()> {
    check(unsafe { sys::fd_renumber(from, to) })
}

/// `fd_prestat_get`: the length of a preopen's name.
pub fn prestat_name_len(fd: u32) -> R<u32> {
    let mut buf = [0u32; 2];
    check(unsafe { sys::fd_prestat_get(fd, buf.as_mut_ptr()) })?;
    Ok(buf[1])
}

pub fn prestat_name(fd: u32, len: u32) -> R<String> {
    let mut buf = vec![0u8; len as usize];
    check(unsafe { sys::fd_prestat_dir_name(fd, buf.as_mut_ptr(), len) })?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub fn mkdir(path: &str) -> R<()> {
    mkdir_at(ROOT, path)
}

pub fn mkdir_at(dir: u32, path: &str) -> R<()> {
    check(unsafe { sys::path_create_directory(dir, path.as_ptr(), path.len() as u32) })
}

pub fn rmdir(path: &str) -> R<()> {
    rmdir_at(ROOT, path)
}

pub fn rmdir_at(dir: u32, path: &str) -> R<()> {
    check(unsafe { sys::path_remove_directory(dir, path.as_ptr(), path.len() as u32) })
}

pub fn unlink(path: &str) -> R<()> {
    unlink_at(ROOT, path)
}

pub fn unlink_at(dir: u32, path: &str) -> R<()> {
    check(unsafe { sys::path_unlink_file(dir, path.as_ptr(), path.len() as u32) })
}

/// `path_symlink(target, ROOT, path)`.
pub fn symlink(target: &str, path: &str) -> R<()> {
    check(unsafe {
        sys::path_symlink(
            target.as_ptr(),
            target.len() as u32,
            ROOT,
            path.as_ptr(),
            path.len() as u32,
        )
    })
}

pub fn readlink(path: &str, buf_len: usize) -> R<String> {
    let mut buf = vec![0u8; buf_len];
    let mut used = 0;
    check(unsafe {
        sys::path_readlink(
            ROOT,
            path.as_ptr(),
            path.len() as u32,
            buf.as_mut_ptr(),
            buf_len as u32,
            &mut used,
        )
    })?;
    buf.truncate(used as usize);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub fn link(old_flags: u32, old: &str, new: &str) -> R<()> {
    check(unsafe {
        sys::path_link(
            ROOT,
            old_flags,
            old.as_ptr(),
            old.len() as u32,
            ROOT,
            new.as_ptr(),
            new.len() as u32,
        )
    })
}

pub fn rename(old: &str, new: &str) -> R<()> {
    rename_at(ROOT, old, ROOT, new)
}

pub fn rename_at(old_dir: u32, old: &str, new_dir: u32, new: &str) -> R<()> {
    check(unsafe {
        sys::path_rename(
            old_dir,
            old.as_ptr(),
            old.len() as u32,
            new_dir,
            new.as_ptr(),
            new.len() as u32,
        )
    })
}

/// Creates (or truncates) `path` below the root with `data`.
pub fn put(path: &str, data: &[u8]) -> R<()> {
    let fd = open_at_root(path, oflags::CREAT | oflags::TRUNC, rights::RW)?;
    let result = write(fd, data);
    close(fd)?;
    result.map(|_| ())
}

/// Reads the whole of `path` below the root.
pub fn get(path: &str) -> R<Vec<u8>> {
    let fd = open_at_root(path, 0, rights::READ)?;
    let result = read_all(fd);
    close(fd)?;
    result
}

/// Reads `path` and shows it as text.
pub fn show_file(path: &str) {
    let r = get(path).map(|b| String::from_utf8_lossy(&b).into_owned());
    show(&format!("read {path}"), &r);
}

/// One raw `fd_readdir` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirent {
    pub next: u64,
    pub ino: u64,
    pub filetype: FileType,
    pub name: String,
}

/// One `fd_readdir` call: the whole entries that fit and whether the buffer was filled.
pub fn readdir_once(fd: u32, buf_len: usize, cookie: u64) -> R<(Vec<Dirent>, bool)> {
    let mut buf = vec![0u8; buf_len];
    let mut used = 0;
    check(unsafe { sys::fd_readdir(fd, buf.as_mut_ptr(), buf_len as u32, cookie, &mut used) })?;
    let used = used as usize;
    let full = used == buf_len;
    let mut entries = Vec::new();
    let mut at = 0;
    while at + 24 <= used {
        let u = |i: usize| u64::from_le_bytes(buf[i..i + 8].try_into().unwrap());
        let next = u(at);
        let ino = u(at + 8);
        let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
        let filetype = FileType(buf[at + 20]);
        if at + 24 + namlen > used {
            break; // a truncated name: the caller retries with a bigger buffer
        }
        let name = String::from_utf8_lossy(&buf[at + 24..at + 24 + namlen]).into_owned();
        entries.push(Dirent {
            next,
            ino,
            filetype,
            name,
        });
        at += 24 + namlen;
    }
    Ok((entries, full))
}

/// Reads a whole directory with buffers of `buf_len` bytes, resuming by cookie.
pub fn readdir_all(fd: u32, buf_len: usize) -> R<Vec<Dirent>> {
    let mut cookie = 0;
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let (entries, full) = readdir_once(fd, buf_len, cookie)?;
        if let Some(last) = entries.last() {
            cookie = last.next;
        }
        let got = entries.len();
        out.extend(entries);
        if !full {
            return Ok(out);
        }
        if got == 0 {
            // The buffer cannot hold one entry: grow it for this entry only.
            let (entries, _) = readdir_once(fd, 4096, cookie)?;
            match entries.into_iter().next() {
                Some(e) => {
                    cookie = e.next;
                    out.push(e);
                }
                None => return Ok(out),
            }
        }
    }
    panic!("readdir did not finish");
}

/// Sorted names (and types) of a directory below the root, `.` and `..` left out.
pub fn list(path: &str) -> R<Vec<(String, FileType)>> {
    let fd = open_dir(if path.is_empty() { "." } else { path })?;
    let entries = readdir_all(fd, 256);
    close(fd)?;
    let mut names: Vec<_> = entries?
        .into_iter()
        .filter(|e| e.name != "." && e.name != "..")
        .map(|e| (e.name, e.filetype))
        .collect();
    names.sort();
    Ok(names)
}

/// Prints the sorted listing of a directory, one `name type` per entry.
pub fn show_list(path: &str) {
    match list(path) {
        Ok(names) => {
            let parts: Vec<String> = names.iter().map(|(n, t)| format!("{n}:{t:?}")).collect();
            println!("list /{path} -> [{}]", parts.join(", "));
        }
        Err(e) => println!("list /{path} -> Err({e:?})"),
    }
}

/// A subscription record for `poll_oneoff`, 48 bytes as the ABI lays it out.
pub fn clock_subscription(userdata: u64, clock: u32, timeout: u64, abstime: bool) -> [u8; 48] {
    let mut s = [0u8; 48];
    s[0..8].copy_from_slice(&userdata.to_le_bytes());
    s[8] = 0; // eventtype::clock
    s[16..20].copy_from_slice(&clock.to_le_bytes());
    s[24..32].copy_from_slice(&timeout.to_le_bytes());
    s[32..40].copy_from_slice(&0u64.to_le_bytes()); // precision
    s[40..42].copy_from_slice(&(abstime as u16).to_le_bytes());
    s
}

/// An fd_read (tag 1) or fd_write (tag 2) subscription.
pub fn fd_subscription(userdata: u64, write: bool, fd: u32) -> [u8; 48] {
    let mut s = [0u8; 48];
    s[0..8].copy_from_slice(&userdata.to_le_bytes());
    s[8] = if write { 2 } else { 1 };
    s[16..20].copy_from_slice(&fd.to_le_bytes());
    s
}

/// One decoded event.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Event {
    pub userdata: u64,
    pub error: u16,
    pub kind: u8,
    pub nbytes: u64,
    pub flags: u16,
}

pub fn poll(subs: &[[u8; 48]]) -> R<Vec<Event>> {
    let flat: Vec<u8> = subs.iter().flatten().copied().collect();
    let mut events = vec![0u8; 32 * subs.len().max(1)];
    let mut n = 0;
    check(unsafe {
        sys::poll_oneoff(
            flat.as_ptr(),
            events.as_mut_ptr(),
            subs.len() as u32,
            &mut n,
        )
    })?;
    let mut out = Vec::new();
    for i in 0..n as usize {
        let e = &events[i * 32..i * 32 + 32];
        out.push(Event {
            userdata: u64::from_le_bytes(e[0..8].try_into().unwrap()),
            error: u16::from_le_bytes([e[8], e[9]]),
            kind: e[10],
            nbytes: u64::from_le_bytes(e[16..24].try_into().unwrap()),
            flags: u16::from_le_bytes([e[24], e[25]]),
        });
    }
    Ok(out)
}
