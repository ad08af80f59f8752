//! Chart rendering for reports: learning curves (lines with shaded bands) and
//! per-group score distributions (strip + box + interval).
//!
//! Every chart is written twice, as `<stem>.png` (1200x700 px bitmap) and
//! `<stem>.svg`. Both files are written atomically: the content goes to a
//! hidden temporary file in the destination directory which is then renamed
//! over the final name, so a crash never leaves a half-written chart behind.
//!
//! Text is rendered with the DejaVu Sans font embedded in the binary
//! (registered with plotters under the family name `"sans-serif"`), so no
//! system font is required.

use std::ffi::OsString;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

/// Embedded font, so that rendering never depends on system fonts.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Font family name used for every piece of text.
pub const FONT_FAMILY: &str = "sans-serif";

/// Size in pixels of the PNG output (and of the SVG canvas).
pub const CHART_SIZE: (u32, u32) = (1200, 700);

// Plotters' ab_glyph backend renders `size / 1.24` pixels per em, so these
// nominal sizes give roughly 26 / 19 / 15 / 16 px glyphs on the 1200x700 PNG.
const TITLE_SIZE: f64 = 32.0;
const AXIS_LABEL_SIZE: f64 = 24.0;
const TICK_SIZE: f64 = 19.0;
const LEGEND_SIZE: f64 = 20.0;

/// Colour-blind friendly palette (seaborn "colorblind", i.e. Okabe–Ito based,
/// with the hard-to-see yellow and light pink replaced by indigo and black).
/// Series `i` uses `PALETTE[i % PALETTE.len()]`.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x01, 0x73, 0xB2), // blue
    RGBColor(0xDE, 0x8F, 0x05), // orange
    RGBColor(0x02, 0x9E, 0x73), // bluish green
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0xCC, 0x78, 0xBC), // reddish purple
    RGBColor(0xCA, 0x91, 0x61), // brown
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x33, 0x22, 0x88), // indigo
    RGBColor(0x94, 0x94, 0x94), // grey
    RGBColor(0x00, 0x00, 0x00), // black
];

/// Colour of the `i`-th series (cycles through [`PALETTE`]).
pub fn palette_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

const GRID_COLOR: RGBColor = RGBColor(225, 225, 225);
const REF_LINE_COLOR: RGBColor = RGBColor(60, 60, 60);
const NEUTRAL_COLOR: RGBColor = RGBColor(90, 90, 90);

/// Errors from chart rendering.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A file-system operation failed on `path`.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Plotters failed to draw (includes font problems and PNG encoding).
    #[error("chart drawing failed: {0}")]
    Draw(String),
}

fn draw_err<E: Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PlotError + '_ {
    move |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Registers the embedded DejaVu Sans font as family [`FONT_FAMILY`].
/// Called automatically by the chart functions; idempotent and thread-safe.
pub fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Draw(
            "the embedded DejaVuSans.ttf font could not be parsed".into(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Public chart descriptions
// ---------------------------------------------------------------------------

/// One line with an optional shaded band (e.g. mean across seeds with a
/// min–max or CI band). Non-finite values break the line / band.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub label: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// `(lower, upper)`, indexed like `x`.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
}

/// A line chart (learning curves, performance profiles, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Dashed horizontal reference lines with a label, e.g. `(195.0, "solved")`.
    pub hlines: Vec<(f64, String)>,
    /// Fixed y range; `None` = automatic range with a small margin.
    pub y_range: Option<(f64, f64)>,
}

/// Scores of one group (e.g. one agent variant), one value per run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    pub label: String,
    pub values: Vec<f64>,
    /// `(lo, point, hi)`, e.g. the IQM and its 95% bootstrap CI.
    pub interval: Option<(f64, f64, f64)>,
}

/// Full description of a distribution chart (see [`distribution_chart_ext`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DistributionChart {
    pub title: String,
    pub y_label: String,
    pub groups: Vec<Distribution>,
    /// Legend text for the interval marker, e.g. `"IQM (95% bootstrap CI)"`.
    /// `None` gives a generic "point estimate (interval)".
    pub interval_label: Option<String>,
    /// Dashed horizontal reference lines with a label.
    pub hlines: Vec<(f64, String)>,
    /// Fixed y range; `None` = automatic range with a small margin.
    pub y_range: Option<(f64, f64)>,
}

/// Writes `<stem>.png` and `<stem>.svg`; returns both paths (PNG first).
/// Parent directories are created if needed.
pub fn line_chart(chart: &LineChart, stem: &Path) -> Result<Vec<PathBuf>, PlotError> {
    write_both(chart, stem)
}

/// Per-group distribution of per-run scores: a strip plot (deterministically
/// jittered points), a box (quartiles, median, 1.5·IQR whiskers) and an
/// interval marker (point with lo–hi error bar) per group.
/// Writes `<stem>.png` and `<stem>.svg`; returns both paths (PNG first).
pub fn distribution_chart(
    title: &str,
    y_label: &str,
    groups: &[Distribution],
    stem: &Path,
) -> Result<Vec<PathBuf>, PlotError> {
    let chart = DistributionChart {
        title: title.to_string(),
        y_label: y_label.to_string(),
        groups: groups.to_vec(),
        interval_label: None,
        hlines: Vec::new(),
        y_range: None,
    };
    distribution_chart_ext(&chart, stem)
}

/// Like [`distribution_chart`] with a custom interval legend, reference lines
/// and y range.
pub fn distribution_chart_ext(
    chart: &DistributionChart,
    stem: &Path,
) -> Result<Vec<PathBuf>, PlotError> {
    write_both(chart, stem)
}

// ---------------------------------------------------------------------------
// Output plumbing (PNG + SVG, atomic writes)
// ---------------------------------------------------------------------------

/// Which kind of backend is drawn on; the bitmap rasteriser needs a few
/// workarounds (see `draw_polyline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Bitmap,
    Vector,
}

trait Render {
    fn render<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<(), PlotError>;
}

fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Hidden temporary sibling of `path`; keeps `ext` as the final extension
/// because the bitmap encoder picks the image format from it.
fn temp_sibling(path: &Path, ext: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chart".to_string());
    // The store's temp prefix, so a killed writer's leftovers are cleaned like any other.
    let tmp_name = format!(
        "{}{name}.{}-{n}.{ext}",
        crate::store::TEMP_PREFIX,
        std::process::id()
    );
    match path.parent() {
        Some(dir) => dir.join(tmp_name),
        None => PathBuf::from(tmp_name),
    }
}

fn finish_atomic(tmp: &Path, dest: &Path, result: Result<(), PlotError>) -> Result<(), PlotError> {
    let result = result.and_then(|()| std::fs::rename(tmp, dest).map_err(io_err(dest)));
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

fn write_both<C: Render>(chart: &C, stem: &Path) -> Result<Vec<PathBuf>, PlotError> {
    ensure_font()?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let png = with_suffix(stem, ".png");
    let svg = with_suffix(stem, ".svg");
    write_png(chart, &png)?;
    write_svg(chart, &svg)?;
    Ok(vec![png, svg])
}

fn write_png<C: Render>(chart: &C, path: &Path) -> Result<(), PlotError> {
    let tmp = temp_sibling(path, "png");
    let result = {
        let root = BitMapBackend::new(&tmp, CHART_SIZE).into_drawing_area();
        chart
            .render(&root, Target::Bitmap)
            .and_then(|()| root.present().map_err(draw_err))
        // `root` (and the backend) are dropped here, before the rename.
    };
    finish_atomic(&tmp, path, result)
}

fn write_svg<C: Render>(chart: &C, path: &Path) -> Result<(), PlotError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, CHART_SIZE).into_drawing_area();
        chart.render(&root, Target::Vector)?;
        root.present().map_err(draw_err)?;
    }
    let tmp = temp_sibling(path, "svg");
    let result = std::fs::write(&tmp, buf.as_bytes()).map_err(io_err(&tmp));
    finish_atomic(&tmp, path, result)
}

// ---------------------------------------------------------------------------
// Helpers: ranges, ticks, legend placement
// ---------------------------------------------------------------------------

/// Running min/max over finite values.
#[derive(Debug, Clone, Copy)]
struct Extent {
    lo: f64,
    hi: f64,
}

impl Extent {
    fn new() -> Self {
        Extent {
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
        }
    }
    fn add(&mut self, v: f64) {
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
    fn to_range(self, margin: f64) -> (f64, f64) {
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

fn valid_fixed_range(r: Option<(f64, f64)>) -> Option<(f64, f64)> {
    r.filter(|(lo, hi)| lo.is_finite() && hi.is_finite() && lo < hi)
}

/// Number of decimals for tick labels given the axis span.
fn tick_decimals(lo: f64, hi: f64) -> usize {
    let step = (hi - lo).abs() / 8.0;
    if !(step.is_finite() && step > 0.0) {
        return 2;
    }
    let d = 1.0 - step.log10().floor();
    d.clamp(0.0, 6.0) as usize
}

/// Formats a tick value: integers as integers on integer axes, otherwise
/// with `decimals` decimals (trailing zeros trimmed), scientific when huge.
fn fmt_tick(v: f64, decimals: usize, integer_axis: bool) -> String {
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

/// Picks the legend corner whose area overlaps the least data.
/// `spans` are vertical data extents `(x, y_lo, y_hi)` in data coordinates.
fn best_legend_position(
    spans: &[(f64, f64, f64)],
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

/// Splits `(x, y)` pairs into maximal runs of finite points.
fn finite_runs(points: impl Iterator<Item = (f64, f64)>) -> Vec<Vec<(f64, f64)>> {
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
const MAX_LINE_POINTS: usize = 4000;

/// Reduces a long polyline to at most ~`max_points` points, keeping the
/// minimum and maximum of each bucket of consecutive points (in order), so
/// the visual envelope of noisy curves is preserved.
fn decimate(run: Vec<(f64, f64)>, max_points: usize) -> Vec<(f64, f64)> {
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
fn decimate_band(run: Vec<(f64, f64, f64)>, max_points: usize) -> Vec<(f64, f64, f64)> {
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
fn clip_polyline_y(run: &[(f64, f64)], lo: f64, hi: f64) -> Vec<Vec<(f64, f64)>> {
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

// ---------------------------------------------------------------------------
// Line chart
// ---------------------------------------------------------------------------

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
}

impl Render for LineChart {
    fn render<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<(), PlotError> {
        root.fill(&WHITE).map_err(draw_err)?;

        let x_ext = self.x_extent();
        // Exact data range on x (degenerate/empty ranges are padded).
        let (x0, x1) = x_ext.to_range(0.0);
        let fixed_y = valid_fixed_range(self.y_range);
        let (y0, y1) = fixed_y.unwrap_or_else(|| self.y_extent().to_range(0.05));
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
        cc.configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .axis_desc_style((FONT_FAMILY, AXIS_LABEL_SIZE))
            .label_style((FONT_FAMILY, TICK_SIZE))
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .bold_line_style(GRID_COLOR.stroke_width(1))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.mix(0.8).stroke_width(1))
            .draw()
            .map_err(draw_err)?;

        let clamp_y = |v: f64| v.clamp(y0, y1);

        // 1. Bands, behind everything else.
        for (i, s) in self.series.iter().enumerate() {
            let Some((lo, hi)) = &s.band else { continue };
            let color = palette_color(i);
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            let mut runs = Vec::new();
            for ((&x, &l), &h) in s.x.iter().zip(lo).zip(hi) {
                if x.is_finite() && l.is_finite() && h.is_finite() {
                    run.push((x, clamp_y(l.min(h)), clamp_y(l.max(h))));
                } else if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
            for run in runs.into_iter().filter(|r| r.len() >= 2) {
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
        }

        // 2. Reference lines (dashed); labelled in the legend after the series.
        draw_hlines(&mut cc, &self.hlines, (x0, x1), (y0, y1))?;

        // 3. Lines, one legend entry per series.
        let mut spans: Vec<(f64, f64, f64)> = Vec::new();
        for (i, s) in self.series.iter().enumerate() {
            let color = palette_color(i);
            let runs = finite_runs(s.x.iter().copied().zip(s.y.iter().copied()));
            for run in &runs {
                for w in run.windows(2) {
                    spans.push((w[0].0, w[0].1.min(w[1].1), w[0].1.max(w[1].1)));
                }
                if let Some(&(x, y)) = run.last() {
                    spans.push((x, y, y));
                }
                let run = decimate(run.clone(), MAX_LINE_POINTS);
                let pieces = if fixed_y.is_some() {
                    clip_polyline_y(&run, y0, y1)
                } else {
                    vec![run]
                };
                for piece in pieces {
                    if piece.len() == 1 {
                        cc.draw_series(std::iter::once(Circle::new(piece[0], 3, color.filled())))
                            .map_err(draw_err)?;
                    } else {
                        draw_polyline(&mut cc, piece, color.stroke_width(2), target)?;
                    }
                }
            }
            if let Some((lo, hi)) = &s.band {
                for ((&x, &l), &h) in s.x.iter().zip(lo).zip(hi) {
                    if x.is_finite() && l.is_finite() && h.is_finite() {
                        spans.push((x, l.min(h), l.max(h)));
                    }
                }
            }
            if !s.label.is_empty() {
                let band_fill = if s.band.is_some() {
                    color.mix(0.18)
                } else {
                    TRANSPARENT
                };
                cc.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                    .map_err(draw_err)?
                    .label(s.label.clone())
                    .legend(move |(x, y)| {
                        EmptyElement::at((x, y))
                            + Rectangle::new([(0, -8), (30, 8)], band_fill.filled())
                            + PathElement::new(vec![(0, 0), (30, 0)], color.stroke_width(3))
                    });
            }
        }

        let has_data = !spans.is_empty();
        let hline_labels = label_hlines(&mut cc, &self.hlines, (x0, x1), (y0, y1), &mut spans)?;
        let labels: Vec<&str> = self
            .series
            .iter()
            .map(|s| s.label.as_str())
            .filter(|l| !l.is_empty())
            .chain(hline_labels.iter().map(String::as_str))
            .collect();
        if !labels.is_empty() {
            let frac = legend_fraction(&labels, plot_px(&cc));
            let pos = best_legend_position(&spans, (x0, x1), (y0, y1), frac);
            draw_legend(&mut cc, pos)?;
        }
        if !has_data {
            draw_no_data(&cc)?;
        }
        Ok(())
    }
}

/// Writes a centred "no data" note on an otherwise empty plotting area.
fn draw_no_data<DB: DrawingBackend, CT: CoordTranslate>(
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

/// Draws a polyline. On bitmaps each segment is drawn separately: plotters'
/// wide-line rasteriser joins segments with unbounded inner miters, which
/// shows up as thin spikes at sharp V-shaped turns of noisy curves.
fn draw_polyline<'a, DB: DrawingBackend + 'a>(
    cc: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
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
fn draw_hlines<'a, DB: DrawingBackend + 'a>(
    cc: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
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
fn label_hlines<'a, DB: DrawingBackend + 'a>(
    cc: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    hlines: &[(f64, String)],
    x_range: (f64, f64),
    y_range: (f64, f64),
    spans: &mut Vec<(f64, f64, f64)>,
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
        cc.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(draw_err)?
            .label(label.clone())
            .legend(|(x, y)| {
                let dash = |a: i32, b: i32| {
                    PathElement::new(vec![(a, 0), (b, 0)], REF_LINE_COLOR.stroke_width(2))
                };
                EmptyElement::at((x, y)) + dash(0, 8) + dash(12, 20) + dash(24, 30)
            });
        labels.push(label.clone());
    }
    Ok(labels)
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

// ---------------------------------------------------------------------------
// Distribution chart
// ---------------------------------------------------------------------------

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
        let head: String = chars[..=i]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_string();
        let tail: String = chars[i + 1..]
            .iter()
            .collect::<String>()
            .trim_start()
            .to_string();
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
        let head: String = chars[..=i]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_string();
        let tail: String = chars[i + 1..]
            .iter()
            .collect::<String>()
            .trim_start()
            .to_string();
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

impl Render for DistributionChart {
    fn render<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        _target: Target,
    ) -> Result<(), PlotError> {
        root.fill(&WHITE).map_err(draw_err)?;

        let n = self.groups.len();
        let (x0, x1) = if n == 0 {
            (-0.5, 0.5)
        } else {
            (-0.5, n as f64 - 0.5)
        };
        let fixed_y = valid_fixed_range(self.y_range);
        let (y0, y1) = fixed_y.unwrap_or_else(|| self.y_extent().to_range(0.06));
        let y_dec = tick_decimals(y0, y1);

        let y_label_area = 92u32;
        let slot_px = (f64::from(CHART_SIZE.0) - f64::from(y_label_area) - 60.0) / n.max(1) as f64;
        let tick_labels = self.fitted_labels(root, slot_px)?;
        let max_lines = tick_labels.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let x_label_area = 26 + LABEL_LINE_PX as u32 * max_lines as u32;
        let mut cc = ChartBuilder::on(root)
            .caption(&self.title, (FONT_FAMILY, TITLE_SIZE))
            .margin(20)
            .margin_right(40)
            .x_label_area_size(x_label_area)
            .y_label_area_size(y_label_area)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_err)?;

        let y_fmt = move |v: &f64| fmt_tick(*v, y_dec, false);
        cc.configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(self.y_label.as_str())
            .axis_desc_style((FONT_FAMILY, AXIS_LABEL_SIZE))
            .label_style((FONT_FAMILY, TICK_SIZE))
            .y_labels(8)
            .y_label_formatter(&y_fmt)
            .bold_line_style(GRID_COLOR.stroke_width(1))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.mix(0.8).stroke_width(1))
            .draw()
            .map_err(draw_err)?;

        // Group labels and tick marks under the x axis (drawn in pixel space).
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

        let in_y = |v: f64| v.is_finite() && v >= y0 && v <= y1;
        let clamp_y = |v: f64| v.clamp(y0, y1);

        // Reference lines first (behind the data), labelled in the legend.
        draw_hlines(&mut cc, &self.hlines, (x0, x1), (y0, y1))?;

        let mut spans: Vec<(f64, f64, f64)> = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            let color = palette_color(i);
            let xc = i as f64;
            let bx = xc + BOX_CENTER;

            // Box: IQR rectangle, whiskers with caps.
            if let Some(b) = box_stats(&g.values) {
                spans.push((bx, b.whisker_lo, b.whisker_hi));
                let (bl, br) = (bx - BOX_HALF, bx + BOX_HALF);
                cc.draw_series(std::iter::once(Rectangle::new(
                    [(bl, clamp_y(b.q1)), (br, clamp_y(b.q3))],
                    color.mix(0.15).filled(),
                )))
                .map_err(draw_err)?;
                cc.draw_series(std::iter::once(Rectangle::new(
                    [(bl, clamp_y(b.q1)), (br, clamp_y(b.q3))],
                    color.stroke_width(2),
                )))
                .map_err(draw_err)?;
                for (from, to) in [(b.q1, b.whisker_lo), (b.q3, b.whisker_hi)] {
                    cc.draw_series(std::iter::once(PathElement::new(
                        vec![(bx, clamp_y(from)), (bx, clamp_y(to))],
                        color.stroke_width(2),
                    )))
                    .map_err(draw_err)?;
                    if in_y(to) {
                        cc.draw_series(std::iter::once(PathElement::new(
                            vec![(bx - BOX_HALF / 2.0, to), (bx + BOX_HALF / 2.0, to)],
                            color.stroke_width(2),
                        )))
                        .map_err(draw_err)?;
                    }
                }
            }

            // Strip: one jittered point per run.
            let points: Vec<(f64, f64)> = g
                .values
                .iter()
                .copied()
                .filter(|&v| in_y(v))
                .enumerate()
                .map(|(k, v)| (bx + 2.0 * STRIP_HALF * jitter(k), v))
                .collect();
            cc.draw_series(points.iter().map(|&p| {
                EmptyElement::at(p)
                    + Circle::new((0, 0), 5, color.mix(0.75).filled())
                    + Circle::new((0, 0), 5, WHITE.mix(0.9).stroke_width(1))
            }))
            .map_err(draw_err)?;

            // Median on top of the points.
            let median = box_stats(&g.values).map(|b| b.median).filter(|&m| in_y(m));
            if let Some(m) = median {
                cc.draw_series(std::iter::once(PathElement::new(
                    vec![(bx - BOX_HALF, m), (bx + BOX_HALF, m)],
                    BLACK.stroke_width(3),
                )))
                .map_err(draw_err)?;
            }

            // Interval marker: error bar with caps and a point.
            if let Some((lo, p, hi)) = g.interval {
                let ix = xc + INTERVAL_X;
                let (lo, hi) = (lo.min(hi), lo.max(hi));
                if lo.is_finite() && hi.is_finite() {
                    spans.push((ix, lo, hi));
                    cc.draw_series(std::iter::once(PathElement::new(
                        vec![(ix, clamp_y(lo)), (ix, clamp_y(hi))],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(draw_err)?;
                    for v in [lo, hi] {
                        if in_y(v) {
                            cc.draw_series(std::iter::once(PathElement::new(
                                vec![(ix - CAP_HALF, v), (ix + CAP_HALF, v)],
                                BLACK.stroke_width(2),
                            )))
                            .map_err(draw_err)?;
                        }
                    }
                }
                if in_y(p) {
                    spans.push((ix, p, p));
                    cc.draw_series(std::iter::once(
                        EmptyElement::at((ix, p))
                            + Circle::new((0, 0), 7, color.filled())
                            + Circle::new((0, 0), 7, BLACK.stroke_width(2)),
                    ))
                    .map_err(draw_err)?;
                }
            }
            for &v in g.values.iter().filter(|v| v.is_finite()) {
                spans.push((bx, v, v));
            }
        }

        if spans.is_empty() {
            draw_no_data(&cc)?;
        }

        // Legend explaining the glyphs (neutral colour).
        if n > 0 {
            let has_box = self.groups.iter().any(|g| box_stats(&g.values).is_some());
            let has_interval = self.groups.iter().any(|g| g.interval.is_some());
            let mut labels: Vec<String> = Vec::new();
            if has_box {
                cc.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                    .map_err(draw_err)?
                    .label("individual runs")
                    .legend(|(x, y)| {
                        EmptyElement::at((x, y))
                            + Circle::new((8, 0), 5, NEUTRAL_COLOR.mix(0.75).filled())
                            + Circle::new((22, 0), 5, NEUTRAL_COLOR.mix(0.75).filled())
                    });
                cc.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                    .map_err(draw_err)?
                    .label("median, quartiles, 1.5·IQR whiskers")
                    .legend(|(x, y)| {
                        EmptyElement::at((x, y))
                            + Rectangle::new([(2, -8), (28, 8)], NEUTRAL_COLOR.mix(0.15).filled())
                            + Rectangle::new([(2, -8), (28, 8)], NEUTRAL_COLOR.stroke_width(2))
                            + PathElement::new(vec![(2, 0), (28, 0)], BLACK.stroke_width(3))
                    });
                labels.push("individual runs".into());
                labels.push("median, quartiles, 1.5·IQR whiskers".into());
            }
            if has_interval {
                let text = self
                    .interval_label
                    .clone()
                    .unwrap_or_else(|| "point estimate (interval)".to_string());
                cc.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                    .map_err(draw_err)?
                    .label(text.clone())
                    .legend(|(x, y)| {
                        EmptyElement::at((x, y))
                            + PathElement::new(vec![(4, 0), (26, 0)], BLACK.stroke_width(2))
                            + PathElement::new(vec![(4, -5), (4, 5)], BLACK.stroke_width(2))
                            + PathElement::new(vec![(26, -5), (26, 5)], BLACK.stroke_width(2))
                            + Circle::new((15, 0), 6, NEUTRAL_COLOR.filled())
                            + Circle::new((15, 0), 6, BLACK.stroke_width(2))
                    });
                labels.push(text);
            }
            labels.extend(label_hlines(
                &mut cc,
                &self.hlines,
                (x0, x1),
                (y0, y1),
                &mut spans,
            )?);
            if !labels.is_empty() {
                let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                let frac = legend_fraction(&refs, plot_px(&cc));
                let pos = best_legend_position(&spans, (x0, x1), (y0, y1), frac);
                draw_legend(&mut cc, pos)?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// Fresh, unique temporary directory (removed by the test on success).
    fn temp_dir(name: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dqn_sweep_plots_{name}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        dir
    }

    fn assert_no_tmp(dir: &Path) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let name = entry.expect("entry").file_name();
            let name = name.to_string_lossy();
            assert!(!name.contains(".tmp"), "temporary file left: {name}");
        }
    }

    fn assert_png(path: &Path) {
        let bytes = std::fs::read(path).expect("read png");
        assert!(bytes.len() > 1000, "png too small");
        assert_eq!(bytes[..8], PNG_SIGNATURE);
    }

    /// Deterministic pseudo-noise in [-1, 1].
    fn noise(k: usize) -> f64 {
        let mut h = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 29;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 32;
        (h % 20001) as f64 / 10000.0 - 1.0
    }

    fn learning_curves() -> LineChart {
        let names = ["dqn", "double_dqn", "dueling_double_dqn"];
        let series = names
            .iter()
            .enumerate()
            .map(|(s, name)| {
                let x: Vec<f64> = (0..300).map(|e| e as f64).collect();
                let rate = 0.008 + 0.006 * s as f64;
                let y: Vec<f64> = x
                    .iter()
                    .enumerate()
                    .map(|(k, &e)| {
                        let base = 20.0 + 180.0 * (1.0 - (-rate * e).exp());
                        (base + 25.0 * noise(k + 1000 * s)).clamp(8.0, 200.0)
                    })
                    .collect();
                let lo = y
                    .iter()
                    .enumerate()
                    .map(|(k, v)| v - 20.0 - 10.0 * noise(k + 7777 * s).abs())
                    .collect();
                let hi = y
                    .iter()
                    .enumerate()
                    .map(|(k, v)| (v + 20.0 + 10.0 * noise(k + 5555 * s).abs()).min(200.0))
                    .collect();
                Series {
                    label: format!("{name} (mean ± min/max, 5 seeds)"),
                    x,
                    y,
                    band: Some((lo, hi)),
                }
            })
            .collect();
        LineChart {
            title: "CartPole-v1 — episode return".into(),
            x_label: "Episode".into(),
            y_label: "Return".into(),
            series,
            hlines: vec![(195.0, "solved (195)".into())],
            y_range: None,
        }
    }

    fn groups() -> Vec<Distribution> {
        let names = ["dqn", "double_dqn", "dueling", "per", "rainbow_lite"];
        names
            .iter()
            .enumerate()
            .map(|(g, name)| {
                let values: Vec<f64> = (0..20)
                    .map(|k| 120.0 + 15.0 * g as f64 + 50.0 * noise(k + 100 * g))
                    .collect();
                let mut sorted = values.clone();
                sorted.sort_by(f64::total_cmp);
                let iqm = sorted[5..15].iter().sum::<f64>() / 10.0;
                Distribution {
                    label: name.to_string(),
                    values,
                    interval: Some((iqm - 12.0, iqm, iqm + 10.0)),
                }
            })
            .collect()
    }

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

    #[test]
    fn tick_formatting() {
        assert_eq!(fmt_tick(100.0, 0, true), "100");
        assert_eq!(fmt_tick(-0.0, 2, false), "0");
        assert_eq!(fmt_tick(0.25, 2, false), "0.25");
        assert_eq!(fmt_tick(0.5, 2, true), "0.5");
        assert_eq!(fmt_tick(0.30000000000000004, 2, false), "0.3");
    }

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

    /// Renders sample charts into `target/plot-samples` for visual checks:
    /// `cargo test -- --ignored render_samples`.
    #[test]
    #[ignore]
    fn render_samples() {
        let dir = std::env::var_os("PLOT_SAMPLES_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("dqn_sweep_plot_samples"));
        line_chart(&learning_curves(), &dir.join("learning_curves")).expect("curves");
        let nan = f64::NAN;
        let mut gappy = learning_curves();
        gappy.title = "NaN gaps, fixed y range [50, 180]".into();
        gappy.y_range = Some((50.0, 180.0));
        gappy.hlines.push((100.0, "baseline".into()));
        for s in &mut gappy.series {
            for k in (40..60).chain(150..152) {
                s.y[k] = nan;
            }
            if let Some((lo, _)) = &mut s.band {
                lo[200] = nan;
            }
        }
        line_chart(&gappy, &dir.join("gappy")).expect("gappy");
        let empty = LineChart {
            title: "No data".into(),
            x_label: "Episode".into(),
            y_label: "Return".into(),
            ..LineChart::default()
        };
        line_chart(&empty, &dir.join("empty")).expect("empty");
        let profile = LineChart {
            title: "Performance profile".into(),
            x_label: "Normalised score τ".into(),
            y_label: "Fraction of runs with score > τ".into(),
            series: (0..4)
                .map(|s| {
                    let mut v: Vec<f64> = (0..20)
                        .map(|k| 0.5 + 0.1 * s as f64 + 0.3 * noise(k + 50 * s))
                        .collect();
                    v.sort_by(f64::total_cmp);
                    let x: Vec<f64> = (0..=100).map(|t| f64::from(t) / 100.0).collect();
                    let y = x
                        .iter()
                        .map(|t| v.iter().filter(|&&s| s > *t).count() as f64 / 20.0)
                        .collect();
                    Series {
                        label: format!("variant {s}"),
                        x,
                        y,
                        band: None,
                    }
                })
                .collect(),
            hlines: vec![],
            y_range: Some((0.0, 1.0)),
        };
        line_chart(&profile, &dir.join("profile")).expect("profile");
        let chart = DistributionChart {
            title: "CartPole-v1 — final return per run (last 100 episodes)".into(),
            y_label: "Return".into(),
            groups: groups(),
            interval_label: Some("IQM (95% bootstrap CI)".into()),
            hlines: vec![(195.0, "solved (195)".into())],
            y_range: None,
        };
        distribution_chart_ext(&chart, &dir.join("distribution")).expect("dist");
        let mut edge = groups();
        edge.truncate(3);
        edge.push(Distribution {
            label: "a_really_long_group_label_that_cannot_fit_anywhere_in_its_slot".into(),
            values: vec![f64::NAN, 50.0],
            interval: Some((f64::NAN, 50.0, f64::NAN)),
        });
        edge.push(Distribution {
            label: "empty".into(),
            values: vec![],
            interval: None,
        });
        for k in 0..6 {
            edge.push(Distribution {
                label: format!("prioritized_replay_variant_{k}"),
                values: (0..10).map(|j| 100.0 + 30.0 * noise(j + 37 * k)).collect(),
                interval: None,
            });
        }
        distribution_chart(
            "Edge cases: 11 groups, long labels",
            "Score",
            &edge,
            &dir.join("dist_edge"),
        )
        .expect("edge");
        distribution_chart("No groups", "Score", &[], &dir.join("dist_none")).expect("none");
    }
}
