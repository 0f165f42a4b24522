//! std's clocks over the imports: Instant is monotonic, SystemTime is after the epoch, sleep
//! (poll_oneoff underneath) waits at least as long as asked.
use std::time::{Duration, Instant, SystemTime};

fn main() {
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(20));
    let slept = start.elapsed();
    println!(
        "slept at least 20ms -> {}",
        slept >= Duration::from_millis(20)
    );
    println!("slept less than 10s -> {}", slept < Duration::from_secs(10));
    let since = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
    println!("SystemTime after epoch -> {}", since.is_ok());
    let a = Instant::now();
    let b = Instant::now();
    println!("Instant ordered -> {}", b >= a);
    std::thread::sleep(Duration::ZERO);
    println!("zero sleep returns -> true");
}
