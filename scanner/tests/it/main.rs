//! The scanner's integration tests, in one binary (one link instead of one
//! per file): the static and browser passes against the fixture web, the
//! `consent-scan` binary (and its `check` for CI), worker mode and the server's scan queue against a
//! real redis-server; the SSRF guard in both passes and the CLI. `common`
//! holds the fixture web and its server.

mod browser_pass;
mod check;
mod cli;
mod common;
mod device_access;
mod gpc;
mod server_queue;
mod ssrf_guard;
mod static_pass;
mod worker;
