//! environ_sizes_get / environ_get: every variable in the order granted, and std's lookups
//! (present, absent, empty value, `=` inside the value).
use guest::*;

fn main() {
    let mut count = 0u32;
    let mut size = 0u32;
    let r = unsafe { sys::environ_sizes_get(&mut count, &mut size) };
    println!("environ_sizes_get -> {r} count={count} size={size}");
    match environ() {
        Ok(list) => {
            for e in list {
                println!("env {:?}", String::from_utf8_lossy(&e));
            }
        }
        Err(e) => println!("environ_get -> Err({e:?})"),
    }
    for key in ["GREETING", "EMPTY", "EQUALS", "UNICODE", "MISSING"] {
        println!("std::env::var({key}) -> {:?}", std::env::var(key));
    }
}
