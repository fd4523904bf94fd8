//! The repository boundary: [`caught`] runs one repository's work (or one
//! job of `serve`'s worker) so that a panic in it becomes an error for that
//! repository and the others go on; and [`failpoint`], the test-only way
//! to provoke such a panic (`UPKEEP_FAILPOINT`).
//!
//! Nothing here touches a repository or the network; it only wraps futures.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that turns a panic while it is polled into `Err(message)`.
struct Caught<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Caught<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(payload) => Poll::Ready(Err(message(payload.as_ref()))),
        }
    }
}

/// Awaits `work`; a panic inside it is caught and returned as its message
/// (`panicked: …`), and logged. What `work` borrowed may be half-updated:
/// callers drop that repository's partial results and record the failure.
pub async fn caught<F: Future>(subject: &str, work: F) -> Result<F::Output, String> {
    let result = Caught {
        inner: Box::pin(work),
    }
    .await;
    if let Err(e) = &result {
        tracing::error!(subject = %subject, error = %e, "caught a panic; going on with the others");
    }
    result
}

/// The text of a panic payload.
pub fn message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".into());
    format!("panicked: {text} (a bug in upkeep; please report it)")
}

/// **For tests only.** Panics when `UPKEEP_FAILPOINT` is
/// `panic:<stage>=<subject>` for this `stage` and `subject` (e.g.
/// `panic:repository=acme/deploy` panics when that repository is
/// published, `panic:check=acme/deploy` when it is opened for a check), so
/// that tests can prove a panic stays inside its repository. Unset, it does
/// nothing.
pub fn failpoint(stage: &str, subject: &str) {
    let Ok(value) = std::env::var(crate::env::FAILPOINT) else {
        return;
    };
    let hit = value
        .strip_prefix("panic:")
        .and_then(|rest| rest.split_once('='))
        .is_some_and(|(s, target)| s == stage && target.eq_ignore_ascii_case(subject));
    if hit {
        panic!("fail point {stage}={subject} ({})", crate::env::FAILPOINT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error() {
        let out = caught("x", async { 7 }).await;
        assert_eq!(out, Ok(7));
        let out = caught("x", async {
            tokio::task::yield_now().await;
            panic!("boom {}", 1);
        })
        .await;
        let e = out.unwrap_err();
        assert!(e.starts_with("panicked: boom 1"), "{e}");
    }
}
