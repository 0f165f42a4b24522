//! fd_fdstat_set_rights narrows a descriptor, and later calls that need a dropped right fail.
//! (wasi-warden enforces rights; wasmtime-wasi answers notsup — see KNOWN_DIFFERENCES.)
use guest::*;

fn main() {
    let fd = open_at_root("hello.txt", 0, rights::RW).unwrap();
    let before = fdstat(fd).unwrap();
    println!(
        "has read+write -> {}",
        before.base & (rights::FD_READ | rights::FD_WRITE) == (rights::FD_READ | rights::FD_WRITE)
    );
    show(
        "drop write",
        &set_rights(fd, before.base & !rights::FD_WRITE, before.inheriting),
    );
    let after = fdstat(fd).unwrap();
    println!("write dropped -> {}", after.base & rights::FD_WRITE == 0);
    show("write", &write(fd, b"x"));
    show("read", &read(fd, 5));
    show("widen again", &set_rights(fd, rights::ALL, rights::ALL));
    show("write", &write(fd, b"x"));
    show("set_rights(bad)", &set_rights(1000, 0, 0));
    let dir = open_dir("data").unwrap();
    let d = fdstat(dir).unwrap();
    show(
        "dir drops path_open",
        &set_rights(dir, d.base & !rights::PATH_OPEN, d.inheriting),
    );
    show(
        "open in narrowed dir",
        &open(dir, 0, "numbers.txt", 0, rights::READ, 0),
    );
    show_file("hello.txt");
}
