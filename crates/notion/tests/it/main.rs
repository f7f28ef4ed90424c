//! kb-notion against the Notion twin (kb-sim), over real HTTP on loopback: one test binary.

mod errors;
mod limits;
mod reads;
mod support;
mod writes;
