//! Where the summary's figures come from. After criterion has measured a group (its own
//! report), the group's contenders run again in interleaved rounds — A B C, A B C, … — each run
//! lasting about [`RUN`]. A slow spell of a shared machine then falls on every contender of a
//! round alike instead of on whichever criterion happened to be measuring, so the ratios the
//! summary prints hold from one run to the next far better than ratios of separate windows.

use crate::report::record;
use std::time::Duration;

/// How long one timed run of one contender lasts, about.
const RUN: Duration = Duration::from_millis(10);
/// Interleaved rounds; the summary takes medians over them.
const ROUNDS: usize = 31;

/// A timed routine: runs `n` iterations, returns the time they took (setup excluded).
pub type Timed<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

struct Contender<'a> {
    /// The summary's key, `group/id`.
    key: String,
    /// Calls per iteration (the summary divides by them).
    calls: u64,
    run: Timed<'a>,
}

/// The contenders of one group.
#[derive(Default)]
pub struct Race<'a> {
    contenders: Vec<Contender<'a>>,
}

impl<'a> Race<'a> {
    pub fn add(&mut self, key: String, calls: u64, run: Timed<'a>) {
        self.contenders.push(Contender { key, calls, run });
    }

    /// Calibrates each contender's iteration count to [`RUN`], then runs the rounds and
    /// records every run for the summary.
    pub fn run(mut self) {
        let counts: Vec<u64> = self
            .contenders
            .iter_mut()
            .map(|c| {
                let mut n = 1u64;
                loop {
                    let took = (c.run)(n);
                    if took >= RUN || n >= 1 << 30 {
                        break n;
                    }
                    // Aim straight at RUN from what this run took, at most 100× further.
                    let per = took.as_nanos().max(1) as f64 / n as f64;
                    let want = (RUN.as_nanos() as f64 / per).ceil() as u64;
                    n = want.clamp(n + 1, n.saturating_mul(100));
                }
            })
            .collect();
        for _ in 0..ROUNDS {
            for (c, &n) in self.contenders.iter_mut().zip(&counts) {
                let took = (c.run)(n);
                record(&c.key, n * c.calls, took);
            }
        }
    }
}
