//! Symlink loops and long chains: self-loops, two-cycles, chains just under and over the
//! follow limit, and loops in the middle of a path all answer loop, never hang.
use guest::*;

fn main() {
    show("self", &symlink("self", "self"));
    show("a -> b", &symlink("b", "a"));
    show("b -> a", &symlink("a", "b"));
    show("open self", &open_at_root("self", 0, rights::READ));
    show("open a", &open_at_root("a", 0, rights::READ));
    show("stat a", &stat("a"));
    show("lstat a", &lstat("a").map(|s| s.filetype));
    show("open a/x", &open_at_root("a/x", 0, rights::READ));
    show("mkdir a/x", &mkdir("a/x"));
    show(
        "create through loop",
        &open_at_root("self", oflags::CREAT, rights::RW),
    );
    show("dot loop", &symlink(".", "dot"));
    show_file("dot/dot/dot/dot/hello.txt");
    // A chain c0 -> c1 -> ... -> c{n} -> hello.txt.
    for i in 0..40 {
        symlink(&format!("c{}", i + 1), &format!("c{i}")).unwrap();
    }
    symlink("hello.txt", "c40").unwrap();
    for start in [39, 35, 32, 31, 30, 20, 0] {
        let r = open_at_root(&format!("c{start}"), 0, rights::READ);
        // The exact limit differs between hosts; print only whether short chains work.
        if start >= 30 {
            println!(
                "chain of {} links -> {}",
                41 - start,
                if r.is_ok() { "Ok" } else { "Err" }
            );
        } else {
            println!("chain of {} links -> {:?}", 41 - start, r.map(|_| ()));
        }
    }
    show("unlink self", &unlink("self"));
    show("unlink a", &unlink("a"));
    show("open b (dangling now)", &open_at_root("b", 0, rights::READ));
}
