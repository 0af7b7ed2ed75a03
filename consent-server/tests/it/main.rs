//! The server's integration tests, in one binary (one link instead of
//! eleven): each module is one area, `common` starts servers on random ports
//! against real storage (embedded SQLite, a redis-server per test).

#[macro_use]
mod common;

mod analytics;
mod api;
mod api_fuzz;
mod catalogue;
mod config_forms;
mod dashboard;
mod faults;
mod hostile;
mod interop;
mod log_processes;
mod onboarding;
mod openapi;
mod owner;
mod policy;
mod processes;
mod proof_log;
mod proof_page;
mod publish;
mod register;
mod requests;
mod scan_queue;
mod scan_queue_processes;
mod scans;
mod seal;
mod storage;
mod tenancy;
mod witnessed;
