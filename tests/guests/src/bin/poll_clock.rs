//! poll_oneoff with clock subscriptions: relative and absolute, monotonic and realtime, past
//! deadlines, the earliest of several firing alone, userdata echoed, zero subscriptions refused.
use guest::*;

fn describe(label: &str, r: R<Vec<Event>>) {
    match r {
        Ok(mut events) => {
            events.sort();
            let parts: Vec<String> = events
                .iter()
                .map(|e| format!("(ud={} err={} type={})", e.userdata, e.error, e.kind))
                .collect();
            println!("{label} -> Ok[{}]", parts.join(", "));
        }
        Err(e) => println!("{label} -> Err({e:?})"),
    }
}

fn main() {
    let t0 = clock_time(1).unwrap();
    describe(
        "relative 10ms monotonic",
        poll(&[clock_subscription(7, 1, 10_000_000, false)]),
    );
    let waited = clock_time(1).unwrap() - t0;
    println!("waited at least 10ms -> {}", waited >= 10_000_000);
    describe("relative 0", poll(&[clock_subscription(8, 1, 0, false)]));
    describe(
        "relative realtime 1ms",
        poll(&[clock_subscription(9, 0, 1_000_000, false)]),
    );
    let now = clock_time(1).unwrap();
    describe(
        "absolute monotonic in past",
        poll(&[clock_subscription(10, 1, now / 2, true)]),
    );
    let t1 = clock_time(1).unwrap();
    describe(
        "absolute monotonic +5ms",
        poll(&[clock_subscription(11, 1, t1 + 5_000_000, true)]),
    );
    println!(
        "absolute waited -> {}",
        clock_time(1).unwrap() >= t1 + 5_000_000
    );
    describe(
        "absolute realtime in past",
        poll(&[clock_subscription(12, 0, 1, true)]),
    );
    describe(
        "earliest of two",
        poll(&[
            clock_subscription(20, 1, 1_000_000_000, false),
            clock_subscription(21, 1, 2_000_000, false),
        ]),
    );
    describe(
        "two equal",
        poll(&[
            clock_subscription(30, 1, 0, false),
            clock_subscription(31, 1, 0, false),
        ]),
    );
    describe("zero subscriptions", poll(&[]));
    describe(
        "cputime clock",
        poll(&[clock_subscription(40, 2, 1_000, false)]),
    );
}
