//! dqn-sweep: reproduce, measure and regression-test the DQN family on CartPole.
//!
//! The crate is split by responsibility:
//! - [`config`]: experiment files (the TOML grid) and resolved per-run configs;
//! - [`env`]: environments behind the [`env::Env`] trait (Gym-exact CartPole);
//! - [`agent`]: replay buffers, dfdx Q-networks and the DQN / Double / PER / Dueling update;
//! - [`train`]: one run's training loop and measurements;
//! - [`sweep`]: the grid fanned out over rayon, failures isolated, results stored atomically;
//! - [`store`]: the on-disk layout of results;
//! - [`stats`]: aggregate statistics with bootstrap intervals (rliable-style);
//! - [`report`]: polars tables, Markdown reports and plotters charts;
//! - [`check`]: baselines (`sweep bless`) and the learning-curve regression gate (`sweep check`);
//! - [`bench`]: throughput figures (`sweep bench`).

pub mod agent;
pub mod bench;
pub mod check;
pub mod config;
pub mod env;
pub mod report;
pub mod stats;
pub mod store;
pub mod sweep;
pub mod train;

use config::Experiment;
use store::ExperimentDir;
use sweep::{run_sweep, SweepOptions};

/// Errors of a whole experiment run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Sweep(#[from] sweep::SweepError),
    #[error(transparent)]
    Report(#[from] report::ReportError),
}

/// Run every run of the experiment (reusing finished ones if asked), then write its reports.
pub fn run_experiment(exp: &Experiment, opts: &SweepOptions) -> Result<report::Report, Error> {
    let results = run_sweep(exp, opts)?;
    let dir = ExperimentDir::new(&opts.results, &exp.name);
    Ok(report::write_report(exp, &results, &dir)?)
}
