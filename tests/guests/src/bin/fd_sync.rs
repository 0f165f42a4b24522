//! fd_sync / fd_datasync on a written file, a read-only file, a directory, stdout and a bad fd.
use guest::*;

fn main() {
    let fd = open_at_root("hello.txt", 0, rights::RW).unwrap();
    show("write", &write(fd, b"HELLO"));
    show("sync(file)", &sync(fd));
    show("datasync(file)", &datasync(fd));
    let ro = open_at_root("data/numbers.txt", 0, rights::READ).unwrap();
    show("sync(read-only)", &sync(ro));
    show("datasync(read-only)", &datasync(ro));
    let dir = open_dir("data").unwrap();
    show("sync(dir)", &sync(dir));
    show("datasync(dir)", &datasync(dir));
    show("sync(stdout)", &sync(1));
    show("sync(bad)", &sync(1000));
    show("datasync(bad)", &datasync(1000));
    println!("sched_yield -> {}", unsafe { sys::sched_yield() });
    show_file("hello.txt");
}
