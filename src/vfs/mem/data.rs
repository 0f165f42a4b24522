//! Sparse contents of one in-memory regular file: fixed-size pages, the first inline and the
//! others in a `BTreeMap`.
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

/// Page index → the page's bytes from its start (`len() <= PAGE_SIZE`). Every stored page holds
/// at least one byte, so an empty page and a missing one are the same thing. Page 0 — the only
/// page of almost every file — lives inline: a small file costs its bytes, not a tree node.
#[derive(Debug, Default)]
struct Pages {
    first: Vec<u8>,
    /// Pages 1 and up.
    rest: BTreeMap<u64, Vec<u8>>,
}

impl Pages {
    fn get(&self, index: u64) -> Option<&Vec<u8>> {
        match index {
            0 => Some(&self.first).filter(|p| !p.is_empty()),
            _ => self.rest.get(&index),
        }
    }

    fn get_mut(&mut self, index: u64) -> Option<&mut Vec<u8>> {
        match index {
            0 => Some(&mut self.first).filter(|p| !p.is_empty()),
            _ => self.rest.get_mut(&index),
        }
    }

    /// The page, created empty if missing (the caller stores at least one byte in it).
    fn get_or_insert(&mut self, index: u64) -> &mut Vec<u8> {
        match index {
            0 => &mut self.first,
            _ => self.rest.entry(index).or_default(),
        }
    }

    /// Drops every page from `index` on; returns the bytes they held.
    fn drop_from(&mut self, index: u64) -> u64 {
        let dropped = self.rest.split_off(&index.max(1));
        let mut bytes: u64 = dropped.values().map(|p| p.len() as u64).sum();
        if index == 0 {
            bytes += self.first.len() as u64;
            self.first = Vec::new();
        }
        bytes
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        usize::from(!self.first.is_empty()) + self.rest.len()
    }
}

/// Contents of one regular file.
#[derive(Debug, Default)]
pub(super) struct SparseData {
    /// Logical size; may exceed what the pages hold (the rest is a zero gap).
    size: u64,
    pages: Pages,
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
            let have = self.pages.get(index).map_or(0, |p| p.len() as u64);
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
            match self.pages.get(index) {
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
            let page = self.pages.get_or_insert(index);
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
            let dropped_bytes = self.pages.drop_from(first_dropped);
            self.stored = self.stored.saturating_sub(dropped_bytes);
            if within > 0
                && let Some(page) = self.pages.get_mut(last)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One step against a file: a write of `len` bytes of `byte` at `at`, or a resize.
    #[derive(Debug, Clone)]
    enum Step {
        Write { at: u64, len: usize, byte: u8 },
        Resize(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        // Offsets around the first pages' edges, where the inline page meets the tree.
        let near_edge = prop_oneof![
            0u64..200,
            (0u64..4).prop_flat_map(|p| (p * PAGE).saturating_sub(100)..p * PAGE + 100),
            0u64..4 * PAGE,
        ];
        prop_oneof![
            (near_edge.clone(), 0usize..3000, 1u8..=255).prop_map(|(at, len, byte)| Step::Write {
                at,
                len,
                byte
            }),
            near_edge.prop_map(Step::Resize),
        ]
    }

    proptest! {
        /// Against a plain `Vec<u8>`: every read agrees, the size agrees, and the stored
        /// bytes are exactly what the pages hold and never more than the size rounds up to.
        #[test]
        fn sparse_data_behaves_like_a_vec(steps in proptest::collection::vec(step(), 1..40)) {
            let mut data = SparseData::default();
            let mut model: Vec<u8> = Vec::new();
            for step in steps {
                match step {
                    Step::Write { at, len, byte } => {
                        let bytes = vec![byte; len];
                        prop_assert_eq!(data.write_at(&bytes, at).unwrap(), len);
                        if len > 0 {
                            let end = at as usize + len;
                            if model.len() < end {
                                model.resize(end, 0);
                            }
                            model[at as usize..end].fill(byte);
                        }
                    }
                    Step::Resize(size) => {
                        data.set_size(size).unwrap();
                        model.resize(size as usize, 0);
                    }
                }
                prop_assert_eq!(data.size(), model.len() as u64);
                prop_assert_eq!(data.to_vec().unwrap(), model.clone());
                let held: u64 = data.pages.first.len() as u64
                    + data.pages.rest.values().map(|p| p.len() as u64).sum::<u64>();
                prop_assert_eq!(data.stored_bytes(), held);
                prop_assert!(data.pages.rest.values().all(|p| !p.is_empty()));
                let mut buf = vec![0u8; 5000];
                for at in [0u64, PAGE - 7, PAGE, 2 * PAGE + 3] {
                    let n = data.read_at(&mut buf, at);
                    let want = model.get(at as usize..).map_or(&[][..], |m| &m[..m.len().min(5000)]);
                    prop_assert_eq!(&buf[..n], want);
                }
            }
        }
    }
}
