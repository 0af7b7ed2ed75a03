//! Prometheus metrics: requests and latency per route, decisions recorded,
//! storage errors. Served as text at `/metrics`.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

// Label values are static strings: building a label set then costs no
// allocation, where owned strings cost four a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LatencyLabels {
    pub method: &'static str,
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabels {
    pub backend: String,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms .. ~1.6 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    routes: Arc<RwLock<HashSet<&'static str>>>,
    requests: Family<RouteLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    pub decisions: Counter,
    storage_errors: Family<BackendLabels, Counter>,
    backend: String,
}

impl Metrics {
    pub fn new(backend: &str) -> Self {
        let mut registry = Registry::with_prefix("keurmerk");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let decisions = Counter::default();
        let storage_errors = Family::<BackendLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route",
            latency.clone(),
        );
        registry.register("decisions_recorded", "Decisions durably recorded", decisions.clone());
        crate::log::witness::register_metrics(&mut registry);
        // The runtime this process actually serves with (`--workers`).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let threads = Gauge::<i64>::default();
            threads.set(runtime.metrics().num_workers() as i64);
            registry.register("runtime_threads", "Threads that serve requests (--workers)", threads);
        }
        registry.register(
            "storage_errors",
            "Storage operations that failed (storage unreachable or refusing writes)",
            storage_errors.clone(),
        );
        // Show the series at zero from the start, so alerts can rely on it.
        drop(storage_errors.get_or_create(&BackendLabels {
            backend: backend.to_owned(),
        }));
        Self {
            registry: Arc::new(registry),
            routes: Arc::default(),
            requests,
            latency,
            decisions,
            storage_errors,
            backend: backend.to_owned(),
        }
    }

    pub fn storage_error(&self) {
        self.storage_errors
            .get_or_create(&BackendLabels {
                backend: self.backend.clone(),
            })
            .inc();
    }

    /// The route template as a static string. Templates are the router's
    /// own (`/api/v1/sites/{site}/decisions`, never a concrete path), so
    /// there are as many as there are routes and each is leaked once.
    fn route(&self, template: &str) -> &'static str {
        if let Some(r) = self.routes.read().unwrap_or_else(PoisonError::into_inner).get(template) {
            return r;
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = routes.get(template) {
            return r;
        }
        let r: &'static str = Box::leak(template.to_owned().into_boxed_str());
        routes.insert(r);
        r
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// The method as a label; methods outside HTTP's own are one label, so a
/// client cannot add series at will.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Middleware counting and timing every request by its route template
/// (`/api/v1/sites/{site}/decisions`), never by its concrete path, so the
/// number of series stays bounded.
pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| metrics.route(p.as_str()));
    let method = method_label(req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    metrics
        .latency
        .get_or_create(&LatencyLabels { method, route })
        .observe(start.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RouteLabels { method, route, status })
        .inc();
    if status == 503 {
        metrics.storage_error();
    }
    res
}
