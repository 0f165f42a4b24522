//! path_rename through every POSIX replace case: file over file, over a missing name, onto
//! itself, file over dir, dir over file, dir over empty / non-empty dir, dir into its own
//! subtree, missing source, trailing slashes, `.` and `..`.
use guest::*;

fn main() {
    put("f1", b"one").unwrap();
    put("f2", b"two").unwrap();
    mkdir("d1").unwrap();
    put("d1/inside", b"in").unwrap();
    mkdir("d2").unwrap();
    mkdir("d3").unwrap();
    put("d3/occupant", b"").unwrap();
    show("file -> new name", &rename("f1", "f1b"));
    show("file over file", &rename("f1b", "f2"));
    show_file("f2");
    show("file onto itself", &rename("f2", "f2"));
    show("file over dir", &rename("f2", "d2"));
    show("dir over file", &rename("d2", "f2"));
    show("dir over non-empty dir", &rename("d1", "d3"));
    show("dir over empty dir", &rename("d1", "d2"));
    show_file("d2/inside");
    show("dir onto itself", &rename("d2", "d2"));
    show("dir into own child", &rename("d2", "d2/sub"));
    mkdir("d2/child").unwrap();
    show("dir into own grandchild", &rename("d2", "d2/child/x"));
    show("missing source", &rename("nope", "x"));
    show("into missing dir", &rename("f2", "nope/x"));
    show("file with trailing slash", &rename("f2/", "f3"));
    show("file to trailing slash", &rename("f2", "f3/"));
    show("dir with trailing slash", &rename("d2/", "d4/"));
    show("rename .", &rename(".", "x"));
    show("rename to ..", &rename("f2", ".."));
    show("rename d4/..", &rename("d4/..", "x"));
    show(
        "symlink renamed (not target)",
        &rename("link_hello", "link2"),
    );
    show_file("link2");
    show("lstat link2", &lstat("link2").map(|s| s.filetype));
    show("file over symlink", &rename("f2", "link2"));
    show("lstat link2", &lstat("link2").map(|s| s.filetype));
    show("hard links same file", &link(0, "hello.txt", "h2"));
    show("rename onto own hard link", &rename("hello.txt", "h2"));
    println!(
        "both names remain -> {:?}",
        (lstat("hello.txt").is_ok(), lstat("h2").is_ok())
    );
    let data = open_dir("data").unwrap();
    show(
        "rename across dir fds",
        &rename_at(ROOT, "h2", data, "moved"),
    );
    show("rename from bad fd", &rename_at(999, "x", ROOT, "y"));
    show_list("");
    show_list("data");
    show_list("d4");
}
