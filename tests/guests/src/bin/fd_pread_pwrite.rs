//! fd_pread/fd_pwrite leave the offset alone, read short at the end, write past the end with a
//! zero-filled gap, and are refused on directories and streams.
use guest::*;

fn main() {
    let fd = open_at_root("data/numbers.txt", 0, rights::RW).unwrap();
    show("pread(4, 2)", &pread(fd, 4, 2));
    show("tell", &tell(fd));
    show("pread(4, 8)", &pread(fd, 4, 8));
    show("pread(4, 10)", &pread(fd, 4, 10));
    show("pread(4, 1000)", &pread(fd, 4, 1000));
    show("pwrite(XY, 3)", &pwrite(fd, b"XY", 3));
    show("tell after pwrite", &tell(fd));
    show("pwrite(end, 14)", &pwrite(fd, b"end", 14));
    show("size", &fstat(fd).map(|s| s.size));
    show("pread(20, 0)", &pread(fd, 20, 0));
    show("pwrite(empty, 100)", &pwrite(fd, b"", 100));
    show("size after empty pwrite", &fstat(fd).map(|s| s.size));
    close(fd).unwrap();
    let ro = open_at_root("hello.txt", 0, rights::READ).unwrap();
    show("pwrite(read-only fd)", &pwrite(ro, b"x", 0));
    let dir = open_dir("data").unwrap();
    show("pread(dir)", &pread(dir, 4, 0));
    show("pwrite(dir)", &pwrite(dir, b"x", 0));
}
