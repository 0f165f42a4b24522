//! Reads all of stdin through std, writes it back upper-cased to stdout and a byte count to
//! stderr; then stdin keeps answering end-of-file.
use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    let upper: Vec<u8> = input.iter().map(u8::to_ascii_uppercase).collect();
    std::io::stdout().write_all(&upper).unwrap();
    eprintln!("read {} bytes", input.len());
    let again = guest::read(0, 16);
    println!("read after eof -> {again:?}");
}
