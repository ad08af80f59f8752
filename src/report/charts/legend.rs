//! The legend: its entries, its size, and the corner where it hides the least data.

use plotters::element::IntoDynElement;
use plotters::prelude::*;

use super::{draw_err, Plot, PlotError, FONT_FAMILY, LEGEND_SIZE};

/// A vertical extent of drawn data `(x, y_lo, y_hi)` in data coordinates; the legend goes
/// where it covers the fewest.
pub(super) type Span = (f64, f64, f64);

/// A legend entry drawn by `glyph` beside `label` (an empty series that carries only the
/// legend).
pub(super) fn legend_entry<'a, DB, E, F>(
    cc: &mut Plot<'a, DB>,
    label: impl Into<String>,
    glyph: F,
) -> Result<(), PlotError>
where
    DB: DrawingBackend + 'a,
    E: IntoDynElement<'a, DB, (i32, i32)>,
    F: Fn((i32, i32)) -> E + 'a,
{
    cc.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(draw_err)?
        .label(label)
        .legend(glyph);
    Ok(())
}

/// Draws the legend of `labels` (nothing when there are none) in the corner of the
/// plotting area that overlaps the fewest `spans`.
pub(super) fn place_legend<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    labels: &[&str],
    spans: &[Span],
    x_range: (f64, f64),
    y_range: (f64, f64),
) -> Result<(), PlotError> {
    if labels.is_empty() {
        return Ok(());
    }
    let frac = legend_fraction(labels, plot_px(cc));
    let pos = best_legend_position(spans, x_range, y_range, frac);
    draw_legend(cc, pos)
}

/// Picks the legend corner whose area overlaps the least data.
/// `spans` are vertical data extents `(x, y_lo, y_hi)` in data coordinates.
fn best_legend_position(
    spans: &[Span],
    x_range: (f64, f64),
    y_range: (f64, f64),
    legend_frac: (f64, f64),
) -> SeriesLabelPosition {
    let (fw, fh) = (
        legend_frac.0.clamp(0.05, 0.9),
        legend_frac.1.clamp(0.05, 0.9),
    );
    let nx = |x: f64| (x - x_range.0) / (x_range.1 - x_range.0);
    let ny = |y: f64| (y - y_range.0) / (y_range.1 - y_range.0);
    // (position, x0, x1, y0, y1) in normalised coordinates (y up).
    let candidates = [
        (SeriesLabelPosition::UpperLeft, 0.0, fw, 1.0 - fh, 1.0),
        (
            SeriesLabelPosition::UpperRight,
            1.0 - fw,
            1.0,
            1.0 - fh,
            1.0,
        ),
        (SeriesLabelPosition::LowerRight, 1.0 - fw, 1.0, 0.0, fh),
        (SeriesLabelPosition::LowerLeft, 0.0, fw, 0.0, fh),
        (
            SeriesLabelPosition::UpperMiddle,
            0.5 - fw / 2.0,
            0.5 + fw / 2.0,
            1.0 - fh,
            1.0,
        ),
        (
            SeriesLabelPosition::LowerMiddle,
            0.5 - fw / 2.0,
            0.5 + fw / 2.0,
            0.0,
            fh,
        ),
    ];
    let mut best = (SeriesLabelPosition::UpperLeft, usize::MAX);
    for (pos, x0, x1, y0, y1) in candidates {
        let hits = spans
            .iter()
            .filter(|&&(x, lo, hi)| {
                let (x, lo, hi) = (nx(x), ny(lo), ny(hi));
                x >= x0 - 0.02 && x <= x1 + 0.02 && hi >= y0 - 0.02 && lo <= y1 + 0.02
            })
            .count();
        if hits < best.1 {
            best = (pos, hits);
        }
    }
    best.0
}

/// Approximate legend size as a fraction of the plotting area.
fn legend_fraction(labels: &[&str], plot_px: (f64, f64)) -> (f64, f64) {
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let w = 60.0 + 20.0 + chars * LEGEND_SIZE * 0.58;
    let h = 20.0 + labels.len() as f64 * (LEGEND_SIZE + 6.0);
    (w / plot_px.0, h / plot_px.1)
}

fn plot_px<DB: DrawingBackend, CT: CoordTranslate>(cc: &ChartContext<'_, DB, CT>) -> (f64, f64) {
    let (w, h) = cc.plotting_area().dim_in_pixel();
    (f64::from(w.max(1)), f64::from(h.max(1)))
}

fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    cc: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Result<(), PlotError> {
    cc.configure_series_labels()
        .position(pos)
        .margin(12)
        .legend_area_size(40)
        .label_font((FONT_FAMILY, LEGEND_SIZE))
        .background_style(WHITE.mix(0.88))
        .border_style(BLACK.mix(0.35))
        .draw()
        .map_err(draw_err)
}
