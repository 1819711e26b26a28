//! The CIB model.
