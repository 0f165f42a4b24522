//! path_open's refusals: missing names, DIRECTORY on a file, a file with a trailing slash, write
//! on read-only descriptors, read on write-only ones, a bad directory fd, a file as the dirfd.
use guest::*;

fn main() {
    show("missing", &open_at_root("nope.txt", 0, rights::READ));
    show(
        "missing nested",
        &open_at_root("nope/nope.txt", 0, rights::READ),
    );
    show(
        "directory flag on file",
        &open_at_root("hello.txt", oflags::DIRECTORY, rights::READ),
    );
    show(
        "file with trailing slash",
        &open_at_root("hello.txt/", 0, rights::READ),
    );
    show_ok(
        "dir with trailing slash",
        &open_at_root("data/", oflags::DIRECTORY, rights::READ),
    );
    show_ok(
        "dir opened without directory flag",
        &open_at_root("data", 0, rights::READ),
    );
    show(
        "dir opened for write",
        &open_at_root("data", 0, rights::FD_WRITE),
    );
    let ro = open_at_root("hello.txt", 0, rights::READ).unwrap();
    show("write on read-only fd", &write(ro, b"x"));
    let wo = open_at_root("hello.txt", 0, rights::WRITE).unwrap();
    show("read on write-only fd", &read(wo, 1));
    show("bad dirfd", &open(999, 0, "hello.txt", 0, rights::READ, 0));
    show("file as dirfd", &open(ro, 0, "x", 0, rights::READ, 0));
    show("stdout as dirfd", &open(1, 0, "x", 0, rights::READ, 0));
    show("empty path", &open_at_root("", 0, rights::READ));
    show_ok(
        "dot path",
        &open_at_root(".", oflags::DIRECTORY, rights::READ),
    );
    show("write to dir fd", &write(open_dir("data").unwrap(), b"x"));
    show("read dir fd", &read(open_dir("data").unwrap(), 4));
    show_file("hello.txt");
}
