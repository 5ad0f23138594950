//! Wall-clock milliseconds that advance with tokio's clock.
//!
//! The custom-resource runtime mixes two kinds of time: epoch milliseconds that cross invocations
//! (when the wait started, the Lambda deadline) and tokio instants it sleeps on. Anchoring one to the
//! other at the start of an invocation keeps them consistent, including under
//! `#[tokio::test(start_paused = true)]`, where tokio's clock jumps but the system clock does not.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Seconds since the Unix epoch, now (system time: for expiry arithmetic, not for waits).
pub fn epoch_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch_ms_at_anchor: u64,
    anchor: Instant,
}

impl Clock {
    /// Anchors the clock at the current system time.
    pub fn system() -> Self {
        let epoch_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Self::anchored_at(epoch_ms)
    }

    /// Anchors the clock at a given epoch time (tests).
    pub fn anchored_at(epoch_ms: u64) -> Self {
        Self { epoch_ms_at_anchor: epoch_ms, anchor: Instant::now() }
    }

    /// Milliseconds since the Unix epoch, now.
    pub fn now_ms(&self) -> u64 {
        self.epoch_ms_at_anchor + self.anchor.elapsed().as_millis() as u64
    }

    /// The tokio instant at which the wall clock reads `epoch_ms` (now, if that is in the past).
    pub fn instant_at(&self, epoch_ms: u64) -> Instant {
        self.anchor + Duration::from_millis(epoch_ms.saturating_sub(self.epoch_ms_at_anchor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_tokio_time() {
        let clock = Clock::anchored_at(1_000_000);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(clock.now_ms(), 1_005_000);
        let at = clock.instant_at(1_010_000);
        assert_eq!(at - Instant::now(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn instant_of_past_time_is_the_anchor() {
        let clock = Clock::anchored_at(1_000_000);
        assert!(clock.instant_at(10) <= Instant::now());
    }
}
