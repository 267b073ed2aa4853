//! The batch journal (filled in by the sources/exports work).
