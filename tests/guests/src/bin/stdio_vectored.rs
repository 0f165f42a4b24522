//! fd_write and fd_read with several iovecs, zero-length iovecs and zero iovecs, on stdio.
use guest::*;

fn main() {
    show("writev(1, [a, '', bc, \\n])", &writev(1, &[b"a", b"", b"bc", b"\n"]));
    show("writev(1, [])", &writev(1, &[]));
    show("writev(2, [err, \\n])", &writev(2, &[b"err", b"\n"]));
    let got = readv(0, &[3, 0, 4]).map(|parts| {
        parts.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect::<Vec<_>>()
    });
    show("readv(0, [3, 0, 4])", &got);
    show("readv(0, [])", &readv(0, &[]).map(|p| p.len()));
    let rest = read_all(0).map(|b| String::from_utf8_lossy(&b).into_owned());
    show("read rest", &rest);
    show("read at eof", &read(0, 8));
}
