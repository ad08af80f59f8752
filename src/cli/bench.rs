//! `sweep bench`: throughput and memory figures of this machine, as a Markdown table.

use super::Status;
use anyhow::Result;
use clap::Args;

#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// Multiply the amount of work (1.0 takes about 10 s on 2 cores).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Run the whole set this many times and print each figure's median and range.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Only the checkpoint rows (size, write time, share of run time), e.g. with --scale 10
    /// for a 1M-frame Atari replay (7 GB in memory and on disk).
    #[arg(long)]
    pub checkpoints_only: bool,
}

pub fn bench(args: &BenchArgs) -> Result<Status> {
    let BenchArgs {
        scale,
        repeat,
        checkpoints_only,
    } = *args;
    anyhow::ensure!(
        scale > 0.0 && scale.is_finite(),
        "--scale must be a positive number"
    );
    anyhow::ensure!(repeat >= 1, "--repeat must be at least 1");
    let figure = |v: f64| {
        let digits = if v.abs() >= 100.0 { 0 } else { 2 };
        format!("{v:.digits$}")
    };
    if repeat == 1 {
        println!("| benchmark | figure |\n|---|---|");
    } else {
        println!("| benchmark | median of {repeat} runs | min – max |\n|---|---|---|");
    }
    for row in crate::bench::run_repeated(scale, repeat, checkpoints_only) {
        let (lo, hi) = row.range();
        let spread = format!(" {} – {} |", figure(lo), figure(hi));
        let spread = if repeat == 1 { "" } else { &spread };
        println!(
            "| {} | {} {} |{spread}",
            row.what,
            figure(row.median()),
            row.unit
        );
    }
    Ok(Status::Success)
}
