//! Work that must end by a deadline whatever it does: run in its own task, so a panic becomes a
//! message to answer with, and a deadline passed aborts it. Every synchronous answer (a CloudFormation
//! hook's, an ECS lifecycle hook's) and every custom-resource invocation runs its handler this way.

use std::future::Future;
use tokio::time::Instant;

#[derive(Debug, PartialEq, Eq)]
pub enum Bounded<T> {
    Done(T),
    /// The work panicked (`panic = "unwind"` keeps the process alive): its message.
    Panicked(String),
    /// The deadline came first; the work was aborted.
    TimedOut,
}

/// Runs `work` until `deadline`. The work is spawned at the call, so the returned future holds only
/// its handle: a caller's future does not grow by the work's (deep) type.
pub fn until<T, F>(deadline: Instant, work: F) -> impl Future<Output = Bounded<T>> + Send
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    // No time left: the work is not started (a timer set in the past fires only at the next tick,
    // by when quick work could already have run past the deadline).
    let task = (Instant::now() < deadline).then(|| tokio::spawn(work));
    async move {
        let Some(mut task) = task else {
            return Bounded::TimedOut;
        };
        tokio::select! {
            // The work first: done on the deadline's tick is done.
            biased;
            joined = &mut task => match joined {
                Ok(done) => Bounded::Done(done),
                Err(error) => Bounded::Panicked(panic_message(error)),
            },
            () = tokio::time::sleep_until(deadline) => {
                task.abort();
                Bounded::TimedOut
            }
        }
    }
}

fn panic_message(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return "the handler was cancelled".into();
    }
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_result_a_panic_and_a_deadline_are_told_apart() {
        let deadline = Instant::now() + Duration::from_secs(5);
        assert_eq!(until(deadline, async { 7 }).await, Bounded::Done(7));
        let panicked = until(deadline, async move {
            if deadline > Instant::now() {
                panic!("boom at {}", 3);
            }
            7
        })
        .await;
        assert_eq!(panicked, Bounded::Panicked("boom at 3".into()));
        let slow = until(deadline, async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            7
        })
        .await;
        assert_eq!(slow, Bounded::TimedOut);
        assert!(Instant::now() >= deadline && Instant::now() < deadline + Duration::from_secs(1));
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let past = until(deadline, async move { flag.store(true, std::sync::atomic::Ordering::SeqCst) }).await;
        tokio::task::yield_now().await;
        assert_eq!(past, Bounded::TimedOut);
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst), "work past its deadline was started");
    }
}
