//! fd_filestat_set_size: shrink, grow (zero-filled), offset untouched, on a read-only fd and on
//! a directory.
use guest::*;

fn main() {
    let fd = open_at_root("data/numbers.txt", 0, rights::RW).unwrap();
    show("read 8", &read(fd, 8));
    show("set_size(4)", &set_size(fd, 4));
    show("size", &fstat(fd).map(|s| s.size));
    show("tell", &tell(fd));
    show("read past new end", &read(fd, 4));
    show("set_size(12)", &set_size(fd, 12));
    show("pread all", &pread(fd, 20, 0));
    show("set_size(0)", &set_size(fd, 0));
    show("size", &fstat(fd).map(|s| s.size));
    show("write at offset 8", &write(fd, b"Z"));
    show("pread all", &pread(fd, 20, 0));
    close(fd).unwrap();
    let ro = open_at_root("hello.txt", 0, rights::READ).unwrap();
    show("set_size(read-only fd)", &set_size(ro, 1));
    let dir = open_dir("data").unwrap();
    show("set_size(dir)", &set_size(dir, 1));
    show_file("hello.txt");
}
