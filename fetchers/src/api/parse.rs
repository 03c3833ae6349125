//! Value parsing.
