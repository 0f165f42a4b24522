//! `..` and absolute paths against the preopen: every way out is refused (the same errno for
//! every call family), while `..` that stays inside works.
use guest::*;

fn main() {
    let escapes = [
        "..",
        "../",
        "../hello.txt",
        "data/../../hello.txt",
        "data/nested/../../..",
        "/hello.txt",
        "/",
        "//hello.txt",
        "./../hello.txt",
    ];
    for p in escapes {
        show(&format!("open {p:?}"), &open_at_root(p, 0, rights::READ));
        show(&format!("stat {p:?}"), &stat(p));
        show(&format!("mkdir {p:?}/x"), &mkdir(&format!("{p}/x")));
    }
    show(
        "create ../new",
        &open_at_root("../new", oflags::CREAT, rights::RW),
    );
    show("unlink ../x", &unlink("../x"));
    show("rmdir ..", &rmdir(".."));
    show("rename to ../x", &rename("hello.txt", "../x"));
    show("rename from ../x", &rename("../x", "y"));
    show("link to ../x", &link(0, "hello.txt", "../x"));
    show("symlink at ../x", &symlink("hello.txt", "../x"));
    show("readlink ../x", &readlink("../x", 32));
    show("set_times ../x", &set_times_at(ROOT, 0, "../x", 0, 0, 0));
    let nested = open_dir("data/nested").unwrap();
    show(
        "from nested: ..",
        &open(nested, 0, "..", oflags::DIRECTORY, rights::READ, 0),
    );
    show(
        "from nested: ../numbers.txt",
        &open(nested, 0, "../numbers.txt", 0, rights::READ, 0),
    );
    show_file("data/../hello.txt");
    show_file("data/nested/../../hello.txt");
    show_file("./hello.txt");
    show_file("data/./nested/./deep.txt");
    show(
        "open . as dir",
        &open_at_root(".", oflags::DIRECTORY, rights::READ).map(|_| ()),
    );
    show(
        "open data/.. as dir",
        &open_at_root("data/..", oflags::DIRECTORY, rights::READ).map(|_| ()),
    );
}
