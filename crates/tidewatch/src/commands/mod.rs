//! One module per subcommand.

pub(crate) mod backtest;
pub(crate) mod collect;
pub(crate) mod demo;
pub(crate) mod detect;
pub(crate) mod generate;
pub(crate) mod notify;
pub(crate) mod pipeline;
pub(crate) mod replay;
pub(crate) mod run;
pub(crate) mod sentiment;
pub(crate) mod simulate;
pub(crate) mod stages;
