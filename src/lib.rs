//! safeid
