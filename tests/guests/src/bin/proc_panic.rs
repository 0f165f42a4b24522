//! A Rust panic: the message reaches stderr, stdout written before it is kept, and the guest
//! stops with a trap (wasm `unreachable`), not an exit status.
fn main() {
    println!("before panic");
    let v: Vec<u32> = Vec::new();
    let i = std::env::args().count() + 10;
    println!("{}", v[i]);
}
