//! A guest started with no arguments at all (not even a program name): argc 0, std copes.
use guest::*;

fn main() {
    let mut count = 7u32;
    let mut size = 7u32;
    let r = unsafe { sys::args_sizes_get(&mut count, &mut size) };
    println!("args_sizes_get -> {r} count={count} size={size}");
    show("args", &args().map(|a| a.len()));
    println!("std::env::args().count() -> {}", std::env::args().count());
}
