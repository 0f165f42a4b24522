//! Symlinks that point outside the preopen: creation is allowed or refused per runtime rules,
//! but following any of them (directly, in the middle of a path, via `..` after a dir link)
//! never reaches outside.
use guest::*;

fn main() {
    show("symlink ../outside", &symlink("../outside", "up"));
    show("symlink /etc/passwd", &symlink("/etc/passwd", "abs"));
    show("symlink data/../../x", &symlink("data/../../x", "sneaky"));
    show("symlink to /", &symlink("/", "rootlink"));
    show("open up", &open_at_root("up", 0, rights::READ));
    show("open up/x", &open_at_root("up/x", 0, rights::READ));
    show("open abs", &open_at_root("abs", 0, rights::READ));
    show("open sneaky", &open_at_root("sneaky", 0, rights::READ));
    show("stat up", &stat("up"));
    show("lstat up", &lstat("up").map(|s| s.filetype));
    show(
        "create through up",
        &open_at_root("up", oflags::CREAT, rights::RW),
    );
    show("mkdir up/x", &mkdir("up/x"));
    // A directory link then `..`: resolves inside the preopen.
    show_file("link_data/../hello.txt");
    show_file("link_data/nested/../../hello.txt");
    show(
        "link_data/../../hello.txt",
        &open_at_root("link_data/../../hello.txt", 0, rights::READ),
    );
    // A link inside a subdirectory climbing exactly to the root is fine.
    show("symlink data/to_root -> ..", &symlink("..", "data/to_root"));
    show_file("data/to_root/hello.txt");
    show(
        "data/to_root/..",
        &open_at_root("data/to_root/..", oflags::DIRECTORY, rights::READ),
    );
    // Relative to a subdirectory fd, a link climbing above that fd but inside the preopen.
    let nested = open_dir("data/nested").unwrap();
    show(
        "symlink in nested -> ../../hello.txt",
        &symlink("../../hello.txt", "data/nested/up2"),
    );
    show_ok(
        "open via root fd",
        &open_at_root("data/nested/up2", 0, rights::READ),
    );
    show(
        "open via nested fd",
        &open(nested, FOLLOW, "up2", 0, rights::READ, 0),
    );
    show("readlink abs", &readlink("abs", 64));
    show_list("");
}
