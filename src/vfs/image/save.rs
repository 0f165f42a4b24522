//! Saving a tree as a tar archive (see [`save`]): deterministic entry order and headers, hard
//! links kept, sub-second mtimes as PAX records. Reads the tree through the `Dir` / `File`
//! traits only, in bounded chunks; the archive goes to the caller's writer.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;

use super::{ImageError, fs_error};
use crate::vfs::{Dir, File, FileType, FsError, Node};

/// Writes the tree below `root` as a tar archive (GNU long names, PAX sub-second mtimes),
/// deterministically: entries sorted by path, owner 0, fixed modes (dirs 0755, files 0644,
/// symlinks 0777). The root itself is `./`. A file with several names is stored once and its
/// other names as hard links. Files are written whole, sparse holes as zeros: with `max_bytes`,
/// more file data than that is refused (`ImageError::Fs` with NoSpace) before it is written.
pub fn save(
    root: Arc<dyn Dir>,
    writer: impl Write,
    max_bytes: Option<u64>,
) -> Result<(), ImageError> {
    let mut out = tar::Builder::new(writer);
    let mut saver = Saver {
        seen: HashMap::new(),
        bytes_left: max_bytes.unwrap_or(u64::MAX),
    };
    let stat = root.stat().map_err(|e| fs_error(&[], e))?;
    let mut header = saver.header(tar::EntryType::Directory, 0o755, stat.mtim, &mut out)?;
    out.append_data(&mut header, "./", io::empty())?;
    // Depth first, names sorted: (path, directory), children pushed in reverse order.
    let mut stack = vec![(String::new(), root)];
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
            if let Some(sub) = saver.object(&mut out, &*dir, &name, &path)? {
                subdirs.push((path, sub));
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    out.finish()?;
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

/// State of one save.
struct Saver {
    /// Inode → the path it was first saved under (for hard links).
    seen: HashMap<u64, String>,
    /// File bytes the archive may still hold.
    bytes_left: u64,
}

impl Saver {
    /// A header for one entry; a sub-second mtime also goes out as a PAX record first.
    fn header<W: Write>(
        &self,
        kind: tar::EntryType,
        mode: u32,
        mtime: u64,
        out: &mut tar::Builder<W>,
    ) -> io::Result<tar::Header> {
        let (secs, nanos) = (mtime / 1_000_000_000, mtime % 1_000_000_000);
        if nanos != 0 {
            let value = format!("{secs}.{nanos:09}");
            out.append_pax_extensions([("mtime", value.as_bytes())])?;
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_mtime(secs);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(0);
        Ok(header)
    }

    /// Saves `name` of `dir` as `path`; returns the directory to descend into, if it is one.
    fn object<W: Write>(
        &mut self,
        out: &mut tar::Builder<W>,
        dir: &dyn Dir,
        name: &str,
        path: &str,
    ) -> Result<Option<Arc<dyn Dir>>, ImageError> {
        let stat = dir.stat_at(name).map_err(|e| fs_error(&[path], e))?;
        match dir.lookup(name).map_err(|e| fs_error(&[path], e))? {
            Node::Dir(sub) => {
                let mut header = self.header(tar::EntryType::Directory, 0o755, stat.mtim, out)?;
                out.append_data(&mut header, format!("{path}/"), io::empty())?;
                Ok(Some(sub))
            }
            Node::Symlink(target) => {
                let mut header = self.header(tar::EntryType::Symlink, 0o777, stat.mtim, out)?;
                out.append_link(&mut header, path, target)?;
                Ok(None)
            }
            Node::File(file) if stat.filetype == FileType::RegularFile => {
                if stat.nlink > 1 {
                    if let Some(first) = self.seen.get(&stat.ino) {
                        let mut header =
                            self.header(tar::EntryType::Link, 0o644, stat.mtim, out)?;
                        out.append_link(&mut header, path, first)?;
                        return Ok(None);
                    }
                    self.seen.insert(stat.ino, path.to_owned());
                }
                self.bytes_left = self
                    .bytes_left
                    .checked_sub(stat.size)
                    .ok_or_else(|| fs_error(&[path], FsError::NoSpace))?;
                let mut header = self.header(tar::EntryType::Regular, 0o644, stat.mtim, out)?;
                header.set_size(stat.size);
                let reader = FileReader {
                    file,
                    offset: 0,
                    size: stat.size,
                };
                out.append_data(&mut header, path, reader)?;
                Ok(None)
            }
            // Objects a tar cannot hold (host devices, sockets) are left out.
            Node::File(_) => Ok(None),
        }
    }
}

/// Reads a backend file from the start up to the size its header declared (zeros past a
/// shorter end, so the archive stays well formed).
struct FileReader {
    file: Arc<dyn File>,
    offset: u64,
    size: u64,
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size.saturating_sub(self.offset);
        let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        let chunk = buf.get_mut(..want).unwrap_or(&mut []);
        if chunk.is_empty() {
            return Ok(0);
        }
        let n = self
            .file
            .read_at(chunk, self.offset)
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
        let n = if n == 0 {
            chunk.fill(0);
            chunk.len()
        } else {
            n
        };
        self.offset += n as u64;
        Ok(n)
    }
}
