//! The APPEND flag: every write lands at the end whatever the offset, set at open time or later
//! through fd_fdstat_set_flags, and cleared again.
use guest::*;

fn main() {
    let fd = open(ROOT, FOLLOW, "hello.txt", 0, rights::RW, fdflags::APPEND).unwrap();
    show("fdstat", &fdstat(fd));
    show("write", &write(fd, b"one\n"));
    show("seek(0, set)", &seek(fd, 0, whence::SET));
    show("write after seek", &write(fd, b"two\n"));
    show("tell", &tell(fd));
    show("clear append", &set_flags(fd, 0));
    show("fdstat", &fdstat(fd));
    show("seek(0, set)", &seek(fd, 0, whence::SET));
    show("write at start", &write(fd, b"HE"));
    close(fd).unwrap();
    show_file("hello.txt");
    let fd = open_at_root("data/numbers.txt", 0, rights::RW).unwrap();
    show("set append", &set_flags(fd, fdflags::APPEND));
    show("write", &write(fd, b"!"));
    close(fd).unwrap();
    show_file("data/numbers.txt");
    let fd = open_at_root("new.log", oflags::CREAT, rights::RW).unwrap();
    show("set append on new", &set_flags(fd, fdflags::APPEND));
    for line in ["a\n", "b\n", "c\n"] {
        show("write", &write(fd, line.as_bytes()));
    }
    close(fd).unwrap();
    show_file("new.log");
}
