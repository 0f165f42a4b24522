//! O_CREAT|O_EXCL: fails on an existing file, directory or symlink (even a dangling one), works
//! on a new name; EXCL without CREAT is ignored.
use guest::*;

fn main() {
    let ce = oflags::CREAT | oflags::EXCL;
    show(
        "excl existing file",
        &open_at_root("hello.txt", ce, rights::RW),
    );
    show("excl existing dir", &open_at_root("data", ce, rights::RW));
    show("excl symlink", &open_at_root("link_hello", ce, rights::RW));
    show("make dangling", &symlink("nowhere", "dangling"));
    show(
        "excl dangling symlink",
        &open_at_root("dangling", ce, rights::RW),
    );
    let fd = open_at_root("brand_new", ce, rights::RW);
    show_ok("excl new", &fd);
    show("excl new again", &open_at_root("brand_new", ce, rights::RW));
    show_ok(
        "excl without creat",
        &open_at_root("hello.txt", oflags::EXCL, rights::READ),
    );
    show(
        "excl without creat, missing",
        &open_at_root("absent", oflags::EXCL, rights::READ),
    );
    show_list("");
}
