//! args_sizes_get / args_get through the raw imports and through std: every argument, in order,
//! byte for byte (empty and non-ASCII arguments included).
use guest::*;

fn main() {
    let mut count = 0u32;
    let mut size = 0u32;
    let r = unsafe { sys::args_sizes_get(&mut count, &mut size) };
    println!("args_sizes_get -> {r} count={count} size={size}");
    match args() {
        Ok(list) => {
            for (i, a) in list.iter().enumerate() {
                println!("arg[{i}] = {:?}", String::from_utf8_lossy(a));
            }
        }
        Err(e) => println!("args_get -> Err({e:?})"),
    }
    let std_args: Vec<String> = std::env::args().collect();
    println!("std::env::args -> {std_args:?}");
}
