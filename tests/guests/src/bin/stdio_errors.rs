//! What stdio descriptors are and refuse: fdstat, filestat type, seek/tell (spipe), reading
//! stdout and writing stdin (badf), directory calls on streams.
use guest::*;

fn main() {
    for fd in 0..3 {
        show(&format!("fdstat({fd})"), &fdstat(fd));
        show(
            &format!("filestat({fd}).type"),
            &fstat(fd).map(|s| s.filetype),
        );
        show(&format!("seek({fd}, 0, cur)"), &seek(fd, 0, whence::CUR));
        show(&format!("tell({fd})"), &tell(fd));
        show(&format!("prestat({fd})"), &prestat_name_len(fd));
        show(
            &format!("readdir({fd})"),
            &readdir_once(fd, 128, 0).map(|(e, _)| e.len()),
        );
        show(
            &format!("open({fd}, x)"),
            &open(fd, 0, "x", 0, rights::READ, 0),
        );
    }
    show("read(1)", &read(1, 4));
    show("read(2)", &read(2, 4));
    show("write(0)", &write(0, b"x"));
    show("pread(0)", &pread(0, 4, 0));
    show("pwrite(1)", &pwrite(1, b"x", 0));
}
