//! The dashboard: a router the server mounts, speaking to storage only through
//! `consent-core`'s traits (it never imports the server).
