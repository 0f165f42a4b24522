//! Guest-memory helpers shared by the syscall groups: paths, arrays, iovecs and borrowed slices.
//! Every length is checked with overflow-safe arithmetic before anything is touched, and data is
//! moved through borrowed guest slices, so no host allocation is ever sized by the guest.
//! Out-of-bounds or misaligned pointers become `GuestError`s, which trap (as in wasmtime).

use crate::abi::types::{Errno, Error};
use std::borrow::Cow;
use wiggle::{GuestError, GuestMemory, GuestPtr, Region};

// The per-call budgets are documented and defined with the others in `limits.rs`.
pub(crate) use crate::limits::{MAX_IOVS, MAX_PATH_LEN, MAX_TRANSFER};

/// Reads a guest path: bounds-checked (out of bounds traps, as wasmtime), length-capped
/// (ENAMETOOLONG), valid UTF-8 (EILSEQ). NUL bytes are left for the resolver to refuse.
/// Borrowed from guest memory (unshared memory never copies): a call that writes guest memory
/// afterwards takes `into_owned` first.
pub(crate) fn read_path<'m>(
    mem: &'m GuestMemory<'_>,
    path: GuestPtr<str>,
) -> Result<Cow<'m, str>, Error> {
    // Bounds first: a too-long path that is also out of bounds is a trap, as in wasmtime.
    let bytes = mem.as_cow(path.as_bytes())?;
    if path.len() > MAX_PATH_LEN {
        return Err(Errno::Nametoolong.into());
    }
    match bytes {
        Cow::Borrowed(b) => match std::str::from_utf8(b) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(_) => Err(Errno::Ilseq.into()),
        },
        Cow::Owned(b) => match String::from_utf8(b) {
            Ok(s) => Ok(Cow::Owned(s)),
            Err(_) => Err(Errno::Ilseq.into()),
        },
    }
}

/// The guest bytes `ptr .. ptr + len`, borrowed. Traps if out of bounds.
pub(crate) fn bytes<'m>(mem: &'m GuestMemory<'_>, ptr: u32, len: u32) -> Result<&'m [u8], Error> {
    match mem.as_slice(GuestPtr::<[u8]>::new((ptr, len)))? {
        Some(slice) => Ok(slice),
        // Only shared memories cannot be borrowed, and the linker refuses those.
        None => Err(Errno::Notsup.into()),
    }
}

/// The guest bytes `ptr .. ptr + len`, borrowed mutably. Traps if out of bounds.
pub(crate) fn bytes_mut<'m>(
    mem: &'m mut GuestMemory<'_>,
    ptr: u32,
    len: u32,
) -> Result<&'m mut [u8], Error> {
    match mem.as_slice_mut(GuestPtr::<[u8]>::new((ptr, len)))? {
        Some(slice) => Ok(slice),
        None => Err(Errno::Notsup.into()),
    }
}

/// Checks a whole guest array at once: `count` elements of `size` bytes at `base`, aligned to
/// `align`. Traps when any part is out of bounds or misaligned (SECURITY.md: arrays are never
/// checked by their first element only). An empty array is never dereferenced, so, as in
/// wasmtime, its pointer is not checked at all.
#[inline]
pub(crate) fn check_array(
    mem: &GuestMemory<'_>,
    base: u32,
    count: u32,
    size: u32,
    align: u32,
) -> Result<(), Error> {
    if count == 0 {
        return Ok(());
    }
    if align > 1 && !base.is_multiple_of(align) {
        return Err(GuestError::PtrNotAligned(Region::new(base, size), align).into());
    }
    // u32 × u32 always fits in u64; the total must then fit the 32-bit address space.
    let total = u64::from(count) * u64::from(size);
    let total = u32::try_from(total).map_err(|_| GuestError::PtrOverflow)?;
    // Unshared memory (every memory the linker serves): the same bounds check `bytes` makes,
    // without building a slice only to drop it. This runs on every read and write.
    if let GuestMemory::Unshared(raw) = mem {
        if u64::from(base) + u64::from(total) > raw.len() as u64 {
            return Err(GuestError::PtrOutOfBounds(Region::new(base, total)).into());
        }
        return Ok(());
    }
    bytes(mem, base, total)?;
    Ok(())
}

/// A guest iovec (or ciovec) array whose array and used buffers are all in bounds.
/// The entries are re-read from guest memory on use rather than copied out: memory is unshared
/// and borrowed by the call, so they cannot change, and nothing is allocated per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IoVecs {
    base: u32,
    /// How many entries are used (at most [`MAX_IOVS`]).
    pub count: u32,
    /// The summed length of the used buffers, in u64 (aliased buffers may sum past 4 GiB).
    pub total: u64,
}

/// Size of one iovec in guest memory: a u32 pointer and a u32 length.
const IOVEC_SIZE: u32 = 8;

impl IoVecs {
    /// Validates the array `(base, count)` as a whole, then every used non-empty buffer. Traps (as
    /// wasmtime) on anything out of bounds or misaligned, before any byte is transferred.
    #[inline]
    pub(crate) fn check(mem: &GuestMemory<'_>, (base, count): (u32, u32)) -> Result<Self, Error> {
        check_array(mem, base, count, IOVEC_SIZE, 4)?;
        let mut iovs = IoVecs {
            base,
            count: count.min(MAX_IOVS),
            total: 0,
        };
        for i in 0..iovs.count {
            let (ptr, len) = iovs.get(mem, i)?;
            // Empty buffers are skipped unread, so their pointers need not be valid (wasmtime).
            if len > 0 {
                if let GuestMemory::Unshared(raw) = mem {
                    // The same check `bytes` makes, without building a slice to throw away.
                    if u64::from(ptr) + u64::from(len) > raw.len() as u64 {
                        return Err(GuestError::PtrOutOfBounds(Region::new(ptr, len)).into());
                    }
                } else {
                    bytes(mem, ptr, len)?;
                }
                iovs.total += u64::from(len);
            }
        }
        Ok(iovs)
    }

    /// Entry `i`: the buffer's guest pointer and length.
    #[inline]
    pub(crate) fn get(&self, mem: &GuestMemory<'_>, i: u32) -> Result<(u32, u32), Error> {
        // `i < count` and the array was checked, so neither the arithmetic nor the read fails;
        // errors are still propagated rather than assumed away.
        let at = i
            .checked_mul(IOVEC_SIZE)
            .and_then(|off| self.base.checked_add(off))
            .ok_or(GuestError::PtrOverflow)?;
        // Unshared memory (every memory the linker serves): two plain little-endian words.
        if let GuestMemory::Unshared(raw) = mem
            && let Some(entry) = raw.get(at as usize..at as usize + 8)
        {
            let word = |w: &[u8]| u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            return Ok((word(&entry[..4]), word(&entry[4..])));
        }
        let ptr = mem.read(GuestPtr::<u32>::new(at))?;
        let len = mem.read(GuestPtr::<u32>::new(
            at.checked_add(4).ok_or(GuestError::PtrOverflow)?,
        ))?;
        Ok((ptr, len))
    }

    /// How many bytes one call moves: the buffers' sum, capped at [`MAX_TRANSFER`].
    pub(crate) fn transfer(&self) -> u64 {
        self.total.min(MAX_TRANSFER)
    }

    /// The used buffers in order, cut so that together they hold [`Self::transfer`] bytes.
    /// Every one was bounds-checked by [`IoVecs::check`], so none is ever left out.
    #[inline]
    pub(crate) fn buffers<'m>(&self, mem: &'m GuestMemory<'_>) -> impl Iterator<Item = &'m [u8]> {
        let mut left = self.transfer();
        (0..self.count).filter_map(move |i| {
            let (ptr, len) = self.get(mem, i).ok()?;
            let len = u32::try_from(left.min(u64::from(len))).unwrap_or(0);
            if len == 0 {
                return None;
            }
            left -= u64::from(len);
            match mem {
                // Checked in `IoVecs::check`: a plain slice of unshared memory.
                GuestMemory::Unshared(raw) => raw.get(ptr as usize..ptr as usize + len as usize),
                GuestMemory::Shared(_) => bytes(mem, ptr, len).ok(),
            }
        })
    }
}

/// Converts a transfer count to the ABI's `size`. Counts are capped by [`MAX_TRANSFER`], so
/// this cannot fail in practice; EOVERFLOW if it ever did.
pub(crate) fn size(n: u64) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| Errno::Overflow.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(mem: &mut [u8], at: usize, v: u32) {
        mem[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn is_trap(e: Error) -> bool {
        e.downcast().is_err()
    }

    #[test]
    fn iovecs_sum_in_u64_when_aliased() {
        let mut raw = vec![0u8; 64 * 1024];
        // Four entries, all pointing at the same 60 KiB… and one huge aliasing length each.
        for i in 0..4 {
            put(&mut raw, 16 + i * 8, 0);
            put(&mut raw, 20 + i * 8, 60 * 1024);
        }
        let mem = GuestMemory::Unshared(&mut raw);
        let iovs = IoVecs::check(&mem, (16, 4)).unwrap();
        assert_eq!(iovs.count, 4);
        assert_eq!(iovs.total, 4 * 60 * 1024);
        assert_eq!(iovs.get(&mem, 3).unwrap(), (0, 60 * 1024));
    }

    #[test]
    fn iovec_array_is_checked_as_a_whole() {
        let mut raw = vec![0u8; 1024];
        let mem = GuestMemory::Unshared(&mut raw);
        // Element 0 is in bounds, element 200 is not: the whole array traps.
        assert!(is_trap(IoVecs::check(&mem, (0, 200)).unwrap_err()));
        // count * 8 overflows 32 bits.
        assert!(is_trap(IoVecs::check(&mem, (0, u32::MAX)).unwrap_err()));
        // Misaligned arrays trap, as wasmtime's element reads do.
        assert!(is_trap(IoVecs::check(&mem, (2, 1)).unwrap_err()));
        // An empty array is never dereferenced: any pointer will do.
        assert_eq!(IoVecs::check(&mem, (u32::MAX, 0)).unwrap().total, 0);
    }

    #[test]
    fn iovec_buffers_are_checked_before_use() {
        let mut raw = vec![0u8; 1024];
        put(&mut raw, 0, 1000);
        put(&mut raw, 4, 100); // 1000 + 100 > 1024
        let mem = GuestMemory::Unshared(&mut raw);
        assert!(is_trap(IoVecs::check(&mem, (0, 1)).unwrap_err()));
    }

    #[test]
    fn iovec_count_is_capped_but_array_still_checked() {
        let mut raw = vec![0u8; (MAX_IOVS as usize + 10) * 8];
        let mem = GuestMemory::Unshared(&mut raw);
        let iovs = IoVecs::check(&mem, (0, MAX_IOVS + 10)).unwrap();
        assert_eq!(iovs.count, MAX_IOVS);
        assert!(is_trap(
            IoVecs::check(&mem, (8, MAX_IOVS + 10)).unwrap_err()
        ));
    }
}
