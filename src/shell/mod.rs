//! IO shells: adapters that turn the outside world (corosync, agents, fence
//! devices, the disk, the local socket, the clock) into events for the core
//! and carry out the effects the core returns. One real resource per file.

pub mod agents;
pub mod cib_store;
pub mod clock;
pub mod config;
pub mod corosync;
pub mod daemon_api;
pub mod executor;
pub mod fence_agents;
pub mod fencing;
pub mod ipc;
pub mod sd_notify;
pub mod standalone;
pub mod store;
