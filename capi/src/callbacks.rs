//! The host's C callbacks as the core's traits: a stream's writes, a policy's decisions, a
//! person's answers, audit lines. Each adapter only converts: the core decides when to call
//! them and what the answer means. Answers the header does not define fall to the safe side
//! (deny), so a callback that failed (a Python exception answers 0) never allows by accident.

use crate::guard::Env;
use std::ffi::{c_char, c_void};
use std::sync::Arc;
use warden::audit::AuditRecord;
use warden::policy::{Answer, Prompt, Scope};
use warden::{AuditSink, Decision, Errno, JsonLinesAudit, Policy, Prompter, Request};

/// `ww_decide_callback_t`.
pub type DecideFn = unsafe extern "C" fn(*mut c_void, *const WwRequest) -> i32;
/// `ww_prompt_callback_t`.
pub type PromptFn = unsafe extern "C" fn(*mut c_void, *const WwPrompt) -> i32;
/// `ww_audit_callback_t`.
pub type AuditFn = unsafe extern "C" fn(*mut c_void, *const c_char, usize);

/// `ww_request_t`: borrowed views of one request, valid during the callback.
#[repr(C)]
pub struct WwRequest {
    pub syscall: *const c_char,
    pub syscall_len: usize,
    pub access: u32,
    pub fd: i64,
    pub fd2: i64,
    pub path: *const c_char,
    pub path_len: usize,
    pub path2: *const c_char,
    pub path2_len: usize,
    pub subtree: bool,
}

/// `ww_prompt_t`.
#[repr(C)]
pub struct WwPrompt {
    pub message: *const c_char,
    pub message_len: usize,
    pub request: *const WwRequest,
}

/// The (pointer, length) of an optional string; NULL and 0 when absent.
fn view(text: Option<&str>) -> (*const c_char, usize) {
    match text {
        Some(text) => (text.as_ptr() as *const c_char, text.len()),
        None => (std::ptr::null(), 0),
    }
}

fn fd(fd: Option<u32>) -> i64 {
    fd.map_or(-1, i64::from)
}

/// A request's fields as C sees them; `paths` are the normalised paths it points into.
fn request_view(request: &Request<'_>, paths: &(Option<String>, Option<String>)) -> WwRequest {
    let name = request.syscall.as_str();
    let (path, path_len) = view(paths.0.as_deref());
    let (path2, path2_len) = view(paths.1.as_deref());
    WwRequest {
        syscall: name.as_ptr() as *const c_char,
        syscall_len: name.len(),
        access: u32::from(request.access.bits()),
        fd: fd(request.fd),
        fd2: fd(request.fd2),
        path,
        path_len,
        path2,
        path2_len,
        subtree: request.subtree,
    }
}

/// A decision callback as a [`Policy`].
pub struct PolicyCallback {
    pub callback: DecideFn,
    pub env: Env,
}

impl Policy for PolicyCallback {
    fn decide(&self, request: &Request<'_>) -> Decision {
        // The same normalisation the core's rules apply: what the host judges is the name the
        // call resolves to, `..` and repeated slashes gone.
        let normalized = |p: Option<warden::policy::GuestPath<'_>>| {
            p.map(|p| warden::policy::normalize(p.path).into_owned())
        };
        let paths = (normalized(request.path), normalized(request.path2));
        let view = request_view(request, &paths);
        // SAFETY: the host's callback with its own env; `view` outlives the call.
        let answer = unsafe { (self.callback)(self.env.env, &view) };
        decision(answer)
    }
}

/// A decision callback's answer (the header's `WW_DECIDE_*`, or `-errno`).
fn decision(answer: i32) -> Decision {
    match answer {
        1 => Decision::Allow,
        2 => Decision::Ask,
        3 => Decision::trap("the host's policy callback stopped the guest"),
        negative if negative < 0 => match u16::try_from(-(negative as i64)) {
            // Errno 0 is "success": no denial means that, so it is EACCES.
            Ok(code) if code != 0 => Errno::try_from(code)
                .map(Decision::Deny)
                .unwrap_or_else(|_| Decision::deny()),
            _ => Decision::deny(),
        },
        _ => Decision::deny(),
    }
}

/// A prompt callback as a [`Prompter`].
pub struct PromptCallback {
    pub callback: PromptFn,
    pub env: Env,
}

impl Prompter for PromptCallback {
    fn ask(&self, prompt: &Prompt) -> Answer {
        let mut request = Request::new(prompt.syscall);
        request.access = prompt.access;
        let paths = (prompt.path.clone(), prompt.path2.clone());
        let request = request_view(&request, &paths);
        let message = prompt.message();
        let view = WwPrompt {
            message: message.as_ptr() as *const c_char,
            message_len: message.len(),
            request: &request,
        };
        // SAFETY: the host's callback with its own env; `view` outlives the call.
        let answer = unsafe { (self.callback)(self.env.env, &view) };
        match answer {
            1 => Answer::AllowOnce,
            2 => Answer::AllowAlways(Scope::Path),
            3 => Answer::DenyAlways(Scope::Path),
            4 => Answer::AllowAlways(Scope::Any),
            5 => Answer::DenyAlways(Scope::Any),
            _ => Answer::DenyOnce,
        }
    }
}

/// An audit callback as an [`AuditSink`]: the JSON line `wasi-warden run --audit` writes.
pub struct AuditCallback {
    pub callback: AuditFn,
    pub env: Env,
}

impl AuditSink for AuditCallback {
    fn record(&self, record: &AuditRecord<'_>) {
        let line = JsonLinesAudit::line(record);
        // SAFETY: the host's callback with its own env; `line` outlives the call.
        unsafe { (self.callback)(self.env.env, line.as_ptr() as *const c_char, line.len()) };
    }
}

/// An output callback as the closure `Output::callback` takes.
pub fn output_callback(
    env: Arc<Env>,
    callback: unsafe extern "C" fn(*mut c_void, *const u8, usize),
) -> impl FnMut(&[u8]) + Send + 'static {
    move |bytes: &[u8]| {
        // SAFETY: the host's callback with its own env; `bytes` outlives the call.
        unsafe { callback(env.env, bytes.as_ptr(), bytes.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_answers_deny() {
        assert_eq!(decision(0), Decision::deny());
        assert_eq!(decision(7), Decision::deny());
        assert_eq!(decision(1), Decision::Allow);
        assert_eq!(decision(-44), Decision::Deny(Errno::Noent));
        // Not an errno, or "success": the plain denial.
        assert_eq!(decision(-1000), Decision::deny());
        assert_eq!(decision(i32::MIN), Decision::deny());
        assert_eq!(decision(-0), Decision::deny());
    }
}
