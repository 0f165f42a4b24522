//! path_link: a second name for a file (nlink counts, shared data), refusals for directories,
//! existing names, missing sources; linking a symlink with and without SYMLINK_FOLLOW.
use guest::*;

fn main() {
    show("nlink before", &stat("hello.txt").map(|s| s.nlink));
    show("link", &link(0, "hello.txt", "hard.txt"));
    show("nlink after", &stat("hello.txt").map(|s| s.nlink));
    println!(
        "same ino -> {}",
        stat("hello.txt").unwrap().ino == stat("hard.txt").unwrap().ino
    );
    show("write via hard", &put("hard.txt", b"shared\n"));
    show_file("hello.txt");
    show(
        "link into subdir",
        &link(0, "hello.txt", "data/nested/third"),
    );
    show("nlink 3", &stat("hard.txt").map(|s| s.nlink));
    show("unlink original", &unlink("hello.txt"));
    show("nlink 2", &stat("hard.txt").map(|s| s.nlink));
    show_file("data/nested/third");
    show("link dir", &link(0, "data", "data2"));
    show(
        "link existing target",
        &link(0, "hard.txt", "data/numbers.txt"),
    );
    show("link missing source", &link(0, "nope", "x"));
    show("link into missing dir", &link(0, "hard.txt", "nope/x"));
    show(
        "link follow symlink",
        &link(FOLLOW, "link_hello", "ln_follow"),
    );
    show(
        "link nofollow symlink",
        &link(0, "link_data", "ln_nofollow"),
    );
    show(
        "lstat ln_nofollow",
        &lstat("ln_nofollow").map(|s| s.filetype),
    );
    show("link trailing slash target", &link(0, "hard.txt", "slash/"));
    let fd = open_at_root("hard.txt", 0, rights::READ).unwrap();
    show("fd nlink", &fstat(fd).map(|s| s.nlink));
    show_list("");
    show_list("data/nested");
}
