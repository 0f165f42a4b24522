//! fd_seek with every whence, past the end, before the start (inval), on a directory, and
//! fd_tell; reads and writes move the offset.
use guest::*;

fn main() {
    let fd = open_at_root("data/numbers.txt", 0, rights::RW).unwrap();
    show("tell", &tell(fd));
    show("read 3", &read(fd, 3));
    show("tell after read", &tell(fd));
    show("seek(2, set)", &seek(fd, 2, whence::SET));
    show("read 2", &read(fd, 2));
    show("seek(1, cur)", &seek(fd, 1, whence::CUR));
    show("seek(-1, cur)", &seek(fd, -1, whence::CUR));
    show("seek(0, end)", &seek(fd, 0, whence::END));
    show("seek(-3, end)", &seek(fd, -3, whence::END));
    show("read to end", &read(fd, 10));
    show("seek(5, end)", &seek(fd, 5, whence::END));
    show("read past end", &read(fd, 10));
    show("seek(-1, set)", &seek(fd, -1, whence::SET));
    show("seek(-100, cur)", &seek(fd, -100, whence::CUR));
    show("tell after failed seeks", &tell(fd));
    show("seek(i64::MAX, set)", &seek(fd, i64::MAX, whence::SET));
    show("seek(1, cur) overflow", &seek(fd, 1, whence::CUR));
    show("seek(0, set)", &seek(fd, 0, whence::SET));
    show("write", &write(fd, b"ab"));
    show("tell after write", &tell(fd));
    close(fd).unwrap();
    show_file("data/numbers.txt");
    let dir = open_dir("data").unwrap();
    show("seek(dir)", &seek(dir, 0, whence::SET));
    show("tell(dir)", &tell(dir));
    show("seek(bad fd)", &seek(99, 0, whence::SET));
}
