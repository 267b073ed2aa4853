//! Seed sources (filled in by the sources/exports work).
