//! O_TRUNC on an existing file, on a new file with CREAT, on a read-write fd that then writes,
//! and TRUNC on a directory.
use guest::*;

fn main() {
    let fd = open_at_root("hello.txt", oflags::TRUNC, rights::RW).unwrap();
    show("size after trunc", &fstat(fd).map(|s| s.size));
    show("write", &write(fd, b"new"));
    close(fd).unwrap();
    show_file("hello.txt");
    let fd = open_at_root(
        "data/numbers.txt",
        oflags::CREAT | oflags::TRUNC,
        rights::RW,
    )
    .unwrap();
    show("size after creat|trunc", &fstat(fd).map(|s| s.size));
    close(fd).unwrap();
    let fd = open_at_root("fresh.txt", oflags::CREAT | oflags::TRUNC, rights::RW).unwrap();
    show("fresh size", &fstat(fd).map(|s| s.size));
    close(fd).unwrap();
    show(
        "trunc dir",
        &open_at_root("data", oflags::TRUNC, rights::RW),
    );
    show(
        "trunc dir with directory flag",
        &open_at_root("data", oflags::TRUNC | oflags::DIRECTORY, rights::RW),
    );
    show_list("");
}
