//! Seed exports (filled in by the sources/exports work).
