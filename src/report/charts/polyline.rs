//! Polylines: maximal runs of finite points, decimation of long runs (keeping their visual
//! envelope), clipping to a fixed y range, drawing them, and the dashed reference lines.

use plotters::prelude::*;

use super::legend::{legend_entry, Span};
use super::{draw_err, Plot, PlotError, Target, REF_LINE_COLOR};

/// Splits `(x, y)` pairs into maximal runs of finite points.
pub(super) fn finite_runs(points: impl Iterator<Item = (f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut cur = Vec::new();
    for (x, y) in points {
        if x.is_finite() && y.is_finite() {
            cur.push((x, y));
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// Polylines longer than this are decimated before drawing.
pub(super) const MAX_LINE_POINTS: usize = 4000;

/// Reduces a long polyline to at most ~`max_points` points, keeping the
/// minimum and maximum of each bucket of consecutive points (in order), so
/// the visual envelope of noisy curves is preserved.
pub(super) fn decimate(run: Vec<(f64, f64)>, max_points: usize) -> Vec<(f64, f64)> {
    if run.len() <= max_points || max_points < 4 {
        return run;
    }
    let buckets = max_points / 2;
    let size = run.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * 2 + 2);
    for chunk in run.chunks(size) {
        let (mut lo, mut hi) = (0, 0);
        for (k, p) in chunk.iter().enumerate() {
            if p.1 < chunk[lo].1 {
                lo = k;
            }
            if p.1 > chunk[hi].1 {
                hi = k;
            }
        }
        let (a, b) = (lo.min(hi), lo.max(hi));
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
    }
    // Keep the exact end points.
    if let (Some(&first), Some(&last)) = (run.first(), run.last()) {
        if out.first() != Some(&first) {
            out.insert(0, first);
        }
        if out.last() != Some(&last) {
            out.push(last);
        }
    }
    out
}

/// Band counterpart of [`decimate`]: each bucket of `(x, lo, hi)` becomes its
/// first and last x with the bucket's lowest `lo` and highest `hi`.
pub(super) fn decimate_band(run: Vec<(f64, f64, f64)>, max_points: usize) -> Vec<(f64, f64, f64)> {
    if run.len() <= max_points || max_points < 4 {
        return run;
    }
    let size = run.len().div_ceil(max_points / 2);
    let mut out = Vec::with_capacity(max_points + 2);
    for chunk in run.chunks(size) {
        let lo = chunk.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = chunk.iter().map(|p| p.2).fold(f64::NEG_INFINITY, f64::max);
        if let (Some(first), Some(last)) = (chunk.first(), chunk.last()) {
            out.push((first.0, lo, hi));
            if last.0 != first.0 {
                out.push((last.0, lo, hi));
            }
        }
    }
    out
}

/// Clips a polyline to `lo <= y <= hi`, splitting it where it leaves the band.
pub(super) fn clip_polyline_y(run: &[(f64, f64)], lo: f64, hi: f64) -> Vec<Vec<(f64, f64)>> {
    let inside = |y: f64| y >= lo && y <= hi;
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    if run.len() == 1 {
        if inside(run[0].1) {
            out.push(run.to_vec());
        }
        return out;
    }
    for w in run.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        // Parametric clip of the segment against both horizontal lines.
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let dy = y1 - y0;
        let mut visible = true;
        for (p, q) in [(-dy, y0 - lo), (dy, hi - y0)] {
            if p == 0.0 {
                if q < 0.0 {
                    visible = false;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        if !visible || t0 > t1 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let a = (x0 + t0 * (x1 - x0), y0 + t0 * dy);
        let b = (x0 + t1 * (x1 - x0), y0 + t1 * dy);
        if cur.last() != Some(&a) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(a);
        }
        cur.push(b);
        if t1 < 1.0 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Draws a polyline. On bitmaps each segment is drawn separately: plotters'
/// wide-line rasteriser joins segments with unbounded inner miters, which
/// shows up as thin spikes at sharp V-shaped turns of noisy curves.
pub(super) fn draw_polyline<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    points: Vec<(f64, f64)>,
    style: ShapeStyle,
    target: Target,
) -> Result<(), PlotError> {
    match target {
        Target::Vector => {
            cc.draw_series(LineSeries::new(points, style))
                .map_err(draw_err)?;
        }
        Target::Bitmap => {
            cc.draw_series(
                points
                    .windows(2)
                    .map(|w| PathElement::new(vec![w[0], w[1]], style)),
            )
            .map_err(draw_err)?;
        }
    }
    Ok(())
}

fn hline_visible(v: f64, y_range: (f64, f64)) -> bool {
    v.is_finite() && v >= y_range.0 && v <= y_range.1
}

/// Draws the dashed reference lines (no labels).
pub(super) fn draw_hlines<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    hlines: &[(f64, String)],
    x_range: (f64, f64),
    y_range: (f64, f64),
) -> Result<(), PlotError> {
    for &(v, _) in hlines {
        if !hline_visible(v, y_range) {
            continue;
        }
        cc.draw_series(DashedLineSeries::new(
            vec![(x_range.0, v), (x_range.1, v)],
            10,
            6,
            REF_LINE_COLOR.stroke_width(2),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// Adds legend entries for the visible, labelled reference lines and records
/// their extent for legend placement. Returns the labels added.
pub(super) fn label_hlines<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    hlines: &[(f64, String)],
    x_range: (f64, f64),
    y_range: (f64, f64),
    spans: &mut Vec<Span>,
) -> Result<Vec<String>, PlotError> {
    let mut labels = Vec::new();
    for (v, label) in hlines {
        if !hline_visible(*v, y_range) {
            continue;
        }
        for k in 0..=40 {
            let x = x_range.0 + (x_range.1 - x_range.0) * f64::from(k) / 40.0;
            spans.push((x, *v, *v));
        }
        if label.is_empty() {
            continue;
        }
        legend_entry(cc, label.clone(), |(x, y)| {
            let dash = |a: i32, b: i32| {
                PathElement::new(vec![(a, 0), (b, 0)], REF_LINE_COLOR.stroke_width(2))
            };
            EmptyElement::at((x, y)) + dash(0, 8) + dash(12, 20) + dash(24, 30)
        })?;
        labels.push(label.clone());
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::super::samples::noise;
    use super::*;

    #[test]
    fn clipping_splits_lines() {
        let run = vec![(0.0, 0.0), (1.0, 10.0), (2.0, 0.0)];
        let pieces = clip_polyline_y(&run, -1.0, 5.0);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], vec![(0.0, 0.0), (0.5, 5.0)]);
        assert_eq!(pieces[1], vec![(1.5, 5.0), (2.0, 0.0)]);
    }

    #[test]
    fn decimation_keeps_extremes_and_ends() {
        let run: Vec<(f64, f64)> = (0..100_000)
            .map(|k| (k as f64, if k == 54_321 { 1e6 } else { noise(k) }))
            .collect();
        let d = decimate(run.clone(), 1000);
        assert!(d.len() <= 1002, "{}", d.len());
        assert_eq!(d.first(), run.first());
        assert_eq!(d.last(), run.last());
        assert!(d.iter().any(|p| p.1 == 1e6));
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
