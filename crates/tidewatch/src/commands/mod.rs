//! One module per subcommand.

pub(crate) mod backtest;
pub(crate) mod detect;
pub(crate) mod generate;
pub(crate) mod replay;
pub(crate) mod run;
pub(crate) mod sentiment;
pub(crate) mod stages;
