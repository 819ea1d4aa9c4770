//! The one async runtime that network sources (registries, engine sockets) share. The engine reads
//! blobs on its own threads through blocking readers; the runtime's tasks do the I/O behind them.

use std::sync::OnceLock;

/// The shared runtime, started on first use.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ocidiff-io")
            .enable_all()
            .build()
            .expect("the async runtime starts") // only fails if the OS refuses threads
    })
}
