//! path_create_directory / path_remove_directory and their refusals: existing names, missing
//! parents, non-empty directories, files, `.`, symlinks to directories (trailing slashes:
//! path_trailing_slash).
use guest::*;

fn main() {
    show("mkdir a", &mkdir("a"));
    show("mkdir a again", &mkdir("a"));
    show("mkdir a/b", &mkdir("a/b"));
    show("mkdir x/y (missing parent)", &mkdir("x/y"));
    show("mkdir over file", &mkdir("hello.txt"));
    show("mkdir under file", &mkdir("hello.txt/sub"));
    show("mkdir with trailing slash", &mkdir("c/"));
    show("mkdir over symlink", &mkdir("link_data"));
    show("mkdir .", &mkdir("."));
    show("mkdir empty", &mkdir(""));
    show("rmdir a (not empty)", &rmdir("a"));
    show("rmdir a/b", &rmdir("a/b"));
    show("rmdir a/b again", &rmdir("a/b"));
    show("rmdir file", &rmdir("hello.txt"));
    show("rmdir symlink to dir", &rmdir("link_data"));
    show("rmdir .", &rmdir("."));
    show("rmdir a/.", &rmdir("a/."));
    show("rmdir empty", &rmdir("empty"));
    show("rmdir missing", &rmdir("missing"));
    let a = open_dir("a").unwrap();
    show("mkdir relative to a", &mkdir_at(a, "inner"));
    show("rmdir relative to a", &rmdir_at(a, "inner"));
    show(
        "mkdir via file fd",
        &mkdir_at(open_at_root("hello.txt", 0, rights::READ).unwrap(), "z"),
    );
    show_list("");
    show_list("a");
}
