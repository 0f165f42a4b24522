//! Dangling symlinks: lstat works, stat and open say noent, O_CREAT through them, readlink,
//! unlink, and a link that later gets a target.
use guest::*;

fn main() {
    show("symlink", &symlink("target.txt", "dangle"));
    show("lstat", &lstat("dangle").map(|s| s.filetype));
    show("stat", &stat("dangle"));
    show("open", &open_at_root("dangle", 0, rights::READ));
    show("readlink", &readlink("dangle", 64));
    show("create target", &put("target.txt", b"now here\n"));
    show_file("dangle");
    show("unlink target", &unlink("target.txt"));
    show("open again", &open_at_root("dangle", 0, rights::READ));
    show("symlink to missing dir", &symlink("nodir/file", "dangle2"));
    show(
        "open create through dangling into missing dir",
        &open_at_root("dangle2", oflags::CREAT, rights::RW),
    );
    show("unlink dangling", &unlink("dangle2"));
    show("mkdir through dangling", &mkdir("dangle"));
    show("lstat still link", &lstat("dangle").map(|s| s.filetype));
    show_list("");
}
