//! warden: a cluster resource manager that reads and writes Pacemaker's CIB,
//! takes membership, quorum and ordered messaging from corosync, and decides
//! what runs where exactly as Pacemaker's scheduler does.
//!
//! Layout (see the design notes in the repository README):
//!
//! * [`core`] is pure: no sockets, files, processes, threads or clocks. `now`
//!   is an argument and randomness comes from a seed that is passed in.
//! * [`shell`] holds the adapters that turn the outside world into events for
//!   the core and carry out the effects it returns.
//! * [`cli`], [`status`], [`sim`] and [`daemon`] are the user-facing parts.

pub mod cli;
pub mod core;
pub mod daemon;
pub mod shell;
pub mod sim;
pub mod status;
