//! The record of one token seed (filled in by the sources/exports work).
