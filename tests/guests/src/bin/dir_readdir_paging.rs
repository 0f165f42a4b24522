//! fd_readdir with buffers too small for all entries (and for one entry), resuming by cookie;
//! every name comes back exactly once; a cookie past the end gives nothing; buf_len 0.
use guest::*;

fn main() {
    show("mkdir many", &mkdir("many"));
    for i in 0..25 {
        put(&format!("many/file_{i:02}_{}", "x".repeat(i)), b"").unwrap();
    }
    let fd = open_dir("many").unwrap();
    for buf_len in [24 + 1, 40, 64, 100, 4096] {
        let entries = readdir_all(fd, buf_len).unwrap();
        let mut names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
        let total = names.len();
        names.sort();
        names.dedup();
        println!(
            "buf {buf_len}: entries={total} unique={} first={:?} last={:?}",
            names.len(),
            names.first(),
            names.last()
        );
    }
    let (e, full) = readdir_once(fd, 0, 0).unwrap();
    println!("buf 0 -> entries={} full={full}", e.len());
    let all = readdir_all(fd, 4096).unwrap();
    let last = all.last().unwrap().next;
    show(
        "after last cookie",
        &readdir_once(fd, 4096, last).map(|(e, _)| e.len()),
    );
    show(
        "cookie u64::MAX",
        &readdir_once(fd, 4096, u64::MAX).map(|(e, _)| e.len()),
    );
    let dots: Vec<_> = all
        .iter()
        .filter(|e| e.name == "." || e.name == "..")
        .map(|e| (e.name.clone(), e.filetype))
        .collect();
    println!("dot entries -> {dots:?}");
    // Resuming from every cookie gives the tail of the full listing.
    let mut consistent = true;
    for (i, e) in all.iter().enumerate() {
        let tail = readdir_all_from(fd, e.next);
        let expect: Vec<String> = all[i + 1..].iter().map(|e| e.name.clone()).collect();
        consistent &= tail == expect;
    }
    println!("resume from every cookie consistent -> {consistent}");
    show(
        "readdir on file",
        &readdir_once(open_at_root("hello.txt", 0, rights::READ).unwrap(), 128, 0)
            .map(|(e, _)| e.len()),
    );
    show(
        "readdir on bad fd",
        &readdir_once(1000, 128, 0).map(|(e, _)| e.len()),
    );
}

fn readdir_all_from(fd: u32, mut cookie: u64) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let (entries, full) = readdir_once(fd, 4096, cookie).unwrap();
        if let Some(l) = entries.last() {
            cookie = l.next;
        }
        out.extend(entries.into_iter().map(|e| e.name));
        if !full {
            return out;
        }
    }
}
