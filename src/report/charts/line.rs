//! The line chart kind: learning curves and profiles, each series a line (broken at
//! non-finite values) over an optional shaded band, with dashed reference lines and a
//! legend placed where it hides the least data.
//!
//! Drawn in this order: axes and grid, bands, reference lines, lines (with their legend
//! entries), the reference lines' legend entries and the legend, and "no data" when nothing
//! was drawn.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axes::{draw_no_data, fmt_tick, tick_decimals, Extent, Frame};
use super::legend::{legend_entry, place_legend, Span};
use super::polyline::{
    clip_polyline_y, decimate, decimate_band, draw_hlines, draw_polyline, finite_runs,
    label_hlines, MAX_LINE_POINTS,
};
use super::{
    draw_err, palette_color, LineChart, Plot, PlotError, Render, Series, Target, AXIS_LABEL_SIZE,
    FONT_FAMILY, GRID_COLOR, TICK_SIZE, TITLE_SIZE,
};

impl LineChart {
    fn x_extent(&self) -> Extent {
        let mut e = Extent::new();
        for s in &self.series {
            for (&x, &y) in s.x.iter().zip(&s.y) {
                if y.is_finite() {
                    e.add(x);
                }
            }
            if let Some((lo, hi)) = &s.band {
                for ((&x, &l), &h) in s.x.iter().zip(lo).zip(hi) {
                    if l.is_finite() || h.is_finite() {
                        e.add(x);
                    }
                }
            }
        }
        e
    }

    fn y_extent(&self) -> Extent {
        let mut e = Extent::new();
        for s in &self.series {
            for (&x, &y) in s.x.iter().zip(&s.y) {
                if x.is_finite() {
                    e.add(y);
                }
            }
            if let Some((lo, hi)) = &s.band {
                for ((&x, &l), &h) in s.x.iter().zip(lo).zip(hi) {
                    if x.is_finite() {
                        e.add(l);
                        e.add(h);
                    }
                }
            }
        }
        for (v, _) in &self.hlines {
            e.add(*v);
        }
        e
    }

    /// True when every finite x is integral (episode / step axes).
    fn x_is_integer(&self) -> bool {
        let mut any = false;
        for s in &self.series {
            for &x in s.x.iter().filter(|x| x.is_finite()) {
                any = true;
                if x.fract() != 0.0 {
                    return false;
                }
            }
        }
        any
    }

    /// Exact data range on x (degenerate/empty ranges are padded); y fixed or automatic
    /// with a small margin.
    fn frame(&self) -> Frame {
        let x = self.x_extent().to_range(0.0);
        Frame::new(x, self.y_range, || self.y_extent().to_range(0.05))
    }

    /// The title, axes, tick labels and grid.
    fn axes<'a, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
        frame: &Frame,
    ) -> Result<Plot<'a, DB>, PlotError> {
        let ((x0, x1), (y0, y1)) = (frame.x, frame.y);
        let x_int = self.x_is_integer();
        let x_dec = tick_decimals(x0, x1);
        let y_dec = tick_decimals(y0, y1);

        let mut cc = ChartBuilder::on(root)
            .caption(&self.title, (FONT_FAMILY, TITLE_SIZE))
            .margin(20)
            .margin_right(40)
            .x_label_area_size(62)
            .y_label_area_size(92)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_err)?;

        let x_fmt = move |v: &f64| fmt_tick(*v, x_dec, x_int);
        let y_fmt = move |v: &f64| fmt_tick(*v, y_dec, false);
        house_mesh!(cc.configure_mesh())
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_labels(10)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .draw()
            .map_err(draw_err)?;
        Ok(cc)
    }

    /// The legend: the series' labels, then the reference lines' (whose extents join
    /// `spans` for the placement).
    fn legend<'a, DB: DrawingBackend + 'a>(
        &self,
        cc: &mut Plot<'a, DB>,
        frame: &Frame,
        spans: &mut Vec<Span>,
    ) -> Result<(), PlotError> {
        let hline_labels = label_hlines(cc, &self.hlines, frame.x, frame.y, spans)?;
        let labels: Vec<&str> = self
            .series
            .iter()
            .map(|s| s.label.as_str())
            .filter(|l| !l.is_empty())
            .chain(hline_labels.iter().map(String::as_str))
            .collect();
        place_legend(cc, &labels, spans, frame.x, frame.y)
    }
}

impl Render for LineChart {
    fn render<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<(), PlotError> {
        root.fill(&WHITE).map_err(draw_err)?;
        let frame = self.frame();
        let mut cc = self.axes(root, &frame)?;

        // 1. Bands, behind everything else.
        for (i, s) in self.series.iter().enumerate() {
            draw_band(&mut cc, s, palette_color(i), &frame)?;
        }

        // 2. Reference lines (dashed); labelled in the legend after the series.
        draw_hlines(&mut cc, &self.hlines, frame.x, frame.y)?;

        // 3. Lines, one legend entry per series.
        let mut spans: Vec<Span> = Vec::new();
        for (i, s) in self.series.iter().enumerate() {
            let color = palette_color(i);
            draw_line(&mut cc, s, color, &frame, target, &mut spans)?;
            band_spans(s, &mut spans);
            series_legend_entry(&mut cc, s, color)?;
        }

        let has_data = !spans.is_empty();
        self.legend(&mut cc, &frame, &mut spans)?;
        if !has_data {
            draw_no_data(&cc)?;
        }
        Ok(())
    }
}

/// The series' band as runs of finite `(x, lo, hi)`, clamped to the y range.
fn band_runs(s: &Series, frame: &Frame) -> Vec<Vec<(f64, f64, f64)>> {
    let Some((lo, hi)) = &s.band else {
        return Vec::new();
    };
    let mut run: Vec<(f64, f64, f64)> = Vec::new();
    let mut runs = Vec::new();
    for ((&x, &l), &h) in s.x.iter().zip(lo).zip(hi) {
        if x.is_finite() && l.is_finite() && h.is_finite() {
            run.push((x, frame.clamp_y(l.min(h)), frame.clamp_y(l.max(h))));
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// The series' band: one shaded polygon per run of at least two finite points.
fn draw_band<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    s: &Series,
    color: RGBColor,
    frame: &Frame,
) -> Result<(), PlotError> {
    for run in band_runs(s, frame).into_iter().filter(|r| r.len() >= 2) {
        let run = decimate_band(run, MAX_LINE_POINTS);
        let poly: Vec<(f64, f64)> = run
            .iter()
            .map(|&(x, _, h)| (x, h))
            .chain(run.iter().rev().map(|&(x, l, _)| (x, l)))
            .collect();
        cc.draw_series(std::iter::once(Polygon::new(
            poly,
            color.mix(0.18).filled(),
        )))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// The series' line: each finite run decimated, clipped to a fixed y range, drawn (a lone
/// point as a dot); the segments' extents go to `spans`.
fn draw_line<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    s: &Series,
    color: RGBColor,
    frame: &Frame,
    target: Target,
    spans: &mut Vec<Span>,
) -> Result<(), PlotError> {
    let runs = finite_runs(s.x.iter().copied().zip(s.y.iter().copied()));
    for run in &runs {
        for w in run.windows(2) {
            spans.push((w[0].0, w[0].1.min(w[1].1), w[0].1.max(w[1].1)));
        }
        if let Some(&(x, y)) = run.last() {
            spans.push((x, y, y));
        }
        let run = decimate(run.clone(), MAX_LINE_POINTS);
        let pieces = if frame.fixed_y {
            clip_polyline_y(&run, frame.y.0, frame.y.1)
        } else {
            vec![run]
        };
        for piece in pieces {
            if piece.len() == 1 {
                cc.draw_series(std::iter::once(Circle::new(piece[0], 3, color.filled())))
                    .map_err(draw_err)?;
            } else {
                draw_polyline(cc, piece, color.stroke_width(2), target)?;
            }
        }
    }
    Ok(())
}

/// The extents of the series' finite band points (unclamped).
fn band_spans(s: &Series, spans: &mut Vec<Span>) {
    if let Some((lo, hi)) = &s.band {
        for ((&x, &l), &h) in s.x.iter().zip(lo).zip(hi) {
            if x.is_finite() && l.is_finite() && h.is_finite() {
                spans.push((x, l.min(h), l.max(h)));
            }
        }
    }
}

/// The series' legend entry (none without a label): its line over its band colour.
fn series_legend_entry<'a, DB: DrawingBackend + 'a>(
    cc: &mut Plot<'a, DB>,
    s: &Series,
    color: RGBColor,
) -> Result<(), PlotError> {
    if s.label.is_empty() {
        return Ok(());
    }
    let band_fill = if s.band.is_some() {
        color.mix(0.18)
    } else {
        TRANSPARENT
    };
    legend_entry(cc, s.label.clone(), move |(x, y)| {
        EmptyElement::at((x, y))
            + Rectangle::new([(0, -8), (30, 8)], band_fill.filled())
            + PathElement::new(vec![(0, 0), (30, 0)], color.stroke_width(3))
    })
}

#[cfg(test)]
mod tests {
    use super::super::line_chart;
    use super::super::samples::{assert_no_tmp, assert_png, learning_curves, noise, temp_dir};
    use super::*;

    #[test]
    fn line_chart_writes_png_and_svg() {
        let dir = temp_dir("line");
        let chart = learning_curves();
        let paths = line_chart(&chart, &dir.join("curves")).expect("line chart");
        assert_eq!(paths, vec![dir.join("curves.png"), dir.join("curves.svg")]);
        assert_png(&paths[0]);
        let svg = std::fs::read_to_string(&paths[1]).expect("read svg");
        assert!(svg.contains("<svg"));
        assert!(svg.contains("CartPole-v1"));
        for s in &chart.series {
            assert!(svg.contains(&s.label), "label {} missing", s.label);
        }
        assert!(svg.contains("solved (195)"));
        assert_no_tmp(&dir);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn line_chart_handles_nan_empty_and_fixed_range() {
        let dir = temp_dir("nan");
        let nan = f64::NAN;
        let chart = LineChart {
            title: "NaN handling".into(),
            x_label: "Episode".into(),
            y_label: "Return".into(),
            series: vec![
                Series {
                    label: "gappy".into(),
                    x: vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, nan, 7.0],
                    y: vec![1.0, nan, 3.0, 4.0, f64::INFINITY, 6.0, 7.0, 8.0],
                    band: Some((vec![0.0, 0.0, nan, 3.0], vec![2.0, 2.0, 4.0, nan, 9.0])),
                },
                Series {
                    label: "all nan".into(),
                    x: vec![0.0, 1.0],
                    y: vec![nan, nan],
                    band: Some((vec![nan, nan], vec![nan, nan])),
                },
                Series {
                    label: "single point".into(),
                    x: vec![3.0],
                    y: vec![2.5],
                    band: None,
                },
            ],
            hlines: vec![(nan, "bad".into()), (5.0, "ok".into())],
            y_range: None,
        };
        line_chart(&chart, &dir.join("nan")).expect("nan chart");

        let all_nan = LineChart {
            series: vec![chart.series[1].clone()],
            hlines: vec![],
            ..chart.clone()
        };
        line_chart(&all_nan, &dir.join("all_nan")).expect("all-nan chart");

        let empty = LineChart {
            title: "empty".into(),
            ..LineChart::default()
        };
        let paths = line_chart(&empty, &dir.join("empty")).expect("empty chart");
        assert_png(&paths[0]);

        let clipped = LineChart {
            y_range: Some((2.0, 5.0)),
            ..chart.clone()
        };
        line_chart(&clipped, &dir.join("clipped")).expect("clipped chart");

        let bad_range = LineChart {
            y_range: Some((3.0, 3.0)),
            ..chart
        };
        line_chart(&bad_range, &dir.join("bad_range")).expect("bad range chart");
        assert_no_tmp(&dir);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn long_series_renders() {
        let dir = temp_dir("long");
        let x: Vec<f64> = (0..200_000).map(|k| k as f64 * 5.0).collect();
        let y: Vec<f64> = (0..200_000).map(noise).collect();
        let lo: Vec<f64> = y.iter().map(|v| v - 1.0).collect();
        let hi: Vec<f64> = y.iter().map(|v| v + 1.0).collect();
        let chart = LineChart {
            title: "long".into(),
            x_label: "Environment steps".into(),
            y_label: "Loss".into(),
            series: vec![Series {
                label: "loss".into(),
                x,
                y,
                band: Some((lo, hi)),
            }],
            hlines: vec![],
            y_range: None,
        };
        let paths = line_chart(&chart, &dir.join("long")).expect("long chart");
        let svg_len = std::fs::metadata(&paths[1]).expect("svg").len();
        assert!(svg_len < 500_000, "svg too large: {svg_len}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
