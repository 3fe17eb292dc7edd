//! Every plot writes a PNG of the requested size that decodes, draws its data (the pixels change with the data),
//! shows its legend colours, and refuses empty or non-finite input with an error that names the problem.

use image::RgbImage;
use sgm_plot::*;
use std::path::Path;

fn decode(path: &Path) -> RgbImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).into_rgb8()
}

/// Pixels of `img` inside the fractional rectangle `[x0, x1) × [y0, y1)` that differ from `other`'s.
fn differing(a: &RgbImage, b: &RgbImage, (x0, x1, y0, y1): (f64, f64, f64, f64)) -> usize {
    assert_eq!(a.dimensions(), b.dimensions());
    let (w, h) = (a.width() as f64, a.height() as f64);
    let mut n = 0;
    for y in (y0 * h) as u32..(y1 * h) as u32 {
        for x in (x0 * w) as u32..(x1 * w) as u32 {
            n += usize::from(a.get_pixel(x, y) != b.get_pixel(x, y));
        }
    }
    n
}

/// Number of pixels of exactly `color` in the fractional column band `[x0, x1)`.
fn count_color(img: &RgbImage, color: RGBColorLike, (x0, x1): (f64, f64)) -> usize {
    let w = img.width() as f64;
    img.enumerate_pixels().filter(|(x, _, p)| (*x as f64) >= x0 * w && (*x as f64) < x1 * w && p.0 == color).count()
}

type RGBColorLike = [u8; 3];

fn rgb(c: RGBColor) -> RGBColorLike {
    [c.0, c.1, c.2]
}

/// Something is drawn in the title band (the embedded font renders text with no system font).
fn has_title_text(img: &RgbImage) -> bool {
    let band = (img.height() / 14).max(10);
    (0..band).any(|y| (0..img.width()).any(|x| img.get_pixel(x, y).0 != [255, 255, 255]))
}

fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "temporary file left behind: {name}");
    }
}

fn names(n: usize) -> Vec<String> {
    ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"][..n]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn blobs(shift: f64) -> Scatter {
    let points = (0..120).map(|i| ((i % 3) as f64 * 6.0 + (i as f64).sin() + shift, (i as f64 * 0.7).cos())).collect();
    Scatter::new(points, (0..120).map(|i| i % 3).collect(), names(3))
}

#[test]
fn scatter_writes_a_png_of_the_requested_size_that_follows_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (dir.path().join("a.png"), dir.path().join("b.png"), dir.path().join("c.png"));
    let fig = Figure::new("t-SNE").with_size(640, 480);
    scatter(&fig, &blobs(0.0), &a).unwrap();
    // The same data with one class moved: the plotting area changes.
    let mut moved = blobs(0.0);
    for (p, &c) in moved.points.iter_mut().zip(&moved.classes) {
        if c == 1 {
            p.1 += 0.8;
        }
    }
    scatter(&fig, &moved, &b).unwrap();
    scatter(&fig, &blobs(0.0), &c).unwrap();
    let (ia, ib, ic) = (decode(&a), decode(&b), decode(&c));
    assert_eq!(ia.dimensions(), (640, 480));
    assert!(has_title_text(&ia));
    assert!(differing(&ia, &ib, (0.1, 0.75, 0.1, 0.85)) > 100, "moving points must change the plot");
    assert_eq!(differing(&ia, &ic, (0.0, 1.0, 0.0, 1.0)), 0, "the same data draws the same picture");
    // Every class colour is in the plotting area and in the legend panel on the right.
    for k in 0..3 {
        let color = rgb(class_color(k));
        assert!(count_color(&ia, color, (0.1, 0.75)) > 50, "class {k} points");
        assert!(count_color(&ia, color, (0.8, 1.0)) > 10, "class {k} legend marker");
    }
    no_temp_files(dir.path());
}

#[test]
fn scatter_by_subclass_uses_shades_of_the_class_colour() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sub.png");
    let data = blobs(0.0);
    let subs: Vec<u32> = (0..120).map(|i| 10 * (i % 3) + (i / 3) % 2).collect(); // 2 sub-classes per class
    scatter(&Figure::new("by sub-class"), &data.clone().with_subclasses(subs), &out).unwrap();
    let img = decode(&out);
    assert_eq!(img.dimensions(), (800, 600));
    for c in 0..3 {
        for s in 0..2 {
            let shade = rgb(subclass_color(c, s, 2));
            assert_ne!(shade, rgb(class_color(c)));
            assert!(count_color(&img, shade, (0.05, 0.8)) > 20, "class {c} sub-class {s}");
        }
    }
    let err = scatter(&Figure::new("x"), &data.with_subclasses(vec![0; 5]), &out).unwrap_err();
    assert!(err.to_string().contains("5 sub-classes for 120 points"), "{err}");
}

#[test]
fn scatter_refuses_empty_and_non_finite_points() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let err = scatter(&Figure::new("empty map"), &Scatter::new(vec![], vec![], vec![]), &out).unwrap_err();
    assert!(matches!(err, PlotError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("empty map") && err.to_string().contains("no data"), "{err}");
    let mut bad = blobs(0.0);
    bad.points[7].1 = f64::NAN;
    let err = scatter(&Figure::new("map"), &bad, &out).unwrap_err();
    assert!(matches!(err, PlotError::NonFinite { index: 7, .. }), "{err}");
    assert!(err.to_string().contains("scatter 'map': y") && err.to_string().contains("NaN"), "{err}");
    bad.classes.pop();
    bad.points[7].1 = 0.0;
    assert!(scatter(&Figure::new("map"), &bad, &out).unwrap_err().to_string().contains("119 classes for 120 points"));
    assert!(!out.exists(), "nothing is written on error");
}

fn retrieval(recall1: f64) -> Vec<RetrievalCurve> {
    vec![RetrievalCurve {
        name: "SGM".into(),
        ks: vec![1, 2, 4, 8],
        recall: vec![recall1, 0.8, 0.9, 0.95],
        acc: vec![recall1, 0.6, 0.55, 0.5],
    }]
}

#[test]
fn curves_write_pngs_that_follow_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let fig = Figure::new("Retrieval");
    retrieval_curves(&fig, &retrieval(0.7), &p("r1.png")).unwrap();
    retrieval_curves(&fig, &retrieval(0.4), &p("r2.png")).unwrap();
    let (a, b) = (decode(&p("r1.png")), decode(&p("r2.png")));
    assert_eq!(a.dimensions(), (800, 600));
    assert!(has_title_text(&a));
    assert!(differing(&a, &b, (0.1, 0.8, 0.1, 0.9)) > 100);
    // Two series, two legend colours.
    for k in 0..2 {
        assert!(count_color(&a, rgb(class_color(k)), (0.1, 0.8)) > 100, "series {k} curve");
        assert!(count_color(&a, rgb(class_color(k)), (0.8, 1.0)) > 10, "series {k} legend");
    }

    let k: Vec<f64> = (1..=21).step_by(2).map(f64::from).collect();
    let f1: Vec<f64> = k.iter().map(|k| 0.7 - (k - 11.0f64).abs() * 0.01).collect();
    let fig = Figure::new("F1 vs K").with_size(900, 500);
    f1_vs_k(&fig, &[Series::from_xy("SGM", &k, &f1), Series::from_xy("triplet", &k, &[0.6; 11])], &p("f1.png"))
        .unwrap();
    assert_eq!(decode(&p("f1.png")).dimensions(), (900, 500));

    let chart = LineChart::new("x", "y", vec![Series::new("line", vec![(0.0, 1.0), (1.0, 3.0)])]);
    line_chart(&Figure::new("any").with_size(300, 200), &chart, &p("l.png")).unwrap();
    assert_eq!(decode(&p("l.png")).dimensions(), (300, 200));
    no_temp_files(dir.path());
}

#[test]
fn curves_refuse_empty_nan_and_mismatched_input() {
    let out = tempfile::tempdir().unwrap().path().join("x.png");
    let fig = Figure::new("R");
    let err = retrieval_curves(&fig, &[], &out).unwrap_err();
    assert!(matches!(err, PlotError::Empty { .. }) && err.to_string().contains("retrieval curves 'R'"), "{err}");
    let mut bad = retrieval(0.5);
    bad[0].acc[2] = f64::INFINITY;
    let err = retrieval_curves(&fig, &bad, &out).unwrap_err();
    assert!(err.to_string().contains("series 'SGM Acc@K': y: value 2 is inf"), "{err}");
    bad[0].acc.pop();
    let err = retrieval_curves(&fig, &bad, &out).unwrap_err();
    assert!(err.to_string().contains("4 K values but 4 Recall@K and 3 Acc@K"), "{err}");
    let err = f1_vs_k(&fig, &[Series::new("empty", vec![])], &out).unwrap_err();
    assert!(err.to_string().contains("series 'empty'") && err.to_string().contains("no data"), "{err}");
    let err = f1_vs_k(&fig.clone().with_size(10, 10), &[Series::new("a", vec![(1.0, 0.5)])], &out).unwrap_err();
    assert!(err.to_string().contains("10x10"), "{err}");
}

#[test]
fn confusion_matrix_draws_every_cell_and_refuses_bad_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    let m = vec![vec![50, 3, 2], vec![4, 60, 1], vec![6, 2, 40]];
    let fig = Figure::new("confusion").with_size(700, 600);
    confusion_matrix(&fig, &m, &names(3), &a).unwrap();
    let mut m2 = m.clone();
    m2[0] = vec![5, 48, 2]; // class 0 mostly mistaken for class 1
    confusion_matrix(&fig, &m2, &names(3), &b).unwrap();
    let (ia, ib) = (decode(&a), decode(&b));
    assert_eq!(ia.dimensions(), (700, 600));
    assert!(has_title_text(&ia));
    assert!(differing(&ia, &ib, (0.15, 0.85, 0.05, 0.85)) > 1000, "the first row's shading must change");
    // Diagonal cells at 85-95% of their row are dark blue.
    let dark = ia.pixels().filter(|p| p.0[2] > 100 && p.0[0] < 40).count();
    assert!(dark > 1000, "dark diagonal cells: {dark}");

    let out = dir.path().join("x.png");
    let err = confusion_matrix(&fig, &[vec![1, 2], vec![3]], &names(2), &out).unwrap_err();
    assert!(err.to_string().contains("row 1 has 1 columns"), "{err}");
    let err = confusion_matrix(&fig, &m, &names(2), &out).unwrap_err();
    assert!(err.to_string().contains("2 class names for 3 classes"), "{err}");
    assert!(matches!(confusion_matrix(&fig, &[], &[], &out).unwrap_err(), PlotError::Empty { .. }));
    assert!(matches!(confusion_matrix(&fig, &[vec![0]], &names(1), &out).unwrap_err(), PlotError::Empty { .. }));
}

#[test]
fn training_curves_draw_loss_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let epochs: Vec<f64> = (1..=10).map(f64::from).collect();
    let run = |decay: f64| TrainingCurves {
        epochs: epochs.clone(),
        loss: epochs.iter().map(|e| (-e * decay).exp()).collect(),
        metrics: vec![Series::from_xy(
            "val kNN accuracy",
            &epochs,
            &epochs.iter().map(|e| e / 12.0).collect::<Vec<_>>(),
        )],
    };
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    training_curves(&Figure::new("run"), &run(0.3), &a).unwrap();
    training_curves(&Figure::new("run"), &run(0.05), &b).unwrap();
    let (ia, ib) = (decode(&a), decode(&b));
    assert_eq!(ia.dimensions(), (800, 600));
    assert!(differing(&ia, &ib, (0.05, 0.4, 0.1, 0.9)) > 100, "the loss panel follows the loss");
    assert_eq!(differing(&ia, &ib, (0.45, 0.8, 0.1, 0.9)), 0, "the metric panel is unchanged");
    assert!(count_color(&ia, rgb(class_color(1)), (0.4, 0.8)) > 50, "the metric curve in the right panel");
    // Without validation metrics the run still plots.
    let mut no_val = run(0.3);
    no_val.metrics.clear();
    training_curves(&Figure::new("run"), &no_val, &a).unwrap();
    let mut bad = run(0.3);
    bad.loss[3] = f64::NAN;
    let err = training_curves(&Figure::new("run"), &bad, &a).unwrap_err();
    assert!(err.to_string().contains("training curves 'run': loss: value 3 is NaN"), "{err}");
    bad.loss.pop();
    assert!(training_curves(&Figure::new("run"), &bad, &a).unwrap_err().to_string().contains("9 loss values"));
    let empty = TrainingCurves { epochs: vec![], loss: vec![], metrics: vec![] };
    assert!(matches!(training_curves(&Figure::new("run"), &empty, &a).unwrap_err(), PlotError::Empty { .. }));
}

#[test]
fn gallery_places_each_image_and_frames_the_highlighted_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.png");
    let tiles: Vec<Tile> = (0..5u8)
        .map(|k| Tile {
            pixels: vec![k * 50; 16 * 12],
            width: 16,
            height: 12,
            caption: vec![format!("image {k}"), "d = 0.5".into()],
            highlight: k == 0,
        })
        .collect();
    let g = Gallery { title: "five".into(), tiles, columns: 3, tile_size: 64 };
    let (w, h) = gallery(&g, &out).unwrap();
    let img = decode(&out);
    assert_eq!(img.dimensions(), (w, h));
    assert!(has_title_text(&img));
    // Each gray level fills (most of) a 64 x 48 box.
    for k in 1..5u8 {
        let v = k * 50;
        let n = img.pixels().filter(|p| p.0 == [v, v, v]).count();
        assert!(n >= 64 * 48 * 9 / 10, "tile {k}: {n} pixels of gray {v}");
    }
    assert!(img.pixels().filter(|p| p.0 == [230, 120, 0]).count() > 100, "the highlight frame");
    let mut bad = g.clone();
    bad.tiles[2].pixels.pop();
    assert!(gallery(&bad, &out).unwrap_err().to_string().contains("tile 2 has 191 pixels for 16x12"));
    bad.tiles.clear();
    assert!(matches!(gallery(&bad, &out).unwrap_err(), PlotError::Empty { .. }));
    no_temp_files(dir.path());
}

#[test]
fn scatter_keeps_one_scale_on_both_axes_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    // A line of points 10 units long and 1 unit high.
    let points: Vec<(f64, f64)> = (0..50).map(|i| (i as f64 * 0.2, (i % 2) as f64)).collect();
    let data = Scatter::new(points, vec![0; 50], names(1));
    let extent = |img: &RgbImage| {
        let c = rgb(class_color(0));
        let w = img.width() * 4 / 5; // left of the legend panel
        let hits: Vec<(u32, u32)> =
            img.enumerate_pixels().filter(|(x, _, p)| *x < w && p.0 == c).map(|(x, y, _)| (x, y)).collect();
        let span = |v: Vec<u32>| v.iter().max().unwrap() - v.iter().min().unwrap();
        (span(hits.iter().map(|h| h.0).collect()), span(hits.iter().map(|h| h.1).collect()))
    };
    let out = dir.path().join("equal.png");
    scatter(&Figure::new("equal"), &data, &out).unwrap();
    let (w, h) = extent(&decode(&out));
    let ratio = w as f64 / h as f64;
    assert!((6.0..14.0).contains(&ratio), "10:1 in data, {w}x{h} pixels");
    let stretched = Scatter { equal_aspect: false, ..data };
    scatter(&Figure::new("stretched"), &stretched, &out).unwrap();
    let (w, h) = extent(&decode(&out));
    assert!((w as f64 / h as f64) < 2.0, "the y range fills the height: {w}x{h} pixels");
}
