//! path_symlink / path_readlink: creating links to files and directories, reading them back
//! (also into short buffers), following them on open and stat, and the refusals.
use guest::*;

fn main() {
    show("readlink seeded", &readlink("link_hello", 64));
    show("symlink to file", &symlink("hello.txt", "s_file"));
    show("symlink to dir", &symlink("data/nested", "s_dir"));
    show("symlink relative up", &symlink("../hello.txt", "data/s_up"));
    show("symlink existing name", &symlink("x", "hello.txt"));
    show("symlink in missing dir", &symlink("x", "missing/s"));
    show("readlink s_file", &readlink("s_file", 64));
    show("readlink short buffer", &readlink("s_file", 4));
    show("readlink zero buffer", &readlink("s_file", 0));
    show("readlink on file", &readlink("hello.txt", 64));
    show("readlink on dir", &readlink("data", 64));
    show("readlink missing", &readlink("nope", 64));
    show(
        "readlink through dir symlink",
        &readlink("link_data/../link_hello", 64),
    );
    show_file("s_file");
    show_file("data/s_up");
    show_file("s_dir/deep.txt");
    show("stat follow", &stat("s_file"));
    show("stat nofollow", &lstat("s_file").map(|s| s.filetype));
    show(
        "stat dir link nofollow",
        &lstat("s_dir").map(|s| s.filetype),
    );
    show(
        "open nofollow on link",
        &open(ROOT, 0, "s_file", 0, rights::READ, 0),
    );
    show(
        "open nofollow dir link",
        &open(ROOT, 0, "s_dir", oflags::DIRECTORY, rights::READ, 0),
    );
    show_ok(
        "open nofollow, link in middle",
        &open(ROOT, 0, "s_dir/deep.txt", 0, rights::READ, 0),
    );
    show("write through link", &put("s_file", b"via link\n"));
    show_file("hello.txt");
    show("unlink link", &unlink("s_file"));
    show_file("hello.txt");
    show("unlink dir link", &unlink("s_dir"));
    show("rmdir dir link", &rmdir("link_data"));
    show("symlink empty target", &symlink("", "s_empty"));
    show_list("");
}
