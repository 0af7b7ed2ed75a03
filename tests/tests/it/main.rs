//! The widget's end-to-end tests, in one binary (one link instead of one per
//! file). Each test takes its turn at the browser (`e2e::browser::exclusive`),
//! so only one Chromium runs at a time, as when each file was its own binary.

mod dashboard_a11y;
mod dashboard_preview;
mod demo_isolation;
mod owner_journeys;
mod widget_a11y;
mod widget_api;
mod widget_blocking;
mod widget_choices;
mod widget_first_paint;
mod widget_server;
mod widget_theme;
mod widget_vendors;
