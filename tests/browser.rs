//! The HTML report as a reader sees it: the smoke experiment's pages opened in a real headless
//! Chromium (Debian's `chromium`, driven over the DevTools protocol by `headless_chrome`).
//! Checks the rendered DOM (tables, every chart's SVG drawn, links to the grid-point pages
//! resolving), that clicking a column header sorts its table, that hovering a line names its
//! series, that the episode / env-step toggle swaps the learning curves, and that a full-page
//! screenshot is not blank.
//!
//! Run with `cargo test --release --features browser-test --test browser` (`.ci/run` installs
//! Chromium first); `CHROME=/path/to/chrome` picks another browser, and
//! `REPORT_SCREENSHOT=page.png` keeps the screenshot.

use headless_chrome::browser::tab::point::Point;
use headless_chrome::protocol::cdp::Page;
use headless_chrome::types::Bounds;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "no browser at {} (install Debian's `chromium`, or set CHROME)",
        path.display()
    );
    path
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn launch() -> Browser {
    // This machine has no network: Chromium's background services are switched off so that it
    // does not try (and retry) to reach Google's hosts.
    let args: Vec<&OsStr> = [
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--allow-file-access-from-files",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let options = LaunchOptions::default_builder()
        .path(Some(chromium()))
        .headless(true)
        .sandbox(!is_root())
        .window_size(Some((1400, 1000)))
        .args(args)
        .idle_browser_timeout(std::time::Duration::from_secs(120))
        .build()
        .expect("launch options");
    Browser::new(options).expect("Chromium starts")
}

/// Evaluate `js` (an expression) in the page and return its value as JSON.
fn eval(tab: &Tab, js: &str) -> Value {
    let wrapped = format!("JSON.stringify((() => {{ return {js}; }})())");
    let result = tab.evaluate(&wrapped, false).expect("the script runs");
    let text = result
        .value
        .expect("a value")
        .as_str()
        .expect("a string")
        .to_owned();
    serde_json::from_str(&text).expect("JSON")
}

fn open(tab: &Arc<Tab>, page: &Path) {
    let url = format!("file://{}", page.display());
    tab.navigate_to(&url).expect("navigates");
    tab.wait_until_navigated().expect("loads");
}

/// The smoke experiment trained and reported by the real binary into a fresh folder.
fn smoke_pages() -> (tempfile::TempDir, PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let o = common::sweep(&[
        "experiments/smoke.toml",
        "--out",
        out.path().to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index = out.path().join("smoke").join("index.html");
    assert!(index.is_file(), "the sweep writes index.html");
    (out, index)
}

#[test]
fn the_smoke_report_renders_sorts_and_links_in_a_real_browser() {
    let (_out, index) = smoke_pages();
    let browser = launch();
    let tab = browser.new_tab().expect("a tab");
    open(&tab, &index);

    let dom = eval(
        &tab,
        r##"{
            title: document.querySelector("h1").textContent,
            tables: Array.from(document.querySelectorAll("table")).map(t => t.id || t.className),
            summaryRows: document.querySelectorAll("#summary-table tbody tr").length,
            charts: Array.from(document.querySelectorAll("figure.chart svg")).map(
                s => s.querySelectorAll("polyline, path, polygon, circle").length),
            verdicts: document.querySelectorAll("#comparison-table .verdict").length,
            pointLinks: Array.from(document.querySelectorAll("#summary-table a")).map(a => a.getAttribute("href")),
            external: Array.from(document.querySelectorAll("[src], link[href]")).length
        }"##,
    );
    assert_eq!(dom["title"], "smoke");
    let tables: Vec<&str> = dom["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for t in ["summary-table", "comparison-table", "speed-table"] {
        assert!(tables.contains(&t), "{t} missing from {tables:?}");
    }
    assert_eq!(dom["summaryRows"], 5, "one row per variant");
    let charts = dom["charts"].as_array().unwrap();
    assert!(
        charts.len() >= 4,
        "learning curves, Q, distribution, profile: {charts:?}"
    );
    for (i, n) in charts.iter().enumerate() {
        assert!(n.as_u64().unwrap() > 0, "chart {i} has nothing drawn");
    }
    assert!(dom["verdicts"].as_u64().unwrap() > 0, "verdicts are marked");
    assert_eq!(dom["external"], 0, "nothing is loaded from elsewhere");

    // Every grid point's page exists and opens with its runs and charts.
    let links: Vec<String> = dom["pointLinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(links.len(), 5);
    let dir = index.parent().unwrap();
    for link in &links {
        assert!(dir.join(link).is_file(), "{link} resolves");
    }
    sorting_by_a_column_header(&tab);
    hovering_a_line_names_it(&tab);
    full_page_screenshot_is_not_blank(&tab);

    open(&tab, &dir.join(&links[0]));
    let point = eval(
        &tab,
        r##"{
            h1: document.querySelector("h1").textContent,
            runs: document.querySelectorAll("#runs-table tbody tr").length,
            drawn: Array.from(document.querySelectorAll("figure.chart svg")).map(
                s => s.querySelectorAll("polyline, path, polygon").length),
            config: document.querySelector("#config pre").textContent,
            back: document.querySelector("header a").getAttribute("href")
        }"##,
    );
    assert_eq!(point["runs"], 2, "one row per seed: {point}");
    assert!(
        point["config"].as_str().unwrap().contains("[agent]"),
        "{point}"
    );
    assert!(point["drawn"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n.as_u64().unwrap() > 0));
    assert!(dir
        .join("points")
        .join(point["back"].as_str().unwrap())
        .is_file());
    the_axis_toggle_switches_the_learning_curves(&tab);
}

/// A grid point's page has its returns by episode and by env step: one shows at a time, and
/// the toggle swaps them.
fn the_axis_toggle_switches_the_learning_curves(tab: &Arc<Tab>) {
    let shown = || {
        eval(
            tab,
            r##"["episode", "steps"].map(a => getComputedStyle(
                document.querySelector(`figure[data-axis="${a}"]`)).display !== "none")"##,
        )
    };
    assert_eq!(
        shown(),
        serde_json::json!([true, false]),
        "by episode at first"
    );
    tab.find_element("button[data-axis-choice='steps']")
        .expect("the toggle")
        .click()
        .expect("clicks");
    assert_eq!(
        shown(),
        serde_json::json!([false, true]),
        "by env step after"
    );
    tab.find_element("button[data-axis-choice='episode']")
        .unwrap()
        .click()
        .unwrap();
    assert_eq!(shown(), serde_json::json!([true, false]), "and back");
}

/// Clicking the summary's `final_mean` header sorts its rows ascending, a second click
/// descending.
fn sorting_by_a_column_header(tab: &Arc<Tab>) {
    let column = eval(
        tab,
        r##"Array.from(document.querySelectorAll("#summary-table thead th")).findIndex(th => th.textContent === "final_mean")"##,
    )
    .as_u64()
    .expect("a final_mean column") as usize;
    let values = || -> Vec<f64> {
        eval(
            tab,
            &format!(
                r##"Array.from(document.querySelectorAll("#summary-table tbody tr")).map(
                    r => parseFloat(r.cells[{column}].textContent))"##
            ),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
    };
    let before = values();
    let header = format!("#summary-table thead th:nth-child({})", column + 1);
    tab.find_element(&header)
        .expect("the header")
        .click()
        .expect("clicks");
    let ascending = values();
    let mut sorted = before.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(ascending, sorted, "ascending after one click");
    tab.find_element(&header).unwrap().click().unwrap();
    let descending = values();
    sorted.reverse();
    assert_eq!(descending, sorted, "descending after two");
    assert_ne!(
        before, sorted,
        "the test would not notice a table already in this order"
    );
}

/// Moving the pointer onto a point of the learning curves' top line (the last series drawn)
/// shows that series' name.
fn hovering_a_line_names_it(tab: &Arc<Tab>) {
    let target = eval(
        tab,
        r##"(() => {
            const figure = document.querySelector("figure.chart");
            const legend = JSON.parse(figure.getAttribute("data-legend"));
            const last = legend[legend.length - 1];
            const lines = Array.from(figure.querySelectorAll("polyline"))
                .filter(p => (p.getAttribute("stroke") || "").toUpperCase() === last[0]);
            // The curve itself (the legend's sample is a two-point line of the same colour).
            const line = lines.reduce((a, b) => b.points.numberOfItems > a.points.numberOfItems ? b : a);
            line.scrollIntoView({block: "center"});
            const svgPoint = figure.querySelector("svg").createSVGPoint();
            // A vertex that nothing else (legend, another line) covers.
            for (let i = 0; i < line.points.numberOfItems; i++) {
                const p = line.points.getItem(i);
                svgPoint.x = p.x; svgPoint.y = p.y;
                const t = svgPoint.matrixTransform(line.getScreenCTM());
                if (document.elementFromPoint(t.x, t.y) === line) {
                    return [t.x, t.y, last[1], true];
                }
            }
            return [0, 0, last[1], false];
        })()"##,
    );
    assert_eq!(target[3], true, "the point is on the line: {target}");
    let point = Point {
        x: target[0].as_f64().unwrap(),
        y: target[1].as_f64().unwrap(),
    };
    tab.move_mouse_to_point(point).expect("hovers");
    let tip = eval(
        tab,
        r##"[document.getElementById("tooltip").textContent,
            getComputedStyle(document.getElementById("tooltip")).display]"##,
    );
    assert_eq!(tip[1], "block", "the tooltip shows: {tip}");
    assert!(
        tip[0]
            .as_str()
            .unwrap()
            .contains(target[2].as_str().unwrap()),
        "{tip} names {}",
        target[2]
    );
}

/// The whole page as a PNG: many distinct colours, mostly not the background.
fn full_page_screenshot_is_not_blank(tab: &Arc<Tab>) {
    let size = eval(
        tab,
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]",
    );
    let (w, h) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
    assert!(h > 2000.0, "a full page is tall: {h}");
    // A window as tall as the page, so that the screenshot holds all of it.
    tab.set_bounds(Bounds::Normal {
        left: Some(0),
        top: Some(0),
        width: Some(w),
        height: Some(h + 200.0),
    })
    .expect("resizes");
    let bytes = tab
        .capture_screenshot(Page::CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("a screenshot");
    if let Some(path) = std::env::var_os("REPORT_SCREENSHOT") {
        std::fs::write(&path, &bytes).expect("the screenshot is saved");
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert!(
        f64::from(info.height) >= h * 0.9,
        "the full page: {} of {h} px",
        info.height
    );
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let white = pixels.iter().filter(|p| p[..3] == [255, 255, 255]).count();
    let distinct: std::collections::HashSet<&[u8]> = pixels.iter().step_by(7).copied().collect();
    eprintln!(
        "screenshot {}x{}: {:.1}% white, {} distinct colours",
        info.width,
        info.height,
        100.0 * white as f64 / pixels.len() as f64,
        distinct.len()
    );
    assert!(distinct.len() > 50, "{} colours: blank", distinct.len());
    assert!(
        (white as f64) < 0.97 * pixels.len() as f64,
        "almost all white"
    );
}
