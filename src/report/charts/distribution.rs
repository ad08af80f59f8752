//! The distribution chart kind: per group of runs, a strip of jittered points (one per run),
//! a box (quartiles, median, 1.5·IQR whiskers) and an interval marker (point with lo–hi error
//! bar), with group labels fitted to their slot under the x axis.
//!
//! Drawn in this order: axes and grid, group labels, reference lines, each group (box, strip,
//! median, interval), "no data" when nothing was drawn, and the legend explaining the glyphs.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axes::{draw_no_data, fmt_tick, tick_decimals, Extent, Frame};
use super::legend::{legend_entry, place_legend, Span};
use super::polyline::{draw_hlines, label_hlines};
use super::{
    draw_err, palette_color, Distribution, DistributionChart, Plot, PlotError, Render, Target,
    AXIS_LABEL_SIZE, CHART_SIZE, FONT_FAMILY, GRID_COLOR, NEUTRAL_COLOR, TICK_SIZE, TITLE_SIZE,
};

struct BoxStats {
    q1: f64,
    median: f64,
    q3: f64,
    whisker_lo: f64,
    whisker_hi: f64,
}

fn box_stats(values: &[f64]) -> Option<BoxStats> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q1 = crate::stats::quantile_sorted(&v, 0.25);
    let median = crate::stats::quantile_sorted(&v, 0.5);
    let q3 = crate::stats::quantile_sorted(&v, 0.75);
    let iqr = q3 - q1;
    let (fence_lo, fence_hi) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    let whisker_lo = v.iter().copied().find(|&x| x >= fence_lo).unwrap_or(q1);
    let whisker_hi = v
        .iter()
        .rev()
        .copied()
        .find(|&x| x <= fence_hi)
        .unwrap_or(q3);
    Some(BoxStats {
        q1,
        median,
        q3,
        whisker_lo,
        whisker_hi,
    })
}

/// Deterministic jitter in `[-0.5, 0.5)` (golden-ratio low-discrepancy sequence).
fn jitter(k: usize) -> f64 {
    ((k as f64 + 1.0) * 0.618_033_988_749_894_9).fract() - 0.5
}

// Horizontal layout of one group, relative to its centre `i` (unit spacing).
const BOX_CENTER: f64 = -0.08;
const BOX_HALF: f64 = 0.17;
const STRIP_HALF: f64 = 0.14;
const INTERVAL_X: f64 = 0.25;
const CAP_HALF: f64 = 0.04;
/// Line spacing of multi-line group labels, in pixels.
const LABEL_LINE_PX: i32 = 20;
/// Width of the y axis' label area, in pixels.
const Y_LABEL_AREA: u32 = 92;

impl DistributionChart {
    fn y_extent(&self) -> Extent {
        let mut e = Extent::new();
        for g in &self.groups {
            for &v in &g.values {
                e.add(v);
            }
            if let Some((lo, p, hi)) = g.interval {
                e.add(lo);
                e.add(p);
                e.add(hi);
            }
        }
        for (v, _) in &self.hlines {
            e.add(*v);
        }
        e
    }

    /// One unit per group on x; y fixed or automatic with a margin.
    fn frame(&self) -> Frame {
        let n = self.groups.len();
        let x = if n == 0 {
            (-0.5, 0.5)
        } else {
            (-0.5, n as f64 - 0.5)
        };
        Frame::new(x, self.y_range, || self.y_extent().to_range(0.06))
    }

    /// Width of one group's slot on the x axis, in pixels.
    fn slot_px(&self) -> f64 {
        (f64::from(CHART_SIZE.0) - f64::from(Y_LABEL_AREA) - 60.0) / self.groups.len().max(1) as f64
    }

    /// Group labels that fit in `slot_px` pixels of width: one line if
    /// possible, else wrapped once at a `_ - + / . space` boundary, else
    /// shortened in the middle with an ellipsis. " (n=K)" (finite values) is
    /// appended to the last line when it still fits.
    fn fitted_labels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        slot_px: f64,
    ) -> Result<Vec<Vec<String>>, PlotError> {
        let style = TextStyle::from((FONT_FAMILY, TICK_SIZE).into_font());
        let fits = |s: &str| -> Result<bool, PlotError> {
            let (w, _) = root.estimate_text_size(s, &style).map_err(draw_err)?;
            Ok(f64::from(w) <= slot_px - 10.0)
        };
        let mut out = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            let mut lines = fit_label_lines(&g.label, &fits)?;
            let n = g.values.iter().filter(|v| v.is_finite()).count();
            if let Some(last) = lines.last_mut() {
                let with_n = if last.is_empty() {
                    format!("n={n}")
                } else {
                    format!("{last} (n={n})")
                };
                if fits(&with_n)? {
                    *last = with_n;
                }
            }
            out.push(lines);
        }
        Ok(out)
    }

    /// The title, axes, y tick labels and grid; the x label area is as tall as the
    /// tallest group label.
    fn axes<'a, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
        frame: &Frame,
        tick_labels: &[Vec<String>],
    ) -> Result<Plot<'a, DB>, PlotError> {
        let ((x0, x1), (y0, y1)) = (frame.x, frame.y);
        let y_dec = tick_decimals(y0, y1);
        let max_lines = tick_labels.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let x_label_area = 26 + LABEL_LINE_PX as u32 * max_lines as u32;
        let mut cc = ChartBuilder::on(root)
            .caption(&self.title, (FONT_FAMILY, TITLE_SIZE))
            .margin(20)
            .margin_right(40)
            .x_label_area_size(x_label_area)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_err)?;

        let y_fmt = move |v: &f64| fmt_tick(*v, y_dec, false);
        house_mesh!(cc.configure_mesh())
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(self.y_label.as_str())
            .y_label_formatter(&y_fmt)
            .draw()
            .map_err(draw_err)?;
        Ok(cc)
    }

    /// The legend explaining the glyphs (neutral colour) and the reference lines; none
    /// without groups.
    fn legend<'a, DB: DrawingBackend + 'a>(
        &self,
        cc: &mut Plot<'a, DB>,
        frame: &Frame,
        spans: &mut Vec<Span>,
    ) -> Result<(), PlotError> {
        if self.groups.is_empty() {
            return Ok(());
        }
        let mut labels: Vec<String> = Vec::new();
        if self.groups.iter().any(|g| box_stats(&g.values).is_some()) {
            labels.extend(box_legend(cc)?);
        }
        if self.groups.iter().any(|g| g.interval.is_some()) {
            let text = self
                .interval_label
                .clone()
                .unwrap_or_else(|| "point estimate (interval)".to_string());
            interval_legend(cc, &text)?;
            labels.push(text);
        }
        labels.extend(label_hlines(cc, &self.hlines, frame.x, frame.y, spans)?);
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        place_legend(cc, &refs, spans, frame.x, frame.y)
    }
}

/// Splits/shortens `label` into at most two lines accepted by `fits`.
fn fit_label_lines(
    label: &str,
    fits: &dyn Fn(&str) -> Result<bool, PlotError>,
) -> Result<Vec<String>, PlotError> {
    if fits(label)? {
        return Ok(vec![label.to_string()]);
    }
    let chars: Vec<char> = label.chars().collect();
    // Wrap after a separator, preferring the most balanced split.
    let is_sep = |c: char| matches!(c, '_' | '-' | '+' | '/' | '.' | ' ');
    let mut best: Option<(usize, usize)> = None; // (imbalance, split index)
    for (i, &c) in chars.iter().enumerate() {
        if i == 0 || i + 1 >= chars.len() || !is_sep(c) {
            continue;
        }
        let (head, tail) = split_after(&chars, i);
        if head.is_empty() || tail.is_empty() {
            continue;
        }
        if fits(&head)? && fits(&tail)? {
            let imbalance = head.chars().count().abs_diff(tail.chars().count());
            if best.is_none_or(|(b, _)| imbalance < b) {
                best = Some((imbalance, i));
            }
        }
    }
    if let Some((_, i)) = best {
        let (head, tail) = split_after(&chars, i);
        return Ok(vec![head, tail]);
    }
    // Middle ellipsis on two lines' worth of text: first line is the head,
    // second line "…tail"; fall back to a single shortened line.
    let mut keep = chars.len();
    while keep > 1 {
        keep -= 1;
        let head_len = keep.div_ceil(2);
        let tail_len = keep - head_len;
        let cand: String = chars[..head_len]
            .iter()
            .chain(std::iter::once(&'…'))
            .chain(chars[chars.len() - tail_len..].iter())
            .collect();
        if fits(&cand)? {
            return Ok(vec![cand]);
        }
    }
    Ok(vec!["…".to_string()])
}

/// A label's characters split after `chars[i]`: the head without trailing, the tail without
/// leading whitespace.
fn split_after(chars: &[char], i: usize) -> (String, String) {
    let head: String = chars[..=i].iter().collect();
    let tail: String = chars[i + 1..].iter().collect();
    (head.trim_end().to_owned(), tail.trim_start().to_owned())
}

impl Render for DistributionChart {
    fn render<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        _target: Target,
    ) -> Result<(), PlotError> {
        root.fill(&WHITE).map_err(draw_err)?;
        let frame = self.frame();
        let tick_labels = self.fitted_labels(root, self.slot_px())?;
        let mut cc = self.axes(root, &frame, &tick_labels)?;
        draw_group_labels(root, &cc, &tick_labels, frame.y.0)?;

        // Reference lines first (behind the data), labelled in the legend.
        draw_hlines(&mut cc, &self.hlines, frame.x, frame.y)?;

        let mut spans: Vec<Span> = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            draw_group(&mut cc, i, g, &frame, &mut spans)?;
        }

        if spans.is_empty() {
            draw_no_data(&cc)?;
        }
        self.legend(&mut cc, &frame, &mut spans)
    }
}

/// Group labels and tick marks under the x axis (drawn in pixel space).
fn draw_group_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cc: &Plot<'_, DB>,
    tick_labels: &[Vec<String>],
    y0: f64,
) -> Result<(), PlotError> {
    let tick_style = TextStyle::from((FONT_FAMILY, TICK_SIZE).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, lines) in tick_labels.iter().enumerate() {
        let (px, py) = cc.backend_coord(&(i as f64, y0));
        root.draw(&PathElement::new(
            vec![(px, py), (px, py + 6)],
            BLACK.mix(0.8).stroke_width(1),
        ))
        .map_err(draw_err)?;
        for (li, line) in lines.iter().enumerate() {
            let y = py + 12 + LABEL_LINE_PX * li as i32;
            root.draw(&Text::new(line.clone(), (px, y), tick_style.clone()))
                .map_err(draw_err)?;
        }
    }
    Ok(())
}

/// Group `i`: its box, strip of runs, median and interval marker; their extents go to
/// `spans`.
fn draw_group<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    i: usize,
    g: &Distribution,
    frame: &Frame,
    spans: &mut Vec<Span>,
) -> Result<(), PlotError> {
    let color = palette_color(i);
    let xc = i as f64;
    let bx = xc + BOX_CENTER;
    let stats = box_stats(&g.values);
    if let Some(b) = &stats {
        spans.push((bx, b.whisker_lo, b.whisker_hi));
        draw_box(cc, b, bx, color, frame)?;
    }
    draw_strip(cc, &g.values, bx, color, frame)?;
    // Median on top of the points.
    if let Some(m) = stats.map(|b| b.median).filter(|&m| frame.in_y(m)) {
        cc.draw_series(std::iter::once(PathElement::new(
            vec![(bx - BOX_HALF, m), (bx + BOX_HALF, m)],
            BLACK.stroke_width(3),
        )))
        .map_err(draw_err)?;
    }
    if let Some(interval) = g.interval {
        draw_interval(cc, interval, xc + INTERVAL_X, color, frame, spans)?;
    }
    for &v in g.values.iter().filter(|v| v.is_finite()) {
        spans.push((bx, v, v));
    }
    Ok(())
}

/// Box: IQR rectangle, whiskers with caps.
fn draw_box<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    b: &BoxStats,
    bx: f64,
    color: RGBColor,
    frame: &Frame,
) -> Result<(), PlotError> {
    let (bl, br) = (bx - BOX_HALF, bx + BOX_HALF);
    let corners = [(bl, frame.clamp_y(b.q1)), (br, frame.clamp_y(b.q3))];
    cc.draw_series(std::iter::once(Rectangle::new(
        corners,
        color.mix(0.15).filled(),
    )))
    .map_err(draw_err)?;
    cc.draw_series(std::iter::once(Rectangle::new(
        corners,
        color.stroke_width(2),
    )))
    .map_err(draw_err)?;
    for (from, to) in [(b.q1, b.whisker_lo), (b.q3, b.whisker_hi)] {
        cc.draw_series(std::iter::once(PathElement::new(
            vec![(bx, frame.clamp_y(from)), (bx, frame.clamp_y(to))],
            color.stroke_width(2),
        )))
        .map_err(draw_err)?;
        if frame.in_y(to) {
            cc.draw_series(std::iter::once(PathElement::new(
                vec![(bx - BOX_HALF / 2.0, to), (bx + BOX_HALF / 2.0, to)],
                color.stroke_width(2),
            )))
            .map_err(draw_err)?;
        }
    }
    Ok(())
}

/// Strip: one jittered point per run within the y range.
fn draw_strip<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    values: &[f64],
    bx: f64,
    color: RGBColor,
    frame: &Frame,
) -> Result<(), PlotError> {
    let points: Vec<(f64, f64)> = values
        .iter()
        .copied()
        .filter(|&v| frame.in_y(v))
        .enumerate()
        .map(|(k, v)| (bx + 2.0 * STRIP_HALF * jitter(k), v))
        .collect();
    cc.draw_series(points.iter().map(|&p| {
        EmptyElement::at(p)
            + Circle::new((0, 0), 5, color.mix(0.75).filled())
            + Circle::new((0, 0), 5, WHITE.mix(0.9).stroke_width(1))
    }))
    .map_err(draw_err)?;
    Ok(())
}

/// Interval marker at `ix`: error bar with caps and a point.
fn draw_interval<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    (lo, p, hi): (f64, f64, f64),
    ix: f64,
    color: RGBColor,
    frame: &Frame,
    spans: &mut Vec<Span>,
) -> Result<(), PlotError> {
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if lo.is_finite() && hi.is_finite() {
        spans.push((ix, lo, hi));
        cc.draw_series(std::iter::once(PathElement::new(
            vec![(ix, frame.clamp_y(lo)), (ix, frame.clamp_y(hi))],
            BLACK.stroke_width(2),
        )))
        .map_err(draw_err)?;
        for v in [lo, hi] {
            if frame.in_y(v) {
                cc.draw_series(std::iter::once(PathElement::new(
                    vec![(ix - CAP_HALF, v), (ix + CAP_HALF, v)],
                    BLACK.stroke_width(2),
                )))
                .map_err(draw_err)?;
            }
        }
    }
    if frame.in_y(p) {
        spans.push((ix, p, p));
        cc.draw_series(std::iter::once(
            EmptyElement::at((ix, p))
                + Circle::new((0, 0), 7, color.filled())
                + Circle::new((0, 0), 7, BLACK.stroke_width(2)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// Legend entries for the strip and the box; returns their labels.
fn box_legend<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
) -> Result<[String; 2], PlotError> {
    let runs = "individual runs";
    let boxes = "median, quartiles, 1.5·IQR whiskers";
    legend_entry(cc, runs, |(x, y)| {
        EmptyElement::at((x, y))
            + Circle::new((8, 0), 5, NEUTRAL_COLOR.mix(0.75).filled())
            + Circle::new((22, 0), 5, NEUTRAL_COLOR.mix(0.75).filled())
    })?;
    legend_entry(cc, boxes, |(x, y)| {
        EmptyElement::at((x, y))
            + Rectangle::new([(2, -8), (28, 8)], NEUTRAL_COLOR.mix(0.15).filled())
            + Rectangle::new([(2, -8), (28, 8)], NEUTRAL_COLOR.stroke_width(2))
            + PathElement::new(vec![(2, 0), (28, 0)], BLACK.stroke_width(3))
    })?;
    Ok([runs.into(), boxes.into()])
}

/// The legend entry for the interval marker.
fn interval_legend<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    text: &str,
) -> Result<(), PlotError> {
    legend_entry(cc, text, |(x, y)| {
        EmptyElement::at((x, y))
            + PathElement::new(vec![(4, 0), (26, 0)], BLACK.stroke_width(2))
            + PathElement::new(vec![(4, -5), (4, 5)], BLACK.stroke_width(2))
            + PathElement::new(vec![(26, -5), (26, 5)], BLACK.stroke_width(2))
            + Circle::new((15, 0), 6, NEUTRAL_COLOR.filled())
            + Circle::new((15, 0), 6, BLACK.stroke_width(2))
    })
}

#[cfg(test)]
mod tests {
    use super::super::distribution_chart;
    use super::super::samples::{assert_no_tmp, assert_png, groups, temp_dir};
    use super::*;

    #[test]
    fn distribution_chart_writes_both() {
        let dir = temp_dir("dist");
        let mut gs = groups();
        gs.push(Distribution {
            label: "a_really_long_group_label_that_cannot_fit_anywhere_in_its_slot".into(),
            values: vec![f64::NAN, 50.0],
            interval: Some((f64::NAN, 50.0, f64::NAN)),
        });
        gs.push(Distribution {
            label: "empty".into(),
            values: vec![],
            interval: None,
        });
        let paths =
            distribution_chart("Final return", "Return", &gs, &dir.join("sub/dist")).expect("dist");
        assert_png(&paths[0]);
        let svg = std::fs::read_to_string(&paths[1]).expect("read svg");
        assert!(svg.contains("<svg") && svg.contains("Final return"));
        let paths =
            distribution_chart("No groups", "Return", &[], &dir.join("none")).expect("none");
        assert_png(&paths[0]);
        assert_no_tmp(&dir);
        assert_no_tmp(&dir.join("sub"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
