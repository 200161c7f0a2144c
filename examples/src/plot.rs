//! Loss curves as SVG images: several named series (train, validation, ...)
//! against the training step, drawn with `plotters`.
//!
//! [`write_loss_curve`] renders to a string in memory and writes it
//! atomically (a temporary file in the same directory, then a rename), so a
//! reader never sees half a plot and a plot rewritten at every evaluation
//! is always complete. Missing parent directories are created. Points whose
//! coordinates are NaN or infinite are left out, so a diverged step does not
//! stretch the axes.
//!
//! Only SVG is written: the SVG backend leaves the text to the viewer, so no
//! system library or font is needed, whereas a PNG would need a font file to
//! rasterise the labels. A path ending in anything but `.svg` is refused
//! with [`RnnError::Invalid`].
//!
//! ```
//! use rnn_examples::plot::{PlotOptions, Series, write_loss_curve};
//! let dir = std::env::temp_dir().join(format!("rnn-plot-doc-{}", std::process::id()));
//! let path = dir.join("loss.svg");
//! let train = Series::new("train", (1..=100).map(|s| (s as f64, 4.0 / (s as f64).sqrt())));
//! let val = Series::new("validation", [(0.0, 4.2), (50.0, 1.0), (100.0, 0.6)]);
//! write_loss_curve(&path, &[train, val], &PlotOptions::default()).unwrap();
//! let svg = std::fs::read_to_string(&path).unwrap();
//! assert!(svg.starts_with("<svg") && svg.contains("validation"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use plotters::prelude::*;
use rnn::RnnError;
use rnn::runtime::io::write_atomic;
use std::ops::Range;
use std::path::Path;

/// One named line: `(x, y)` points, usually `(step, loss)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The legend entry.
    pub name: String,
    /// The points, drawn in order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series called `name` with `points`.
    pub fn new(name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points: points.into_iter().collect(),
        }
    }

    /// Appends the point `(x, y)`.
    pub fn push(&mut self, x: f64, y: f64) {
        self.points.push((x, y));
    }
}

/// Title, axis labels and size of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Caption above the chart (empty: none).
    pub title: String,
    /// Label of the horizontal axis.
    pub x_label: String,
    /// Label of the vertical axis.
    pub y_label: String,
    /// Width and height in pixels.
    pub size: (u32, u32),
}

impl Default for PlotOptions {
    /// A "loss" chart of loss (nats/char) against step, 800 x 500.
    fn default() -> Self {
        PlotOptions {
            title: "loss".into(),
            x_label: "step".into(),
            y_label: "loss (nats/char)".into(),
            size: (800, 500),
        }
    }
}

/// Line colours (the first of matplotlib's "tab10"), cycled.
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Series with fewer points than this get a marker at every point.
const MARKER_MAX_POINTS: usize = 60;

fn finite_points(s: &Series) -> impl Iterator<Item = (f64, f64)> + '_ {
    s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// The range of `values` widened by `pad` (a fraction of its width) on each
/// side, at least 1 wide around a single value, `0..1` without values.
fn axis_range(values: impl Iterator<Item = f64>, pad: f64) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return 0.0..1.0;
    }
    if hi - lo < 1e-12 * hi.abs().max(1.0) {
        return lo - 0.5..hi + 0.5;
    }
    let d = (hi - lo) * pad;
    lo - d..hi + d
}

/// Decimals that tell ticks apart on an axis spanning `range` (ticks are
/// about a tenth of the width apart, at 1, 2 or 5 times a power of ten).
fn decimals(range: &Range<f64>) -> usize {
    let width = range.end - range.start;
    (1.0 - width.log10().floor()).clamp(0.0, 12.0) as usize
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> RnnError {
    RnnError::Invalid(format!("cannot draw the plot: {e}"))
}

/// Renders `series` as an SVG document (see the [module docs](self)).
///
/// Errors: [`RnnError::Invalid`] if the size is zero or drawing fails.
pub fn loss_curve_svg(series: &[Series], options: &PlotOptions) -> Result<String, RnnError> {
    let (w, h) = options.size;
    if w == 0 || h == 0 {
        return Err(RnnError::Invalid(format!(
            "a plot needs a positive size, got {w} x {h}"
        )));
    }
    let xs = axis_range(series.iter().flat_map(|s| finite_points(s).map(|p| p.0)), 0.0);
    let ys = axis_range(series.iter().flat_map(|s| finite_points(s).map(|p| p.1)), 0.05);
    let (xd, yd) = (decimals(&xs), decimals(&ys));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut builder = ChartBuilder::on(&root);
        builder.margin(12).x_label_area_size(40).y_label_area_size(60);
        if !options.title.is_empty() {
            builder.caption(&options.title, ("sans-serif", 20));
        }
        let mut chart = builder.build_cartesian_2d(xs, ys).map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(options.x_label.as_str())
            .y_desc(options.y_label.as_str())
            .x_label_formatter(&|x| format!("{x:.xd$}"))
            .y_label_formatter(&|y| format!("{y:.yd$}"))
            .draw()
            .map_err(draw_err)?;
        for (k, s) in series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let points: Vec<(f64, f64)> = finite_points(s).collect();
            let marker = if points.len() < MARKER_MAX_POINTS { 3 } else { 0 };
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(marker))
                .map_err(draw_err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Writes `series` as an SVG loss curve to `path` (which must end in
/// `.svg`), atomically, creating missing parent directories.
///
/// Errors: [`RnnError::Invalid`] for another extension or a failed drawing,
/// [`RnnError::Io`] naming the directory or the file if it cannot be
/// written.
pub fn write_loss_curve(path: impl AsRef<Path>, series: &[Series], options: &PlotOptions) -> Result<(), RnnError> {
    let path = path.as_ref();
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if ext.as_deref() != Some("svg") {
        return Err(RnnError::Invalid(format!(
            "cannot write a plot to {}: only .svg is supported (a PNG would need a system font for its labels)",
            path.display()
        )));
    }
    let svg = loss_curve_svg(series, options)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| RnnError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    write_atomic(path, svg.as_bytes()).map_err(|e| match e {
        // Name the destination, not the temporary file beside it.
        RnnError::Io { source, .. } => RnnError::Io {
            path: path.display().to_string(),
            source,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_decimals() {
        assert_eq!(axis_range([].into_iter(), 0.1), 0.0..1.0);
        assert_eq!(axis_range([2.0].into_iter(), 0.1), 1.5..2.5);
        assert_eq!(axis_range([0.0, 10.0].into_iter(), 0.1), -1.0..11.0);
        assert_eq!(decimals(&(0.0..2000.0)), 0);
        assert_eq!(decimals(&(0.0..30.0)), 0);
        assert_eq!(decimals(&(1.5..4.5)), 1);
        assert_eq!(decimals(&(3.7..4.15)), 2);
        assert_eq!(decimals(&(0.0..0.01)), 3);
    }
}
