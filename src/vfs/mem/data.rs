//! Sparse contents of one in-memory regular file: 64 KiB pages, the first inline and the
//! others in a `BTreeMap`, each storing only a *window*: the range of its bytes that was written.
//! Part of the memory backend (`vfs::mem`); pure data, no locking, no timestamps, no quotas
//! (it only tells what a write would cost: `growth`, which `file.rs` charges first).
//! What a file costs is what it allocates (its `charged` bytes): window capacities, in 16-byte
//! granules as malloc spends them, plus its page table. So one byte at 2^40 costs a 16-byte
//! window and a page, growing a file with `set_size` costs nothing, and holes read as zeros.

use std::collections::BTreeMap;

use crate::limits::{FS_PAGE_COST, FS_PAGE_TABLE_COST};
use crate::vfs::{FsError, FsResult};

/// Bytes per page. Large enough that a streaming read or write touches few map nodes, small
/// enough that a page-table entry is a small share of a sparse file's cost.
pub(super) const PAGE_SIZE: usize = 64 * 1024;
const PAGE: u64 = PAGE_SIZE as u64;

/// Window capacities are multiples of this (malloc's own granule): a window's capacity is then
/// what the allocator really spends on it, less its header.
const GRAIN: usize = 16;

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

/// `x` rounded up to a granule (`x <= PAGE_SIZE`, so this cannot overflow).
fn ceil_grain(x: usize) -> usize {
    x.div_ceil(GRAIN) * GRAIN
}

/// The stored window of one page: page offsets `lo .. lo + bytes.len()`. Everything else in the
/// page reads as zeros. An empty window holds no allocation (capacity 0).
#[derive(Debug, Default)]
struct Page {
    /// Page offset of `bytes[0]`: the first byte written (or below it, for a window that grew
    /// down).
    lo: usize,
    /// The window. Its capacity (what the page costs) is a multiple of [`GRAIN`], at most the
    /// rest of the page rounded up; past the length it is room for appends.
    bytes: Vec<u8>,
}

impl Page {
    fn end(&self) -> usize {
        self.lo + self.bytes.len()
    }

    fn cap(&self) -> usize {
        self.bytes.capacity()
    }

    /// Gives back the room past the stored bytes (a granule's rounding stays).
    fn trim(&mut self) {
        self.bytes.shrink_to(ceil_grain(self.bytes.len()));
    }
}

/// Where a write of page offsets `a..b` puts a page's window: `None` if it fits the window as
/// it is, else the new window's (start, capacity). `roomy` at least doubles the capacity (so
/// small appends reallocate O(log) times per page); otherwise the window is exactly what the
/// stored bytes need. Both `growth` (the charge) and `write_at` (the allocation) use this.
fn plan(page: Option<&Page>, a: usize, b: usize, roomy: bool) -> Option<(usize, usize)> {
    let (lo, end, cap, left) = match page.filter(|p| !p.bytes.is_empty()) {
        Some(p) if a >= p.lo && b <= p.lo + p.cap() => return None,
        Some(p) => (p.lo.min(a), p.end().max(b), p.cap(), a < p.lo),
        None => (a, b, 0, false),
    };
    let exact = ceil_grain(end - lo);
    if !roomy {
        return Some((lo, exact));
    }
    let want = exact.max(cap.saturating_mul(2).min(PAGE_SIZE));
    // Room past the page's end would never be used.
    let most = |start: usize| want.min(ceil_grain(PAGE_SIZE - start));
    if left {
        // Growing down (a backwards writer): the room goes below the window.
        let start = end.saturating_sub(want);
        Some((start, most(start)))
    } else {
        Some((lo, most(lo)))
    }
}

/// Stores `data` at page offset `a` (`a + data.len() <= PAGE_SIZE`), moving the window as
/// [`plan`] says. Bytes of a new or moved window that were not written are zeros.
fn write_page(page: &mut Page, a: usize, data: &[u8], roomy: bool) {
    let b = a + data.len();
    // The common case first (appends and overwrites within the window's capacity).
    let fits = !page.bytes.is_empty() && a >= page.lo && b <= page.lo + page.cap();
    match if fits {
        None
    } else {
        plan(Some(page), a, b, roomy)
    } {
        None => {}
        // No bytes yet: nothing to keep, so the window starts where the write does.
        Some((lo, cap)) if page.bytes.is_empty() => {
            page.lo = lo;
            page.bytes = Vec::with_capacity(cap);
        }
        Some((lo, cap)) if lo == page.lo => {
            // Growing up: the allocator may extend in place.
            page.bytes.reserve_exact(cap - page.bytes.len());
        }
        Some((lo, cap)) => {
            // Growing down: a Vec cannot grow at its front, so the window is reallocated and
            // its bytes move up by the zeros now stored below them.
            let mut moved = Vec::with_capacity(cap);
            moved.resize(page.lo - lo, 0);
            moved.extend_from_slice(&page.bytes);
            page.lo = lo;
            page.bytes = moved;
        }
    }
    let (from, to) = (a - page.lo, b - page.lo);
    if page.bytes.len() < to {
        // Within the capacity just planned: no reallocation.
        page.bytes.resize(to, 0);
    }
    if let Some(dst) = page.bytes.get_mut(from..to) {
        dst.copy_from_slice(data);
    }
}

/// Fills `chunk` (page offsets `within ..`) from `page`; bytes outside its window are zeros.
fn copy_out(chunk: &mut [u8], page: &Page, within: usize) {
    // The common case first: the chunk lies inside the window.
    if let Some(from) = within.checked_sub(page.lo)
        && let Some(src) = page.bytes.get(from..from + chunk.len())
    {
        chunk.copy_from_slice(src);
        return;
    }
    let start = page.lo.max(within);
    let end = page.end().min(within + chunk.len());
    if start >= end {
        chunk.fill(0);
        return;
    }
    let (head, rest) = chunk.split_at_mut(start - within);
    let (mid, tail) = rest.split_at_mut(end - start);
    head.fill(0);
    mid.copy_from_slice(
        page.bytes
            .get(start - page.lo..end - page.lo)
            .unwrap_or(&[]),
    );
    tail.fill(0);
}

/// What a file stores and what that costs, as `State` carries them into its totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Cost {
    /// Bytes held in windows (what `MemUsage::bytes` counts).
    pub(super) stored: u64,
    /// Bytes charged to the byte budget: window capacities and the page table.
    pub(super) charged: u64,
}

/// Contents of one regular file.
#[derive(Debug, Default)]
pub(super) struct SparseData {
    /// Logical size; may exceed what the pages hold (the rest is a zero gap).
    size: u64,
    /// Page 0, inline: a small file costs its window, not a tree node.
    first: Page,
    /// Pages 1 and up; every one holds a non-empty window.
    rest: BTreeMap<u64, Page>,
    /// Sum of the windows' lengths.
    stored: u64,
    /// Sum of the windows' capacities.
    capacity: u64,
    /// The page whose window may have room past its bytes (the one last written roomy); it is
    /// trimmed when another page is written or when the file's last handle closes.
    slack: Option<u64>,
}

/// (page index, offset within the page) of a file offset.
fn split_pos(pos: u64) -> (u64, usize) {
    // The remainder is < PAGE_SIZE, so the cast is lossless.
    (pos / PAGE, (pos % PAGE) as usize)
}

impl SparseData {
    /// Logical size in bytes.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// What this file stores and costs.
    pub(super) fn cost(&self) -> Cost {
        let table = match self.rest.len() {
            0 => 0,
            n => FS_PAGE_TABLE_COST.saturating_add(FS_PAGE_COST.saturating_mul(n as u64)),
        };
        Cost {
            stored: self.stored,
            charged: self.capacity.saturating_add(table),
        }
    }

    fn page(&self, index: u64) -> Option<&Page> {
        match index {
            0 => Some(&self.first).filter(|p| !p.bytes.is_empty()),
            _ => self.rest.get(&index),
        }
    }

    /// How many charged bytes a write of `len` bytes at `offset` would add, with `roomy`
    /// growth or exact: what the byte budget is charged before the write. The caller has
    /// checked `offset + len` with [`end_of`]. It asks [`plan`], as `write_at` does, so the
    /// charge and the allocation follow one rule: a write never costs more than it was
    /// charged (the property test below checks it).
    pub(super) fn growth(&self, offset: u64, len: u64, roomy: bool) -> u64 {
        let Some(last_byte) = offset.checked_add(len).and_then(|e| e.checked_sub(1)) else {
            return 0;
        };
        let (first, a0) = split_pos(offset);
        let (last, b0) = split_pos(last_byte);
        let mut total = 0u64;
        let mut new_pages = false;
        for index in first..=last {
            let a = if index == first { a0 } else { 0 };
            let b = if index == last { b0 + 1 } else { PAGE_SIZE };
            let page = self.page(index);
            if let Some((_, cap)) = plan(page, a, b, roomy) {
                let have = page.map_or(0, Page::cap);
                total = total.saturating_add(cap.saturating_sub(have) as u64);
                if index > 0 && page.is_none() {
                    total = total.saturating_add(FS_PAGE_COST);
                    new_pages = true;
                }
            }
        }
        if new_pages && self.rest.is_empty() {
            total = total.saturating_add(FS_PAGE_TABLE_COST);
        }
        // A write elsewhere gives back the room of the page that has some (see `write_at`).
        if let Some(slack) = self.slack.filter(|s| !(first..=last).contains(s)) {
            let room = self
                .page(slack)
                .map_or(0, |p| p.cap().saturating_sub(ceil_grain(p.bytes.len())));
            total = total.saturating_sub(room as u64);
        }
        total
    }

    /// Number of allocated pages.
    #[cfg(test)]
    pub(super) fn page_count(&self) -> usize {
        usize::from(!self.first.bytes.is_empty()) + self.rest.len()
    }

    /// pread: copies up to `buf.len()` bytes from `offset`; 0 at or past the end. Copies whole
    /// page slices (this is the hot path of `fd_read`).
    pub(super) fn read_at(&self, buf: &mut [u8], offset: u64) -> usize {
        let Some(avail) = self.size.checked_sub(offset).filter(|a| *a > 0) else {
            return 0;
        };
        // `avail` may not fit a usize (32-bit hosts): then the buffer is the limit.
        let n = usize::try_from(avail).map_or(buf.len(), |a| a.min(buf.len()));
        let (mut rest, _) = buf.split_at_mut(n);
        let mut pos = offset;
        while !rest.is_empty() {
            let (index, within) = split_pos(pos);
            let take = rest.len().min(PAGE_SIZE - within);
            let (chunk, tail) = rest.split_at_mut(take);
            match self.page(index) {
                Some(page) => copy_out(chunk, page, within),
                None => chunk.fill(0),
            }
            pos += take as u64;
            rest = tail;
        }
        n
    }

    /// pwrite: stores `buf` at `offset`, growing the size; a gap before it stays unallocated.
    /// `roomy` as for [`SparseData::growth`], which the caller charged. Errors: FileTooBig
    /// (past [`MAX_FILE_SIZE`]). Nothing changes on error.
    pub(super) fn write_at(&mut self, buf: &[u8], offset: u64, roomy: bool) -> FsResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let end = end_of(offset, buf.len() as u64)?;
        let mut rest = buf;
        let mut pos = offset;
        let mut last = 0;
        while !rest.is_empty() {
            let (index, within) = split_pos(pos);
            let take = rest.len().min(PAGE_SIZE - within);
            let (chunk, tail) = rest.split_at(take);
            // A new tree entry is filled at once: `chunk` is never empty, so no empty window
            // is left in `rest` (every page there holds bytes, as `cost` assumes).
            let page = match index {
                0 => &mut self.first,
                _ => self.rest.entry(index).or_default(),
            };
            let (len0, cap0) = (page.bytes.len(), page.cap());
            write_page(page, within, chunk, roomy);
            // Carried from what the allocator really gave, not from the plan. No underflow: the
            // totals include this page's old length and capacity.
            self.stored = self.stored + page.bytes.len() as u64 - len0 as u64;
            self.capacity = self.capacity + page.cap() as u64 - cap0 as u64;
            last = index;
            pos += take as u64;
            rest = tail;
        }
        // At most one page keeps room: the last one written roomy. So a file's unused room
        // is bounded by one page whatever the write pattern, and it is all charged.
        if self.slack != Some(last) {
            self.trim();
        }
        if roomy {
            self.slack = Some(last);
        }
        self.size = self.size.max(end);
        Ok(buf.len())
    }

    /// Gives back the room of the page that may have some (see `slack`).
    pub(super) fn trim(&mut self) {
        let Some(index) = self.slack.take() else {
            return;
        };
        let page = match index {
            0 => Some(&mut self.first),
            _ => self.rest.get_mut(&index),
        };
        if let Some(page) = page {
            let cap0 = page.cap();
            page.trim();
            self.capacity = self.capacity - cap0 as u64 + page.cap() as u64;
        }
    }

    /// ftruncate: shrinking drops whole pages past the end and cuts the last window (so a later
    /// growth reads zeros there), giving its room back; growing only moves the size.
    /// Errors: FileTooBig.
    pub(super) fn set_size(&mut self, size: u64) -> FsResult<()> {
        if size > MAX_FILE_SIZE {
            return Err(FsError::FileTooBig);
        }
        if size < self.size {
            // First, so `slack` never names a page dropped or cut below.
            self.trim();
            let (last, within) = split_pos(size);
            // Pages wholly at or past the new end go; `within == 0` means `last` goes too.
            let first_dropped = if within == 0 { last } else { last + 1 };
            // Page 0 lives inline, never in `rest`: it is dropped apart.
            let mut dropped: Vec<Page> = self
                .rest
                .split_off(&first_dropped.max(1))
                .into_values()
                .collect();
            if first_dropped == 0 {
                dropped.push(std::mem::take(&mut self.first));
            }
            for page in &dropped {
                self.stored -= page.bytes.len() as u64;
                self.capacity -= page.cap() as u64;
            }
            drop(dropped);
            if within > 0 {
                self.cut(last, within);
            }
        }
        self.size = size;
        Ok(())
    }

    /// Cuts the window of page `index` at page offset `within`, dropping it if nothing is left.
    fn cut(&mut self, index: u64, within: usize) {
        let page = match index {
            0 => Some(&mut self.first),
            _ => self.rest.get_mut(&index),
        };
        let Some(page) = page else { return };
        if page.end() <= within {
            return;
        }
        let (len0, cap0) = (page.bytes.len(), page.cap());
        // Bytes past the new end must go, not only the size: a later growth reads zeros there.
        if within <= page.lo {
            *page = Page::default();
        } else {
            page.bytes.truncate(within - page.lo);
            page.trim();
        }
        self.stored = self.stored - len0 as u64 + page.bytes.len() as u64;
        self.capacity = self.capacity - cap0 as u64 + page.cap() as u64;
        if page.bytes.is_empty() && index > 0 {
            self.rest.remove(&index);
        }
    }

    /// The stored windows as (file offset, length) regions in order, windows that touch across
    /// a page boundary merged: what a sparse image stores. Gaps between them are holes. The
    /// merge keeps a dense file one region, not a map of 64 KiB pieces in every image.
    pub(super) fn regions(&self) -> Vec<(u64, u64)> {
        let pages = std::iter::once((0, &self.first)).chain(self.rest.iter().map(|(i, p)| (*i, p)));
        let mut out: Vec<(u64, u64)> = Vec::new();
        for (index, page) in pages.filter(|(_, p)| !p.bytes.is_empty()) {
            let start = index * PAGE + page.lo as u64;
            let len = page.bytes.len() as u64;
            match out.last_mut() {
                Some((at, n)) if *at + *n == start => *n += len,
                _ => out.push((start, len)),
            }
        }
        out
    }

    /// All bytes, gaps as zeros (for snapshots); `None` if the size does not fit in memory's
    /// address space or the allocation fails.
    pub(super) fn to_vec(&self) -> Option<Vec<u8>> {
        let len = usize::try_from(self.size).ok()?;
        let mut out = Vec::new();
        // Fallible: a sparse file's size is the guest's choice (up to 2^63), and a snapshot
        // of it must report failure, not abort the host on allocation.
        out.try_reserve_exact(len).ok()?;
        out.resize(len, 0);
        self.read_at(&mut out, 0);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One step against a file: a write of `len` bytes of `byte` at `at` (roomy or exact), a
    /// resize, or a trim (the last close).
    #[derive(Debug, Clone)]
    enum Step {
        Write {
            at: u64,
            len: usize,
            byte: u8,
            roomy: bool,
        },
        Resize(u64),
        Trim,
    }

    fn step() -> impl Strategy<Value = Step> {
        // Offsets around the first pages' edges, where the inline page meets the tree.
        let near_edge = prop_oneof![
            0u64..200,
            (0u64..4).prop_flat_map(|p| (p * PAGE).saturating_sub(100)..p * PAGE + 100),
            0u64..4 * PAGE,
        ];
        prop_oneof![
            (near_edge.clone(), 0usize..3000, 1u8..=255, any::<bool>()).prop_map(
                |(at, len, byte, roomy)| Step::Write {
                    at,
                    len,
                    byte,
                    roomy
                }
            ),
            near_edge.prop_map(Step::Resize),
            Just(Step::Trim),
        ]
    }

    /// Every window: granule-sized, inside its page, non-empty in the tree, and the totals
    /// are what the windows really hold and allocate.
    fn check_windows(data: &SparseData) -> Result<(), TestCaseError> {
        let pages = std::iter::once(&data.first).chain(data.rest.values());
        let (mut len, mut cap) = (0u64, 0u64);
        for page in pages {
            prop_assert_eq!(page.cap() % GRAIN, 0, "capacity {}", page.cap());
            prop_assert!(page.cap() <= ceil_grain(PAGE_SIZE - page.lo));
            prop_assert!(page.bytes.is_empty() == (page.cap() == 0));
            len += page.bytes.len() as u64;
            cap += page.cap() as u64;
        }
        prop_assert!(data.rest.values().all(|p| !p.bytes.is_empty()));
        prop_assert_eq!(data.stored, len);
        prop_assert_eq!(data.capacity, cap);
        Ok(())
    }

    proptest! {
        /// Against a plain `Vec<u8>`: every read agrees, the size agrees, the windows are what
        /// the totals say, a write never costs more than `growth` charged, and the regions
        /// hold every non-zero byte.
        #[test]
        fn sparse_data_behaves_like_a_vec(steps in proptest::collection::vec(step(), 1..40)) {
            let mut data = SparseData::default();
            let mut model: Vec<u8> = Vec::new();
            for step in steps {
                match step {
                    Step::Write { at, len, byte, roomy } => {
                        let bytes = vec![byte; len];
                        let before = data.cost().charged;
                        let growth = data.growth(at, len as u64, roomy);
                        prop_assert_eq!(data.write_at(&bytes, at, roomy).unwrap(), len);
                        prop_assert!(data.cost().charged <= before + growth);
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
                    Step::Trim => data.trim(),
                }
                check_windows(&data)?;
                prop_assert_eq!(data.size(), model.len() as u64);
                prop_assert_eq!(data.to_vec().unwrap(), model.clone());
                let mut covered = vec![false; model.len()];
                for (at, n) in data.regions() {
                    covered[at as usize..(at + n) as usize].fill(true);
                }
                prop_assert!(model.iter().zip(&covered).all(|(b, c)| *b == 0 || *c));
                let mut buf = vec![0u8; 5000];
                for at in [0u64, PAGE - 7, PAGE, 2 * PAGE + 3] {
                    let n = data.read_at(&mut buf, at);
                    let want = model.get(at as usize..).map_or(&[][..], |m| &m[..m.len().min(5000)]);
                    prop_assert_eq!(&buf[..n], want);
                }
            }
        }
    }

    #[test]
    fn small_appends_grow_roomy_and_a_trim_gives_the_room_back() {
        let mut data = SparseData::default();
        for i in 0..5000u64 {
            data.write_at(b"x", i, true).unwrap();
        }
        assert_eq!(data.cost().stored, 5000);
        // Doubling: at most twice what is stored.
        assert!(data.cost().charged <= 2 * 5008, "{:?}", data.cost());
        data.trim();
        assert_eq!(data.cost().charged, 5008);
    }

    #[test]
    fn one_byte_at_a_page_end_costs_a_granule() {
        let mut data = SparseData::default();
        data.write_at(b"x", 3 * PAGE - 1, false).unwrap();
        assert_eq!(
            data.cost(),
            Cost {
                stored: 1,
                charged: 16 + FS_PAGE_COST + FS_PAGE_TABLE_COST
            }
        );
        assert_eq!(data.regions(), vec![(3 * PAGE - 1, 1)]);
    }
}
