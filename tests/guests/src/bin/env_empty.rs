//! A guest granted no environment: zero variables, zero bytes, std sees nothing.
use guest::*;

fn main() {
    let mut count = 7u32;
    let mut size = 7u32;
    let r = unsafe { sys::environ_sizes_get(&mut count, &mut size) };
    println!("environ_sizes_get -> {r} count={count} size={size}");
    show("environ", &environ().map(|e| e.len()));
    println!("std::env::vars().count() -> {}", std::env::vars().count());
    println!("std::env::var(HOME) -> {:?}", std::env::var("HOME"));
}
