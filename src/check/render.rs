//! What a check says: `check.md` (the verdict, the rule in words, one row per grid point, the
//! notes) and the shorter terminal summary, both read from a [`CheckReport`].

use super::{
    CheckOptions, CheckReport, ExactLevel, MetricCheck, Outcome, DETECTION_POWER, MIN_RUNS_TO_TEST,
};
use crate::config::Experiment;
pub(super) use crate::report::fmt_interval as interval;
use crate::report::fmt_num;
use crate::stats::Interval;
use std::fmt::Write as _;
use std::path::Path;

/// `+point [+lo, +hi]` to one decimal, `–` where not finite.
pub(super) fn signed(i: &Interval) -> String {
    let s = |v: f64| {
        if v.is_finite() {
            format!("{v:+.1}")
        } else {
            "–".into()
        }
    };
    format!("{} [{}, {}]", s(i.point), s(i.lo), s(i.hi))
}

fn verdict_line(report: &CheckReport) -> String {
    let count = |o: Outcome| report.points.iter().filter(|p| p.outcome == o).count();
    let n = report.points.len();
    if report.exact_failed() {
        let k = report.not_identical().len();
        format!("fail ({k} of {n} grid points not bit-identical, and the exact level is required)")
    } else if report.regressed() {
        format!(
            "regressed ({} of {n} grid points)",
            count(Outcome::Regressed)
        )
    } else if count(Outcome::Missing) > 0 {
        format!(
            "incomplete ({} of {n} grid points have no baseline)",
            count(Outcome::Missing)
        )
    } else {
        let untested = match count(Outcome::Untested) {
            0 => String::new(),
            u => format!(", {u} untested"),
        };
        format!(
            "pass ({} identical, {} pass, {} improved{untested} of {n} grid points)",
            count(Outcome::Identical),
            count(Outcome::Pass),
            count(Outcome::Improved)
        )
    }
}

fn rule_text(exp: &Experiment, opts: &CheckOptions) -> String {
    format!(
        "A grid point is **identical** when every seed's per-episode training returns and \
         evaluation returns equal the baseline's (at the same seeds) bit for bit. Otherwise, \
         with Δ the {:.0}% bootstrap interval ({} resamples) of IQM(current) − IQM(baseline) of \
         the final return (mean of the last {} episodes), the baseline being its runs at the \
         seeds this check did not train: **regressed** if Δ lies wholly below −{tol} (a \
         one-sided test at {:.1}% per grid point), **improved** if wholly above +{tol}, else \
         **pass**; **untested** with fewer than {MIN_RUNS_TO_TEST} runs on a side. The AUC (mean \
         return over all episodes) is shown, not tested. A failed run is a regression. \"Detectable drop\" is the true IQM drop this check catches with {:.0}% \
         power.",
        opts.confidence * 100.0,
        opts.resamples,
        exp.report.final_window,
        opts.false_alarm_rate() * 100.0,
        DETECTION_POWER * 100.0,
        tol = opts.tolerance,
    )
}

pub(super) fn markdown(
    exp: &Experiment,
    r: &CheckReport,
    baseline_dir: &Path,
    opts: &CheckOptions,
) -> String {
    let mut md = format!("# {} — regression check\n\n", exp.name);
    let _ = writeln!(
        md,
        "Baseline: `{}`. Result: **{}**.\n\n{}\n",
        baseline_dir.display(),
        verdict_line(r),
        rule_text(exp, opts)
    );
    md.push_str(
        "| grid point | outcome | final IQM baseline | final IQM current | Δ final | \
         detectable drop | baseline runs | AUC IQM baseline | AUC IQM current | Δ AUC (not tested) | \
         P(current > baseline), final | first difference |\n",
    );
    md.push_str(&format!("|{}\n", "---|".repeat(12)));
    for p in &r.points {
        let cells = |m: &Option<MetricCheck>| match m {
            Some(m) => [
                interval(&m.baseline, 1),
                interval(&m.current, 1),
                signed(&m.difference),
            ],
            None => ["–".into(), "–".into(), "–".into()],
        };
        let [fb, fc, fd] = cells(&p.final_return);
        let [ab, ac, ad] = cells(&p.auc);
        let poi = p
            .final_return
            .map_or("–".into(), |m| interval(&m.improvement, 2));
        let diff = p
            .first_difference
            .as_ref()
            .map_or("–".into(), |d| d.to_string());
        let outcome = match p.outcome {
            Outcome::Regressed => "**regressed**".to_owned(),
            o => o.to_string(),
        };
        let drop = p.detectable_drop.map_or("–".into(), |d| fmt_num(d, 1));
        let _ = writeln!(
            md,
            "| {} | {outcome} | {fb} | {fc} | {fd} | {drop} | {} | {ab} | {ac} | {ad} | {poi} | {diff} |",
            p.label, p.compared_with
        );
    }
    let notes = notes(r);
    if !notes.is_empty() {
        md.push_str("\n## Notes\n\n");
        for n in notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    md
}

fn notes(r: &CheckReport) -> Vec<String> {
    let mut out = Vec::new();
    if let ExactLevel::OtherKernels { blessed, here } = &r.exact {
        out.push(format!(
            "[check] exact = \"same-kernels\": the baseline was blessed on kernels `{blessed}`, \
             this machine has `{here}`; bit-identity is not expected here, only the statistical \
             level decides"
        ));
    }
    if r.baseline_format < 2 {
        out.push(format!(
            "the baseline has format {} and records returns only: lengths, losses and Q \
             estimates were not compared (bless again to record them)",
            r.baseline_format
        ));
    }
    for p in &r.points {
        if p.outcome == Outcome::Missing {
            out.push(format!(
                "{}: no baseline for this grid point (bless to add it)",
                p.label
            ));
        }
        if !p.config_changes.is_empty() {
            out.push(format!(
                "{}: config differs from the baseline: {}",
                p.label,
                p.config_changes.join("; ")
            ));
        }
        if p.outcome == Outcome::Untested {
            out.push(format!(
                "{}: not identical, and too few runs for the statistical level ({} current \
                 against {}; at least {MIN_RUNS_TO_TEST} on each side): add seeds, or bless \
                 more with `[check] baseline_seeds`",
                p.label, p.current_runs, p.compared_with
            ));
        }
        for (seed, reason) in &p.failed_runs {
            out.push(format!("{} seed {seed} failed: {reason}", p.label));
        }
    }
    for label in &r.dropped_points {
        out.push(format!(
            "{label}: in the baseline but no longer in the experiment"
        ));
    }
    out
}

pub(super) fn terminal(
    exp: &Experiment,
    r: &CheckReport,
    baseline_dir: &Path,
    opts: &CheckOptions,
) -> String {
    let mut t = format!(
        "{}: check against {} (final-return IQM, tolerance {}, one-sided {:.1}% per grid point)\n",
        exp.name,
        baseline_dir.display(),
        opts.tolerance,
        opts.false_alarm_rate() * 100.0
    );
    let width = r.points.iter().map(|p| p.label.len()).max().unwrap_or(0);
    for p in &r.points {
        let _ = write!(
            t,
            "  {:width$}  {:9}",
            p.label,
            p.outcome.to_string().to_uppercase()
        );
        if let (Some(f), Some(a)) = (&p.final_return, &p.auc) {
            let _ = write!(
                t,
                "  final IQM {} → {} (Δ {}; detects a drop of {}), AUC IQM {} → {} (Δ {}), \
                 P(better) {}",
                fmt_num(f.baseline.point, 1),
                fmt_num(f.current.point, 1),
                signed(&f.difference),
                p.detectable_drop.map_or("–".into(), |d| fmt_num(d, 1)),
                fmt_num(a.baseline.point, 1),
                fmt_num(a.current.point, 1),
                signed(&a.difference),
                fmt_num(f.improvement.point, 2)
            );
        }
        t.push('\n');
        if let Some(d) = &p.first_difference {
            let _ = writeln!(t, "  {:width$}  first difference: {d}", "");
        }
    }
    for n in notes(r) {
        let _ = writeln!(t, "  note: {n}");
    }
    let _ = writeln!(t, "result: {}", verdict_line(r));
    t
}
