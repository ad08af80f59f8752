//! Chart rendering for reports: learning curves (lines with shaded bands) and
//! per-group score distributions (strip + box + interval).
//!
//! This file is the chart model: the descriptions a report fills in ([`Series`],
//! [`LineChart`], [`Distribution`], [`DistributionChart`]), the palette and font, and the
//! writing of both files. The pieces charts are drawn with live beside it: `axes` (ranges and
//! ticks), `legend` (where the legend goes and its entries), `polyline` (finite runs,
//! decimation, clipping, reference lines); each chart kind is one file (`line`,
//! `distribution`) that implements [`Render`] in small drawing steps.
//!
//! Every chart is written twice, as `<stem>.png` (1200x700 px bitmap) and
//! `<stem>.svg`, both atomically, so a crash never leaves a half-written chart behind: the SVG
//! is rendered in memory and written with the store's [`write_atomic`]; the PNG is saved by
//! plotters into a hidden temporary sibling which is renamed over the final name (see
//! `write_png`).
//!
//! Text is rendered with the DejaVu Sans font embedded in the binary
//! (registered with plotters under the family name `"sans-serif"`), so no
//! system font is required.

/// The house style of a chart's mesh on a `configure_mesh()` builder: fonts, 8 y labels, the
/// light grid without minor lines, the axes. Each chart kind adds its own labels.
macro_rules! house_mesh {
    ($mesh:expr) => {
        $mesh
            .axis_desc_style((FONT_FAMILY, AXIS_LABEL_SIZE))
            .label_style((FONT_FAMILY, TICK_SIZE))
            .y_labels(8)
            .bold_line_style(GRID_COLOR.stroke_width(1))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.mix(0.8).stroke_width(1))
    };
}

mod axes;
mod distribution;
mod legend;
mod line;
mod polyline;
#[cfg(test)]
mod samples;

use std::ffi::OsString;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::store::{write_atomic, StoreError, TEMP_PREFIX};

/// Embedded font, so that rendering never depends on system fonts.
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

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

impl From<StoreError> for PlotError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Io { path, source } => PlotError::Io { path, source },
            other => PlotError::Draw(other.to_string()),
        }
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

/// A chart of either kind, with the name of the file it is written under (`<name>.png` and
/// `<name>.svg`): the report's figures are built as these, then written to files or rendered
/// into a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File stem relative to the experiment folder, e.g. `learning_curves`.
    pub name: String,
    pub chart: Chart,
}

/// The two chart kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    Line(LineChart),
    Distribution(DistributionChart),
}

impl Figure {
    pub fn line(name: &str, chart: LineChart) -> Figure {
        Figure {
            name: name.to_owned(),
            chart: Chart::Line(chart),
        }
    }

    pub fn distribution(name: &str, chart: DistributionChart) -> Figure {
        Figure {
            name: name.to_owned(),
            chart: Chart::Distribution(chart),
        }
    }

    /// Writes `<dir>/<name>.png` and `.svg`; returns both paths (PNG first).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
        let stem = dir.join(&self.name);
        match &self.chart {
            Chart::Line(c) => write_both(c, &stem),
            Chart::Distribution(c) => write_both(c, &stem),
        }
    }

    /// The SVG document, rendered in memory (the same bytes as the `.svg` file).
    pub fn svg(&self) -> Result<String, PlotError> {
        ensure_font()?;
        match &self.chart {
            Chart::Line(c) => svg_text(c),
            Chart::Distribution(c) => svg_text(c),
        }
    }

    pub fn title(&self) -> &str {
        match &self.chart {
            Chart::Line(c) => &c.title,
            Chart::Distribution(c) => &c.title,
        }
    }

    /// Each series' (or group's) colour as `#RRGGBB` and its label, in drawing order.
    pub fn legend(&self) -> Vec<(String, String)> {
        let labels: Vec<&str> = match &self.chart {
            Chart::Line(c) => c.series.iter().map(|s| s.label.as_str()).collect(),
            Chart::Distribution(c) => c.groups.iter().map(|g| g.label.as_str()).collect(),
        };
        labels
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let RGBColor(r, g, b) = palette_color(i);
                (format!("#{r:02X}{g:02X}{b:02X}"), l.to_owned())
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Drawing and output (PNG + SVG, atomic writes)
// ---------------------------------------------------------------------------

/// Which kind of backend is drawn on; the bitmap rasteriser needs a few
/// workarounds (see `polyline::draw_polyline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Bitmap,
    Vector,
}

/// A chart kind: draws itself on a backend's whole drawing area.
trait Render {
    fn render<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<(), PlotError>;
}

/// The plotting area of a chart with data coordinates on both axes.
type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn write_both<C: Render>(chart: &C, stem: &Path) -> Result<Vec<PathBuf>, PlotError> {
    ensure_font()?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let png = with_suffix(stem, ".png");
    let svg = with_suffix(stem, ".svg");
    write_png(chart, &png)?;
    write_atomic(&svg, svg_text(chart)?.as_bytes())?;
    Ok(vec![png, svg])
}

/// Saves the chart as PNG at `path`, atomically. Plotters' bitmap backend encodes PNG only
/// into a file it names, so it saves into a hidden temporary sibling that is renamed over
/// `path`. (Encoding in memory for [`write_atomic`] would take the `image` crate as a direct
/// dependency: a new `Cargo.lock`, and with it a new build fingerprint for every stored run.)
fn write_png<C: Render>(chart: &C, path: &Path) -> Result<(), PlotError> {
    let tmp = temp_sibling(path, "png");
    let result = {
        let root = BitMapBackend::new(&tmp, CHART_SIZE).into_drawing_area();
        chart
            .render(&root, Target::Bitmap)
            .and_then(|()| root.present().map_err(draw_err))
        // `root` (and the backend) are dropped here, before the rename.
    };
    let result = result.and_then(|()| std::fs::rename(&tmp, path).map_err(io_err(path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Hidden temporary sibling of `path` with the store's temp prefix (so a killed writer's
/// leftovers are cleaned like any other); keeps `ext` as the final extension because the
/// bitmap encoder picks the image format from it.
fn temp_sibling(path: &Path, ext: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chart".to_string());
    let tmp_name = format!("{TEMP_PREFIX}{name}.{}-{n}.{ext}", std::process::id());
    match path.parent() {
        Some(dir) => dir.join(tmp_name),
        None => PathBuf::from(tmp_name),
    }
}

/// The chart as an SVG document.
fn svg_text<C: Render>(chart: &C) -> Result<String, PlotError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, CHART_SIZE).into_drawing_area();
        chart.render(&root, Target::Vector)?;
        root.present().map_err(draw_err)?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::samples::{groups, learning_curves, noise};
    use super::*;

    /// Renders sample charts into `target/plot-samples` for visual checks:
    /// `cargo test -- --ignored render_samples`.
    #[test]
    #[ignore]
    fn render_samples() {
        let dir = std::env::var_os("PLOT_SAMPLES_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("dqn_sweep_plot_samples"));
        line_samples(&dir);
        distribution_samples(&dir);
    }

    fn line_samples(dir: &Path) {
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
    }

    fn distribution_samples(dir: &Path) {
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
