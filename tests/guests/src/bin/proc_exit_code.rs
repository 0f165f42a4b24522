//! proc_exit with the status given as argv[1], after writing to both streams (the harness runs
//! it with 0, 1 and 42); output written before the exit is kept.
fn main() {
    let code: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    println!("exiting with {code}");
    eprintln!("stderr before exit");
    guest::exit(code);
}
