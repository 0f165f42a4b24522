//! fd_renumber: onto an open fd (which is closed), onto itself, onto a closed fd, from a bad fd,
//! onto a huge number; descriptors keep their offset when moved.
use guest::*;

fn main() {
    let a = open_at_root("hello.txt", 0, rights::READ).unwrap();
    let b = open_at_root("data/numbers.txt", 0, rights::READ).unwrap();
    show("read a", &read(a, 6));
    show("renumber(a, b)", &renumber(a, b));
    show("read b (was a)", &read(b, 5));
    show("read a", &read(a, 1));
    show("renumber(b, b)", &renumber(b, b));
    show("read b", &read(b, 1));
    show("renumber(b, closed a)", &renumber(b, a));
    show("renumber(bad, b)", &renumber(1000, b));
    show("renumber(b, u32::MAX)", &renumber(b, u32::MAX));
    show("renumber(b, 1<<31)", &renumber(b, 1 << 31));
    show("read b still", &read(b, 1));
    let c = open_at_root("hello.txt", 0, rights::READ).unwrap();
    show("renumber(c, stdin)", &renumber(c, 0));
    show("read stdin (was c)", &read(0, 5));
    show("fdstat(c)", &fdstat(c));
    show("renumber(stdout, root)", &renumber(1, ROOT));
    // fd 1 is gone (std drops what it prints there); fd 3 is stdout now.
    println!("lost: fd 1 is closed");
    let _ = write(ROOT, b"written to fd 3, which is stdout now\n");
    let _ = write(
        ROOT,
        format!("fdstat(3) -> {:?}\n", fdstat(ROOT)).as_bytes(),
    );
}
