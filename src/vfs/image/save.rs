//! Saving a tree as a tar archive (see [`save`]): POSIX pax (ustar headers; PAX records for
//! long names, large sizes and sub-second mtimes), deterministic entry order and headers, hard
//! links kept, sparse files in the PAX sparse format 1.0 as GNU tar writes it (`sparse.rs`).
//! Reads the tree through the `Dir` / `File` traits only, in bounded chunks (a `MemFs` file
//! also tells its stored regions). The whole image is measured against its [`ImageBudget`]
//! before a byte is written; the archive goes to the caller's writer.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use super::sparse::{block_regions, is_sparse, map_text};
use super::{BudgetPart, ImageError, fs_error};
use crate::limits::{FS_NAME_COST, FS_PAGE_COST, FsLimits, IMAGE_ENTRY_OVERHEAD};
use crate::vfs::{Dir, File, FileType, FsError, Node};

/// Bytes per tar block.
const BLOCK: u64 = 512;

/// Bytes read from a file per step.
const CHUNK: usize = 64 * 1024;

/// The largest value a ustar numeric field holds in octal (11 digits); past it a PAX record.
const OCTAL_MAX: u64 = 0o777_7777_7777;

/// How large an image may grow: `data` counts file bytes stored in it (holes of sparse files
/// are free) and sparse maps; `metadata` counts everything else (headers, PAX records, names,
/// padding). `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageBudget {
    /// File data and sparse maps.
    pub data: Option<u64>,
    /// Headers, PAX records, names and padding.
    pub metadata: Option<u64>,
}

impl ImageBudget {
    /// No budget.
    pub const UNLIMITED: ImageBudget = ImageBudget {
        data: None,
        metadata: None,
    };

    /// The budget of an image of a tree within `limits`, large enough for any such tree:
    /// data is the byte budget (a tree stores less than it charges, and each sparse map line
    /// costs less than the page it describes); metadata allows every name the budgets admit
    /// (the inode budget, which counts hard links, and the byte budget over [`FS_NAME_COST`])
    /// plus the root, each [`IMAGE_ENTRY_OVERHEAD`] and a path and link target at their longest,
    /// and a block of padding for every sparse region the byte budget admits (over
    /// [`FS_PAGE_COST`]). Without a byte budget, nothing bounds an image.
    pub fn of(limits: &FsLimits) -> ImageBudget {
        let Some(bytes) = limits.bytes else {
            return ImageBudget::UNLIMITED;
        };
        let names = limits
            .inodes
            .map_or(bytes / FS_NAME_COST, |i| i.min(bytes / FS_NAME_COST));
        let entry = IMAGE_ENTRY_OVERHEAD
            .saturating_add(2u64.saturating_mul(u64::from(limits.max_path_len).saturating_add(1)));
        let regions = (bytes / FS_PAGE_COST).saturating_mul(BLOCK);
        ImageBudget {
            data: Some(bytes),
            metadata: Some(
                names
                    .saturating_add(1)
                    .saturating_mul(entry)
                    .saturating_add(regions),
            ),
        }
    }
}

/// Writes the tree below `root` as a tar archive, deterministically: entries sorted by path,
/// owner 0, fixed modes (dirs 0755, files 0644, symlinks 0777). The root itself is `./`. A
/// file with several names is stored once and its other names as hard links; a file with
/// holes is stored sparsely. An image past `budget` is refused (`ImageError::Budget`, naming
/// the part and by how much) before anything is written.
pub fn save(root: Arc<dyn Dir>, writer: impl Write, budget: ImageBudget) -> Result<(), ImageError> {
    // First the sizes, reading no file data; then the archive, checked again as it goes (the
    // tree may change between the two if something else writes to it).
    let mut count = Out::<io::Sink> {
        writer: None,
        meta: 0,
        data: 0,
    };
    walk(&root, &mut count, None)?;
    count.end()?;
    count.check(budget)?;
    let mut out = Out {
        writer: Some(writer),
        meta: 0,
        data: 0,
    };
    walk(&root, &mut out, Some(budget))?;
    out.end()?;
    out.check(budget)
}

/// Where a save's bytes go, and how many went: written, or (no writer) only counted.
struct Out<W> {
    writer: Option<W>,
    meta: u64,
    data: u64,
}

impl<W: Write> Out<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.writer {
            Some(w) => w.write_all(bytes),
            None => Ok(()),
        }
    }

    /// Metadata bytes (headers, records, padding).
    fn meta(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.meta = self.meta.saturating_add(bytes.len() as u64);
        self.write(bytes)
    }

    /// Zeros up to the next block boundary after `len` bytes of an entry's body.
    fn pad(&mut self, len: u64) -> io::Result<()> {
        let zeros = [0u8; BLOCK as usize];
        let n = (BLOCK - len % BLOCK) % BLOCK;
        self.meta(zeros.get(..n as usize).unwrap_or(&[]))
    }

    /// `len` data bytes of `file` from `offset` (zeros where it ends early); only counted
    /// without a writer.
    fn file_data(&mut self, file: &dyn File, offset: u64, len: u64) -> io::Result<()> {
        self.data = self.data.saturating_add(len);
        if self.writer.is_none() {
            return Ok(());
        }
        let mut buf = vec![0u8; CHUNK];
        let mut done = 0u64;
        while done < len {
            let want = usize::try_from(len - done).map_or(CHUNK, |l| l.min(CHUNK));
            let chunk = buf.get_mut(..want).unwrap_or(&mut []);
            let n = file
                .read_at(chunk, offset.saturating_add(done))
                .map_err(|e| io::Error::other(format!("{e:?}")))?;
            // A file that shrank meanwhile: zeros keep the archive well formed.
            chunk.get_mut(n..).unwrap_or(&mut []).fill(0);
            self.write(chunk)?;
            done += want as u64;
        }
        Ok(())
    }

    /// The end-of-archive marker: two zero blocks.
    fn end(&mut self) -> io::Result<()> {
        self.meta(&[0u8; 2 * BLOCK as usize])?;
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }

    /// Refuses an image past its budget, naming the part and by how much.
    fn check(&self, budget: ImageBudget) -> Result<(), ImageError> {
        let parts = [
            (BudgetPart::Data, self.data, budget.data),
            (BudgetPart::Metadata, self.meta, budget.metadata),
        ];
        for (part, used, limit) in parts {
            if let Some(limit) = limit.filter(|l| used > *l) {
                return Err(ImageError::Budget {
                    part,
                    over: used - limit,
                    limit,
                });
            }
        }
        Ok(())
    }
}

/// Every object below `root`, depth first, names sorted; with a `budget`, checked after each
/// (a tree that grew since it was measured stops within a step of its budget).
fn walk<W: Write>(
    root: &Arc<dyn Dir>,
    out: &mut Out<W>,
    budget: Option<ImageBudget>,
) -> Result<(), ImageError> {
    let mut saver = Saver {
        seen: HashMap::new(),
    };
    let stat = root.stat().map_err(|e| fs_error(&[], e))?;
    let root_entry = Entry::new(tar::EntryType::Directory, 0o755, "./", stat.mtim);
    root_entry.write(out, Body::Empty)?;
    // (path, directory), children pushed in reverse order.
    let mut stack = vec![(String::new(), root.clone())];
    while let Some((prefix, dir)) = stack.pop() {
        let mut names = list(&*dir).map_err(|e| fs_error(&[&prefix], e))?;
        names.sort();
        let mut subdirs = Vec::new();
        for name in names {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if let Some(sub) = saver.object(out, &*dir, &name, &path)? {
                subdirs.push((path, sub));
            }
            if let Some(budget) = budget {
                out.check(budget)?;
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

/// Every name in `dir` but `.` and `..`, read in bounded batches.
fn list(dir: &dyn Dir) -> Result<Vec<String>, FsError> {
    let mut names = Vec::new();
    let mut cookie = 0;
    loop {
        let batch = dir.read_dir(cookie, 256)?;
        let Some(last) = batch.last() else {
            return Ok(names);
        };
        cookie = last.next_cookie;
        names.extend(
            batch
                .into_iter()
                .map(|e| e.name)
                .filter(|n| n != "." && n != ".."),
        );
    }
}

/// State of one pass.
struct Saver {
    /// Inode → the path it was first saved under (for hard links).
    seen: HashMap<u64, String>,
}

impl Saver {
    /// Saves `name` of `dir` as `path`; returns the directory to descend into, if it is one.
    fn object<W: Write>(
        &mut self,
        out: &mut Out<W>,
        dir: &dyn Dir,
        name: &str,
        path: &str,
    ) -> Result<Option<Arc<dyn Dir>>, ImageError> {
        let stat = dir.stat_at(name).map_err(|e| fs_error(&[path], e))?;
        match dir.lookup(name).map_err(|e| fs_error(&[path], e))? {
            Node::Dir(sub) => {
                let path = format!("{path}/");
                Entry::new(tar::EntryType::Directory, 0o755, &path, stat.mtim)
                    .write(out, Body::Empty)?;
                Ok(Some(sub))
            }
            Node::Symlink(target) => {
                let mut entry = Entry::new(tar::EntryType::Symlink, 0o777, path, stat.mtim);
                entry.link = Some(&target);
                entry.write(out, Body::Empty)?;
                Ok(None)
            }
            Node::File(file) if stat.filetype == FileType::RegularFile => {
                if stat.nlink > 1 {
                    if let Some(first) = self.seen.get(&stat.ino) {
                        let mut entry = Entry::new(tar::EntryType::Link, 0o644, path, stat.mtim);
                        entry.link = Some(first);
                        entry.write(out, Body::Empty)?;
                        return Ok(None);
                    }
                    self.seen.insert(stat.ino, path.to_owned());
                }
                let entry = Entry::new(tar::EntryType::Regular, 0o644, path, stat.mtim);
                // A `MemFs` file knows its holes; any other is stored whole.
                let regions = crate::vfs::mem::regions(&*file).map(|mut r| {
                    clip(&mut r, stat.size);
                    r
                });
                let body = match regions {
                    Some(regions) if is_sparse(&regions, stat.size) => {
                        let (regions, padding) = block_regions(&regions);
                        Body::Sparse {
                            file: &*file,
                            regions,
                            padding,
                            size: stat.size,
                        }
                    }
                    Some(_) | None => Body::Dense {
                        file: &*file,
                        size: stat.size,
                    },
                };
                entry.write(out, body)?;
                Ok(None)
            }
            // Objects a tar cannot hold (host devices, sockets) are left out.
            Node::File(_) => Ok(None),
        }
    }
}

/// What follows an entry's header.
enum Body<'a> {
    Empty,
    /// All `size` bytes of the file.
    Dense {
        file: &'a dyn File,
        size: u64,
    },
    /// The file's stored regions, after their map; `size` is the logical size, `padding` the
    /// zeros the regions hold beyond the stored bytes (counted as metadata).
    Sparse {
        file: &'a dyn File,
        regions: Vec<(u64, u64)>,
        padding: u64,
        size: u64,
    },
}

/// One archive entry's header fields.
struct Entry<'a> {
    kind: tar::EntryType,
    mode: u32,
    path: &'a str,
    link: Option<&'a str>,
    mtime: u64,
}

impl<'a> Entry<'a> {
    fn new(kind: tar::EntryType, mode: u32, path: &'a str, mtime: u64) -> Self {
        Entry {
            kind,
            mode,
            path,
            link: None,
            mtime,
        }
    }

    /// Writes the PAX header (if any record is needed), the ustar header and the body.
    fn write<W: Write>(&self, out: &mut Out<W>, body: Body<'_>) -> io::Result<()> {
        let (secs, nanos) = (self.mtime / 1_000_000_000, self.mtime % 1_000_000_000);
        let mut records: Vec<(&str, String)> = Vec::new();
        let (mut name, size) = match &body {
            Body::Empty => (self.path.to_owned(), 0),
            Body::Dense { size, .. } => (self.path.to_owned(), *size),
            Body::Sparse { regions, size, .. } => {
                // GNU tar's order and placeholder name; readers that know the format take the
                // name and the size from the records.
                records.push(("GNU.sparse.major", "1".into()));
                records.push(("GNU.sparse.minor", "0".into()));
                records.push(("GNU.sparse.name", self.path.to_owned()));
                records.push(("GNU.sparse.realsize", size.to_string()));
                let stored: u64 = regions.iter().map(|(_, n)| n).sum();
                let map = map_text(regions, *size).len() as u64;
                (placeholder(self.path), map.div_ceil(BLOCK) * BLOCK + stored)
            }
        };
        if name.len() > 100 {
            records.push(("path", std::mem::take(&mut name)));
            name = truncate(self.path, 100).to_owned();
        }
        let link = self.link.unwrap_or("");
        if link.len() > 100 {
            records.push(("linkpath", link.to_owned()));
        }
        if nanos != 0 || secs > OCTAL_MAX {
            records.push(("mtime", format!("{secs}.{nanos:09}")));
        }
        if size > OCTAL_MAX {
            records.push(("size", size.to_string()));
        }
        if !records.is_empty() {
            let text = pax_records(&records);
            let mut x = ustar(tar::EntryType::XHeader, 0o644, "././@PaxHeader", "", 0);
            x.set_size(text.len() as u64);
            x.set_cksum();
            out.meta(x.as_bytes())?;
            out.meta(&text)?;
            out.pad(text.len() as u64)?;
        }
        let mut header = ustar(self.kind, self.mode, &name, truncate(link, 100), secs);
        header.set_size(size);
        header.set_cksum();
        out.meta(header.as_bytes())?;
        match body {
            Body::Empty => Ok(()),
            Body::Dense { file, size } => {
                out.file_data(file, 0, size)?;
                out.pad(size)
            }
            Body::Sparse {
                file,
                regions,
                padding,
                size: realsize,
            } => {
                // The map is data (GNU tar's layout), padded to a block; then every region.
                let map = map_text(&regions, realsize);
                out.data = out.data.saturating_add(map.len() as u64);
                out.write(map.as_bytes())?;
                out.pad(map.len() as u64)?;
                for (offset, len) in &regions {
                    out.file_data(file, *offset, *len)?;
                }
                // The zeros that round regions to blocks are format, not data.
                out.data = out.data.saturating_sub(padding);
                out.meta = out.meta.saturating_add(padding);
                out.pad(size)
            }
        }
    }
}

/// Cuts `regions` to a file of `size` bytes (its size and its regions are read one after the
/// other, and something else may write in between).
fn clip(regions: &mut Vec<(u64, u64)>, size: u64) {
    regions.retain(|(at, _)| *at < size);
    if let Some((at, len)) = regions.last_mut() {
        *len = (*len).min(size - *at);
    }
}

/// A ustar header with these fields, owner 0; `name` and `link` fit their 100-byte fields.
fn ustar(kind: tar::EntryType, mode: u32, name: &str, link: &str, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    let old = header.as_old_mut();
    for (field, text) in [(&mut old.name, name), (&mut old.linkname, link)] {
        let bytes = text.as_bytes();
        let n = bytes.len().min(field.len());
        if let (Some(dst), Some(src)) = (field.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
    }
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(0);
    header
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or("")
}

/// GNU tar's header name for a sparse file (`dir/GNUSparseFile.0/name`), cut to fit.
fn placeholder(path: &str) -> String {
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    let name = if dir.is_empty() {
        format!("GNUSparseFile.0/{base}")
    } else {
        format!("{dir}/GNUSparseFile.0/{base}")
    };
    truncate(&name, 100).to_owned()
}

/// PAX records: `LEN key=value\n`, where LEN counts the whole record, itself included.
fn pax_records(records: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        let rest = key.len() + value.len() + 3; // " ", "=", "\n"
        let mut len = rest + 1;
        while (len.to_string().len() + rest) != len {
            len += 1;
        }
        out.extend_from_slice(format!("{len} {key}={value}\n").as_bytes());
    }
    out
}
