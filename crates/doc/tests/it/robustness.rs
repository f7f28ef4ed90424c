//! robustness tests
