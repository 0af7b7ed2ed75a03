//! `consent-server`: runs Keurmerk's consent server.

use anyhow::Context as _;
use clap::Parser as _;
use consent_server::settings::{Cli, Settings};
use consent_server::{app, bootstrap};
use tokio::net::TcpListener;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let settings = Settings::resolve(Cli::parse())?;
    // One thread needs none of the multi-threaded scheduler's work stealing
    // and cross-thread wake-ups: the single-threaded runtime spent less CPU
    // a decision than a multi-threaded one with one worker (measured: see
    // docs/benchmarks.md, decisions bench, 2026-12-03 mid-day).
    let mut runtime = if settings.workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(settings.workers);
        b
    };
    let runtime = runtime.enable_all().build().context("starting the async runtime")?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let demo_listener = match settings.demo_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} (--demo-listen)"))?,
        ),
        None => None,
    };
    let store = app::open_store(&settings)?;
    let backend = store.name();
    let state = app::state(settings.clone(), store)?;
    match bootstrap::first_start(&state).await {
        // Printed once, to stdout only: never through the logger.
        Ok(Some(password)) => println!(
            "Created the admin account. User: {}  Password: {password}\nThis password is shown once; keep it now.",
            bootstrap::ADMIN
        ),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "storage not ready at start; the demo site and admin will be created on a later start")
        }
    }
    if let consent_server::storage::Backend::Redis(redis) = &state.store {
        match redis.persistence_warnings().await {
            Ok(warnings) => {
                for warning in warnings {
                    tracing::warn!("Redis storage: {warning}");
                }
            }
            Err(e) => tracing::warn!(
                error = %e,
                "Redis storage: could not read its persistence settings; check them against docs/operating.md"
            ),
        }
    }
    tracing::info!(listen = %settings.listen, backend, public_url = %settings.public_url, "serving");
    // One signal stops both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let when_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let demo = demo_listener.map(|l| {
        tracing::info!(demo = %settings.demo_origin().unwrap_or_default(), "serving the demo shop on its own origin");
        tokio::spawn(app::serve_demo(l, state.clone(), when_stopped()))
    });
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    app::serve(listener, state, when_stopped()).await?;
    if let Some(demo) = demo {
        let _ = demo.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
