//! random_get: zero-length, small and large requests; two draws differ; std's HashMap (which
//! seeds itself from random_get) works.
use guest::*;
use std::collections::HashMap;

fn main() {
    show("random_get(0)", &random(&mut []));
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    show("random_get(32)", &random(&mut a));
    show("random_get(32) again", &random(&mut b));
    println!("draws differ -> {}", a != b);
    println!("not all zero -> {}", a.iter().any(|&x| x != 0));
    let mut big = vec![0u8; 1 << 20];
    show("random_get(1MiB)", &random(&mut big));
    let zeros = big.iter().filter(|&&x| x == 0).count();
    println!("1MiB roughly uniform -> {}", zeros > 2000 && zeros < 6500);
    let mut m = HashMap::new();
    m.insert("k", 1);
    println!("HashMap works -> {}", m["k"] == 1);
}
