//! `changes.md`: what a blessing moved, written beside the baseline it replaces so that a
//! reviewer of the commit sees, per grid point, whether the curves stayed bit-identical and
//! how far the final return and AUC moved (IQM differences with bootstrap intervals).

use super::{interval, signed, CheckOptions, CheckReport, Outcome, PointCheck};
use crate::config::Experiment;
use crate::stats;
use crate::sweep::RunResult;
use std::fmt::Write as _;

/// The baseline a blessing replaces.
pub(super) enum Previous {
    /// None was there: a first blessing.
    None,
    /// It could not be read (the reason); nothing was compared.
    Unreadable(String),
    /// The new runs checked against it.
    Checked(Box<CheckReport>),
}

/// The text of `changes.md` for blessing `results` over `previous`.
pub(super) fn markdown(
    exp: &Experiment,
    results: &[RunResult],
    previous: &Previous,
    opts: &CheckOptions,
) -> String {
    let mut md = format!("# {} — what the last blessing changed\n\n", exp.name);
    match previous {
        Previous::None => {
            md.push_str("First blessing: there was no earlier baseline.\n\n");
            first_blessing(&mut md, exp, results, opts);
        }
        Previous::Unreadable(reason) => {
            let _ = writeln!(
                md,
                "The earlier baseline could not be read, so nothing was compared: {reason}"
            );
        }
        Previous::Checked(report) => against_previous(&mut md, report),
    }
    md
}

/// Per grid point: the scores the first baseline holds.
fn first_blessing(md: &mut String, exp: &Experiment, results: &[RunResult], opts: &CheckOptions) {
    md.push_str("| grid point | runs | final IQM | AUC IQM |\n|---|---|---|---|\n");
    for (i, p) in exp.points.iter().enumerate() {
        let curves: Vec<Vec<f64>> = results
            .iter()
            .filter(|r| r.point == i)
            .map(|r| r.run.episodes.iter().map(|e| e.ret).collect())
            .collect();
        let score = |f: &dyn Fn(&[f64]) -> f64, seed: u64| {
            let x: Vec<f64> = curves.iter().map(|c| f(c)).collect();
            stats::bootstrap_ci(&[&x], &stats::iqm, opts.resamples, opts.confidence, seed)
        };
        let seed = crate::report::label_seed(&p.label);
        let final_of = |c: &[f64]| stats::last_n_mean(c, exp.report.final_window);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            p.label,
            curves.len(),
            interval(&score(&final_of, seed), 1),
            interval(&score(&stats::area_under_curve, seed ^ 1), 1)
        );
    }
}

/// Per grid point: bit-identical or where it first differs, and how far the scores moved.
fn against_previous(md: &mut String, r: &CheckReport) {
    let same = r
        .points
        .iter()
        .filter(|p| p.outcome == Outcome::Identical)
        .count();
    let _ = writeln!(
        md,
        "Against the baseline it replaced{}: {same} of {} grid points bit-identical.\n",
        kernels(r),
        r.points.len()
    );
    if r.baseline_format < 2 {
        let _ = writeln!(
            md,
            "The replaced baseline has format {} and recorded returns only: lengths, losses and \
             Q estimates were not compared.\n",
            r.baseline_format
        );
    }
    md.push_str(
        "| grid point | curves | final IQM before → after | Δ final | AUC IQM before → after | \
         Δ AUC | first difference |\n|---|---|---|---|---|---|---|\n",
    );
    for p in &r.points {
        let _ = writeln!(md, "{}", row(p));
    }
    let mut notes: Vec<String> = r
        .points
        .iter()
        .filter(|p| !p.config_changes.is_empty())
        .map(|p| {
            format!(
                "{}: config changed: {}",
                p.label,
                p.config_changes.join("; ")
            )
        })
        .collect();
    notes.extend(
        r.dropped_points
            .iter()
            .map(|l| format!("{l}: dropped (in the old baseline, not in the experiment)")),
    );
    if !notes.is_empty() {
        md.push('\n');
        for n in notes {
            let _ = writeln!(md, "- {n}");
        }
    }
}

fn kernels(r: &CheckReport) -> String {
    let here = crate::fingerprint::kernel_family();
    match r.baseline_kernel.as_deref() {
        Some(k) if k == here => format!(" (same kernels, `{k}`)"),
        Some(k) => format!(" (blessed on kernels `{k}`, now `{here}`)"),
        None => String::new(),
    }
}

fn row(p: &PointCheck) -> String {
    let curves = match p.outcome {
        Outcome::Identical => "identical",
        Outcome::Missing => "new grid point",
        _ => "**changed**",
    };
    let moved = |m: &Option<super::MetricCheck>| match m {
        Some(m) => (
            format!(
                "{} → {}",
                crate::report::fmt_num(m.baseline.point, 1),
                crate::report::fmt_num(m.current.point, 1)
            ),
            signed(&m.difference),
        ),
        None => ("–".into(), "–".into()),
    };
    let (f, df) = moved(&p.final_return);
    let (a, da) = moved(&p.auc);
    let first = p
        .first_difference
        .as_ref()
        .map_or("–".into(), |d| d.to_string());
    format!(
        "| {} | {curves} | {f} | {df} | {a} | {da} | {first} |",
        p.label
    )
}
