//! markdown tests
