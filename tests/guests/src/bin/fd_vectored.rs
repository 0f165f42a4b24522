//! Vectored I/O: fd_write / fd_read / fd_pwrite / fd_pread with several iovecs, zero-length
//! iovecs and zero iovecs, on stdio and on a file. (wasi-warden moves every iovec as POSIX
//! readv/writev do; wasmtime-wasi only the first non-empty one: see KNOWN_DIFFERENCES.)
use guest::*;

fn main() {
    show(
        "writev(1, [a, '', bc, \\n])",
        &writev(1, &[b"a", b"", b"bc", b"\n"]),
    );
    show("writev(1, [])", &writev(1, &[]));
    show("writev(2, [err, \\n])", &writev(2, &[b"err", b"\n"]));
    let got = readv(0, &[3, 0, 4]).map(|parts| {
        parts
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>()
    });
    show("readv(0, [3, 0, 4])", &got);
    show("readv(0, [])", &readv(0, &[]).map(|p| p.len()));
    let rest = read_all(0).map(|b| String::from_utf8_lossy(&b).into_owned());
    show("read rest", &rest);
    show("read at eof", &read(0, 8));
    let fd = open_at_root("v.txt", oflags::CREAT, rights::RW).unwrap();
    show(
        "writev(file, [one, '', two, three])",
        &writev(fd, &[b"one ", b"", b"two ", b"three"]),
    );
    show("tell", &tell(fd));
    show("seek(0)", &seek(fd, 0, whence::SET));
    let parts = readv(fd, &[2, 0, 5, 100]).map(|p| {
        p.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect::<Vec<_>>()
    });
    show("readv(file, [2, 0, 5, 100])", &parts);
    let iovs: [&[u8]; 2] = [b"AB", b"CD"];
    let flat: Vec<u32> = iovs
        .iter()
        .flat_map(|b| [b.as_ptr() as u32, b.len() as u32])
        .collect();
    let mut n = 0u32;
    let r = unsafe { sys::fd_pwrite(fd, flat.as_ptr(), 2, 4, &mut n) };
    println!("pwritev(file, [AB, CD], 4) -> {r} n={n}");
    let mut a = [0u8; 3];
    let mut b = [0u8; 3];
    let flat = [a.as_mut_ptr() as u32, 3, b.as_mut_ptr() as u32, 3];
    let r = unsafe { sys::fd_pread(fd, flat.as_ptr(), 2, 2, &mut n) };
    println!(
        "preadv(file, [3, 3], 2) -> {r} n={n} {:?} {:?}",
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b)
    );
    close(fd).unwrap();
    show_file("v.txt");
}
