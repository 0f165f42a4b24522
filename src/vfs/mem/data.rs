//! Sparse contents of one in-memory regular file: fixed-size pages in a `BTreeMap`.
//! Part of the memory backend (`vfs::mem`); pure data, no locking, no timestamps, no quotas
//! (it only tells what a write would cost: `growth`, which `file.rs` charges first).
//! A page holds the bytes from its start up to the last byte ever written in it; everything
//! past a page's stored length, and every missing page, reads as zeros. So a write at 2^40
//! costs one page, and growing a file with `set_size` costs nothing.

use std::collections::BTreeMap;

use crate::vfs::{FsError, FsResult};

/// Bytes per page. Large enough that a streaming read or write touches few map nodes, small
/// enough that a sparse write costs little.
pub(super) const PAGE_SIZE: usize = 64 * 1024;
const PAGE: u64 = PAGE_SIZE as u64;

/// The largest size a file may reach (POSIX `off_t` is signed 64-bit).
pub(super) use crate::limits::MAX_FILE_SIZE;

/// The end offset of an access of `len` bytes at `offset`, refused with FileTooBig if it would
/// pass [`MAX_FILE_SIZE`] (checked arithmetic: guests choose both numbers).
pub(super) fn end_of(offset: u64, len: u64) -> FsResult<u64> {
    match offset.checked_add(len) {
        Some(end) if end <= MAX_FILE_SIZE => Ok(end),
        _ => Err(FsError::FileTooBig),
    }
}

/// Contents of one regular file.
#[derive(Debug, Default)]
pub(super) struct SparseData {
    /// Logical size; may exceed what the pages hold (the rest is a zero gap).
    size: u64,
    /// Page index → the page's bytes from its start; `len() <= PAGE_SIZE`.
    pages: BTreeMap<u64, Vec<u8>>,
    /// Sum of the pages' lengths: the bytes this file really holds (what a quota charges).
    stored: u64,
}

impl SparseData {
    /// Logical size in bytes.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// Bytes held in pages (sparse gaps and page tails excluded).
    pub(super) fn stored_bytes(&self) -> u64 {
        self.stored
    }

    /// How many stored bytes a write of `len` bytes at `offset` would add: what the byte budget
    /// is charged before the write. The caller has checked `offset + len` with [`end_of`].
    pub(super) fn growth(&self, offset: u64, len: u64) -> u64 {
        let Some(last_byte) = offset.checked_add(len).and_then(|e| e.checked_sub(1)) else {
            return 0;
        };
        let (first, _) = split_pos(offset);
        let (last, within_last) = split_pos(last_byte);
        let mut total = 0u64;
        for index in first..=last {
            // A page holds the bytes from its start to the last one written in it.
            let need = if index == last {
                within_last as u64 + 1
            } else {
                PAGE
            };
            let have = self.pages.get(&index).map_or(0, |p| p.len() as u64);
            total = total.saturating_add(need.saturating_sub(have));
        }
        total
    }

    /// Number of allocated pages.
    #[cfg(test)]
    pub(super) fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// pread: copies up to `buf.len()` bytes from `offset`; 0 at or past the end. Copies whole
    /// page slices (this is the hot path of `fd_read`).
    pub(super) fn read_at(&self, buf: &mut [u8], offset: u64) -> usize {
        let Some(avail) = self.size.checked_sub(offset).filter(|a| *a > 0) else {
            return 0;
        };
        let n = usize::try_from(avail).map_or(buf.len(), |a| a.min(buf.len()));
        let (mut rest, _) = buf.split_at_mut(n);
        let mut pos = offset;
        while !rest.is_empty() {
            let (index, within) = split_pos(pos);
            let take = rest.len().min(PAGE_SIZE - within);
            let (chunk, tail) = rest.split_at_mut(take);
            match self.pages.get(&index) {
                Some(page) => copy_out(chunk, page, within),
                None => chunk.fill(0),
            }
            pos += take as u64;
            rest = tail;
        }
        n
    }

    /// pwrite: stores `buf` at `offset`, growing the size; a gap before it stays unallocated.
    /// Errors: FileTooBig (past [`MAX_FILE_SIZE`]). Nothing changes on error.
    pub(super) fn write_at(&mut self, buf: &[u8], offset: u64) -> FsResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let end = end_of(offset, buf.len() as u64)?;
        let mut rest = buf;
        let mut pos = offset;
        while !rest.is_empty() {
            let (index, within) = split_pos(pos);
            let take = rest.len().min(PAGE_SIZE - within);
            let (chunk, tail) = rest.split_at(take);
            let page = self.pages.entry(index).or_default();
            let need = within + take;
            if page.len() < need {
                self.stored += (need - page.len()) as u64;
                grow_page(page, need);
            }
            if let Some(dst) = page.get_mut(within..need) {
                dst.copy_from_slice(chunk);
            }
            pos += take as u64;
            rest = tail;
        }
        self.size = self.size.max(end);
        Ok(buf.len())
    }

    /// ftruncate: shrinking drops whole pages past the end and trims the last one (so a later
    /// growth reads zeros there); growing only moves the size. Errors: FileTooBig.
    pub(super) fn set_size(&mut self, size: u64) -> FsResult<()> {
        if size > MAX_FILE_SIZE {
            return Err(FsError::FileTooBig);
        }
        if size < self.size {
            let (last, within) = split_pos(size);
            // Pages wholly at or past the new end go; `within == 0` means `last` goes too.
            let first_dropped = if within == 0 { last } else { last + 1 };
            let dropped = self.pages.split_off(&first_dropped);
            let dropped_bytes: u64 = dropped.values().map(|p| p.len() as u64).sum();
            self.stored = self.stored.saturating_sub(dropped_bytes);
            if within > 0
                && let Some(page) = self.pages.get_mut(&last)
                && page.len() > within
            {
                self.stored = self.stored.saturating_sub((page.len() - within) as u64);
                page.truncate(within);
                page.shrink_to_fit();
            }
        }
        self.size = size;
        Ok(())
    }

    /// All bytes, gaps as zeros (for snapshots); `None` if the size does not fit in memory's
    /// address space or the allocation fails.
    pub(super) fn to_vec(&self) -> Option<Vec<u8>> {
        let len = usize::try_from(self.size).ok()?;
        let mut out = Vec::new();
        out.try_reserve_exact(len).ok()?;
        out.resize(len, 0);
        self.read_at(&mut out, 0);
        Some(out)
    }
}

/// (page index, offset within the page) of a file offset.
fn split_pos(pos: u64) -> (u64, usize) {
    // The remainder is < PAGE_SIZE, so the cast is lossless.
    (pos / PAGE, (pos % PAGE) as usize)
}

/// Fills `chunk` from `page` starting at `within`; bytes past the page's stored length are zeros.
fn copy_out(chunk: &mut [u8], page: &[u8], within: usize) {
    let stored = page.get(within..).unwrap_or(&[]);
    let k = stored.len().min(chunk.len());
    let (head, tail) = chunk.split_at_mut(k);
    head.copy_from_slice(stored.get(..k).unwrap_or(&[]));
    tail.fill(0);
}

/// Grows `page` to `need` bytes (zero-filled), never reserving more than one page: `Vec`'s own
/// doubling could reserve up to twice `PAGE_SIZE`.
fn grow_page(page: &mut Vec<u8>, need: usize) {
    if page.capacity() < need {
        let target = need.max(page.capacity().saturating_mul(2)).min(PAGE_SIZE);
        page.reserve_exact(target - page.len());
    }
    page.resize(need, 0);
}
