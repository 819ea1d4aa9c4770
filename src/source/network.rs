//! Bounds on network I/O, so that a server that never answers, goes silent or trickles fails in
//! bounded time with a clear message, while a large transfer on a slow but moving link is never cut
//! off. Every request to a registry, a token server or an engine goes through [`NetworkLimits`]:
//!
//! - connecting and the response's headers take at most `timeout` ([`Stall::NoResponse`]);
//! - a body may not leave us waiting `timeout` for its next byte ([`Stall::Silent`]), and over every
//!   `timeout` of waiting it must bring `min_rate` bytes per second on average ([`Stall::TooSlow`]).
//!
//! The rate is what catches a trickle: one byte every few seconds defeats any "no data for N s"
//! rule. It is curl's `--speed-limit`/`--speed-time` (git's `http.lowSpeedLimit`/`lowSpeedTime`):
//! 1 KiB/s averaged over 30 s by default, which any working link beats by orders of magnitude while
//! a stalled one is told in half a minute. Only time spent waiting for the server counts, so a reader
//! that is slow to ask for more (a comparison busy with another layer) is not taken for a stall. The
//! whole transfer is never bounded: a multi-GB layer may take hours as long as it keeps moving.

use std::time::Duration;

use tokio::time::Instant;

/// How long network requests may wait; see the module's documentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkLimits {
    /// Connecting, a response's headers, and the longest wait for a body's next byte; also the
    /// window over which `min_rate` is measured (`--network-timeout`).
    pub timeout: Duration,
    /// Bytes per second a body must average over each window (`--network-min-rate`); 0: any rate.
    pub min_rate: u64,
}

impl NetworkLimits {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_MIN_RATE: u64 = 1024;
    /// How many timeouts an engine may take to start an export: dockerd and Podman prepare the whole
    /// export before sending its first byte, which takes minutes for a large image (10 at the default).
    const EXPORT_START_FACTOR: u32 = 20;

    /// How long an engine may take to send an export's first byte.
    pub(crate) fn export_start(&self) -> Duration {
        self.timeout.saturating_mul(Self::EXPORT_START_FACTOR)
    }

    /// `work` (connecting and sending a request, up to its response's headers), if done in time.
    pub(crate) async fn response<T>(&self, work: impl Future<Output = T>) -> Result<T, Stall> {
        within(self.timeout, work).await
    }

    /// The watch over one response body.
    pub(crate) fn body(&self) -> Progress {
        Progress {
            limits: *self,
            first_byte: None,
            started: false,
            window_bytes: 0,
            window_waited: Duration::ZERO,
        }
    }

    /// Sends a request: connecting and its response's headers within the timeout.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, NetError> {
        self.response(request.send())
            .await?
            .map_err(NetError::Failed)
    }

    /// The first `max` bytes of a small body (a manifest, a token, an error message), and whether
    /// that was all of it.
    pub(crate) async fn read_small(
        &self,
        response: reqwest::Response,
        max: usize,
    ) -> Result<(Vec<u8>, bool), NetError> {
        use futures_util::StreamExt;
        let mut body = std::pin::pin!(response.bytes_stream());
        let mut progress = self.body();
        let mut bytes = Vec::new();
        while let Some(chunk) = progress.chunk(body.next()).await? {
            let chunk = chunk.map_err(NetError::Failed)?;
            let room = max - bytes.len();
            if chunk.len() > room {
                bytes.extend_from_slice(&chunk[..room]);
                return Ok((bytes, false));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((bytes, true))
    }
}

impl Default for NetworkLimits {
    fn default() -> NetworkLimits {
        NetworkLimits {
            timeout: Self::DEFAULT_TIMEOUT,
            min_rate: Self::DEFAULT_MIN_RATE,
        }
    }
}

/// `work`, if done within `limit`.
pub(crate) async fn within<T>(limit: Duration, work: impl Future<Output = T>) -> Result<T, Stall> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| Stall::NoResponse(limit))
}

/// Why a server was given up on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Stall {
    #[error("no response within {}", seconds(*.0))]
    NoResponse(Duration),
    #[error("stalled: no data for {}", seconds(*.0))]
    Silent(Duration),
    #[error("stalled: {bytes} bytes in {}, under the minimum of {min_rate} bytes/s", seconds(*.window))]
    TooSlow {
        bytes: u64,
        window: Duration,
        min_rate: u64,
    },
}

impl Stall {
    /// The setting that would have waited longer.
    pub(crate) fn hint(&self) -> &'static str {
        match self {
            Stall::TooSlow { .. } => "set --network-min-rate to accept slower transfers",
            _ => "set --network-timeout to wait longer",
        }
    }
}

/// A request that failed: too slow, or for another reason.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NetError {
    #[error(transparent)]
    Stalled(#[from] Stall),
    #[error(transparent)]
    Failed(reqwest::Error),
}

/// `30 s`, `1.5 s`.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// The watch over one body: how long each wait for data lasts, and how many bytes each window of
/// waiting brought.
pub(crate) struct Progress {
    limits: NetworkLimits,
    /// Until the first byte, waiting may last until this deadline (an engine preparing an export),
    /// which is this long after the request was sent.
    first_byte: Option<(Instant, Duration)>,
    started: bool,
    window_bytes: u64,
    window_waited: Duration,
}

impl Progress {
    /// Lets the first byte come as late as `allowed` after `sent`.
    pub(crate) fn first_byte_within(mut self, sent: Instant, allowed: Duration) -> Progress {
        self.first_byte = Some((sent + allowed, allowed));
        self
    }

    /// Awaits `next`, the body's next chunk (`None` at its end), unless the body stalls first.
    pub(crate) async fn chunk<B: AsRef<[u8]>, E>(
        &mut self,
        next: impl Future<Output = Option<Result<B, E>>>,
    ) -> Result<Option<Result<B, E>>, Stall> {
        let mut next = std::pin::pin!(next);
        let mut silent = Duration::ZERO;
        loop {
            if let (false, Some((deadline, allowed))) = (self.started, self.first_byte) {
                let item = tokio::time::timeout_at(deadline, next.as_mut()).await;
                let item = item.map_err(|_| Stall::NoResponse(allowed))?;
                self.count(&item);
                return Ok(item);
            }
            let timeout = self.limits.timeout;
            let wait = timeout
                .saturating_sub(silent)
                .min(timeout.saturating_sub(self.window_waited));
            let began = Instant::now();
            let item = tokio::time::timeout(wait, next.as_mut()).await;
            let waited = began.elapsed();
            silent += waited;
            self.window_waited += waited;
            match item {
                Ok(item) => {
                    self.count(&item);
                    self.check_window()?;
                    return Ok(item);
                }
                Err(_) if silent >= timeout => return Err(Stall::Silent(timeout)),
                Err(_) => self.check_window()?,
            }
        }
    }

    fn count<B: AsRef<[u8]>, E>(&mut self, item: &Option<Result<B, E>>) {
        if let Some(Ok(bytes)) = item {
            let len = bytes.as_ref().len();
            self.window_bytes += len as u64;
            self.started |= len > 0;
        }
    }

    /// At the end of a window: enough bytes, or too slow. A new window starts.
    fn check_window(&mut self) -> Result<(), Stall> {
        let window = self.limits.timeout;
        if self.window_waited < window {
            return Ok(());
        }
        let wanted = (self.limits.min_rate as f64 * window.as_secs_f64()) as u64;
        if self.window_bytes < wanted {
            return Err(Stall::TooSlow {
                bytes: self.window_bytes,
                window,
                min_rate: self.limits.min_rate,
            });
        }
        self.window_bytes = 0;
        self.window_waited = Duration::ZERO;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use futures_util::stream::BoxStream;

    type Chunks = BoxStream<'static, Result<Vec<u8>, std::io::Error>>;

    /// A body that sends `sizes` bytes, each chunk after `gap`, then ends.
    fn body(sizes: Vec<usize>, gap: Duration) -> Chunks {
        futures_util::stream::iter(sizes)
            .then(move |n| async move {
                tokio::time::sleep(gap).await;
                Ok(vec![0u8; n])
            })
            .boxed()
    }

    fn limits(timeout_ms: u64, min_rate: u64) -> NetworkLimits {
        NetworkLimits {
            timeout: Duration::from_millis(timeout_ms),
            min_rate,
        }
    }

    /// Reads `body` to its end under `limits`: the bytes, or the stall.
    async fn drain(limits: NetworkLimits, mut body: Chunks) -> Result<u64, Stall> {
        let mut progress = limits.body();
        let mut total = 0;
        while let Some(chunk) = progress.chunk(body.next()).await? {
            total += chunk.expect("no error").len() as u64;
        }
        Ok(total)
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_body_of_any_length_passes() {
        // 10 000 s of chunks, far longer than the timeout: the transfer is never bounded as a whole.
        let steady = body(vec![2048; 10_000], Duration::from_secs(1));
        assert_eq!(drain(limits(30_000, 1024), steady).await, Ok(2048 * 10_000));
    }

    #[tokio::test(start_paused = true)]
    async fn silence_fails_after_the_timeout() {
        let silent = body(vec![4096, 4096], Duration::from_secs(31));
        let started = tokio::time::Instant::now();
        let outcome = drain(limits(30_000, 0), silent).await;
        assert_eq!(outcome, Err(Stall::Silent(Duration::from_secs(30))));
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert_eq!(
            outcome.unwrap_err().to_string(),
            "stalled: no data for 30 s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_fails_at_the_end_of_its_window() {
        let trickle = body(vec![1; 1000], Duration::from_secs(1));
        let started = tokio::time::Instant::now();
        let outcome = drain(limits(30_000, 1024), trickle).await;
        assert_eq!(
            outcome,
            Err(Stall::TooSlow {
                bytes: 30,
                window: Duration::from_secs(30),
                min_rate: 1024
            })
        );
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        let stall = outcome.unwrap_err();
        assert_eq!(
            stall.to_string(),
            "stalled: 30 bytes in 30 s, under the minimum of 1024 bytes/s"
        );
        assert!(stall.hint().contains("--network-min-rate"));
        // Without a minimum rate, the trickle is slow but alive.
        let trickle = body(vec![1; 100], Duration::from_secs(1));
        assert_eq!(drain(limits(30_000, 0), trickle).await, Ok(100));
    }

    #[tokio::test(start_paused = true)]
    async fn only_time_spent_waiting_for_the_server_counts() {
        // The reader pauses 100 s between reads; the data was there all along.
        let mut ready = body(vec![10; 5], Duration::ZERO);
        let mut progress = limits(30_000, 1024).body();
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(100)).await;
            assert!(progress.chunk(ready.next()).await.unwrap().is_some());
        }
        assert!(progress.chunk(ready.next()).await.unwrap().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_byte_may_take_as_long_as_allowed_then_the_usual_limits_apply() {
        let allowed = Duration::from_secs(600);
        let late_start = futures_util::stream::once(async {
            tokio::time::sleep(Duration::from_secs(500)).await;
            Ok::<_, std::io::Error>(vec![0u8; 4096])
        })
        .chain(body(vec![4096], Duration::from_secs(40)))
        .boxed();
        let mut progress = limits(30_000, 0)
            .body()
            .first_byte_within(Instant::now(), allowed);
        let mut late_start = late_start;
        assert!(progress.chunk(late_start.next()).await.unwrap().is_some());
        let stalled = progress.chunk(late_start.next()).await.map(|_| ());
        assert_eq!(stalled, Err(Stall::Silent(Duration::from_secs(30))));
        let never = futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>();
        let mut never = never.boxed();
        let mut progress = limits(1_000, 0)
            .body()
            .first_byte_within(Instant::now(), Duration::from_secs(20));
        let outcome = progress.chunk(never.next()).await.map(|_| ());
        assert_eq!(outcome, Err(Stall::NoResponse(Duration::from_secs(20))));
        assert_eq!(outcome.unwrap_err().to_string(), "no response within 20 s");
    }

    #[test]
    fn seconds_are_shown_whole_or_to_a_tenth() {
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }
}
