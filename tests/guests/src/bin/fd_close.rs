//! fd_close: closing twice, using a closed fd, the lowest free number being reused, closing the
//! preopen and then opening through it.
use guest::*;

fn main() {
    let a = open_at_root("hello.txt", 0, rights::READ).unwrap();
    let b = open_at_root("hello.txt", 0, rights::READ).unwrap();
    let c = open_at_root("hello.txt", 0, rights::READ).unwrap();
    println!("three distinct fds -> {}", a != b && b != c && a != c);
    println!("above preopen -> {}", a > ROOT && b > ROOT && c > ROOT);
    show("close(b)", &close(b));
    show("close(b) again", &close(b));
    show("read(b)", &read(b, 1));
    let d = open_at_root("hello.txt", 0, rights::READ).unwrap();
    println!("reopen reuses b -> {}", d == b);
    show("close(u32::MAX)", &close(u32::MAX));
    show("close(1<<31)", &close(1 << 31));
    for fd in [a, c, d] {
        show("close", &close(fd));
    }
    show("close(root)", &close(ROOT));
    show(
        "open via closed root",
        &open_at_root("hello.txt", 0, rights::READ).map(|_| ()),
    );
    show("close(stdout)", &close(1));
    show("write(stdout) after close", &write(1, b"gone\n"));
    let _ = writev(2, &[b"stderr still open\n"]);
}
