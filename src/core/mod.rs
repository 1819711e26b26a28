//! The pure core of warden.
//!
//! Invariant: nothing under `core` touches a socket, file, process, thread or
//! clock. Time is an argument (`now`), randomness comes from a seed passed in,
//! and no output depends on hash-map iteration order: the same input gives
//! byte-identical output. `tests/tidy.rs` enforces the bans.

pub mod action;
pub mod cib;
pub mod controller;
pub mod fencer;
pub mod node;
pub mod replication;
pub mod scheduler;
pub mod time;
pub mod transition;
