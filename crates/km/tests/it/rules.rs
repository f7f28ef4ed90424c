//! Filters, mapping rules and transformation rules, one test each.
