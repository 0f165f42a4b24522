//! path_unlink_file while the file is open: the name goes, the descriptor keeps reading and
//! writing, nlink drops to 0; and unlink's refusals (directories, trailing slash, missing).
use guest::*;

fn main() {
    let fd = open_at_root("hello.txt", 0, rights::RW).unwrap();
    show("unlink open file", &unlink("hello.txt"));
    show("stat name", &stat("hello.txt"));
    show("read via fd", &read(fd, 5));
    show("write via fd", &write(fd, b"!"));
    show("pread via fd", &pread(fd, 20, 0));
    show("fstat nlink", &fstat(fd).map(|s| s.nlink));
    show("recreate name", &put("hello.txt", b"new file\n"));
    show("old fd still old data", &pread(fd, 6, 0));
    close(fd).unwrap();
    show_file("hello.txt");
    show("unlink dir", &unlink("data"));
    show("unlink empty dir", &unlink("empty"));
    show("unlink missing", &unlink("nope"));
    show("unlink trailing slash", &unlink("hello.txt/"));
    show("unlink .", &unlink("."));
    show("unlink in missing dir", &unlink("nope/x"));
    show("unlink nested", &unlink("data/nested/deep.txt"));
    show("rmdir now-empty nested", &rmdir("data/nested"));
    show_list("");
    show_list("data");
}
