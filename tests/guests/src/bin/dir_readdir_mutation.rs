//! Adding and removing entries between fd_readdir calls: no entry comes back twice, every entry
//! present throughout comes back, removed entries may or may not appear (only invariants print).
use guest::*;
use std::collections::BTreeSet;

fn main() {
    mkdir("m").unwrap();
    for i in 0..12 {
        put(&format!("m/keep{i:02}"), b"").unwrap();
        put(&format!("m/drop{i:02}"), b"").unwrap();
    }
    let fd = open_dir("m").unwrap();
    let mut seen = Vec::new();
    let mut cookie = 0;
    let mut round = 0;
    loop {
        let (entries, full) = readdir_once(fd, 90, cookie).unwrap();
        if let Some(l) = entries.last() {
            cookie = l.next;
        }
        seen.extend(entries.into_iter().map(|e| e.name));
        // Mutate between calls: remove one old entry, add one new one.
        if round < 12 {
            unlink(&format!("m/drop{round:02}")).unwrap();
            put(&format!("m/added{round:02}"), b"").unwrap();
        }
        round += 1;
        if !full || round > 1000 {
            break;
        }
    }
    // Finish the mutations the loop did not get to, so the final tree does not depend on how
    // many calls the listing took.
    for i in round.min(12)..12 {
        unlink(&format!("m/drop{i:02}")).unwrap();
        put(&format!("m/added{i:02}"), b"").unwrap();
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    println!("no duplicates -> {}", unique.len() == seen.len());
    let kept = (0..12).all(|i| unique.contains(&format!("keep{i:02}")));
    println!("all kept entries seen -> {kept}");
    println!(
        "dot and dotdot seen -> {}",
        unique.contains(".") && unique.contains("..")
    );
    println!("finished -> {}", round <= 1000);
    // A fresh listing from cookie 0 reflects the changes exactly.
    show_list("m");
    // Rewinding the same descriptor to 0 sees the new state too.
    let again: BTreeSet<_> = readdir_all(fd, 4096)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    println!(
        "rewind sees added -> {}",
        again.contains("added00") && !again.contains("drop00")
    );
}
