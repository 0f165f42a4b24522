//! The socket imports with no sockets granted: each on stdin, stdout, a file, a directory and a
//! bad fd answers an errno (notsock / badf), never a trap.
use guest::*;

fn main() {
    let file = open_at_root("hello.txt", 0, rights::RW).unwrap();
    let dir = open_dir("data").unwrap();
    let mut buf = [0u8; 8];
    let iov = [buf.as_mut_ptr() as u32, 8u32];
    for (name, fd) in [
        ("stdin", 0),
        ("stdout", 1),
        ("file", file),
        ("dir", dir),
        ("bad", 1000),
    ] {
        let mut out = 0u32;
        let r = unsafe { sys::sock_accept(fd, 0, &mut out) };
        println!("sock_accept({name}) -> {:?}", Errno(r as u16));
        let (mut len, mut flags) = (0u32, 0u32);
        let r = unsafe { sys::sock_recv(fd, iov.as_ptr(), 1, 0, &mut len, &mut flags) };
        println!("sock_recv({name}) -> {:?}", Errno(r as u16));
        let r = unsafe { sys::sock_send(fd, iov.as_ptr(), 1, 0, &mut len) };
        println!("sock_send({name}) -> {:?}", Errno(r as u16));
        let r = unsafe { sys::sock_shutdown(fd, 3) };
        println!("sock_shutdown({name}) -> {:?}", Errno(r as u16));
    }
}
