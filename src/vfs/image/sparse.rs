//! The PAX sparse format 1.0, as GNU tar writes it (`tar --sparse --format=pax`) and GNU tar
//! and bsdtar read it: PAX records `GNU.sparse.major=1`, `GNU.sparse.minor=0`,
//! `GNU.sparse.name` (the real name) and `GNU.sparse.realsize`; the entry's data starts with the
//! map (decimal lines: the region count, then each region's offset and length, padded to a
//! 512-byte block), followed by the regions' bytes back to back. Only the map's text and the
//! region list live here; `image.rs` and `save.rs` move the bytes. A hostile map is refused
//! (order, bounds, sizes) and never held past the room its filesystem's budget has.

use std::io::{self, Read};

use super::{CopyError, ImageError, copy_range, fs_error};
use crate::limits::MAX_FILE_SIZE;
use crate::vfs::{OpenOptions, SetTime};

/// Bytes per tar block.
const BLOCK: usize = 512;

/// Most regions a map may hold when nothing else bounds it (a filesystem without a byte
/// budget): 4 Mi regions, 64 MiB of list.
pub(super) const MAX_REGIONS: usize = 1 << 22;

/// Bytes one held region costs (its place in the list, which may be twice as long as needed):
/// a map is refused once its list would pass the filesystem's free budget.
pub(super) const REGION_COST: u64 = 32;

/// Whether a file of `size` bytes whose stored `regions` are these has holes worth a sparse
/// entry.
pub(super) fn is_sparse(regions: &[(u64, u64)], size: u64) -> bool {
    let stored: u64 = regions.iter().map(|(_, n)| n).sum();
    stored < size
}

/// The regions a sparse entry stores for a file's stored `regions`, and how many zeros that
/// adds: every region but the last grows to a whole number of 512-byte blocks (into the hole
/// after it, merging with a region it reaches). GNU tar reads each region a block at a time
/// and bsdtar reads them back to back; with whole blocks both read the same bytes.
pub(super) fn block_regions(regions: &[(u64, u64)]) -> (Vec<(u64, u64)>, u64) {
    let blocks = |len: u64| len.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64);
    let mut out = Vec::with_capacity(regions.len());
    let mut padding = 0u64;
    // The region being grown: (offset, end of its stored bytes).
    let mut current: Option<(u64, u64)> = None;
    for &(offset, len) in regions {
        let end = offset.saturating_add(len);
        current = match current {
            Some((at, stored)) if offset <= at.saturating_add(blocks(stored - at)) => {
                padding = padding.saturating_add(offset - stored);
                Some((at, stored.max(end)))
            }
            Some((at, stored)) => {
                let whole = blocks(stored - at);
                padding = padding.saturating_add(whole - (stored - at));
                out.push((at, whole));
                Some((offset, end))
            }
            None => Some((offset, end)),
        };
    }
    if let Some((at, stored)) = current {
        out.push((at, stored - at));
    }
    (out, padding)
}

/// The map of a sparse entry: the regions, and a final empty one at `realsize` when the file
/// ends in a hole (as GNU tar writes it, so the size survives readers that ignore realsize).
pub(super) fn map_text(regions: &[(u64, u64)], realsize: u64) -> String {
    let end = regions.last().map_or(0, |(at, n)| at.saturating_add(*n));
    let tail = (end < realsize || regions.is_empty()).then_some((realsize, 0));
    let count = regions.len() + usize::from(tail.is_some());
    let mut text = format!("{count}\n");
    for (offset, len) in regions.iter().copied().chain(tail) {
        text.push_str(&format!("{offset}\n{len}\n"));
    }
    text
}

/// A sparse entry's records, gathered from its PAX header.
#[derive(Debug, Default)]
pub(super) struct SparseRecords {
    pub(super) major: Option<String>,
    pub(super) minor: Option<String>,
    pub(super) name: Option<String>,
    pub(super) realsize: Option<String>,
    /// A `GNU.sparse.*` record of the older formats (0.0, 0.1): `map`, `offset`, `size`...
    pub(super) older: bool,
}

impl SparseRecords {
    /// Takes one PAX record; returns false if it is not a sparse one.
    pub(super) fn take(&mut self, key: &str, value: &str) -> bool {
        let Some(field) = key.strip_prefix("GNU.sparse.") else {
            return false;
        };
        let slot = match field {
            "major" => &mut self.major,
            "minor" => &mut self.minor,
            "name" => &mut self.name,
            "realsize" => &mut self.realsize,
            _ => {
                self.older = true;
                return true;
            }
        };
        *slot = Some(value.to_owned());
        true
    }

    /// Whether the entry is sparse at all.
    pub(super) fn any(&self) -> bool {
        self.older || self.major.is_some() || self.minor.is_some() || self.realsize.is_some()
    }

    /// The real size of a 1.0 entry. Errors (as text): other versions, a missing or malformed
    /// realsize, one past the largest file.
    pub(super) fn realsize(&self) -> Result<u64, String> {
        let version = (self.major.as_deref(), self.minor.as_deref());
        if self.older || version != (Some("1"), Some("0")) {
            let (major, minor) = (version.0.unwrap_or("0"), version.1.unwrap_or("?"));
            return Err(format!(
                "unsupported sparse format {major}.{minor} (only PAX sparse 1.0 is read)"
            ));
        }
        let text = self.realsize.as_deref().unwrap_or("");
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("sparse format: bad GNU.sparse.realsize {text:?}"));
        }
        match text.parse::<u64>() {
            Ok(size) if size <= MAX_FILE_SIZE => Ok(size),
            _ => Err(format!(
                "the sparse file ({text} bytes) is larger than the largest file allowed"
            )),
        }
    }
}

/// Why a map could not be read: the archive's reader failed, or the map is refused.
pub(super) enum MapError {
    Io(io::Error),
    Refused(String),
}

fn refused(what: impl Into<String>) -> MapError {
    MapError::Refused(format!("sparse map: {}", what.into()))
}

/// Reads a map from the start of `reader` through the end of its last block. Returns the
/// non-empty regions (in order, apart, within `realsize`) and the map's length in bytes (whole
/// blocks). More than `max_regions` non-empty regions are refused before they are held.
pub(super) fn read_map(
    reader: &mut impl Read,
    realsize: u64,
    max_regions: usize,
) -> Result<(Vec<(u64, u64)>, u64), MapError> {
    let mut text = MapReader {
        reader,
        block: [0; BLOCK],
        at: BLOCK,
        blocks: 0,
    };
    let count = text.number()?;
    let mut regions: Vec<(u64, u64)> = Vec::new();
    let mut end = 0u64;
    for _ in 0..count {
        let (offset, len) = (text.number()?, text.number()?);
        if offset < end {
            return Err(refused("regions out of order or overlapping"));
        }
        end = offset
            .checked_add(len)
            .filter(|e| *e <= realsize)
            .ok_or_else(|| refused("a region past the file's end"))?;
        if len == 0 {
            continue;
        }
        if regions.len() >= max_regions {
            return Err(refused(format!(
                "more than {max_regions} regions, more than the filesystem's budget has room for"
            )));
        }
        regions
            .try_reserve(1)
            .map_err(|_| refused("no memory for its regions"))?;
        regions.push((offset, len));
    }
    let len = u64::try_from(text.blocks * BLOCK).unwrap_or(u64::MAX);
    Ok((regions, len))
}

/// The map's text, a block at a time.
struct MapReader<'a, R> {
    reader: &'a mut R,
    block: [u8; BLOCK],
    /// Next byte of `block` (BLOCK: read another).
    at: usize,
    blocks: usize,
}

impl<R: Read> MapReader<'_, R> {
    fn byte(&mut self) -> Result<u8, MapError> {
        if self.at == BLOCK {
            self.reader.read_exact(&mut self.block).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    refused("the archive ends inside it")
                } else {
                    MapError::Io(e)
                }
            })?;
            self.at = 0;
            self.blocks += 1;
        }
        let b = self.block.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        Ok(b)
    }

    /// One decimal number and its newline (at most 20 digits: u64's longest).
    fn number(&mut self) -> Result<u64, MapError> {
        let mut value = 0u64;
        let mut digits = 0;
        loop {
            match self.byte()? {
                b'\n' if digits > 0 => return Ok(value),
                b @ b'0'..=b'9' if digits < 20 => {
                    digits += 1;
                    value = value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(b - b'0')))
                        .ok_or_else(|| refused("a number past 2^64"))?;
                }
                b'0'..=b'9' => return Err(refused("a number longer than 20 digits")),
                _ => return Err(refused("malformed (a count, offsets and lengths expected)")),
            }
        }
    }
}

impl super::Loader {
    /// Loads a PAX sparse 1.0 entry as `comps`: its map is read and checked before the file is
    /// created, held only within the room the filesystem's byte budget has, then each region's
    /// bytes are written at its offset and the size set to the real size.
    pub(super) fn sparse_file<R: Read>(
        &mut self,
        name: &str,
        comps: &[&str],
        entry: &mut tar::Entry<'_, R>,
        mtime: u64,
        records: &SparseRecords,
    ) -> Result<(), ImageError> {
        let realsize = records.realsize().map_err(|r| refused_entry(name, r))?;
        let Some((last, parent)) = comps.split_last() else {
            return Err(refused_entry(name, "a file cannot be the root"));
        };
        let declared = entry.size();
        let dir = self.dir(parent, name, true)?;
        let max_regions = match crate::vfs::mem::bytes_left(&*dir) {
            Some(left) => {
                usize::try_from(left / REGION_COST).map_or(MAX_REGIONS, |n| n.min(MAX_REGIONS))
            }
            None => MAX_REGIONS,
        };
        let (regions, map_len) = read_map(entry, realsize, max_regions).map_err(|e| match e {
            MapError::Io(e) => ImageError::Io(e),
            MapError::Refused(reason) => refused_entry(name, reason),
        })?;
        // Regions are in order and apart within `realsize`, so their sum cannot overflow.
        let stored: u64 = regions.iter().map(|(_, n)| n).sum();
        if map_len.checked_add(stored) != Some(declared) {
            return Err(refused_entry(
                name,
                format!(
                    "the sparse map ({map_len} bytes, {stored} bytes of regions) does not match \
                     the entry's size of {declared} bytes"
                ),
            ));
        }
        Self::replace(&*dir, last, name)?;
        let options = OpenOptions {
            create: true,
            exclusive: true,
            truncate: false,
            write: true,
        };
        let file = dir
            .open_file(last, options)
            .map_err(|e| fs_error(comps, e))?;
        for (offset, len) in regions {
            let copied = copy_range(entry, &*file, offset, len).map_err(|e| match e {
                CopyError::Io(e) => ImageError::Io(e),
                CopyError::Fs(e) => fs_error(comps, e),
            })?;
            if copied < len {
                return Err(refused_entry(
                    name,
                    "the archive is truncated inside a region",
                ));
            }
        }
        file.set_size(realsize).map_err(|e| fs_error(comps, e))?;
        file.set_times(SetTime::Keep, SetTime::At(mtime))
            .map_err(|e| fs_error(comps, e))?;
        self.files
            .insert(comps.iter().map(|c| (*c).to_owned()).collect());
        Ok(())
    }
}

fn refused_entry(entry: &str, reason: impl Into<String>) -> ImageError {
    ImageError::Refused {
        entry: entry.to_owned(),
        reason: reason.into(),
    }
}
