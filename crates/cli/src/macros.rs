//! Printing macros: `outln!`/`out!` write on standard output, `errln!` on standard error,
//! all through [`crate::output`] (a closed pipe never panics).

/// One line on standard output (see [`crate::output::stdout`]).
macro_rules! outln {
    () => {
        $crate::output::stdout(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!($($arg)*), true)
    };
}

/// Text on standard output, no newline added.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!($($arg)*), false)
    };
}

/// One line on standard error.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::stderr_line(format_args!($($arg)*))
    };
}
