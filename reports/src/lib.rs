//! Report generator (placeholder).
