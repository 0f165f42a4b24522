//! fd_fdstat_get on files, directories and the preopen; fd_fdstat_set_flags with each flag that
//! preview1 lets a guest change; fd_prestat_get / dir_name on the preopen and non-preopens.
use guest::*;

fn main() {
    let file = open_at_root("hello.txt", 0, rights::RW).unwrap();
    let dir = open_dir("data").unwrap();
    show("fdstat(file)", &fdstat(file));
    show("fdstat(dir)", &fdstat(dir));
    show("fdstat(root)", &fdstat(ROOT));
    show("fdstat(bad)", &fdstat(77));
    show(
        "set_flags(file, nonblock)",
        &set_flags(file, fdflags::NONBLOCK),
    );
    show("fdstat(file)", &fdstat(file));
    show("set_flags(file, 0)", &set_flags(file, 0));
    show("fdstat(file)", &fdstat(file));
    show("set_flags(bad)", &set_flags(77, 0));
    let len = prestat_name_len(ROOT);
    show("prestat(root)", &len);
    if let Ok(len) = len {
        show("prestat_dir_name(root)", &prestat_name(ROOT, len));
        show(
            "prestat_dir_name(root, bigger buf)",
            &prestat_name(ROOT, len + 4).map(|s| s.len()),
        );
    }
    show("prestat(4)", &prestat_name_len(4));
    show("prestat(file)", &prestat_name_len(file));
    show("prestat(dir)", &prestat_name_len(dir));
    show("prestat(bad)", &prestat_name_len(1000));
    show("filestat(file)", &fstat(file));
    show("filestat(dir).type", &fstat(dir).map(|s| s.filetype));
    show("filestat(bad)", &fstat(1000));
}
