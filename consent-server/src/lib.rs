//! Keurmerk's consent server: the composition root.
