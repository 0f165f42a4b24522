//! fd_allocate and fd_advise on a file, a directory, stdout and a closed fd (every valid advice).
use guest::*;

fn main() {
    let fd = open_at_root("data/numbers.txt", 0, rights::RW).unwrap();
    show("allocate(0, 100)", &allocate(fd, 0, 100));
    show("size", &fstat(fd).map(|s| s.size));
    for advice in 0..6 {
        show(&format!("advise({advice})"), &advise(fd, 0, 10, advice));
    }
    show("advise(huge range)", &advise(fd, u64::MAX, u64::MAX, 0));
    let dir = open_dir("data").unwrap();
    show("allocate(dir)", &allocate(dir, 0, 1));
    show("advise(dir)", &advise(dir, 0, 1, 0));
    show("allocate(stdout)", &allocate(1, 0, 1));
    show("advise(stdout)", &advise(1, 0, 1, 0));
    close(fd).unwrap();
    show("allocate(closed)", &allocate(fd, 0, 1));
    show("advise(closed)", &advise(fd, 0, 1, 0));
}
