//! `argva plot RUN_DIR`: pictures of a run folder written by `argva train --out` — the
//! embedding projected to 2-D with PCA and coloured by class, and the training curves.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::data::npy::read as npy_read;

use crate::output;

#[derive(Args, Debug)]
#[command(
    about = "Draw a run folder (from `argva train --out`): embedding.{png,svg} (PCA to \
2-D, coloured by class) and curves.{png,svg} (losses and validation AUC per epoch)"
)]
pub struct PlotArgs {
    /// The folder `argva train --out` wrote.
    pub run_dir: PathBuf,
    /// Width of the PNG images in pixels (height is 2/3 of it).
    #[arg(long, default_value_t = 900)]
    pub size: u32,
    /// How the embedding is brought to 2-D: PCA (fast, linear) or t-SNE (Barnes–Hut,
    /// initialised from the PCA; slower, shows cluster structure better).
    #[arg(long, value_enum, default_value_t = Projection::Pca)]
    pub projection: Projection,
    /// t-SNE perplexity (roughly the number of neighbours each point keeps close).
    #[arg(long, default_value_t = 30.0)]
    pub perplexity: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Projection {
    Pca,
    Tsne,
}

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

pub fn run(args: PlotArgs) -> Result<()> {
    let dir = &args.run_dir;
    if !(300..=8000).contains(&args.size) {
        bail!("--size must be between 300 and 8000 pixels");
    }
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow::anyhow!("the bundled font failed to load"))?;
    let read = |name: &str| -> Result<Vec<u8>> {
        let path = dir.join(name);
        std::fs::read(&path).with_context(|| {
            format!(
                "cannot read {} (is {} a run folder from `argva train --out`?)",
                path.display(),
                dir.display()
            )
        })
    };
    let emb =
        npy_read(&read("embedding.npy")?).map_err(|e| anyhow::anyhow!("embedding.npy: {e}"))?;
    let [n, d] = emb.shape[..] else {
        bail!(
            "embedding.npy: expected a 2-D array, got shape {:?}",
            emb.shape
        );
    };
    if n < 2 || d < 1 {
        bail!("embedding.npy: {n}×{d} is too small to project");
    }
    if emb.data.iter().any(|v| !v.is_finite()) {
        bail!("embedding.npy holds NaN or infinite values");
    }
    let labels = match std::fs::read(dir.join("labels.npy")) {
        Ok(bytes) => {
            let l = npy_read(&bytes).map_err(|e| anyhow::anyhow!("labels.npy: {e}"))?;
            if l.data.len() != n {
                bail!("labels.npy has {} labels for {n} nodes", l.data.len());
            }
            Some(
                l.data
                    .iter()
                    .map(|&v| v.max(0.0) as usize)
                    .collect::<Vec<_>>(),
            )
        }
        Err(_) => None,
    };
    let pca = pca_2d(&emb.data, n, d);
    let (xy, title) = match args.projection {
        Projection::Pca => (pca, "embedding (PCA of μ), coloured by class"),
        Projection::Tsne => {
            if !(args.perplexity > 0.0 && (3.0 * args.perplexity) < n as f32) {
                bail!("--perplexity must be positive and below N/3 = {}", n / 3);
            }
            (
                tsne_2d(&emb.data, n, d, &pca, args.perplexity),
                "embedding (t-SNE of μ), coloured by class",
            )
        }
    };
    let history = parse_history(&String::from_utf8_lossy(&read("history.csv")?))?;

    let size = (args.size, args.size * 2 / 3);
    let mut written = Vec::new();
    // SVG: rendered to a string, then written atomically.
    for (stem, svg) in [
        (
            "embedding",
            svg_string(size, |a| scatter(a, title, &xy, labels.as_deref()))?,
        ),
        ("curves", svg_string(size, |a| curves(a, &history))?),
    ] {
        written.push(output::write_atomic(
            dir,
            &format!("{stem}.svg"),
            svg.as_bytes(),
        )?);
    }
    // PNG: rendered to an RGB buffer, encoded, written atomically.
    for (stem, png) in [
        (
            "embedding",
            png_bytes(size, |a| scatter(a, title, &xy, labels.as_deref()))?,
        ),
        ("curves", png_bytes(size, |a| curves(a, &history))?),
    ] {
        written.push(output::write_atomic(dir, &format!("{stem}.png"), &png)?);
    }
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

fn svg_string(
    size: (u32, u32),
    draw: impl Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&area)?;
        area.present()
            .map_err(|e| anyhow::anyhow!("drawing SVG: {e}"))?;
    }
    Ok(svg)
}

fn png_bytes(
    size: (u32, u32),
    draw: impl Fn(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<Vec<u8>> {
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        draw(&area)?;
        area.present()
            .map_err(|e| anyhow::anyhow!("drawing PNG: {e}"))?;
    }
    let mut png = Vec::new();
    let mut enc = png::Encoder::new(&mut png, size.0, size.1);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().context("encoding PNG")?;
    w.write_image_data(&rgb).context("encoding PNG")?;
    w.finish().context("encoding PNG")?;
    Ok(png)
}

/// Projects N×d rows onto their top two principal components (centred; f64).
pub fn pca_2d(data: &[f64], n: usize, d: usize) -> Vec<(f64, f64)> {
    let x = nalgebra::DMatrix::from_row_slice(n, d, data);
    let mean = x.row_mean();
    let centred = nalgebra::DMatrix::from_fn(n, d, |i, j| x[(i, j)] - mean[j]);
    let cov = centred.transpose() * &centred / (n.max(2) - 1) as f64;
    let eig = nalgebra::SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let pc = |k: usize| -> nalgebra::DVector<f64> {
        match order.get(k) {
            Some(&c) => eig.eigenvectors.column(c).into_owned(),
            None => nalgebra::DVector::zeros(d),
        }
    };
    let (a, b) = (&centred * pc(0), &centred * pc(1));
    (0..n).map(|i| (a[i], b[i])).collect()
}

/// Barnes–Hut t-SNE (θ = 0.5) of N×d rows, started from their (shrunk) PCA projection as
/// scikit-learn does, so the picture does not depend on a random start.
pub fn tsne_2d(
    data: &[f64],
    n: usize,
    d: usize,
    pca: &[(f64, f64)],
    perplexity: f32,
) -> Vec<(f64, f64)> {
    let rows: Vec<Vec<f32>> = data
        .chunks(d)
        .map(|r| r.iter().map(|&v| v as f32).collect())
        .collect();
    let samples: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
    let spread = (pca.iter().map(|p| p.0 * p.0).sum::<f64>() / n.max(1) as f64)
        .sqrt()
        .max(1e-12);
    let init: Vec<f32> = pca
        .iter()
        .flat_map(|&(a, b)| [(1e-4 * a / spread) as f32, (1e-4 * b / spread) as f32])
        .collect();
    let y = bhtsne::tSNE::<f32, &[f32], 2>::new(&samples)
        .perplexity(perplexity)
        .epochs(1000)
        .initial_embedding(init)
        .barnes_hut(0.5, |a, b| {
            a.iter()
                .zip(b.iter())
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f32>()
                .sqrt()
        })
        .embedding();
    y.chunks(2).map(|p| (p[0] as f64, p[1] as f64)).collect()
}

fn bounds(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
        (l.min(x), h.max(x))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e}")
}

fn scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    xy: &[(f64, f64)],
    labels: Option<&[usize]>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    let (x0, x1) = bounds(xy.iter().map(|p| p.0));
    let (y0, y1) = bounds(xy.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("component 1")
        .y_desc("component 2")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let classes = labels.map_or(1, |l| l.iter().max().map_or(1, |m| m + 1));
    for class in 0..classes {
        let color = Palette99::pick(class).mix(0.75);
        let points = xy
            .iter()
            .enumerate()
            .filter(|(i, _)| labels.is_none_or(|l| l[*i] == class))
            .map(|(_, &p)| Circle::new(p, 2, color.filled()));
        let series = chart.draw_series(points).map_err(err)?;
        if labels.is_some() {
            series
                .label(format!("class {class}"))
                .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
        }
    }
    if labels.is_some() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// One row of history.csv.
pub struct HistoryRow {
    pub epoch: f64,
    pub total: f64,
    pub recon: f64,
    pub reg: f64,
    pub disc: f64,
    pub val_auc: Option<f64>,
}

pub fn parse_history(text: &str) -> Result<Vec<HistoryRow>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |k: usize| -> Result<f64> {
            f.get(k)
                .and_then(|s| s.parse().ok())
                .with_context(|| format!("history.csv line {}: bad or missing column {k}", i + 1))
        };
        rows.push(HistoryRow {
            epoch: num(0)?,
            total: num(1)?,
            recon: num(2)?,
            reg: num(3)?,
            disc: num(5)?,
            val_auc: f.get(6).and_then(|s| s.parse().ok()),
        });
    }
    if rows.is_empty() {
        bail!("history.csv has no epochs");
    }
    Ok(rows)
}

fn curves<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, h: &[HistoryRow]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 * 3 / 5);
    let last = h.last().map_or(1.0, |r| r.epoch).max(1.0);
    type Series = (&'static str, fn(&HistoryRow) -> f64, RGBColor);
    let series: [Series; 4] = [
        ("total", |r| r.total, BLACK),
        ("reconstruction", |r| r.recon, BLUE),
        ("regularisation (fool D)", |r| r.reg, RED),
        ("discriminator", |r| r.disc, GREEN),
    ];
    let shown: Vec<_> = series
        .iter()
        .filter(|(_, f, _)| h.iter().any(|r| f(r) != 0.0))
        .collect();
    let (y0, y1) = bounds(
        h.iter()
            .flat_map(|r| shown.iter().map(move |(_, f, _)| f(r))),
    );
    let mut chart = ChartBuilder::on(&top)
        .caption("losses", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..last, y0..y1)
        .map_err(err)?;
    chart.configure_mesh().x_desc("epoch").draw().map_err(err)?;
    for &&(name, f, color) in &shown {
        chart
            .draw_series(LineSeries::new(
                h.iter().map(|r| (r.epoch, f(r))),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    let auc: Vec<(f64, f64)> = h
        .iter()
        .filter_map(|r| r.val_auc.map(|a| (r.epoch, a)))
        .collect();
    let (a0, a1) = bounds(auc.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(&bottom)
        .caption("validation AUC", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..last, a0.max(0.0)..a1.min(1.0).max(a0.max(0.0) + 1e-3))
        .map_err(err)?;
    chart.configure_mesh().x_desc("epoch").draw().map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            auc.iter().copied(),
            MAGENTA.stroke_width(2),
        ))
        .map_err(err)?;
    chart
        .draw_series(auc.iter().map(|&p| Circle::new(p, 3, MAGENTA.filled())))
        .map_err(err)?;
    Ok(())
}
