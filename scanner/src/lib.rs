//! Keurmerk's scanner.
