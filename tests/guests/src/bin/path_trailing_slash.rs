//! Trailing slashes: fine on directories (and on symlinks to directories), notdir on files and
//! on symlinks to files, for open, stat, mkdir, rmdir, unlink and symlink creation.
use guest::*;

fn main() {
    show("stat data/", &stat("data/").map(|s| s.filetype));
    show("stat data//", &stat("data//").map(|s| s.filetype));
    show("stat hello.txt/", &stat("hello.txt/"));
    show("lstat link_data/", &lstat("link_data/").map(|s| s.filetype));
    show("lstat link_hello/", &lstat("link_hello/"));
    show(
        "open link_hello/",
        &open_at_root("link_hello/", 0, rights::READ),
    );
    show_ok(
        "open link_data/ nofollow",
        &open(ROOT, 0, "link_data/", oflags::DIRECTORY, rights::READ, 0),
    );
    show(
        "create new.txt/",
        &open_at_root("new.txt/", oflags::CREAT, rights::RW),
    );
    show("mkdir newdir/", &mkdir("newdir/"));
    show("mkdir newdir2//", &mkdir("newdir2//"));
    show("rmdir newdir/", &rmdir("newdir/"));
    show("symlink at s/", &symlink("hello.txt", "s/"));
    show("symlink to dir/ target", &symlink("data/", "sd"));
    show_file("sd/numbers.txt");
    show("symlink to file/ target", &symlink("hello.txt/", "sf"));
    show("open sf", &open_at_root("sf", 0, rights::READ));
    show(
        "data/nested//deep.txt",
        &stat("data/nested//deep.txt").map(|s| s.size),
    );
    show("unlink link_data/", &unlink("link_data/"));
    show("rmdir link_data/", &rmdir("link_data/"));
    show("unlink hello.txt/", &unlink("hello.txt/"));
    show(
        "rename newdir2/ -> renamed/",
        &rename("newdir2/", "renamed/"),
    );
    show("rename hello.txt -> h/", &rename("hello.txt", "h/"));
    show_list("");
}
