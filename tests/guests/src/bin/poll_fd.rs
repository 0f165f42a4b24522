//! poll_oneoff with fd subscriptions: files are always ready (nbytes is only a hint: printed as
//! "some or none"),
//! stdout is writable, stdin with data is readable, and bad or wrong-kind fds are refused.
use guest::*;

fn describe(label: &str, r: R<Vec<Event>>) {
    match r {
        Ok(mut events) => {
            events.sort();
            let parts: Vec<String> = events
                .iter()
                .map(|e| {
                    format!(
                        "(ud={} err={} type={} nbytes={})",
                        e.userdata,
                        e.error,
                        e.kind,
                        e.nbytes > 0
                    )
                })
                .collect();
            println!("{label} -> Ok[{}]", parts.join(", "));
        }
        Err(e) => println!("{label} -> Err({e:?})"),
    }
}

fn main() {
    let fd = open_at_root("data/numbers.txt", 0, rights::RW).unwrap();
    describe("file read", poll(&[fd_subscription(1, false, fd)]));
    read(fd, 4).unwrap();
    describe(
        "file read after 4 bytes",
        poll(&[fd_subscription(2, false, fd)]),
    );
    describe(
        "file write",
        poll(&[fd_subscription(3, true, fd)]).map(|v| {
            v.into_iter()
                .map(|mut e| {
                    e.nbytes = 0;
                    e
                })
                .collect()
        }),
    );
    describe("stdout write", poll(&[fd_subscription(104, true, 1)]));
    describe(
        "stdin read (has data)",
        poll(&[fd_subscription(105, false, 0)]),
    );
    describe(
        "file read + long clock",
        poll(&[
            fd_subscription(6, false, fd),
            clock_subscription(7, 1, 5_000_000_000, false),
        ]),
    );
    describe("bad fd read", poll(&[fd_subscription(8, false, 1000)]));
    describe("bad fd write", poll(&[fd_subscription(9, true, 1000)]));
    describe(
        "dir read",
        poll(&[fd_subscription(10, false, open_dir("data").unwrap())]),
    );
    describe("stdin write", poll(&[fd_subscription(11, true, 0)]));
    describe("stdout read", poll(&[fd_subscription(12, false, 1)]));
    close(fd).unwrap();
    describe("closed fd", poll(&[fd_subscription(13, false, fd)]));
}
