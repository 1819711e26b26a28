//! `warden daemon`: the tokio main loop that drives one `core::node::Node`.
