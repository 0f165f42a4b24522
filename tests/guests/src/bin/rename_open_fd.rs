//! Renaming a file or its directory while a descriptor is open: the descriptor keeps working
//! and writes land in the renamed file; a directory fd still resolves relative paths. (The
//! directories are made by the guest: an overlay refuses to move a directory of its lower
//! layer, EXDEV, as overlayfs does.)
use guest::*;

fn main() {
    mkdir("work").unwrap();
    mkdir("work/nested").unwrap();
    put("work/nested/deep.txt", b"deep\n").unwrap();
    let fd = open_at_root("data/numbers.txt", 0, rights::RW).unwrap();
    let dir = open_dir("work/nested").unwrap();
    show("rename file", &rename("data/numbers.txt", "moved.txt"));
    show("read via fd", &read(fd, 4));
    show("write via fd", &write(fd, b"__"));
    show("rename parent dir", &rename("work", "work_renamed"));
    show_ok(
        "open via dir fd",
        &open(dir, 0, "deep.txt", 0, rights::READ, 0),
    );
    show("create via dir fd", &put_at(dir, "made_later", b"later"));
    close(fd).unwrap();
    show_file("moved.txt");
    show_file("work_renamed/nested/made_later");
    show_list("");
}

fn put_at(dir: u32, name: &str, data: &[u8]) -> R<u32> {
    let fd = open(dir, 0, name, oflags::CREAT, rights::RW, 0)?;
    let n = write(fd, data);
    close(fd)?;
    n
}
