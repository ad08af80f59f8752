//! The chapter's claims about each improvement (and, for the rest of Rainbow, the papers'),
//! and the measured metrics they are tested on.

use crate::config::Variant;

/// The chapter's qualitative rows for one improvement.
pub(super) struct Claim {
    pub(super) name: &'static str,
    pub(super) purpose: &'static str,
    pub(super) what_changes: &'static str,
    pub(super) math_point: &'static str,
    pub(super) claimed_effect: &'static str,
}

const DOUBLE: Claim = Claim {
    name: "Double DQN",
    purpose: "prevent Q overestimation",
    what_changes: "how the target Q is computed (select vs evaluate)",
    math_point: "max → argmax split",
    claimed_effect: "more stable learning",
};
const PER: Claim = Claim {
    name: "PER",
    purpose: "learn important experience first",
    what_changes: "the probability of sampling each experience",
    math_point: "TD-error-based sampling",
    claimed_effect: "faster, more efficient convergence",
};
const DUELING: Claim = Claim {
    name: "Dueling DQN",
    purpose: "split Q into value and advantage",
    what_changes: "the structure of the Q-function itself",
    math_point: "Q = V + A",
    claimed_effect: "more precise Q approximation, faster learning",
};

const MULTI_STEP: Claim = Claim {
    name: "Multi-step returns",
    purpose: "propagate rewards faster (Sutton 1988; Hessel et al. 2018)",
    what_changes: "the target sums n rewards before it bootstraps",
    math_point: "Σₖ γᵏ rₜ₊ₖ + γⁿ Q(sₜ₊ₙ)",
    claimed_effect: "faster learning",
};
const C51: Claim = Claim {
    name: "C51",
    purpose: "learn the distribution of returns, not only its mean (Bellemare et al. 2017)",
    what_changes:
        "the head (51 atoms per action) and the loss (cross-entropy to the projected target)",
    math_point: "Φ T̂Z, KL",
    claimed_effect: "better final performance",
};
const NOISY: Claim = Claim {
    name: "Noisy networks",
    purpose: "explore with learned, state-dependent noise (Fortunato et al. 2018)",
    what_changes: "the fully connected layers' weights",
    math_point: "W = μ + σ ⊙ ε",
    claimed_effect: "better exploration, higher final return",
};

/// The claims of the components a variant adds to its baseline (as written in the grid, so
/// that `nstep` counts; components both have are not claims of the comparison).
pub(super) fn claims(variant: Variant, baseline: Variant) -> Vec<&'static Claim> {
    [
        (variant.double && !baseline.double, &DOUBLE),
        (variant.per && !baseline.per, &PER),
        (variant.dueling && !baseline.dueling, &DUELING),
        (variant.multi_step && !baseline.multi_step, &MULTI_STEP),
        (variant.distributional && !baseline.distributional, &C51),
        (variant.noisy && !baseline.noisy, &NOISY),
    ]
    .into_iter()
    .filter(|(added, _)| *added)
    .map(|(_, c)| c)
    .collect()
}

/// A measured quantity compared between a variant and the baseline.
pub(super) struct Metric {
    pub(super) row: &'static str,
    pub(super) higher_is_better: bool,
    /// Column of `run_scores.csv` (one value per run).
    pub(super) column: &'static str,
    /// Which improvements claim this metric improves (for the verdict row).
    pub(super) claimed_by: &'static [&'static str],
    /// The claim is about reducing *over*-estimation: untestable when the baseline does not
    /// over-estimate (its mean bias is ≤ 0), since pushing an under-estimate further down is
    /// not an improvement.
    pub(super) needs_positive_baseline: bool,
}

pub(super) const METRICS: &[Metric] = &[
    Metric {
        row: "final return (mean of last {final_window} episodes)",
        higher_is_better: true,
        column: "final_return",
        claimed_by: &["C51", "Noisy networks"],
        needs_positive_baseline: false,
    },
    Metric {
        row: "greedy evaluation return",
        higher_is_better: true,
        column: "eval_return",
        claimed_by: &[],
        needs_positive_baseline: false,
    },
    Metric {
        row: "Q overestimation (predicted Q − Monte-Carlo return)",
        higher_is_better: false,
        column: "overestimation",
        claimed_by: &["Double DQN"],
        needs_positive_baseline: true,
    },
    Metric {
        row: "Q error (mean absolute difference of predicted Q and Monte-Carlo return)",
        higher_is_better: false,
        column: "q_abs_error",
        claimed_by: &["Dueling DQN"],
        needs_positive_baseline: false,
    },
    Metric {
        row: "area under the learning curve (mean return, all episodes)",
        higher_is_better: true,
        column: "auc",
        claimed_by: &["PER", "Dueling DQN", "Multi-step returns"],
        needs_positive_baseline: false,
    },
    Metric {
        row:
            "collapse rate (share of all runs: 20-ep average reached {threshold}, later < {floor})",
        higher_is_better: false,
        column: "collapsed",
        claimed_by: &["Double DQN"],
        needs_positive_baseline: false,
    },
];
