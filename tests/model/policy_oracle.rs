//! The policy oracle: a plan runs under a policy that protects part of the seed tree, and
//! after every step the protected contents must not have been read, changed, renamed, linked or
//! planted into through *any* name — the file's own, a parent's or ancestor's new name, a
//! hard link, a descriptor held across a rename, a symlink. Shared by the model property test
//! and the `policy_plans` fuzz target.
//!
//! How contents are told apart without a model: the protected file alone holds bytes ≥ 0x80,
//! and every byte a plan writes is masked below 0x80 first, so any such byte the guest reads,
//! or finds at an unprotected name, came out of the protected file.
#![allow(dead_code)]

use super::exec::{Backend, Rig};
use super::ops::Op;
use super::outcome::Value;
use wasi_warden::policy::{PathPattern, SyscallSet};
use wasi_warden::vfs::TreeEntry;
use wasi_warden::{Access, Decision, PolicyTable, Rule};

/// The protected file's contents: every byte ≥ 0x80, which nothing else holds.
pub const SECRET: &[u8] = &[0xde, 0xad, 0xbe, 0xef, 0x80, 0x81, 0xfe, 0xff];

/// The seed: `/a/b/` is the protected directory (holding the secret `a` and a link out of it),
/// `/a/a` and `/b/` are public, and `/s` leads into the protected directory.
pub fn seed() -> Vec<(String, TreeEntry)> {
    super::exec::without_links_where_unsupported(vec![
        ("a".into(), TreeEntry::Dir),
        ("a/a".into(), TreeEntry::File(b"pub".to_vec())),
        ("a/b".into(), TreeEntry::Dir),
        ("a/b/a".into(), TreeEntry::File(SECRET.to_vec())),
        ("a/b/s".into(), TreeEntry::Symlink("../a".into())),
        ("b".into(), TreeEntry::Dir),
        ("s".into(), TreeEntry::Symlink("a/b".into())),
    ])
}

/// The policies the oracle runs plans under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// `deny` on `/a/b/**`, no filter: nothing below may be touched at all.
    Everything,
    /// `deny` reads (`access = ["read"]`) of `/a/b/**`.
    ReadsByAccess,
    /// `deny` the `fs-read` syscalls on `/a/b/**`.
    ReadsBySyscall,
    /// `deny` reads of the file `/a/b/a` alone.
    ReadsOfTheFile,
    /// `deny` reads of the glob `/*/b/a`.
    ReadsByGlob,
}

impl Protection {
    /// Every policy the oracle knows.
    pub const ALL: [Protection; 5] = [
        Protection::Everything,
        Protection::ReadsByAccess,
        Protection::ReadsBySyscall,
        Protection::ReadsOfTheFile,
        Protection::ReadsByGlob,
    ];

    /// The pattern that names the protected contents.
    pub fn pattern(self) -> PathPattern {
        match self {
            Protection::Everything | Protection::ReadsByAccess | Protection::ReadsBySyscall => {
                PathPattern::subtree("/a/b")
            }
            Protection::ReadsOfTheFile => PathPattern::exact("/a/b/a"),
            Protection::ReadsByGlob => PathPattern::parse("/*/b/a").expect("a valid glob"),
        }
    }

    /// The policy table.
    pub fn table(self) -> PolicyTable {
        let rule = Rule::new(Decision::deny()).path(self.pattern());
        let rule = match self {
            Protection::Everything => rule,
            Protection::ReadsBySyscall => {
                rule.syscalls(SyscallSet::group("fs-read").expect("a known group"))
            }
            Protection::ReadsByAccess | Protection::ReadsOfTheFile | Protection::ReadsByGlob => {
                rule.access(Access::READ)
            }
        };
        PolicyTable::allow_all().rule(rule)
    }
}

/// A plan op with every byte it would write masked below 0x80 (see the module docs).
pub fn masked_op(op: &Op) -> Op {
    let mask = |data: &[u8]| data.iter().map(|b| b & 0x7f).collect::<Vec<u8>>();
    match op {
        Op::Write { fd, data } => Op::Write {
            fd: *fd,
            data: mask(data),
        },
        Op::Pwrite { fd, data, offset } => Op::Pwrite {
            fd: *fd,
            data: mask(data),
            offset: *offset,
        },
        other => other.clone(),
    }
}

fn secret_bytes(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| *b >= 0x80)
}

/// Runs `plan` on `backend` under `protection`; the first broken promise, if any.
pub fn check(backend: Backend, protection: Protection, plan: &[Op]) -> Result<(), String> {
    let seed = seed();
    let table = protection.table();
    let mut rig = Rig::configured(backend, &seed, |b| b.policy(table));
    let pattern = protection.pattern();
    let protected = |path: &str| pattern.matches(&format!("/{path}"));
    let seeded: Vec<_> = seed.iter().filter(|(p, _)| protected(p)).cloned().collect();
    for (step, op) in plan.iter().enumerate() {
        let op = masked_op(op);
        let at =
            |what: String| format!("{protection:?} on {backend:?}, step {step} ({op:?}): {what}");
        let answer = rig.apply(&op);
        if let Ok(Value::Bytes(bytes)) = &answer
            && secret_bytes(bytes)
        {
            return Err(at(format!("the guest read protected bytes {bytes:?}")));
        }
        rig.outside_unchanged().map_err(at)?;
        let tree = rig.tree();
        for (path, entry) in &tree {
            if let TreeEntry::File(bytes) = entry
                && secret_bytes(bytes)
                && !protected(path)
            {
                return Err(at(format!(
                    "protected contents are reachable as {path:?}: {tree:?}"
                )));
            }
        }
        if protection == Protection::Everything {
            let now: Vec<_> = tree.into_iter().filter(|(p, _)| protected(p)).collect();
            if now != seeded {
                return Err(at(format!(
                    "the protected subtree changed: {now:?}, seeded {seeded:?}"
                )));
            }
        }
    }
    Ok(())
}

/// [`check`] on every backend under every protection.
pub fn check_all(plan: &[Op]) -> Result<(), String> {
    for backend in Backend::ALL {
        for protection in Protection::ALL {
            check(backend, protection, plan)?;
        }
    }
    Ok(())
}
