//! Directory entry tables of the memory backend (`DirData`). Pure data inside the arena's
//! lock; link counts and budgets are `node.rs`'s, the rules for names `vfs::names`'.
//! Tables give memory back when entries go (`shrink_sparse`), so what a directory holds stays
//! proportional to its live entries, which are charged (`FS_NAME_COST` + the name).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

/// A directory's entries with stable readdir cookies: every insertion takes a fresh sequence
/// number (never reused), and readdir walks them in sequence order. Sequence numbers start at 2
/// because cookies 0 and 1 are `.` and `..`.
#[derive(Debug)]
pub(super) struct DirData {
    /// The directory holding this one (itself for the root); followed by the cycle check.
    pub(super) parent: u64,
    /// Components from the root to here (0 for the root); kept for the depth budget.
    pub(super) depth: u32,
    /// Bytes of the path from the root to here (`a/b` is 3); kept for the path budget.
    pub(super) path_len: u32,
    /// name → (sequence number, inode). SipHash (std's default): names are the guest's to
    /// choose, and a keyed hash keeps it from making them collide.
    by_name: HashMap<Arc<str>, (u64, u64)>,
    /// sequence number → (name, inode); the name is shared with `by_name`.
    by_seq: BTreeMap<u64, (Arc<str>, u64)>,
    next_seq: u64,
}

/// The first sequence number of a real entry.
pub(super) const FIRST_SEQ: u64 = 2;

impl DirData {
    pub(super) fn new(parent: u64) -> Self {
        DirData {
            parent,
            depth: 0,
            path_len: 0,
            by_name: HashMap::new(),
            by_seq: BTreeMap::new(),
            next_seq: FIRST_SEQ,
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).map(|&(_, ino)| ino)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Adds `name` (the caller checked it is absent) at the end of the readdir order.
    pub(super) fn insert(&mut self, name: &str, ino: u64) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        let name: Arc<str> = Arc::from(name);
        self.by_name.insert(Arc::clone(&name), (seq, ino));
        self.by_seq.insert(seq, (name, ino));
    }

    /// Removes `name`, giving back table memory the remaining entries do not need.
    pub(super) fn remove(&mut self, name: &str) -> Option<u64> {
        let (seq, ino) = self.by_name.remove(name)?;
        self.by_seq.remove(&seq);
        shrink_sparse(&mut self.by_name);
        if self.by_seq.is_empty() {
            // An emptied B-tree keeps its root node; a fresh one holds nothing.
            self.by_seq = BTreeMap::new();
        }
        Some(ino)
    }

    /// Entries whose sequence number is at least `seq`, in order: (seq, name, inode).
    pub(super) fn entries_from(&self, seq: u64) -> impl Iterator<Item = (u64, &str, u64)> {
        self.by_seq
            .range(seq.max(FIRST_SEQ)..)
            .map(|(s, (name, ino))| (*s, &**name, *ino))
    }
}

/// Gives a hash table's memory back once it is less than a third full (a table never shrinks
/// by itself): its memory then stays within a small multiple of its live entries, which the
/// per-entry costs are sized for. Shrinking to the live count leaves the next growth a doubling
/// away and the next shrink two thirds of the entries away, so rehashing stays amortised O(1).
pub(super) fn shrink_sparse<K: Eq + Hash, V, S: BuildHasher>(map: &mut HashMap<K, V, S>) {
    if map.capacity() > 3 * map.len() {
        map.shrink_to(map.len());
    }
}
