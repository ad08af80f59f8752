//! Axes: data ranges (with margins, padded when degenerate), tick labels, and the note on an
//! empty plotting area.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{draw_err, PlotError, AXIS_LABEL_SIZE, FONT_FAMILY, NEUTRAL_COLOR};

/// Running min/max over finite values.
#[derive(Debug, Clone, Copy)]
pub(super) struct Extent {
    lo: f64,
    hi: f64,
}

impl Extent {
    pub(super) fn new() -> Self {
        Extent {
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
        }
    }
    pub(super) fn add(&mut self, v: f64) {
        if v.is_finite() {
            self.lo = self.lo.min(v);
            self.hi = self.hi.max(v);
        }
    }
    fn is_empty(&self) -> bool {
        self.lo > self.hi
    }
    /// Range for an axis: `margin` is a fraction of the span added on both
    /// sides; degenerate or empty extents get a sensible non-empty range.
    pub(super) fn to_range(self, margin: f64) -> (f64, f64) {
        if self.is_empty() {
            return (0.0, 1.0);
        }
        let span = self.hi - self.lo;
        if span <= f64::EPSILON * self.hi.abs().max(self.lo.abs()).max(1.0) {
            let pad = if self.lo == 0.0 {
                1.0
            } else {
                0.1 * self.lo.abs()
            };
            return (self.lo - pad, self.hi + pad);
        }
        (self.lo - margin * span, self.hi + margin * span)
    }
}

/// The data ranges of a chart's two axes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    pub x: (f64, f64),
    pub y: (f64, f64),
    /// The y range was fixed by the chart (lines are clipped to it).
    pub fixed_y: bool,
}

impl Frame {
    /// `x` as given; y the chart's valid fixed range, else `auto`.
    pub(super) fn new(
        x: (f64, f64),
        fixed_y: Option<(f64, f64)>,
        auto: impl FnOnce() -> (f64, f64),
    ) -> Frame {
        let fixed = valid_fixed_range(fixed_y);
        Frame {
            x,
            y: fixed.unwrap_or_else(auto),
            fixed_y: fixed.is_some(),
        }
    }

    /// `v` is finite and within the y range.
    pub(super) fn in_y(&self, v: f64) -> bool {
        v.is_finite() && v >= self.y.0 && v <= self.y.1
    }

    pub(super) fn clamp_y(&self, v: f64) -> f64 {
        v.clamp(self.y.0, self.y.1)
    }
}

fn valid_fixed_range(r: Option<(f64, f64)>) -> Option<(f64, f64)> {
    r.filter(|(lo, hi)| lo.is_finite() && hi.is_finite() && lo < hi)
}

/// Number of decimals for tick labels given the axis span.
pub(super) fn tick_decimals(lo: f64, hi: f64) -> usize {
    let step = (hi - lo).abs() / 8.0;
    if !(step.is_finite() && step > 0.0) {
        return 2;
    }
    let d = 1.0 - step.log10().floor();
    d.clamp(0.0, 6.0) as usize
}

/// Formats a tick value: integers as integers on integer axes, otherwise
/// with `decimals` decimals (trailing zeros trimmed), scientific when huge.
pub(super) fn fmt_tick(v: f64, decimals: usize, integer_axis: bool) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if integer_axis && (v - v.round()).abs() < 1e-9 && a < 1e15 {
        return format!("{:.0}", v.round() + 0.0);
    }
    if a >= 1e7 {
        return format!("{v:.2e}");
    }
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// Writes a centred "no data" note on an otherwise empty plotting area.
pub(super) fn draw_no_data<DB: DrawingBackend, CT: CoordTranslate>(
    cc: &ChartContext<'_, DB, CT>,
) -> Result<(), PlotError> {
    let area = cc.plotting_area().strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FONT_FAMILY, AXIS_LABEL_SIZE).into_font())
        .color(&NEUTRAL_COLOR)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let center = ((w / 2) as i32, (h / 2) as i32);
    area.draw(&Text::new("no data", center, style))
        .map_err(draw_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_formatting() {
        assert_eq!(fmt_tick(100.0, 0, true), "100");
        assert_eq!(fmt_tick(-0.0, 2, false), "0");
        assert_eq!(fmt_tick(0.25, 2, false), "0.25");
        assert_eq!(fmt_tick(0.5, 2, true), "0.5");
        assert_eq!(fmt_tick(0.30000000000000004, 2, false), "0.3");
    }
}
