//! Long names and deep paths: a 255-byte name works, 256 is nametoolong; a deep chain of
//! directories works; a path with NUL is refused; non-ASCII names round-trip.
use guest::*;

fn main() {
    let n255 = "a".repeat(255);
    let n256 = "b".repeat(256);
    show("create 255-byte name", &put(&n255, b"ok").map(|_| ()));
    show("stat 255-byte name", &stat(&n255).map(|s| s.size));
    show("create 256-byte name", &put(&n256, b"no"));
    show("mkdir 256-byte name", &mkdir(&n256));
    show("stat 256-byte name", &stat(&n256));
    let mut path = String::from("deep");
    mkdir(&path).unwrap();
    for i in 0..40 {
        path.push_str(&format!("/level{i:02}"));
        if let Err(e) = mkdir(&path) {
            println!("mkdir depth {i} -> Err({e:?})");
            break;
        }
    }
    show(
        "file at depth 40",
        &put(&format!("{path}/leaf"), b"leaf").map(|_| ()),
    );
    show_file(&format!("{path}/leaf"));
    show(
        "path with NUL",
        &open_at_root("hel\0lo.txt", 0, rights::READ),
    );
    show("unicode name", &put("日本語.txt", "ünïcödé".as_bytes()));
    show_file("日本語.txt");
    show("space name", &put("with space", b"s"));
    show("name with backslash", &put("back\\slash", b"b"));
    show("name with colon", &put("c:olon", b"c"));
    show_list("");
}
