//! Harness for the end-to-end tests: starting real processes on free ports.

pub mod browser;
pub mod widget_site;
