//! The async Rust linker (feature `async`): the same 46 imports, each a `func_wrap_async` whose
//! future runs the import's entry point (`entry.rs`) with the call's gate in suspending mode
//! (`suspend.rs`). A call that has to wait returns what it waits for instead; the future awaits
//! it — a tokio timer, a blocking-pool wait for a pipe or socket, the async prompter — and runs
//! the call again. Calls that do not wait finish in their first attempt, so their cost is the
//! future's allocation and poll on top of the sync linker's.

use crate::ctx::WasiCtx;
use crate::entry::MODULE;
use crate::linker::find_memory;
use crate::policy::{Answer, Prompt};
use crate::suspend::{Resumable, Suspend};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::{Caller, Linker};

/// Longest single sleep when a suspension names no instant: the call then looks again.
const MAX_NAP: Duration = Duration::from_secs(3600);

/// One attempt of a call: its result, or what it must wait for first.
enum Attempt<R> {
    Done(R),
    Suspended(Suspend),
}

/// Runs one attempt of `call` on the caller's context with `state` installed in its gate, and
/// takes the state back: between attempts (while the future waits, or after it was dropped) the
/// context holds nothing of the async call, so a cancelled call leaves no trace behind.
fn attempt<T: 'static, R>(
    caller: &mut Caller<'_, T>,
    get: &impl Fn(&mut T) -> &mut WasiCtx,
    state: &mut Resumable,
    call: impl FnOnce(&mut WasiCtx, &mut [u8]) -> wasmtime::Result<R>,
) -> wasmtime::Result<Attempt<wasmtime::Result<R>>> {
    let memory = find_memory(caller, get)?;
    let (bytes, data) = memory.data_and_store_mut(caller);
    let ctx = get(data);
    ctx.gate.enter_async(std::mem::take(state));
    let result = call(ctx, bytes);
    *state = ctx.gate.leave_async();
    Ok(match result {
        Err(error) => match error.downcast::<Suspend>() {
            Ok(what) => Attempt::Suspended(what),
            Err(error) => Attempt::Done(Err(error)),
        },
        done => Attempt::Done(done),
    })
}

/// Waits for what a call suspended on, without holding the executor's thread.
async fn settle<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: &impl Fn(&mut T) -> &mut WasiCtx,
    state: &mut Resumable,
    what: Suspend,
) -> wasmtime::Result<()> {
    match what {
        // The poll's earliest timer or the run's deadline: the next attempt sees which.
        Suspend::Until(at) => {
            let at = at.unwrap_or_else(|| Instant::now() + MAX_NAP);
            tokio::time::sleep_until(at.into()).await;
        }
        // Pipes and sockets have no readiness the runtime can see: a blocking-pool thread
        // waits for them (never past the deadline), the guest's fiber is suspended meanwhile.
        Suspend::Input(input, until) => {
            blocking(move || {
                input.wait_ready(until);
            })
            .await;
        }
        Suspend::Socket { fd, write, until } => {
            blocking(move || {
                let _ = crate::p1::sock_host::wait(&fd, write, until);
            })
            .await;
        }
        Suspend::Prompt(prompt) => {
            let (asynchronous, synchronous) = get(caller.data_mut()).gate.handle().prompters();
            let asked = Instant::now();
            let answer = match (asynchronous, synchronous) {
                (Some(prompter), _) => {
                    let asking = CatchUnwind(prompter.ask(&prompt));
                    asking.await.unwrap_or(Answer::DenyOnce)
                }
                (None, Some(prompter)) => {
                    let shown = prompt.clone();
                    let asked = blocking(move || {
                        catch_unwind(AssertUnwindSafe(|| prompter.ask(&shown)))
                            .unwrap_or(Answer::DenyOnce)
                    });
                    asked.await.unwrap_or(Answer::DenyOnce)
                }
                (None, None) => Answer::DenyOnce,
            };
            // A person's thinking time is not the guest's: the deadline moves by it, as under
            // the sync linker.
            get(caller.data_mut()).deadline().postpone(asked.elapsed());
            state.answers.push((prompt, answer));
        }
    }
    Ok(())
}

/// Runs `work` on tokio's blocking pool; `None` if it panicked or the runtime is shutting down.
async fn blocking<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    tokio::task::spawn_blocking(work).await.ok()
}

/// A future whose panic is caught: an async prompter that panics means deny, as a sync one.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Some(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}

/// One `func_wrap_async` of the syscall table. The first attempt runs when wasmtime asks for
/// the future (on the guest's fiber already): a call that does not wait — nearly all — answers
/// with a small ready future, and only a suspended one gets the future that waits and attempts
/// again.
macro_rules! link_one_async {
    ($linker:ident, $get:ident, $ret:ty, $name:ident, ($($raw:ident: $rawty:ty),*)) => {
        $linker.func_wrap_async(
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, T>, ($($raw,)*): ($($rawty,)*)| {
                type Answer<'a> = Box<dyn Future<Output = wasmtime::Result<$ret>> + Send + 'a>;
                let call = move |ctx: &mut WasiCtx, bytes: &mut [u8]| {
                    crate::entry::$name(ctx, bytes, $($raw),*)
                };
                let mut state = Resumable::default();
                let first = match attempt(&mut caller, &$get, &mut state, call) {
                    Ok(Attempt::Done(result)) => return Box::new(std::future::ready(result)) as Answer<'_>,
                    Err(error) => return Box::new(std::future::ready(Err(error))) as Answer<'_>,
                    Ok(Attempt::Suspended(what)) => what,
                };
                Box::new(async move {
                    let mut what = first;
                    loop {
                        settle(&mut caller, &$get, &mut state, what).await?;
                        match attempt(&mut caller, &$get, &mut state, call)? {
                            Attempt::Done(result) => return result,
                            Attempt::Suspended(next) => what = next,
                        }
                    }
                }) as Answer<'_>
            },
        )?;
    };
}

macro_rules! ret_of {
    (exit) => {
        ()
    };
    ($kind:ident) => {
        i32
    };
}

/// Defines every `wasi_snapshot_preview1` import in `linker` for an async store (feature
/// `async`; call the guest with `call_async`, inside a tokio runtime). `get` finds the guest's
/// [`WasiCtx`] in the store's data. A call that waits — a `poll_oneoff` sleep or fd wait, a
/// read of a pipe or socket, `sock_accept`/`sock_recv`/`sock_send`, a prompt — suspends the
/// guest's fiber instead of blocking the executor's thread; the run's deadline still ends every
/// wait. Prompts go to the [`AsyncPrompter`](crate::AsyncPrompter) if one is installed, else to
/// the sync prompter on tokio's blocking pool.
///
/// ```no_run
/// # async fn run() -> wasmtime::Result<()> {
/// struct State { wasi: wasi_warden::WasiCtx }
/// let engine = wasmtime::Engine::default();
/// let mut linker = wasmtime::Linker::<State>::new(&engine);
/// wasi_warden::add_to_linker_async(&mut linker, |s: &mut State| &mut s.wasi)?;
/// # Ok(()) }
/// ```
pub fn add_to_linker_async<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<()> {
    macro_rules! link_all {
        ($($name:ident => $variant:ident, $group:ident, $kind:ident, $raw:tt, $typed:tt -> $r:ty;)*) => {
            $(link_one_async!(linker, get, ret_of!($kind), $name, $raw);)*
        };
    }
    crate::syscalls::for_each_syscall!(link_all);
    Ok(())
}

/// A prompter whose prompts are sent to a channel and answered later by another task (a UI):
/// each [`AsyncPromptReply`] is answered once; dropping it unanswered, or leaving it past the
/// timeout, denies (once). The async counterpart of [`ChannelPrompter`](crate::ChannelPrompter).
pub struct AsyncChannelPrompter {
    sender: tokio::sync::mpsc::UnboundedSender<AsyncPromptReply>,
    timeout: Duration,
}

/// One prompt waiting for its answer (see [`AsyncChannelPrompter`]).
pub struct AsyncPromptReply {
    prompt: Prompt,
    reply: tokio::sync::oneshot::Sender<Answer>,
}

impl AsyncPromptReply {
    /// What the person is asked.
    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    /// Answers the prompt (the guest goes on).
    pub fn answer(self, answer: Answer) {
        let _ = self.reply.send(answer);
    }
}

impl AsyncChannelPrompter {
    /// A prompter and the receiving end its prompts arrive on; each unanswered prompt denies
    /// after `timeout`.
    pub fn new(
        timeout: Duration,
    ) -> (
        AsyncChannelPrompter,
        tokio::sync::mpsc::UnboundedReceiver<AsyncPromptReply>,
    ) {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        (AsyncChannelPrompter { sender, timeout }, receiver)
    }
}

impl crate::AsyncPrompter for AsyncChannelPrompter {
    fn ask<'a>(&'a self, prompt: &'a Prompt) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>> {
        Box::pin(async move {
            let (reply, answered) = tokio::sync::oneshot::channel();
            let sent = self.sender.send(AsyncPromptReply {
                prompt: prompt.clone(),
                reply,
            });
            if sent.is_err() {
                // No one listens: no one can say yes.
                return Answer::DenyOnce;
            }
            match tokio::time::timeout(self.timeout, answered).await {
                Ok(Ok(answer)) => answer,
                // Dropped unanswered, or too late.
                _ => Answer::DenyOnce,
            }
        })
    }
}
