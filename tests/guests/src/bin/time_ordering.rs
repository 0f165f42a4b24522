//! Timestamps move with changes: a write moves mtime forward, a read does not move mtime,
//! creating an entry moves the parent's mtime; new files get a current time.
use guest::*;

fn main() {
    const OLD: u64 = 1_000_000_000_000_000_000;
    put("t.txt", b"v1").unwrap();
    set_times_at(ROOT, 0, "t.txt", OLD, OLD, fst::ATIM | fst::MTIM).unwrap();
    set_times_at(ROOT, 0, "data", OLD, OLD, fst::ATIM | fst::MTIM).unwrap();
    let fd = open_at_root("t.txt", 0, rights::RW).unwrap();
    show("read", &read(fd, 2));
    println!("read keeps mtime -> {}", fstat(fd).unwrap().mtim == OLD);
    show("write", &write(fd, b"v2"));
    println!("write moves mtime -> {}", fstat(fd).unwrap().mtim > OLD);
    set_times_at(ROOT, 0, "t.txt", OLD, OLD, fst::ATIM | fst::MTIM).unwrap();
    show("set_size", &set_size(fd, 1));
    println!("truncate moves mtime -> {}", fstat(fd).unwrap().mtim > OLD);
    show("create in data", &put("data/new", b""));
    println!(
        "create moves parent mtime -> {}",
        stat("data").unwrap().mtim > OLD
    );
    let now = clock_time(0).unwrap();
    let st = stat("data/new").unwrap();
    println!(
        "new file mtime recent -> {}",
        st.mtim + 5_000_000_000 >= now && st.mtim <= now + 5_000_000_000
    );
    println!(
        "ctime not before mtime -> {}",
        st.ctim + 10_000_000 >= st.mtim
    );
}
