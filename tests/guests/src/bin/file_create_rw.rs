//! Creating a file, writing, closing, reopening and reading back; a second descriptor shares the
//! data but not the offset; a large file written and read back.
use guest::*;

fn main() {
    let fd = open_at_root("created.txt", oflags::CREAT, rights::RW).unwrap();
    show("stat new", &fstat(fd));
    show("write", &write(fd, b"first line\n"));
    show("write", &write(fd, b"second line\n"));
    let other = open_at_root("created.txt", 0, rights::READ).unwrap();
    show("read via other fd", &read(other, 5));
    show("tell(other)", &tell(other));
    show("tell(fd)", &tell(fd));
    close(other).unwrap();
    close(fd).unwrap();
    show_file("created.txt");
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    show("put big", &put("data/big.bin", &big));
    let back = get("data/big.bin");
    show("big round trip", &back.map(|b| b == big));
    show("stat big", &stat("data/big.bin"));
    let fd = open_at_root("data/nested/new.txt", oflags::CREAT, rights::WRITE).unwrap();
    show("read on write-only", &read(fd, 1));
    show("write", &write(fd, b"nested\n"));
    close(fd).unwrap();
    show_file("data/nested/new.txt");
    show(
        "create in missing dir",
        &open_at_root("missing/x.txt", oflags::CREAT, rights::RW),
    );
    show(
        "create under a file",
        &open_at_root("hello.txt/x", oflags::CREAT, rights::RW),
    );
}
