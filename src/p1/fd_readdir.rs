//! `fd_readdir`: serialises a directory's entries into the guest buffer in preview1's format
//! (24-byte dirent header, then the name, no terminator), truncating the last entry when the
//! buffer is full, exactly as wasmtime. Entries are fetched from the backend in bounded batches
//! sized by the room left, so a huge `buf_len` never makes a huge host allocation; headers are
//! written field by field into zeroed bytes, so no host padding ever reaches the guest.

use super::convert;
use super::path::write_truncated;
use crate::abi::types::*;
use crate::ctx::WasiCtx;
use crate::vfs::DirEntry;
use wiggle::{GuestMemory, GuestPtr};

/// Size of the dirent header in guest memory (d_next u64, d_ino u64, d_namlen u32,
/// d_type u8, 3 bytes of padding).
const DIRENT_SIZE: u32 = 24;

/// Most entries asked of the backend at once.
const BATCH: usize = crate::limits::READDIR_BATCH;

/// readdir-like: EBADF, ENOTDIR, ENOTCAPABLE (FD_READDIR), and backend errors (EINVAL for
/// a cookie the backend cannot resume from). Returns the bytes written: less than `buf_len`
/// means the end was reached; exactly `buf_len` means "maybe more, call again".
pub(crate) fn fd_readdir(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    buf: GuestPtr<u8>,
    buf_len: Size,
    cookie: Dircookie,
) -> Result<Size, Error> {
    let dir = ctx
        .table
        .dir(fd.into(), &crate::rights::dir(Rights::FD_READDIR))?;
    let s = crate::policy::Syscall::FdReaddir;
    ctx.gate.check(s, || {
        super::request::on_dir(s, fd, &dir)
            .access(crate::policy::Access::READDIR)
            .offset(cookie)
    })?;
    let dir = dir.dir;
    let mut out = Out {
        ptr: buf.offset(),
        left: buf_len,
    };
    let mut cookie = cookie;
    loop {
        // Every entry takes at least a header, so more than `left / 24 + 1` cannot show.
        let room = usize::try_from(out.left / DIRENT_SIZE)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        // The batch is the only host allocation this call makes, so it is sized by what can still
        // show and by `BATCH`, never by the guest's `buf_len` alone.
        let want = room.min(BATCH);
        // The cookie is guest input, any u64: a backend resumes from it or answers EINVAL.
        let batch = dir.read_dir(cookie, want)?;
        if batch.is_empty() {
            // `left <= buf_len` always, so this is the count written.
            return Ok(buf_len.saturating_sub(out.left));
        }
        // Each entry uses at least 24 bytes of the buffer or fills it, so this loop ends
        // after at most `buf_len / 24 + 1` entries even if a backend's cookies never end.
        for entry in &batch {
            if !out.entry(mem, entry)? {
                return Ok(buf_len);
            }
            // The next batch resumes after the last entry written: none skipped, none repeated.
            cookie = entry.next_cookie;
        }
    }
}

/// The part of the guest buffer not yet written.
struct Out {
    ptr: u32,
    left: u32,
}

impl Out {
    /// Writes one entry, truncated to the room left. `Ok(false)` when the buffer is full.
    fn entry(&mut self, mem: &mut GuestMemory<'_>, entry: &DirEntry) -> Result<bool, Error> {
        let name = entry.name.as_bytes();
        // A backend name longer than u32 cannot exist; saturate instead of trusting it.
        let namlen = u32::try_from(name.len()).unwrap_or(u32::MAX);
        // A header that fills the buffer ends the call without its name: the guest sees a full
        // buffer and asks again, from the cookie of the last whole entry.
        Ok(self.put(mem, &dirent_header(entry, namlen))? && self.put(mem, name)?)
    }

    /// Writes as much of `bytes` as fits. `Ok(false)` once nothing is left.
    fn put(&mut self, mem: &mut GuestMemory<'_>, bytes: &[u8]) -> Result<bool, Error> {
        // Only the bytes that fit are checked and written (as wasmtime): a buffer whose tail lies
        // past guest memory traps only if an entry reaches it.
        let n = write_truncated(mem, self.ptr, bytes, self.left)?;
        self.left -= n; // n <= left by construction
        // The next write starts after these bytes; past the address space is a trap, as
        // wasmtime's `ptr.add`.
        self.ptr = self
            .ptr
            .checked_add(n)
            .ok_or(wiggle::GuestError::PtrOverflow)?;
        Ok(self.left > 0)
    }
}

/// The 24-byte little-endian dirent header, built field by field in zeroed bytes.
fn dirent_header(entry: &DirEntry, namlen: u32) -> [u8; DIRENT_SIZE as usize] {
    let mut header = [0u8; DIRENT_SIZE as usize];
    let d_type = convert::filetype(entry.filetype) as u8;
    let fields = entry
        .next_cookie
        .to_le_bytes()
        .into_iter()
        .chain(entry.ino.to_le_bytes())
        .chain(namlen.to_le_bytes())
        .chain([d_type]);
    // 8 + 8 + 4 + 1 = 21 bytes; the remaining 3 stay zero (padding).
    for (slot, byte) in header.iter_mut().zip(fields) {
        *slot = byte;
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::FileType;

    #[test]
    fn dirent_header_layout_is_field_by_field() {
        let entry = DirEntry {
            next_cookie: 0x0102_0304_0506_0708,
            ino: 0x1112_1314_1516_1718,
            filetype: FileType::Directory,
            name: "abc".to_owned(),
        };
        let h = dirent_header(&entry, 3);
        assert_eq!(&h[0..8], &0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(&h[8..16], &0x1112_1314_1516_1718u64.to_le_bytes());
        assert_eq!(&h[16..20], &3u32.to_le_bytes());
        assert_eq!(h[20], 3, "Filetype::Directory is 3 in preview1");
        assert_eq!(&h[21..24], &[0, 0, 0]);
    }
}
