//! Payload models (see module docs in mod.rs).
